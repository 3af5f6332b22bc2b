import { describe, expect, it } from "vitest";
import { bulge, layout, nodeH, nodeW } from "./topology";

const n = (kind: string, namespace: string, name: string) => ({ id: `${kind}/${namespace}/${name}`, kind, namespace, name, pods: 0, meshed: 0 });

describe("topology layout", () => {
  it("puts Gateways, Services and workloads in columns, sorted, with edges between drawn nodes only", () => {
    const l = layout({
      nodes: [n("Deployment", "shop", "reviews"), n("Service", "shop", "reviews"), n("Gateway", "istio-system", "public-gw"), n("Service", "shop", "details")],
      edges: [
        { from: "Service/shop/reviews", to: "Deployment/shop/reviews", kind: "selects" },
        { from: "Gateway/istio-system/public-gw", to: "Service/shop/reviews", kind: "HTTPRoute shop/ingress" },
        { from: "Service/shop/gone", to: "Deployment/shop/reviews", kind: "selects" },
      ],
    });
    const at = Object.fromEntries(l.nodes.map((p) => [p.id, [p.x, p.y]]));
    expect(at["Gateway/istio-system/public-gw"][0]).toBeLessThan(at["Service/shop/reviews"][0]);
    expect(at["Service/shop/reviews"][0]).toBeLessThan(at["Deployment/shop/reviews"][0]);
    expect(at["Service/shop/details"][0]).toBe(at["Service/shop/reviews"][0]);
    expect(at["Service/shop/details"][1]).toBeLessThan(at["Service/shop/reviews"][1]); // details before reviews
    expect(l.edges.map((e) => e.kind)).toEqual(["selects", "HTTPRoute shop/ingress"]);
    expect(l.width).toBeGreaterThanOrEqual(at["Deployment/shop/reviews"][0] + nodeW);
  });

  it("leaves no gap for an empty column", () => {
    const l = layout({ nodes: [n("Service", "a", "s"), n("Deployment", "a", "d")], edges: [] });
    expect(l.nodes.find((p) => p.kind === "Service")!.x).toBe(10);
    expect(layout({ nodes: [], edges: [] }).nodes).toEqual([]);
  });

  it("draws the traffic the mesh saw: within a column, backwards and from outside the mesh", () => {
    const l = layout({
      nodes: [n("Deployment", "shop", "reviews"), n("Workload", "shop", "productpage"), n("Service", "shop", "reviews"),
        { id: "External//outside the mesh", kind: "External", namespace: "", name: "outside the mesh", pods: 0, meshed: 0 }],
      edges: [
        { from: "Workload/shop/productpage", to: "Deployment/shop/reviews", kind: "traffic", mesh: "istio", requestRate: 6, successRate: 1 },
        { from: "Deployment/shop/reviews", to: "Service/shop/reviews", kind: "traffic", mesh: "osm", requestRate: 4 },
        { from: "External//outside the mesh", to: "Service/shop/reviews", kind: "traffic", mesh: "istio", requestRate: 100 },
        { from: "Service/shop/reviews", to: "Deployment/shop/reviews", kind: "selects" },
      ],
    });
    const byKey = Object.fromEntries(l.edges.map((e) => [`${e.from.name}>${e.to.name}:${e.kind}`, e]));
    const outside = l.nodes.find((p) => p.kind === "External")!;
    const svc = l.nodes.find((p) => p.kind === "Service")!;
    const dep = l.nodes.find((p) => p.kind === "Deployment")!;
    expect(outside.x).toBeLessThan(svc.x); // with the Gateways
    expect(l.nodes.find((p) => p.kind === "Workload")!.x).toBe(dep.x);
    // Within the workloads' column: out of the right side and back in, bulging right.
    const within = byKey["productpage>reviews:traffic"];
    expect(within.traffic).toBe(true);
    expect(within.d.startsWith(`M ${dep.x + nodeW} `)).toBe(true);
    expect(within.mid.x).toBeGreaterThan(dep.x + nodeW);
    expect(l.width).toBeGreaterThanOrEqual(dep.x + nodeW + bulge);
    // Backwards (workload → Service): from the workload's left side to the Service's right.
    const back = byKey["reviews>reviews:traffic"];
    expect(back.d.startsWith(`M ${dep.x} `)).toBe(true);
    expect(back.d.endsWith(`${svc.x + nodeW} ${svc.y + nodeH / 2}`)).toBe(true);
    expect(back.requestRate).toBe(4);
    expect(byKey["reviews>reviews:selects"].traffic).toBe(false);
  });
});
