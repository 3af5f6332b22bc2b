import { describe, expect, it } from "vitest";
import type { CapacityReport, CapacitySearch } from "../api";
import { answerOf, curveOf, markersOf, trendOf, verdictOf } from "./capacity";

type Point = CapacityReport["curve"][number];
const point = (rps: number, p99: number, err: number, met: boolean, step: number): Point => ({
  rps,
  achieved_rps: rps,
  p50_ms: p99 / 4,
  p90_ms: p99 / 2,
  p99_ms: p99,
  p99_9_ms: p99 * 2,
  error_rate: err,
  met,
  step,
});

function report(extra: Partial<CapacityReport> = {}): CapacityReport {
  return {
    objectives: ["p99<=50ms"],
    min_rps: 100,
    max_rps: 1600,
    tolerance: 0.1,
    confirm: 1,
    max_steps: 16,
    pause_seconds: 1,
    outcome: "found",
    sustained_rps: 400,
    breaks_rps: 436,
    uncertainty_rps: 36,
    broken_by: ["p99<=50ms"],
    error_rate_at_sustained: 0,
    knee_rps: 200,
    steps: [],
    duration_seconds: 40,
    // As the report writes it: by rate, then step; 400 twice (a confirmation).
    curve: [point(100, 2, 0, true, 1), point(200, 3, 0, true, 2), point(400, 20, 0.0005, true, 3), point(400, 35, 0.001, true, 6), point(436, 90, 0.02, false, 5), point(800, 400, 0.3, false, 4)],
    ...extra,
  };
}

describe("curveOf", () => {
  it("keeps one point per rate, the worst of its steps", () => {
    const c = curveOf(report());
    expect(c.rps).toEqual([100, 200, 400, 436, 800]);
    expect(c.p99).toEqual([2, 3, 35, 90, 400]);
    expect(c.p50).toEqual([0.5, 0.75, 8.75, 22.5, 100]);
    expect(c.errorPct[2]).toBeCloseTo(0.1);
    expect(c.met).toEqual([true, true, true, false, false]);
    expect(c.steps).toEqual([1, 1, 2, 1, 1]);
  });
  it("sorts a curve given out of order and is empty without one", () => {
    const c = curveOf({ curve: [point(800, 400, 0.3, false, 2), point(100, 2, 0, true, 1)] });
    expect(c.rps).toEqual([100, 800]);
    expect(curveOf({ curve: [] }).rps).toEqual([]);
  });
  it("a broken step at a rate marks the rate broken", () => {
    const c = curveOf({ curve: [point(400, 20, 0, true, 3), point(400, 80, 0, false, 6)] });
    expect(c.met).toEqual([false]);
  });
});

describe("markersOf and answerOf", () => {
  it("marks the found rate, the breaking rate with its objective, and the knee", () => {
    expect(markersOf(report())).toEqual([
      { rps: 400, label: "sustains 400 rps", kind: "found" },
      { rps: 436, label: "breaks at 436 rps on p99<=50ms", kind: "breaks" },
      { rps: 200, label: "knee 200 rps", kind: "knee" },
    ]);
    expect(answerOf(report({ sustained_rps: 8400, breaks_rps: 8800, uncertainty_rps: 400 }))).toBe("Sustains 8,400 rps (limit below 8,800 rps, ±400)");
  });
  it("marks nothing that is not known", () => {
    const r = report({ outcome: "below_min", sustained_rps: 0, breaks_rps: 100, knee_rps: undefined, broken_by: undefined, uncertainty_rps: undefined });
    expect(markersOf(r)).toEqual([{ rps: 100, label: "breaks at 100 rps", kind: "breaks" }]);
    expect(answerOf(r)).toBe("Breaks already at the lowest rate tried (100 rps)");
    expect(answerOf(report({ outcome: "above_max", sustained_rps: 1600, breaks_rps: undefined }))).toMatch(/^Sustains at least 1,600 rps/);
    expect(answerOf(report({ outcome: "running", sustained_rps: 0 }))).toBe("No answer (running)");
  });
});

describe("verdictOf", () => {
  const step = { step: 1, phase: "bracket", rps: 100, achieved_rps: 100, requests: 100, error_rate: 0, late_ratio: 0, p50_ms: 1, p90_ms: 1, p99_ms: 1, p99_9_ms: 1, cpu_cores: 0.1, busy_connections: 1, connections: 8, verdicts: [], met: true };
  it("says met, broken (which), client limit or interrupted", () => {
    expect(verdictOf(step)).toBe("met");
    expect(verdictOf({ ...step, met: false, broken: ["p99<=50ms", "error_rate<1%"] })).toBe("broken: p99<=50ms, error_rate<1%");
    expect(verdictOf({ ...step, met: false, client_limited: true, client_reason: "cpu" })).toBe("client limit: cpu");
    expect(verdictOf({ ...step, interrupted: true })).toBe("interrupted");
  });
});

describe("trendOf", () => {
  const search = (id: string, created: string, outcome: string, rps: number): CapacitySearch => ({
    id,
    state: "succeeded",
    run_id: id,
    outcome,
    sustained_rps: rps,
    created_at: created,
    updated_at: created,
  });
  it("keeps the searches with an answer, oldest first", () => {
    const t = trendOf([
      search("c", "2026-12-03T12:00:00Z", "found", 900),
      search("b", "2026-12-02T12:00:00Z", "client_limit", 0),
      search("a", "2026-12-01T12:00:00Z", "found", 800),
      search("d", "2026-12-04T12:00:00Z", "above_max", 5000),
      search("e", "2026-12-05T12:00:00Z", "interrupted", 300),
    ]);
    expect(t.ids).toEqual(["a", "c", "d"]);
    expect(t.rps).toEqual([800, 900, 5000]);
    expect(t.times).toEqual([Date.UTC(2026, 11, 1, 12) / 1000, Date.UTC(2026, 11, 3, 12) / 1000, Date.UTC(2026, 11, 4, 12) / 1000]);
  });
});
