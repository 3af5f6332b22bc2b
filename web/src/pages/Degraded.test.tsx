// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { serve } from "./testing";

// uPlot needs a canvas, which jsdom lacks: the charts are checked in the
// browser by the e2e suite; here a chart is a placeholder naming its label.
vi.mock("../components/Chart", () => ({
  Chart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  useTheme: () => "light",
  cssVar: () => "#888",
  axis: (x: object) => x,
}));
vi.mock("uplot", () => ({ default: { pxRatio: 1, paths: { stepped: () => () => null, bars: () => () => null, spline: () => () => null, linear: () => () => null } } }));

const { Dashboard } = await import("./Dashboard");
const { default: ResultPage } = await import("./Result");

const reason = "part of the load was lost: agent evil (clients[0]) refused: second 1: status code 999 is not an HTTP status (100-599)";

const degradedRun = {
  id: "01a2b3c4d5e6f7a8b9c0",
  state: "degraded",
  name: "dist",
  result_id: "0123456789abcdef0123",
  error: reason,
  created_at: new Date().toISOString(),
  finished_at: new Date().toISOString(),
};

const result = {
  schema: "meshperf.result/v1",
  id: "0123456789abcdef0123",
  name: "dist",
  generator: { name: "meshperf", version: "test", fidelity: "hdr" },
  requested: { targets: ["http://127.0.0.1:1/"], method: "GET", protocol: "http", connections: 4, rps: 300, shape: "constant", open_loop: true },
  achieved: { duration: "3s", requests: 600, responses: 600, rps: 200, errors: 0, error_rate: 0, late: 0, late_ratio: 0, dropped: 0, bytes_sent: 0, bytes_received: 0 },
  start_time: new Date().toISOString(),
  end_time: new Date().toISOString(),
  timeline: [],
  degraded: true,
  notes: ["agent evil (clients[0]) was dropped from the run, its data refused"],
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// A first render here takes seconds on a loaded machine: wait up to 10s.
describe("a degraded run", () => {
  it("is not shown as a success on the dashboard: a degraded badge and the reason", async () => {
    serve({
      "/api/v1/runs": { runs: [degradedRun] },
      "/api/v1/results": { results: [] },
    });
    render(
      <MemoryRouter>
        <Dashboard />
      </MemoryRouter>,
    );
    const link = await screen.findByRole("link", { name: "dist" }, { timeout: 10000 });
    const row = link.closest("tr")!;
    const badge = within(row).getByText("degraded");
    expect(badge.className).toContain("state-degraded");
    expect(badge.className).not.toContain("state-succeeded");
    expect(row.textContent).toContain("agent evil (clients[0]) refused");
  });

  it("has a banner on its result page naming the agent and why", async () => {
    serve({
      [`/api/v1/results/${result.id}`]: result,
      [`/api/v1/results/${result.id}/verdicts`]: { source: "none", verdicts: [] },
      [`/api/v1/runs/${degradedRun.id}`]: degradedRun,
    });
    render(
      <MemoryRouter initialEntries={[`/results/${result.id}?run=${degradedRun.id}`]}>
        <Routes>
          <Route path="/results/:id" element={<ResultPage />} />
        </Routes>
      </MemoryRouter>,
    );
    const banner = await screen.findByText((_, el) => el?.tagName === "P" && (el.textContent ?? "").includes("status code 999 is not an HTTP status"), undefined, { timeout: 10000 });
    expect(banner.getAttribute("role")).toBe("alert");
    expect(within(banner).getByText("degraded").className).toContain("state-degraded");
  });

  it("has a banner on its result page even without the run", async () => {
    serve({
      [`/api/v1/results/${result.id}`]: result,
      [`/api/v1/results/${result.id}/verdicts`]: { source: "none", verdicts: [] },
    });
    render(
      <MemoryRouter initialEntries={[`/results/${result.id}`]}>
        <Routes>
          <Route path="/results/:id" element={<ResultPage />} />
        </Routes>
      </MemoryRouter>,
    );
    const alerts = await screen.findAllByRole("alert", undefined, { timeout: 10000 });
    expect(alerts.some((a) => (a.textContent ?? "").includes("Part of this distributed run was lost (an agent dropped"))).toBe(true);
  });
});
