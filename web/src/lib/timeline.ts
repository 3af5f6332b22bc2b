// The logic of the per-second timeline charts, apart from drawing: which
// y axis (so one warm-up spike does not flatten every later second), tick
// labels, the warm-up span to shade, the values a legend shows when the
// cursor is elsewhere, and the objectives drawn as threshold lines.

import type { Verdict } from "../api";
import { fmtMs } from "./format";

export type TimelineKind = "rate" | "latency" | "errors";
export type Col = (number | null | undefined)[];

/** How a chart's y axis is laid out. */
export interface YAxis {
  /** linear from 0; log (latencies spanning decades); clipped: linear, topped below a spike. */
  scale: "linear" | "log" | "clipped";
  min: number;
  max: number;
  /** How many points lie above max (drawn at the top edge). */
  clipped: number;
}

/** The q-quantile (0–1) of xs, sorted ascending; 0 for none. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function finite(cols: Col[], keep: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (const c of cols) {
    c.forEach((v, i) => {
      if (v !== null && v !== undefined && Number.isFinite(v) && keep(i)) out.push(v);
    });
  }
  return out.sort((a, b) => a - b);
}

/** Above this many times the steady seconds' 95th percentile, a value is a spike. */
export const spikeFactor = 3;
/** Latencies spanning more than this ratio (max over the smallest positive) get a log axis. */
export const logSpan = 30;

/**
 * The y axis for a timeline. Steady seconds are those after warm-up;
 * thresholds (objectives) are kept in view. Latency spanning more than
 * logSpan gets a log axis; otherwise, when the largest value is more than
 * spikeFactor times the steady seconds' 95th percentile, the axis is
 * clipped at 1.5 times that percentile (or the largest steady value, when
 * the spike was in warm-up only), so later seconds are not flattened.
 * Errors keep a linear axis: their spikes are the news.
 */
export function chooseYAxis(kind: TimelineKind, cols: Col[], warmup: boolean[] = [], thresholds: number[] = []): YAxis {
  const all = finite(cols, () => true);
  const steady = finite(cols, (i) => !warmup[i]);
  const ref = steady.length > 0 ? steady : all;
  const hi = Math.max(all.length ? all[all.length - 1] : 0, ...thresholds);
  const linear: YAxis = { scale: "linear", min: 0, max: hi > 0 ? hi * 1.1 : 1, clipped: 0 };
  if (kind === "errors" || all.length === 0) return linear;
  if (kind === "latency") {
    const lo = all.find((v) => v > 0);
    if (lo !== undefined && hi / lo > logSpan) {
      const lows = [lo, ...thresholds.filter((t) => t > 0)];
      return { scale: "log", min: Math.min(...lows) / 1.5, max: hi * 1.5, clipped: 0 };
    }
  }
  const q95 = quantile(ref, 0.95);
  if (q95 <= 0 || hi <= spikeFactor * q95) return linear;
  const steadyMax = ref[ref.length - 1];
  let top = Math.max(1.5 * q95, steady.length > 0 && steadyMax <= spikeFactor * q95 ? steadyMax * 1.1 : 0, ...thresholds.map((t) => t * 1.1));
  if (top <= 0) top = 1;
  const clipped = all.filter((v) => v > top).length;
  return clipped === 0 ? linear : { scale: "clipped", min: 0, max: top, clipped };
}

/** A rate as a tick label: 0, 0.5/s, 20/s, 1.5k/s (never "0.0/s"). */
export function fmtRateTick(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k/s`;
  return `${Number(v.toPrecision(3))}/s`;
}

/** A tick label for a timeline of kind. */
export function fmtTick(kind: TimelineKind, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "";
  if (v === 0) return "0";
  if (kind === "rate") return fmtRateTick(v);
  if (kind === "latency") return fmtMs(v);
  return Number.isInteger(v) ? String(v) : "";
}

/** The seconds of warm-up, as [start of the first, end of the last] for shading; null when none. */
export function warmupSpan(seconds: number[], warmup: (boolean | undefined)[]): [number, number] | null {
  let from: number | null = null;
  let to: number | null = null;
  seconds.forEach((s, i) => {
    if (!warmup[i]) return;
    if (from === null || s < from) from = s;
    if (to === null || s > to) to = s;
  });
  if (from === null || to === null) return null;
  // A point is its second's start (spec.Interval.Second, from 0): warm-up covers [from, to+1).
  return [from, (to as number) + 1];
}

/** The last value a column has (the legend's "now" when the cursor is elsewhere). */
export function lastValue(col: Col): number | null {
  for (let i = col.length - 1; i >= 0; i--) {
    const v = col[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) return v;
  }
  return null;
}

/** An objective drawn on a timeline: a horizontal line at value. */
export interface Threshold {
  label: string;
  value: number;
  /** Whether the run met it (false: broken or not evaluated). */
  met: boolean;
}

/**
 * The objectives a timeline of kind can show as lines: latency percentiles
 * (p50, p90, p99, their service_ forms, max, mean) on the latency chart in
 * ms, rps on the rate chart. Error ratios are not per-second counts, so the
 * errors chart has none.
 */
export function thresholds(kind: TimelineKind, verdicts: Verdict[] | undefined): Threshold[] {
  const out: Threshold[] = [];
  for (const v of verdicts ?? []) {
    const m = v.objective.metric.replace(/^service_/, "");
    const latency = /^p[0-9.]+$/.test(m) || m === "max" || m === "mean";
    if ((kind === "latency" && latency) || (kind === "rate" && m === "rps")) {
      out.push({ label: `SLO ${v.objective.raw}`, value: v.objective.value, met: v.met });
    }
  }
  return out;
}
