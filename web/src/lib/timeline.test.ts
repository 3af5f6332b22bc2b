import { describe, expect, it } from "vitest";
import type { Verdict } from "../api";
import { chooseYAxis, fmtRateTick, fmtTick, lastValue, thresholds, warmupSpan } from "./timeline";

const steady = (n: number, v: number) => Array.from({ length: n }, (_, i) => v + (i % 3));

describe("timeline y axis", () => {
  it("clips a rate axis under a warm-up spike, so later seconds are not flattened", () => {
    const achieved = [5000, ...steady(59, 100)];
    const warm = [true, ...Array(59).fill(false)];
    const y = chooseYAxis("rate", [achieved], warm);
    expect(y.scale).toBe("clipped");
    expect(y.max).toBeGreaterThan(102); // the steady seconds fit
    expect(y.max).toBeLessThan(200); // well below the spike
    expect(y.clipped).toBe(1);
  });
  it("clips a spike in the steady seconds too", () => {
    const achieved = [...steady(30, 100), 4000, ...steady(29, 100)];
    const y = chooseYAxis("rate", [achieved]);
    expect(y.scale).toBe("clipped");
    expect(y.clipped).toBe(1);
    expect(y.max).toBeLessThan(200);
  });
  it("keeps a linear axis from 0 for an even series", () => {
    expect(chooseYAxis("rate", [steady(60, 100)])).toEqual({ scale: "linear", min: 0, max: 102 * 1.1, clipped: 0 });
  });
  it("puts latency spanning decades on a log axis", () => {
    const p50 = steady(60, 1);
    const p99 = [900, ...steady(59, 5)];
    const y = chooseYAxis("latency", [p50, p99], [true]);
    expect(y.scale).toBe("log");
    expect(y.min).toBeLessThan(1);
    expect(y.max).toBeGreaterThan(900);
  });
  it("keeps errors linear: their spikes are the news", () => {
    expect(chooseYAxis("errors", [[0, 0, 500, 0, 1, 0]]).scale).toBe("linear");
  });
  it("keeps an objective's line in view", () => {
    const y = chooseYAxis("rate", [steady(60, 100)], [], [300]);
    expect(y.max).toBeGreaterThanOrEqual(300);
    const clipped = chooseYAxis("rate", [[5000, ...steady(59, 100)]], [true], [250]);
    expect(clipped.scale).toBe("clipped");
    expect(clipped.max).toBeGreaterThanOrEqual(250);
  });
  it("copes with no data and nulls", () => {
    expect(chooseYAxis("latency", [[]]).max).toBe(1);
    expect(chooseYAxis("latency", [[null, null]]).scale).toBe("linear");
  });
});

describe("timeline labels", () => {
  it("never writes 0.0/s on an axis", () => {
    for (const v of [0, 0.1, 0.25, 0.5, 1, 2.5, 10, 250, 1000, 1500]) expect(fmtRateTick(v)).not.toMatch(/^0\.0\/s$|^0\/s$/);
    expect(fmtRateTick(0)).toBe("0");
    expect(fmtRateTick(0.25)).toBe("0.25/s");
    expect(fmtRateTick(1500)).toBe("1.5k/s");
    expect(fmtTick("rate", 0)).toBe("0");
    expect(fmtTick("latency", 0)).toBe("0");
    expect(fmtTick("latency", 12.5)).toBe("12.5 ms");
    expect(fmtTick("errors", 0.5)).toBe(""); // no half errors
  });
  it("finds the warm-up span to shade", () => {
    expect(warmupSpan([0, 1, 2, 3], [true, true, false, false])).toEqual([0, 2]);
    expect(warmupSpan([0, 1, 2], [true, false, false])).toEqual([0, 1]);
    expect(warmupSpan([1, 2, 3], [false, false, false])).toBeNull();
    expect(warmupSpan([1, 2], [])).toBeNull();
  });
  it("gives the legend the last value when the cursor is elsewhere", () => {
    expect(lastValue([1, 2, null, undefined])).toBe(2);
    expect(lastValue([null])).toBeNull();
  });
  it("draws latency and rate objectives on their charts", () => {
    const v = (metric: string, value: number, raw: string, met = true): Verdict => ({ objective: { metric, op: "<=", value, raw }, actual: 0, met, status: met ? "met" : "broken" });
    const vs = [v("p99", 50, "p99<=50ms"), v("error_rate", 0.01, "error_rate<1%"), v("rps", 90, "rps>=90", false), v("service_p90", 20, "service_p90<=20ms")];
    expect(thresholds("latency", vs)).toEqual([
      { label: "SLO p99<=50ms", value: 50, met: true },
      { label: "SLO service_p90<=20ms", value: 20, met: true },
    ]);
    expect(thresholds("rate", vs)).toEqual([{ label: "SLO rps>=90", value: 90, met: false }]);
    expect(thresholds("errors", vs)).toEqual([]);
  });
});
