// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MeshContextPanel } from "./MeshContextPanel";

afterEach(cleanup);

describe("MeshContextPanel", () => {
  it("shows nothing for a result without a mesh context", () => {
    const { container } = render(<MeshContextPanel />);
    expect(container.textContent).toBe("");
  });

  it("shows the meshes, the matched target's mesh, injection and proxy, and an unmatched target's note", () => {
    render(
      <MeshContextPanel
        mesh={{
          cluster: "https://127.0.0.1:6443",
          time: "2026-12-03T12:00:00Z",
          meshes: [{ mesh: "istio", name: "Istio", version: "1.23.2", mtls: "STRICT (PeerAuthentication istio-system/default)", healthy: true }],
          targets: [
            { url: "http://reviews.shop:9080/", namespace: "shop", service: "reviews", mesh: "istio", mesh_version: "1.23.2", mode: "sidecar",
              injection: ["istio (label istio-injection=enabled)"], pods: 2, meshed: 2, mtls: "PERMISSIVE (PeerAuthentication shop/reviews)",
              proxy: { container: "istio-proxy", image: "docker.io/istio/proxyv2:1.23.2", version: "1.23.2", requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
              workloads: ["Deployment/reviews"],
              traffic: [{ workload: "Deployment/reviews", source: "prometheus http://127.0.0.1:9090", start: "2026-12-03T11:59:50Z", end: "2026-12-03T12:00:00Z",
                request_rate: 998, success_rate: 0.999, p50_ms: 1.2, p90_ms: 2.5, p99_ms: 4.1 }] },
            { url: "http://127.0.0.1:8080/", pods: 0, meshed: 0, note: "host 127.0.0.1 is no Service of the cluster" },
          ],
        }}
      />,
    );
    expect(screen.getByText(/Istio 1.23.2, mTLS STRICT/)).toBeTruthy();
    const row = screen.getByRole("row", { name: /reviews.shop:9080/ });
    for (const want of ["reviews.shop", "istio 1.23.2", "sidecar, mTLS PERMISSIVE (PeerAuthentication shop/reviews)", "2/2", "istio-injection=enabled", "istio-proxy 1.23.2", "cpu 100m, memory 128Mi / memory 1Gi"]) {
      expect(within(row).getByText((_, el) => el?.tagName === "TD" && (el.textContent ?? "").includes(want))).toBeTruthy();
    }
    expect(screen.getByRole("row", { name: /127.0.0.1:8080/ }).textContent).toContain("no Service of the cluster");
    expect(screen.getByText(/The mesh saw reviews.shop/).textContent).toContain("(Deployment/reviews): 998/s, 99.9% ok, p50 1.20 ms, p90 2.50 ms, p99 4.10 ms");
  });

  it("says the context is incomplete", () => {
    render(<MeshContextPanel mesh={{ time: "2026-12-03T12:00:00Z", error: "kubernetes API server unreachable" }} />);
    expect(screen.getByRole("alert").textContent).toContain("incomplete: kubernetes API server unreachable");
    expect(screen.getByText(/no service mesh/)).toBeTruthy();
  });
});
