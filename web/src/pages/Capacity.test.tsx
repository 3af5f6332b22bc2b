// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import type { CapacityView } from "../api";
import { serve } from "./testing";

// uPlot needs a canvas, which jsdom lacks: the charts are checked in the
// browser by the e2e suite; here a chart is a placeholder naming its label.
vi.mock("../components/Chart", () => ({
  Chart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  useTheme: () => "light",
  cssVar: () => "#888",
  axis: (x: object) => x,
}));
vi.mock("uplot", () => ({ default: { pxRatio: 1, paths: {} } }));

const { default: CapacityPage } = await import("./Capacity");
const { Capacities } = await import("./CapacityList");

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const step = (n: number, rps: number, met: boolean, p99: number) => ({
  step: n,
  phase: n < 4 ? "bracket" : "bisect",
  rps,
  result_id: `r${n}aaaaaaaaaaaaaaaaa`,
  achieved_rps: rps,
  requests: rps,
  error_rate: 0,
  late_ratio: 0,
  p50_ms: p99 / 4,
  p90_ms: p99 / 2,
  p99_ms: p99,
  p99_9_ms: p99,
  cpu_cores: 0.1,
  busy_connections: 1,
  connections: 8,
  verdicts: [],
  met,
  ...(met ? {} : { broken: ["p99<=50ms"] }),
});

const view: CapacityView = {
  search: { id: "s1", name: "checkout", state: "succeeded", run_id: "run2", profile_id: "p1", outcome: "found", sustained_rps: 8400, created_at: "2026-12-03T10:00:00Z", updated_at: "2026-12-03T10:10:00Z" },
  run: { id: "run2", state: "succeeded", created_at: "2026-12-03T10:00:00Z" },
  report: {
    id: "s1",
    objectives: ["p99<=50ms"],
    min_rps: 2100,
    max_rps: 50000,
    tolerance: 0.05,
    confirm: 0,
    max_steps: 30,
    pause_seconds: 1,
    outcome: "found",
    sustained_rps: 8400,
    breaks_rps: 8800,
    uncertainty_rps: 400,
    broken_by: ["p99<=50ms"],
    p99_ms_at_sustained: 41,
    error_rate_at_sustained: 0,
    steps: [step(1, 2100, true, 10), step(2, 4200, true, 12), step(3, 8400, true, 41), step(4, 8800, false, 90)],
    duration_seconds: 130,
    curve: [],
  },
};

describe("Capacity search page", () => {
  it("states the report's answer and lists every step linking to its result", async () => {
    serve({ "/api/v1/capacity/s1": view });
    render(
      <MemoryRouter initialEntries={["/capacity/s1"]}>
        <Routes>
          <Route path="/capacity/:id" element={<CapacityPage />} />
        </Routes>
      </MemoryRouter>,
    );
    const answer = await screen.findByTestId("capacity-answer");
    expect(answer.textContent).toBe("Sustains 8,400 rps (limit below 8,800 rps, ±400)");
    expect(answer.dataset.sustained).toBe("8400");
    const rows = within(screen.getByTestId("capacity-steps")).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(4);
    expect(within(rows[3]).getByText("broken: p99<=50ms")).toBeTruthy();
    expect(within(rows[0]).getByRole("link").getAttribute("href")).toBe("/results/r1aaaaaaaaaaaaaaaaa");
    expect(screen.getByRole("link", { name: "This profile over time" }).getAttribute("href")).toBe("/capacity?profile=p1");
  });
});

describe("Capacity list page", () => {
  it("lists searches and, for a profile, draws the found rates over time", async () => {
    serve({
      "/api/v1/capacity": {
        searches: [
          { id: "s2", name: "checkout", state: "succeeded", run_id: "s2", profile_id: "p1", outcome: "found", sustained_rps: 9000, created_at: "2026-12-04T10:00:00Z", updated_at: "2026-12-04T10:00:00Z" },
          { id: "s1", name: "checkout", state: "failed", run_id: "s1", profile_id: "p1", error: "refused", sustained_rps: 0, created_at: "2026-12-03T10:00:00Z", updated_at: "2026-12-03T10:00:00Z" },
        ],
      },
    });
    render(
      <MemoryRouter initialEntries={["/capacity?profile=p1"]}>
        <Capacities />
      </MemoryRouter>,
    );
    const trend = await screen.findByTestId("capacity-trend");
    expect(trend.dataset.points).toBe("9000");
    const rows = within(screen.getByTestId("capacity-list")).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByRole("link", { name: "checkout" }).getAttribute("href")).toBe("/capacity/s2");
    expect(within(rows[1]).getByText("refused")).toBeTruthy();
  });

  it("says how to run one when there is none", async () => {
    serve({ "/api/v1/capacity": { searches: [] } });
    render(
      <MemoryRouter initialEntries={["/capacity"]}>
        <Capacities />
      </MemoryRouter>,
    );
    expect(await screen.findByText(/No capacity search yet/)).toBeTruthy();
  });
});
