import { describe, expect, it } from "vitest";
import { durationSeconds, fmtAgo, fmtMs, fmtPct, fmtRate } from "./format";

describe("format", () => {
  it("formats latencies", () => {
    expect(fmtMs(0.0834)).toBe("0.083 ms");
    expect(fmtMs(12.345)).toBe("12.3 ms");
    expect(fmtMs(250.2)).toBe("250 ms");
    expect(fmtMs(1234)).toBe("1.23 s");
    expect(fmtMs(undefined)).toBe("–");
  });
  it("formats rates and ratios", () => {
    expect(fmtRate(999.6)).toBe("1000/s");
    expect(fmtRate(20000)).toBe("20.0k/s");
    expect(fmtPct(0)).toBe("0%");
    expect(fmtPct(0.0123)).toBe("1.23%");
    expect(fmtPct(0.5)).toBe("50.0%");
  });
  it("reads Go durations", () => {
    expect(durationSeconds("1m30s")).toBe(90);
    expect(durationSeconds("1h0m0s")).toBe(3600);
    expect(durationSeconds("500ms")).toBe(0.5);
  });
  it("says how long ago", () => {
    expect(fmtAgo(new Date(1_000_000).toISOString(), 1_000_000 + 120_000)).toBe("2 min ago");
  });
});
