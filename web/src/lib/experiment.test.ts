import { describe, expect, it } from "vitest";
import type { ExperimentReport, ExperimentVariant, Metric, Stat } from "../api";
import fixture from "./experiment.fixture.json";
import { dimValue, fmtAdded, fmtRatio, hasValues, missingReasons, plainNumber, pointLabel, reportCSV, seriesMax, seriesOf, sweepShape, variantMissing, metricChart } from "./experiment";

// experiment.fixture.json holds a real report written by `meshperf experiment
// run` (baseline vs the same echo with ?delay=1ms, 50 and 100 rps, two
// repeats, a Prometheus that is not there) and the CSV `meshperf experiment
// report --output csv` wrote for it.
const report = fixture.report as ExperimentReport;

const stat = (median: number, min = median, max = median, n = 2): Stat => ({ n, median, min, max });
const none: Stat = { n: 0, median: 0, min: 0, max: 0 };

function variant(name: string, p50: number | null, extra: Partial<ExperimentVariant> = {}): ExperimentVariant {
  return {
    name,
    cells: [],
    latency_ms: p50 === null ? {} : { p50: stat(p50, p50 - 0.1, p50 + 0.1) },
    achieved_rps: p50 === null ? none : stat(100),
    error_rate: p50 === null ? none : stat(0),
    client_cpu_cores: p50 === null ? none : stat(0.05),
    ...extra,
  };
}

/** A report over connections (rate fixed), the proxy missing at 32. */
function connectionSweep(): ExperimentReport {
  return {
    ...report,
    variants: ["baseline", "proxy"],
    metrics: ["proxy_mem_mb"],
    points: [
      { rps: 500, connections: 32, variants: [variant("baseline", 0.4), variant("proxy", null)] },
      { rps: 500, connections: 8, variants: [variant("baseline", 0.3), variant("proxy", 0.5, { metrics: { proxy_mem_mb: stat(15.8, 15.7, 16.1) } })] },
    ],
  };
}

describe("sweepShape", () => {
  it("puts the rate on x when the sweep varies the rate", () => {
    expect(sweepShape(report)).toEqual({ x: "rps", xs: [50, 100], other: "connections", others: [4] });
  });

  it("puts the connections on x when only they vary, sorted", () => {
    expect(sweepShape(connectionSweep())).toEqual({ x: "connections", xs: [8, 32], other: "rps", others: [500] });
  });
});

describe("seriesOf", () => {
  it("draws each variant's medians and ranges against the rate, in the report's order", () => {
    const s = seriesOf(report, { kind: "latency", key: "p50" });
    expect(s.xs).toEqual([50, 100]);
    expect(s.lines.map((l) => l.name)).toEqual(["baseline", "delayed"]);
    const [base, delayed] = s.lines;
    expect(base.median).toEqual([0.355, 0.316]);
    expect(base.min).toEqual([0.346, 0.311]);
    expect(base.max).toEqual([0.364, 0.321]);
    expect(delayed.median).toEqual([1.4585, 1.3615]);
    // the delayed variant is the slower at every rate: what the chart shows
    delayed.median.forEach((m, i) => expect(m!).toBeGreaterThan(base.median[i]!));
  });

  it("reads every percentile, the achieved rate and the client's CPU", () => {
    expect(seriesOf(report, { kind: "latency", key: "p99.9" }).lines[0].median).toEqual([8.407, 4.537]);
    expect(seriesOf(report, { kind: "achieved_rps" }).lines[1].median).toEqual([50.467708673178606, 100.4293151941508]);
    expect(seriesOf(report, { kind: "client_cpu" }).lines[0].median).toEqual([0.03186932087913848, 0.027375368762681547]);
  });

  it("leaves gaps where a variant has no value, and says when a metric has none anywhere", () => {
    const r = connectionSweep();
    const lat = seriesOf(r, { kind: "latency", key: "p50" });
    expect(lat.xs).toEqual([8, 32]);
    expect(lat.lines[1].median).toEqual([0.5, null]);
    const mem = seriesOf(r, { kind: "metric", name: "proxy_mem_mb" });
    expect(mem.lines[0].median).toEqual([null, null]);
    expect(mem.lines[1].median).toEqual([15.8, null]);
    expect(hasValues(mem)).toBe(true);
    expect(seriesMax(mem)).toBe(16.1);
    // the fixture's metric is missing in every cell
    expect(hasValues(seriesOf(report, { kind: "metric", name: "proxy_cpu_mcores" }))).toBe(false);
  });

  it("shows one value of the other dimension when the sweep has both", () => {
    const r: ExperimentReport = {
      ...report,
      variants: ["baseline"],
      points: [
        { rps: 100, connections: 4, variants: [variant("baseline", 1)] },
        { rps: 100, connections: 16, variants: [variant("baseline", 2)] },
        { rps: 200, connections: 4, variants: [variant("baseline", 3)] },
        { rps: 200, connections: 16, variants: [variant("baseline", 4)] },
      ],
    };
    const shape = sweepShape(r);
    expect(shape).toEqual({ x: "rps", xs: [100, 200], other: "connections", others: [4, 16] });
    expect(seriesOf(r, { kind: "latency", key: "p50" }, shape).lines[0].median).toEqual([1, 3]);
    expect(seriesOf(r, { kind: "latency", key: "p50" }, shape, 16).lines[0].median).toEqual([2, 4]);
  });
});

