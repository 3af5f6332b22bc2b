import { describe, expect, it } from "vitest";
import { designLayout, parseRef } from "./design";

describe("parseRef", () => {
  it.each([
    ["deployment.apps/web", { kind: "deployment", group: "apps", namespace: "", name: "web" }],
    ["service/shop/front", { kind: "service", group: "", namespace: "shop", name: "front" }],
    ["httproute.gateway.networking.k8s.io/ns/r", { kind: "httproute", group: "gateway.networking.k8s.io", namespace: "ns", name: "r" }],
  ])("%s", (ref, want) => expect(parseRef(ref)).toEqual(want));
});

describe("designLayout", () => {
  // The shape BuildGraph answers for a route to a Service selecting a
  // Deployment that mounts a ConfigMap, a second Service, and a reference
  // to an object outside the design.
  const graph = {
    nodes: ["configmap/conf", "deployment.apps/api", "service/api", "service/cache", "httproute.gateway.networking.k8s.io/r", "deployment.apps/cache"],
    edges: [
      { from: "httproute.gateway.networking.k8s.io/r", to: "service/api", why: "routes to" },
      { from: "service/api", to: "deployment.apps/api", why: "selects its pods" },
      { from: "deployment.apps/api", to: "configmap/conf", why: "mounts" },
      { from: "service/cache", to: "deployment.apps/cache", why: "selects its pods" },
    ],
    dangling: [{ from: "deployment.apps/api", to: "secret/outside", why: "mounts" }],
  };

  it("puts each resource one column after what refers to it", () => {
    const l = designLayout(graph);
    const col = Object.fromEntries(l.nodes.map((n) => [n.id, n.col]));
    expect(col).toEqual({
      "httproute.gateway.networking.k8s.io/r": 0,
      "service/cache": 0,
      "service/api": 1,
      "deployment.apps/cache": 1,
      "deployment.apps/api": 2,
      "configmap/conf": 3,
    });
    expect(l.edges.map((e) => `${e.from.id}>${e.to.id}`)).toEqual(graph.edges.map((e) => `${e.from}>${e.to}`));
    // Columns left to right, boxes within a column sorted by kind, not overlapping.
    const c1 = l.nodes.filter((n) => n.col === 1);
    expect(c1.map((n) => n.kind)).toEqual(["deployment", "service"]);
    expect(c1[1].y).toBeGreaterThan(c1[0].y);
    expect(new Set(l.nodes.map((n) => `${n.x},${n.y}`)).size).toBe(l.nodes.length);
    expect(l.width).toBeGreaterThan(l.nodes.reduce((m, n) => Math.max(m, n.x), 0));
  });

  it("leaves out edges to what the design does not hold, and cuts cycles", () => {
    const l = designLayout({
      nodes: ["a/x", "b/y"],
      edges: [
        { from: "a/x", to: "b/y", why: "r" },
        { from: "b/y", to: "a/x", why: "r" },
        { from: "a/x", to: "c/outside", why: "r" },
      ],
    });
    expect(l.nodes).toHaveLength(2);
    expect(l.edges).toHaveLength(2);
    expect(Math.max(...l.nodes.map((n) => n.col))).toBeLessThan(2);
  });

  it("draws an empty design as an empty box", () => {
    const l = designLayout({ nodes: [], edges: [] });
    expect(l.nodes).toEqual([]);
    expect(l.height).toBeGreaterThan(0);
  });
});
