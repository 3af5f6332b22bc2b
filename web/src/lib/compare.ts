// The logic of the compare page: readable row names, the server's
// warnings without their "not comparable:" prefix (the page has one banner
// saying so), a one-line verdict per result against the baseline, and the
// baseline's choice (the server compares against the first id).

import type { Comparison } from "../api";
import { fmtMs, fmtPct, fmtRate } from "./format";

const rowNames: Record<string, string> = {
  achieved_rps: "achieved rate",
  error_rate: "error rate",
  requests: "requests",
  max: "max",
  mean: "mean",
};

/** A comparison row's name as people read it: achieved_rps → "achieved rate"; p99 stays p99. */
export function rowLabel(metric: string): string {
  return rowNames[metric] ?? metric.replace(/_/g, " ");
}

/** A server warning without its "not comparable: " prefix, capitalised. */
export function warningText(w: string): string {
  const t = w.replace(/^(may )?not comparable:\s*/i, "");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** ids with base first (the server's baseline), the others in their order. */
export function withBaseline(ids: string[], base: string): string[] {
  if (!ids.includes(base)) return ids;
  return [base, ...ids.filter((x) => x !== base)];
}

/** How much a latency may move before it counts (relative). */
export const latencyTolerance = 0.1;
/** How much the achieved rate may drop before it counts (relative). */
export const rateTolerance = 0.05;
/** How much the error rate may rise before it counts (absolute, 0.1 %). */
export const errorTolerance = 0.001;

export type Judgement = "worse" | "better" | "about the same";

export interface VerdictLine {
  name: string;
  judgement: Judgement;
  text: string;
}

function row(c: Comparison, metric: string) {
  return c.rows.find((r) => r.metric === metric);
}

function signedPct(ratio: number): string {
  const p = (ratio - 1) * 100;
  const r = Math.abs(p) >= 10 ? p.toFixed(0) : p.toFixed(1);
  return `${p >= 0 ? "+" : "−"}${r.replace("-", "")}%`;
}

/**
 * One line per result but the baseline, like k6's end-of-test summary:
 * "B: p99 12.3 ms → 15.1 ms (+23%), errors 0% → 0.50%, rate 200/s → 199/s: worse than A".
 * Worse when p99 rose more than latencyTolerance, the error rate rose more
 * than errorTolerance or the rate fell more than rateTolerance; better when
 * p99 fell more than latencyTolerance and nothing got worse.
 */
export function compareVerdicts(c: Comparison): VerdictLine[] {
  const plain = (i: number) => c.columns[i]?.name || c.columns[i]?.id || `result ${i + 1}`;
  // Two runs of one profile share a name: then the id tells them apart.
  const name = (i: number) => {
    const n = plain(i);
    const twin = c.columns.some((_, j) => j !== i && plain(j) === n);
    return twin && c.columns[i]?.id && c.columns[i].id !== n ? `${n} (${c.columns[i].id})` : n;
  };
  const p99 = row(c, "p99");
  const err = row(c, "error_rate");
  const rate = row(c, "achieved_rps");
  const out: VerdictLine[] = [];
  for (let i = 1; i < c.columns.length; i++) {
    const parts: string[] = [];
    const why: { worse: boolean; better: boolean } = { worse: false, better: false };
    const lb = p99?.cells[0]?.value;
    const lv = p99?.cells[i]?.value;
    if (lb != null && lv != null) {
      const ratio = lb > 0 ? lv / lb : lv > 0 ? Infinity : 1;
      parts.push(`p99 ${fmtMs(lb)} → ${fmtMs(lv)}${Number.isFinite(ratio) ? ` (${signedPct(ratio)})` : ""}`);
      if (ratio > 1 + latencyTolerance) why.worse = true;
      if (ratio < 1 - latencyTolerance) why.better = true;
    }
    const eb = err?.cells[0]?.value;
    const ev = err?.cells[i]?.value;
    if (eb != null && ev != null) {
      parts.push(`errors ${fmtPct(eb)} → ${fmtPct(ev)}`);
      if (ev - eb > errorTolerance) why.worse = true;
    }
    const rb = rate?.cells[0]?.value;
    const rv = rate?.cells[i]?.value;
    if (rb != null && rv != null) {
      parts.push(`rate ${fmtRate(rb)} → ${fmtRate(rv)}`);
      if (rb > 0 && rv / rb < 1 - rateTolerance) why.worse = true;
    }
    const judgement: Judgement = why.worse ? "worse" : why.better ? "better" : "about the same";
    const against = judgement === "about the same" ? `about the same as ${name(0)}` : `${judgement} than ${name(0)}`;
    out.push({ name: name(i), judgement, text: `${name(i)}: ${parts.join(", ")}: ${against}` });
  }
  return out;
}
