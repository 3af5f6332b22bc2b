import { describe, expect, it } from "vitest";
import { layout, nodeW } from "./topology";

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
});
