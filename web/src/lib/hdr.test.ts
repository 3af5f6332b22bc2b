import { describe, expect, it } from "vitest";
import fixture from "./hdr.fixture.json";
import { decodeHistogram, logBins, maxPosition, percentileCurve, percentileGrid, percentileLabel, percentileOf, summary, valueAtQuantile, withMax } from "./hdr";

// hdr.fixture.json was written by meshperf's Go hist package: values 1..10000
// µs once each and 250 ms ten times, with the quantiles Go reported.

describe("decodeHistogram", () => {
  it("reads what the Go hist package wrote, with the same quantiles", async () => {
    const h = await decodeHistogram(fixture.histogram);
    expect(h.total).toBe(fixture.count);
    fixture.quantiles.forEach((q, i) => {
      expect(valueAtQuantile(h, q)).toBe(fixture.values_us[i]);
    });
    expect(h.lows[0]).toBe(fixture.min_us);
  });

  it("refuses what is not a histogram", async () => {
    await expect(decodeHistogram(btoa("not a histogram at all"))).rejects.toThrow(/not a V2/);
  });
});

describe("percentile plot", () => {
  it("spans 1/(1-q) from the median to the tail", async () => {
    const h = await decodeHistogram(fixture.histogram);
    const xs = percentileGrid(h.total);
    expect(xs[0]).toBe(1);
    expect(xs[xs.length - 1]).toBeCloseTo(h.total, 6);
    const ys = percentileCurve(h, xs, 1e-3);
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeGreaterThanOrEqual(ys[i - 1]!);
    expect(ys[ys.length - 1]).toBeCloseTo(250.111, 3);
  });

  it("labels the axis as percentiles", () => {
    expect(percentileLabel(1)).toBe("0%");
    expect(percentileLabel(10)).toBe("90%");
    expect(percentileLabel(100)).toBe("99%");
    expect(percentileLabel(1000)).toBe("99.9%");
    expect(percentileLabel(1e5)).toBe("99.999%");
  });

  it("bins every count into the histogram plot", async () => {
    const h = await decodeHistogram(fixture.histogram);
    const { centres, counts } = logBins(h, 1e-3, 50);
    expect(centres).toHaveLength(50);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(h.total);
    expect(counts[counts.length - 1]).toBe(10);
  });
});

describe("shared histogram bins", () => {
  it("keeps every count in range when binned over a wider range", async () => {
    const h = await decodeHistogram(fixture.histogram);
    const { centres, counts } = logBins(h, 1e-3, 40, [1e-4, 1000]);
    expect(centres[0]).toBeGreaterThan(1e-4);
    expect(centres[39]).toBeLessThan(1000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(h.total);
    expect(counts[0]).toBe(0); // nothing below 1 µs piles into the first bin
  });
});

describe("percentile plot to the max", () => {
  it("ends at the listed max, marked past the grid, never above it", async () => {
    const h = await decodeHistogram(fixture.histogram);
    const xs = percentileGrid(h.total);
    const ys = percentileCurve(h, xs, 1e-3);
    // A tool's exact max, below the histogram's highest equivalent value.
    const listMax = 250.0;
    expect(ys[ys.length - 1]!).toBeGreaterThan(listMax);
    const plotted = withMax(ys, listMax);
    expect(plotted).toHaveLength(xs.length + 1);
    expect(plotted[plotted.length - 1]).toBe(listMax);
    for (let i = 1; i < plotted.length; i++) {
      expect(plotted[i]!).toBeGreaterThanOrEqual(plotted[i - 1]!);
      expect(plotted[i]!).toBeLessThanOrEqual(listMax);
    }
    expect(maxPosition(xs)).toBeGreaterThan(xs[xs.length - 1]);
  });

  it("a grid alone stops before the max when the top value is alone", async () => {
    // 1000 values of 1 ms and one of 30 ms: the last grid point reads 1 ms.
    const h = { lows: Float64Array.from([1000, 30000]), highs: Float64Array.from([1000, 30000]), counts: Float64Array.from([1000, 1]), total: 1001 };
    const xs = percentileGrid(h.total);
    const ys = percentileCurve(h, xs, 1e-3);
    expect(ys.filter((y) => y !== null).pop()).toBe(1);
    const plotted = withMax(ys, 30);
    expect(plotted[plotted.length - 1]).toBe(30);
    // No gap before the max: the grid's points past the last value are the max.
    expect(plotted.every((y) => y !== null)).toBe(true);
  });

  it("reads every figure from the one list, never decreasing", () => {
    const ps = [{ p: 99, ms: 5 }, { p: 50, ms: 1 }, { p: 99.9, ms: 4 }, { p: 100, ms: 6 }];
    expect(percentileOf(ps, 99.9)).toBe(5);
    expect(percentileOf(ps, 100)).toBe(6);
    expect(percentileOf(null, 50)).toBeUndefined();
    expect(summary(ps).map((x) => x.p)).toEqual([50, 99, 99.9, 100]);
    expect(withMax([1, 2], undefined)).toEqual([1, 2, null]);
  });
});
