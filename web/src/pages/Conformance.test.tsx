// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { Conformance } from "./Conformance";
import ConformanceResultPage from "./ConformanceResult";

const counts = { passed: 3, failed: 4, skipped: 7, notRun: 0 };
const summary = {
  id: "01a23ca12a8d4c70980b",
  kind: "gateway-api",
  profile: "MESH-HTTP",
  suite_version: "v1.6.3",
  outcome: "failed",
  counts,
  started: "2026-12-03T16:00:00Z",
  finished: "2026-12-03T16:04:47Z",
};

// answers maps a path prefix to its body.
function answers(bodies: Record<string, unknown>) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const path = new URL(url, "http://x").pathname + new URL(url, "http://x").search;
      const key = Object.keys(bodies).find((k) => path.startsWith(k));
      if (!key) return new Response(JSON.stringify({ error: { code: "not_found", message: "no " + path } }), { status: 404 });
      return new Response(JSON.stringify(bodies[key]), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Conformance page", () => {
  it("shows the matrix by mesh and the results linking to each", async () => {
    answers({
      "/api/v1/conformance/matrix": {
        profile: "MESH-HTTP",
        columns: [summary, { ...summary, id: "01a23ca12a8d4c70980c", mesh: "Istio", mesh_version: "1.28.0" }],
        tests: [
          { name: "MeshBasic", statuses: ["pass", "pass"] },
          { name: "MeshHTTPRouteWeight", statuses: ["fail", "pass"] },
        ],
      },
      "/api/v1/conformance?": { results: [summary] },
    });
    render(
      <MemoryRouter>
        <Conformance />
      </MemoryRouter>,
    );
    const matrix = await screen.findByRole("table", { name: "MESH-HTTP tests by mesh over time" });
    expect(within(matrix).getByText("Istio")).toBeTruthy();
    expect(within(matrix).getByText("no mesh")).toBeTruthy();
    const weight = within(matrix).getByText("MeshHTTPRouteWeight").closest("tr")!;
    expect([...weight.querySelectorAll(".badge")].map((b) => b.getAttribute("title"))).toEqual(["pass", "fail"]);
    const link = await screen.findByRole("link", { name: "no mesh" });
    expect(link.getAttribute("href")).toBe("/conformance/01a23ca12a8d4c70980b");
    expect(screen.getByText("3/7 passed (43%)")).toBeTruthy();
  });
});

describe("Conformance result page", () => {
  it("lists each test with status, duration and the suite's message, failures first, and the linked performance", async () => {
    answers({
      "/api/v1/conformance/01a23ca12a8d4c70980b": {
        result: {
          ...summary,
          suiteVersion: "v1.6.3",
          implementation: { mesh: "Istio", version: "1.28.0", detected: true },
          supportedFeatures: [],
          unsupportedFeatures: ["MeshHTTPRouteRewritePath"],
          tests: [
            { name: "MeshBasic", status: "pass", durationNs: 1_180_000_000 },
            { name: "MeshHTTPRouteWeight", status: "fail", durationNs: 21_280_000_000, message: "Weighted distribution tests failed", output: "log line" },
            { name: "MeshHTTPRouteRewritePath", status: "skip", durationNs: 0, message: "not declared supported: MeshHTTPRouteRewritePath" },
          ],
          report: "apiVersion: gateway.networking.k8s.io/v1\nkind: ConformanceReport\n",
        },
        performance: [{ id: "01a23ca74a3059cf9276", name: "istio-1k", p99_ms: 4.743, achieved_rps: 1000, start_time: "2026-12-03T15:00:00Z" }],
      },
    });
    render(
      <MemoryRouter initialEntries={["/conformance/01a23ca12a8d4c70980b"]}>
        <Routes>
          <Route path="/conformance/:id" element={<ConformanceResultPage />} />
        </Routes>
      </MemoryRouter>,
    );
    const table = await screen.findByRole("table", { name: "tests" });
    const names = [...table.querySelectorAll("tbody th")].map((th) => th.textContent);
    expect(names).toEqual(["MeshHTTPRouteWeight", "MeshBasic", "MeshHTTPRouteRewritePath"]);
    const weight = within(table).getByText("MeshHTTPRouteWeight").closest("tr")!;
    expect(weight.textContent).toContain("21.3 s");
    expect(weight.textContent).toContain("Weighted distribution tests failed");
    expect(screen.getByLabelText("link").textContent).toBe("Istio 1.28.0: MESH-HTTP 3/7 passed (43%) · p99 4.74 ms at 1.00k/s (the only performance result)");
    expect(screen.getByRole("link", { name: "istio-1k" }).getAttribute("href")).toBe("/results/01a23ca74a3059cf9276");
    expect(screen.queryByRole("link", { name: /^experiment / })).toBeNull();
  });

  it("adds the overhead an experiment measured on the same mesh version, linked to the experiment", async () => {
    answers({
      "/api/v1/conformance/01a23ca12a8d4c70980c": {
        result: {
          ...summary,
          suiteVersion: "v1.6.3",
          implementation: { mesh: "Istio", version: "1.28.0", detected: true },
          supportedFeatures: [],
          unsupportedFeatures: [],
          tests: [{ name: "MeshBasic", status: "pass", durationNs: 1_180_000_000 }],
        },
        performance: [{ id: "01a23ca74a3059cf9276", name: "istio-1k", p99_ms: 4.743, achieved_rps: 1000, start_time: "2026-12-03T15:00:00Z" }],
        overhead: {
          experiment_id: "01a23cb0000000000001",
          experiment_name: "mesh-cost",
          variant: "istio",
          baseline: "direct",
          rps: 1000,
          connections: 8,
          latency: "latency",
          p99: { added_ms: 1.2, ratio: 1.4, noise_ms: 0.3, noise_known: true, within_noise: false },
        },
      },
    });
    render(
      <MemoryRouter initialEntries={["/conformance/01a23ca12a8d4c70980c"]}>
        <Routes>
          <Route path="/conformance/:id" element={<ConformanceResultPage />} />
        </Routes>
      </MemoryRouter>,
    );
    const link = await screen.findByLabelText("link");
    expect(link.textContent).toBe(
      "Istio 1.28.0: MESH-HTTP 3/7 passed (43%) · p99 4.74 ms at 1.00k/s (the only performance result) · p99 overhead +1.20 ms at 1.00k/s (experiment mesh-cost: istio against direct)",
    );
    expect(screen.getByRole("link", { name: "experiment mesh-cost" }).getAttribute("href")).toBe("/experiments/01a23cb0000000000001");
  });
});
