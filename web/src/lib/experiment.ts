// An experiment's report (GET /api/v1/experiments/{id}) turned into what
// the experiment page shows: the sweep's axis, one line per variant for a
// figure (median, min and max over the repeats), point labels, the reasons
// metrics are missing, and the report as CSV (the columns of `meshperf
// experiment report --output csv`).

import type { ExperimentPoint, ExperimentReport, ExperimentVariant, Metric, Stat } from "../api";

/** The percentiles a report compares, as its keys. */
export const percentileKeys = ["p50", "p90", "p99", "p99.9"] as const;
export type PercentileKey = (typeof percentileKeys)[number];

/** A sweep dimension: the total rate, or the connection count. */
export type Dim = "rps" | "connections";

/**
 * The sweep's shape: the dimension charts put on x (the one the sweep
 * varies; the rate when both or neither vary) and the values of the other,
 * of which a chart shows one at a time.
 */
export interface SweepShape {
  x: Dim;
  xs: number[];
  other: Dim;
  others: number[];
}

const uniqueSorted = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

export function sweepShape(r: ExperimentReport): SweepShape {
  const rates = uniqueSorted(r.points.map((p) => p.rps));
  const conns = uniqueSorted(r.points.map((p) => p.connections));
  if (rates.length === 1 && conns.length > 1) return { x: "connections", xs: conns, other: "rps", others: rates };
  return { x: "rps", xs: rates, other: "connections", others: conns };
}

/** A figure of a variant at a point that can be charted against the sweep. */
export type Figure =
  | { kind: "latency"; key: string }
  | { kind: "achieved_rps" }
  | { kind: "error_rate" }
  | { kind: "client_cpu" }
  | { kind: "metric"; name: string };

/** The variant's statistic for a figure; undefined when no repeat has it. */
export function statOf(v: ExperimentVariant | undefined, f: Figure): Stat | undefined {
  if (!v) return undefined;
  let s: Stat | undefined;
  switch (f.kind) {
    case "latency":
      s = v.latency_ms?.[f.key];
      break;
    case "achieved_rps":
      s = v.achieved_rps;
      break;
    case "error_rate":
      s = v.error_rate;
      break;
    case "client_cpu":
      s = v.client_cpu_cores;
      break;
    case "metric":
      s = v.metrics?.[f.name];
      break;
  }
  return s && s.n > 0 ? s : undefined;
}

/** One variant's line: per x, the median and the range over the repeats (null: no value). */
export interface Line {
  name: string;
  median: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

export interface Series {
  xs: number[];
  lines: Line[];
}

/** The point at x (and, when the sweep has both dimensions, at the other's value). */
export function pointAt(r: ExperimentReport, shape: SweepShape, x: number, other?: number): ExperimentPoint | undefined {
  return r.points.find((p) => p[shape.x] === x && (other === undefined || p[shape.other] === other));
}

/**
 * A figure against the sweep, one line per variant (in the report's order):
 * what the charts draw. other picks the value of the other dimension when
 * the sweep has several (the first by default).
 */
export function seriesOf(r: ExperimentReport, f: Figure, shape = sweepShape(r), other?: number): Series {
  const fixed = shape.others.length > 1 ? (other ?? shape.others[0]) : undefined;
  const points = shape.xs.map((x) => pointAt(r, shape, x, fixed));
  const lines = r.variants.map((name) => {
    const stats = points.map((p) => statOf(p?.variants.find((v) => v.name === name), f));
    return {
      name,
      median: stats.map((s) => (s ? s.median : null)),
      min: stats.map((s) => (s ? s.min : null)),
      max: stats.map((s) => (s ? s.max : null)),
    };
  });
  return { xs: shape.xs, lines };
}

/** Whether any line of a series has a value. */
export function hasValues(s: Series): boolean {
  return s.lines.some((l) => l.median.some((v) => v !== null));
}

/** The largest value a series reaches, ranges included (0 if none). */
export function seriesMax(s: Series): number {
  let m = 0;
  for (const l of s.lines) for (const v of [...l.max, ...l.median]) if (v !== null && v > m) m = v;
  return m;
}

/** A sweep value in words: "100 rps", "closed loop", "8 connections". */
export function dimValue(d: Dim, v: number): string {
  if (d === "rps") return v === 0 ? "closed loop" : `${plainNumber(v)} rps`;
  return `${v} connection${v === 1 ? "" : "s"}`;
}

/** A sweep point in words: "100 rps · 4 connections". */
export function pointLabel(p: ExperimentPoint): string {
  return `${dimValue("rps", p.rps)} · ${dimValue("connections", p.connections)}`;
}

/** Every distinct reason each metric is missing, over all cells, with how many cells say it. */
export function missingReasons(r: ExperimentReport): { metric: string; reason: string; cells: number }[] {
  const seen = new Map<string, { metric: string; reason: string; cells: number }>();
  for (const p of r.points)
    for (const v of p.variants)
      for (const c of v.cells)
        for (const [metric, reason] of Object.entries(c.metrics_missing ?? {})) {
          const k = `${metric}\u0000${reason}`;
          const e = seen.get(k);
          if (e) e.cells++;
          else seen.set(k, { metric, reason, cells: 1 });
        }
  return [...seen.values()].sort((a, b) => a.metric.localeCompare(b.metric) || b.cells - a.cells);
}

/** Why a variant has no value for a metric at a point (its cells' reasons), or "". */
export function variantMissing(v: ExperimentVariant, metric: string): string {
  return [...new Set(v.cells.map((c) => c.metrics_missing?.[metric]).filter((x): x is string => !!x))].join("; ");
}

/** A difference in ms with its sign: "+1.09 ms", "−0.020 ms". */
export function fmtAdded(ms: number, fmt: (ms: number) => string): string {
  if (ms === 0) return `±${fmt(0)}`;
  return `${ms > 0 ? "+" : "−"}${fmt(Math.abs(ms))}`;
}

/** A ratio: "×1.31" ("–" when the baseline's median is 0). */
export function fmtRatio(r: number): string {
  if (!r) return "–";
  return `×${r.toFixed(r >= 10 ? 1 : 2)}`;
}

/**
 * A number as Go's strconv.FormatFloat(x, 'f', -1, 64) writes it: the
 * shortest digits that read back the same, never in exponent form.
 */
export function plainNumber(x: number): string {
  const s = String(x);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, first, frac = "", e] = m;
  const exp = Number(e);
  const digits = first + frac;
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  return sign + digits + "0".repeat(Math.max(0, exp - frac.length));
}

