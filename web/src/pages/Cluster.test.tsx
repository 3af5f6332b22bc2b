// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { Cluster } from "./Cluster";

// The answers of a server reading the test cluster (internal/cluster/testdata):
// Istio 1.23.2 and Linkerd, shop/reviews meshed, a Prometheus for traffic.
const status = {
  synced: true,
  time: "2026-12-03T12:00:00Z",
  seq: 42,
  server: "https://127.0.0.1:6443",
  meshes: [
    {
      mesh: "istio", name: "Istio", version: "1.23.2", modes: ["sidecar", "ambient"], mtls: "STRICT (PeerAuthentication istio-system/default)", healthy: false,
      components: [{ kind: "Deployment", namespace: "istio-system", name: "istiod", image: "docker.io/istio/pilot:1.23.2", version: "1.23.2", desired: 1, ready: 0 }],
      injectedNamespaces: ["ambient", "shop"], podsWithProxy: 2, podsAmbient: 1, proxyVersions: ["1.23.2"],
    },
    { mesh: "linkerd", name: "Linkerd", version: "stable-2.14.10", modes: ["sidecar"], healthy: true, components: [], crds: ["a", "b"], podsWithProxy: 1 },
  ],
  gatewayAPI: { version: "v1.2.0", channel: "standard", crds: [] },
  coverage: { pods: 5, withProxy: 3, ambient: 1, withoutProxy: 1, injectedNamespaces: 4, namespaces: 12 },
  namespaces: [{ name: "shop", meshes: ["istio"] }, { name: "plain" }],
  routes: [{ kind: "HTTPRoute", namespace: "shop", name: "reviews-split", parents: ["Service/shop/reviews"], gamma: true }],
  unreadable: [{ resource: "pods", verb: "list", message: "pods is forbidden" }],
};
const workloads = {
  services: [{ namespace: "shop", name: "reviews", type: "ClusterIP" }],
  workloads: [
    { kind: "Deployment", namespace: "shop", name: "reviews", desired: 2, ready: 2, images: [], pods: 2, meshed: 2, mesh: "istio", mtls: "PERMISSIVE (PeerAuthentication shop/reviews-permissive)" },
    { kind: "Deployment", namespace: "plain", name: "batch", desired: 1, ready: 1, images: [], pods: 1, meshed: 0 },
  ],
  pods: [],
};
const topology = {
  nodes: [
    { id: "Deployment/shop/reviews", kind: "Deployment", namespace: "shop", name: "reviews", mesh: "istio", pods: 2, meshed: 2 },
    { id: "Service/shop/reviews", kind: "Service", namespace: "shop", name: "reviews", mesh: "istio", pods: 2, meshed: 2 },
  ],
  edges: [{ from: "Service/shop/reviews", to: "Deployment/shop/reviews", kind: "selects" }],
};
const events = { events: [{ seq: 41, time: "2026-12-03T12:00:00Z", type: "mesh-version", mesh: "istio", from: "1.23.2", to: "1.24.1" }] };
const metrics = {
  reports: [
    { mesh: "istio", source: "prometheus http://127.0.0.1:9090", window: "60s", at: "2026-12-03T12:00:00Z",
      workloads: [{ kind: "Deployment", namespace: "shop", name: "reviews", requestRate: 10, successRate: 0.9, p50Ms: 5, p90Ms: 17.5, p99Ms: 24.25 }] },
  ],
};

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Stubs fetch with answers by path; returns the paths asked. */
function serve(answers: Record<string, () => Response>) {
  const asked: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const path = String(url);
      asked.push(path);
      const key = Object.keys(answers).find((k) => path.split("?")[0] === k);
      return key ? answers[key]() : json(404, { error: { code: "not_found", message: "no endpoint " + path } });
    }),
  );
  return asked;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Cluster page", () => {
  it("says how to give the server a cluster when it reads none (503)", async () => {
    serve({ "/api/v1/cluster": () => json(503, { error: { code: "unavailable", message: "no cluster" } }) });
    render(<Cluster />);
    expect(await screen.findByText(/reads no Kubernetes cluster/)).toBeTruthy();
    expect(screen.getByText("meshperf server --kubeconfig FILE")).toBeTruthy();
  });

  it("shows meshes, coverage, workloads with their traffic, the topology and the changes", async () => {
    serve({
      "/api/v1/cluster": () => json(200, status),
      "/api/v1/cluster/workloads": () => json(200, workloads),
      "/api/v1/cluster/topology": () => json(200, topology),
      "/api/v1/cluster/events": () => json(200, events),
      "/api/v1/cluster/metrics": () => json(200, metrics),
    });
    render(<Cluster />);
    const meshes = await screen.findByRole("table", { name: "meshes" });
    const istio = within(meshes).getByRole("row", { name: /Istio/ });
    expect(istio.textContent).toContain("1.23.2");
    expect(istio.textContent).toContain("STRICT (PeerAuthentication istio-system/default)");
    expect(istio.textContent).toContain("not ready");
    expect(istio.textContent).toContain("istio-system/istiod 0/1");
    expect(istio.textContent).toContain("2 (+1 ambient)");
    expect(within(meshes).getByRole("row", { name: /Linkerd/ }).textContent).toContain("CRDs only (2)");
    expect(screen.getByText(/5 pods: 3 with a proxy, 1 ambient, 1 without/)).toBeTruthy();
    expect(screen.getByRole("alert").textContent).toContain("cannot list pods: pods is forbidden");

    const wl = screen.getByRole("table", { name: "workloads" });
    const reviews = within(wl).getByRole("row", { name: /reviews/ });
    expect(reviews.textContent).toContain("2/2 meshed");
    expect(reviews.textContent).toContain("mTLS PERMISSIVE (PeerAuthentication shop/reviews-permissive)");
    expect(reviews.textContent).toContain("10/s");
    expect(reviews.textContent).toContain("90.0%");
    expect(reviews.textContent).toContain("24.3 ms");
    const batch = within(wl).getByRole("row", { name: /batch/ });
    expect(batch.textContent).toContain("0/1 meshed");
    expect(batch.textContent).not.toContain("0/s"); // no traffic figures: unknown, not zero

    const svg = screen.getByRole("img", { name: "topology" });
    expect(svg.querySelectorAll("[data-node]").length).toBe(2);
    expect(svg.querySelectorAll("path[marker-end]").length).toBe(1);
    expect(screen.getByRole("list", { name: "changes" }).textContent).toContain("istio 1.23.2 → 1.24.1");
  });

  it("draws the traffic the mesh saw as edges apart from the routes, and says where it comes from", async () => {
    const withTraffic = {
      nodes: [
        ...topology.nodes,
        { id: "External//outside the mesh", kind: "External", namespace: "", name: "outside the mesh", pods: 0, meshed: 0 },
        { id: "Workload/shop/productpage", kind: "Workload", namespace: "shop", name: "productpage", pods: 0, meshed: 0 },
      ],
      edges: [
        ...topology.edges,
        { from: "Service/shop/reviews", to: "Service/shop/reviews", kind: "HTTPRoute shop/reviews-split" },
        { from: "Workload/shop/productpage", to: "Deployment/shop/reviews", kind: "traffic", mesh: "istio", requestRate: 6, successRate: 1 },
        { from: "External//outside the mesh", to: "Deployment/shop/reviews", kind: "traffic", mesh: "istio", requestRate: 998, successRate: 0.999 },
        { from: "Workload/shop/productpage", to: "Service/shop/reviews", kind: "traffic", mesh: "osm", requestRate: 0 },
      ],
      traffic: { source: "prometheus http://127.0.0.1:9090", window: "60s", missing: ["linkerd: prometheus at http://127.0.0.1:9090 has no request_total series"] },
    };
    serve({
      "/api/v1/cluster": () => json(200, { ...status, unreadable: [] }),
      "/api/v1/cluster/workloads": () => json(200, workloads),
      "/api/v1/cluster/topology": () => json(200, withTraffic),
      "/api/v1/cluster/events": () => json(200, { events: [] }),
      "/api/v1/cluster/metrics": () => json(200, metrics),
    });
    render(<Cluster />);
    const svg = await screen.findByRole("img", { name: "topology" });
    expect(svg.querySelectorAll('[data-edge="selects"]').length).toBe(1);
    expect(svg.querySelectorAll('[data-edge="route"]').length).toBe(1);
    const traffic = [...svg.querySelectorAll('[data-edge="traffic"]')].map((g) => g.querySelector("text")!.textContent);
    expect(traffic.sort()).toEqual(["istio: 6.0/s, 100.0% ok", "istio: 998/s, 99.9% ok", "osm: 0.0/s, – ok"]);
    expect(svg.querySelector('[data-node="External//outside the mesh"]')!.textContent).toContain("seen in the mesh's metrics");
    const note = screen.getByLabelText("traffic source").textContent!;
    expect(note).toContain("what the mesh saw over 60s (prometheus http://127.0.0.1:9090)");
    expect(note).toContain("Missing: linkerd: prometheus at http://127.0.0.1:9090 has no request_total series");
  });

  it("says why traffic is unknown when the server has no Prometheus", async () => {
    serve({
      "/api/v1/cluster": () => json(200, { ...status, unreadable: [] }),
      "/api/v1/cluster/workloads": () => json(200, workloads),
      "/api/v1/cluster/topology": () => json(200, topology),
      "/api/v1/cluster/events": () => json(200, { events: [] }),
      "/api/v1/cluster/metrics": () => json(503, { error: { code: "unavailable", message: "no mesh metrics: start it with --mesh-prometheus URL" } }),
    });
    render(<Cluster />);
    expect(await screen.findByText(/Traffic metrics: no mesh metrics: start it with --mesh-prometheus URL/)).toBeTruthy();
    const reviews = within(screen.getByRole("table", { name: "workloads" })).getByRole("row", { name: /reviews/ });
    expect(reviews.textContent).not.toContain("/s");
  });
});