describe("reportCSV", () => {
  it("writes what meshperf experiment report --output csv writes, byte for byte", () => {
    expect(reportCSV(report)).toBe(fixture.csv);
  });

  it("quotes fields as Go's encoding/csv does", () => {
    const r: ExperimentReport = { ...report, metrics: [], points: [{ rps: 0, connections: 2, variants: [variant('a "b", c', 1)] }] };
    const line = reportCSV(r).split("\n")[1];
    expect(line.startsWith(`${report.experiment.id},0,2,"a ""b"", c",0,`)).toBe(true);
  });
});

describe("formatting", () => {
  it("writes numbers as Go's FormatFloat 'f' -1 does, never with an exponent", () => {
    expect(plainNumber(0.1 + 0.2)).toBe("0.30000000000000004");
    expect(plainNumber(1e-7)).toBe("0.0000001");
    expect(plainNumber(-2.5e-8)).toBe("-0.000000025");
    expect(plainNumber(1.5e21)).toBe("1500000000000000000000");
    expect(plainNumber(100)).toBe("100");
  });

  it("names points, differences and ratios", () => {
    expect(pointLabel(report.points[0])).toBe("50 rps · 4 connections");
    expect(dimValue("rps", 0)).toBe("closed loop");
    expect(dimValue("connections", 1)).toBe("1 connection");
    const ms = (x: number) => `${x} ms`;
    expect(fmtAdded(1.1, ms)).toBe("+1.1 ms");
    expect(fmtAdded(-0.02, ms)).toBe("−0.02 ms");
    expect(fmtRatio(1.3054)).toBe("×1.31");
    expect(fmtRatio(0)).toBe("–");
  });
});

describe("missing metrics", () => {
  it("lists each distinct reason once with the cells that give it", () => {
    const m = missingReasons(report);
    expect(m).toHaveLength(1);
    expect(m[0].metric).toBe("proxy_cpu_mcores");
    expect(m[0].reason).toMatch(/^prometheus at http:\/\/127\.0\.0\.1:9 unreachable: .*connection refused$/);
    expect(m[0].cells).toBe(8);
    expect(variantMissing(report.points[0].variants[0], "proxy_cpu_mcores")).toBe(m[0].reason);
    expect(variantMissing(report.points[0].variants[0], "other")).toBe("");
  });
});

describe("metricChart", () => {
  const m: Metric = {
    name: "proxy_cpu_mcores",
    query: "sum(rate(x[5s])) * 1000",
    unit: "mcores",
    start: "2026-11-21T07:00:01Z",
    end: "2026-11-21T07:00:04Z",
    average: 10,
    series: [
      { labels: { job: "sidecar", instance: "b" }, samples: [{ t: "2026-11-21T07:00:01Z", v: 9 }, { t: "2026-11-21T07:00:02Z", v: 11 }] },
      { labels: { __name__: "x", job: "sidecar", instance: "a" }, samples: [{ t: "2026-11-21T07:00:02Z", v: 5 }, { t: "2026-11-21T07:00:03Z", v: 6 }] },
    ],
  };

  it("aligns every series on the union of their times, in seconds from the window's start", () => {
    const c = metricChart(m)!;
    expect(c.data[0]).toEqual([0, 1, 2]);
    expect(c.data[1]).toEqual([9, 11, null]);
    expect(c.data[2]).toEqual([null, 5, 6]);
    expect(c.names).toEqual(["instance=b, job=sidecar", "instance=a, job=sidecar"]);
    expect(c.total).toBe(2);
  });

  it("has nothing to draw for a missing metric, and caps the series drawn", () => {
    expect(metricChart({ name: "x", query: "x", start: m.start, end: m.end, average: 0, missing: "no data: the query returned no series over the window" })).toBeNull();
    const many: Metric = { ...m, series: Array.from({ length: 20 }, (_, i) => ({ labels: { i: String(i) }, samples: [{ t: m.start!, v: i }] })) };
    const c = metricChart(many)!;
    expect(c.names).toHaveLength(8);
    expect(c.total).toBe(20);
  });
});