/** A CSV field quoted as Go's encoding/csv quotes it. */
function csvField(s: string): string {
  if (s === "") return s;
  if (s === "\\." || /[",\r\n]/.test(s) || /^\s/u.test(s)) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

/**
 * The report as CSV, one row per sweep point and variant: the same columns
 * and numbers as `meshperf experiment report --output csv`.
 */
export function reportCSV(r: ExperimentReport): string {
  const f = plainNumber;
  const head = ["experiment", "rps", "connections", "variant", "repeats"];
  for (const k of percentileKeys) {
    const c = k.replace(".", "_");
    head.push(`${c}_ms`, `${c}_min_ms`, `${c}_max_ms`, `${c}_added_ms`, `${c}_ratio`, `${c}_within_noise`);
  }
  head.push("achieved_rps", "error_rate", "client_cpu_cores", "client_saturated", ...r.metrics.map((m) => `metric_${m}`));
  const rows = [head];
  for (const p of r.points) {
    for (const v of p.variants) {
      const row = [r.experiment.id, f(p.rps), String(p.connections), v.name, String(v.cells.length)];
      for (const k of percentileKeys) {
        const s = v.latency_ms?.[k];
        row.push(...(s ? [f(s.median), f(s.min), f(s.max)] : ["", "", ""]));
        const o = v.overhead?.[k];
        row.push(...(o ? [f(o.added_ms), f(o.ratio), String(o.within_noise)] : ["", "", ""]));
      }
      row.push(f(v.achieved_rps.median), f(v.error_rate.median), f(v.client_cpu_cores.median), String(!!v.client_saturated));
      for (const m of r.metrics) {
        const s = v.metrics?.[m];
        row.push(s ? f(s.median) : "");
      }
      rows.push(row);
    }
  }
  return rows.map((row) => row.map(csvField).join(",") + "\n").join("");
}

/** Saves text as a download named name. */
export function saveText(name: string, type: string, text: string) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The most series a metric's chart draws (a query should sum() proxies). */
export const maxMetricSeries = 8;

/** A series' labels in words: "job=sidecar, instance=127.0.0.1:9100". */
export function labelsText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .filter(([k]) => k !== "__name__")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/**
 * A Prometheus metric of a result as chart data: x in seconds from the
 * start of its window, one column per series (at most maxMetricSeries),
 * null where a series has no sample at a time; null when it has no sample.
 */
export function metricChart(m: Metric): { names: string[]; data: [number[], ...(number | null)[][]]; total: number } | null {
  const all = (m.series ?? []).filter((s) => s.samples.length > 0);
  if (all.length === 0) return null;
  const series = all.slice(0, maxMetricSeries);
  const times = uniqueSorted(series.flatMap((s) => s.samples.map((x) => Date.parse(x.t))));
  const start = m.start ? Date.parse(m.start) : NaN;
  const t0 = Number.isNaN(start) ? times[0] : start;
  const cols = series.map((s) => {
    const at = new Map(s.samples.map((x) => [Date.parse(x.t), x.v]));
    return times.map((t) => at.get(t) ?? null);
  });
  return {
    names: series.map((s, i) => labelsText(s.labels) || (series.length > 1 ? `${m.name} ${i + 1}` : m.name)),
    data: [times.map((t) => (t - t0) / 1000), ...cols],
    total: all.length,
  };
}
