// Shaping a capacity search's report for the Capacity page: the curve by
// rate, the rates to mark, the steps, and a profile's found rate over time.
// Every figure is the report's (internal/capacity), never recomputed.

import type { CapacityReport, CapacitySearch, CapacityStep } from "../api";

/** The latency and error curve, one point per rate. */
export interface Curve {
  rps: number[];
  p50: number[];
  p90: number[];
  p99: number[];
  /** Error rate as a percentage (0–100). */
  errorPct: number[];
  /** Whether every step at the rate met the objectives. */
  met: boolean[];
  /** How many counted steps each point is the worst of. */
  steps: number[];
}

/**
 * curveOf turns the report's curve (the counted steps, by rate) into one
 * point per rate: several steps at one rate (confirmations) show as the
 * worst of them, as the report's own figures at the sustained rate are.
 */
export function curveOf(rep: Pick<CapacityReport, "curve">): Curve {
  const out: Curve = { rps: [], p50: [], p90: [], p99: [], errorPct: [], met: [], steps: [] };
  const points = [...(rep.curve ?? [])].sort((a, b) => a.rps - b.rps);
  for (const p of points) {
    const i = out.rps.length - 1;
    if (i >= 0 && out.rps[i] === p.rps) {
      out.p50[i] = Math.max(out.p50[i], p.p50_ms);
      out.p90[i] = Math.max(out.p90[i], p.p90_ms);
      out.p99[i] = Math.max(out.p99[i], p.p99_ms);
      out.errorPct[i] = Math.max(out.errorPct[i], 100 * p.error_rate);
      out.met[i] = out.met[i] && p.met;
      out.steps[i]++;
      continue;
    }
    out.rps.push(p.rps);
    out.p50.push(p.p50_ms);
    out.p90.push(p.p90_ms);
    out.p99.push(p.p99_ms);
    out.errorPct.push(100 * p.error_rate);
    out.met.push(p.met);
    out.steps.push(1);
  }
  return out;
}

/** A rate to mark on the curve. */
export interface Marker {
  rps: number;
  label: string;
  kind: "found" | "breaks" | "knee";
}

/** The found (sustained) rate, the breaking rate and the knee, when known. */
export function markersOf(rep: CapacityReport): Marker[] {
  const out: Marker[] = [];
  if (rep.sustained_rps > 0) out.push({ rps: rep.sustained_rps, label: `sustains ${plainRate(rep.sustained_rps)}`, kind: "found" });
  if (rep.breaks_rps && rep.breaks_rps > 0) {
    const by = rep.broken_by?.length ? ` on ${rep.broken_by.join(", ")}` : "";
    out.push({ rps: rep.breaks_rps, label: `breaks at ${plainRate(rep.breaks_rps)}${by}`, kind: "breaks" });
  }
  if (rep.knee_rps && rep.knee_rps > 0) out.push({ rps: rep.knee_rps, label: `knee ${plainRate(rep.knee_rps)}`, kind: "knee" });
  return out;
}

/** A rate as the report's text writes it: whole requests per second, with separators. */
export function plainRate(r: number): string {
  return `${Math.round(r).toLocaleString("en-US")} rps`;
}

/** The answer in one line, as `meshperf capacity` states it. */
export function answerOf(rep: CapacityReport): string {
  switch (rep.outcome) {
    case "found": {
      const pm = rep.uncertainty_rps ? ` (limit below ${plainRate(rep.breaks_rps ?? 0)}, ±${Math.round(rep.uncertainty_rps)})` : "";
      return `Sustains ${plainRate(rep.sustained_rps)}${pm}`;
    }
    case "above_max":
      return `Sustains at least ${plainRate(rep.sustained_rps)}: every objective was met at the highest rate tried`;
    case "below_min":
      return `Breaks already at the lowest rate tried (${plainRate(rep.min_rps)})`;
    case "client_limit":
      return `meshperf itself was the limit at ${plainRate(rep.client_limit_rps ?? 0)}`;
  }
  return rep.sustained_rps > 0 ? `Sustained ${plainRate(rep.sustained_rps)} so far (${rep.outcome})` : `No answer (${rep.outcome})`;
}

/** A step's verdict in words. */
export function verdictOf(s: CapacityStep): string {
  if (s.interrupted) return "interrupted";
  if (s.client_limited) return `client limit${s.client_reason ? `: ${s.client_reason}` : ""}`;
  if (!s.met) return `broken: ${(s.broken ?? []).join(", ")}`;
  return "met";
}

/** A profile's found rate over time: searches with an answer, oldest first. */
export interface Trend {
  /** Unix seconds of each search's creation. */
  times: number[];
  rps: number[];
  ids: string[];
}

/** trendOf keeps the searches that found a rate (found, or above the max tried), oldest first. */
export function trendOf(searches: CapacitySearch[]): Trend {
  const out: Trend = { times: [], rps: [], ids: [] };
  const kept = searches
    .filter((s) => (s.outcome === "found" || s.outcome === "above_max") && s.sustained_rps > 0)
    .map((s) => ({ s, t: Date.parse(s.created_at) / 1000 }))
    .filter((x) => !Number.isNaN(x.t))
    .sort((a, b) => a.t - b.t || (a.s.id < b.s.id ? -1 : 1));
  for (const { s, t } of kept) {
    out.times.push(t);
    out.rps.push(s.sustained_rps);
    out.ids.push(s.id);
  }
  return out;
}
