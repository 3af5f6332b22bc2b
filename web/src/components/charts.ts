// uPlot options for meshperf's charts, built from the theme's colours.

import uPlot from "uplot";
import { axis, cssVar } from "./Chart";
import { fmtMs } from "../lib/format";
import { percentileLabel } from "../lib/hdr";

export function series(label: string, colour: string, extra: Partial<uPlot.Series> = {}): uPlot.Series {
  return { label, stroke: colour, width: 1.5, points: { show: false }, ...extra };
}

/** A second of a run as an axis label: 45s, 2m, 1h30m. */
export function fmtSecond(v: number): string {
  if (v < 60 || v % 60 !== 0) return `${v}s`;
  if (v < 3600 || v % 3600 !== 0) return v >= 3600 ? `${Math.floor(v / 3600)}h${(v % 3600) / 60}m` : `${v / 60}m`;
  return `${v / 3600}h`;
}

/**
 * The HdrHistogram-style percentile plot: x = 1/(1−p), both axes log. With
 * maxX (hdr.maxPosition), the last point of each series is the max, marked
 * with a dot and labelled "max", as HdrHistogram's plotter ends its curves.
 */
export function percentileOptions(names: string[], maxX?: number): Omit<uPlot.Options, "width" | "height"> {
  const colours = ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6"].map(cssVar);
  const label = (v: number) => (maxX !== undefined && v >= maxX * 0.999 ? "max" : percentileLabel(v));
  const last = (u: uPlot) => [u.data[0].length - 1];
  return {
    scales: { x: { time: false, distr: 3, log: 10 }, y: { distr: 3, log: 10 } },
    axes: [
      axis({
        label: "percentile",
        values: (_u, vs) => vs.map((v) => (v === null ? "" : label(v))),
        space: 60,
        // Decades (0%, 90%, 99%…), then the max, where the curves end.
        ...(maxX !== undefined
          ? {
              splits: (_u: uPlot, _i: number, min: number, max: number) => {
                const out: number[] = [];
                for (let v = 1; v < maxX / 2 && v <= max; v *= 10) if (v >= min) out.push(v);
                out.push(maxX);
                return out;
              },
              // uPlot's log-axis filter keeps only 1/2/5×10ⁿ labels: keep "max" too.
              filter: (_u: uPlot, splits: number[]) => splits,
            }
          : {}),
      }),
      axis({ label: "latency", size: 70, values: (_u, vs) => vs.map((v) => (v === null ? "" : fmtMs(v))) }),
    ],
    series: [
      { label: "percentile", value: (_u, v) => (v === null || v === undefined ? "–" : label(v)) },
      ...names.map((n, i) =>
        series(n, colours[i % colours.length], {
          value: (_u, v) => (v === null || v === undefined ? "–" : fmtMs(v)),
          spanGaps: false,
          ...(maxX !== undefined ? { points: { show: true, size: 8, filter: last } } : {}),
        }),
      ),
    ],
    legend: { live: true },
  };
}

/** A latency histogram: x log-spaced latency, y counts. */
export function histogramOptions(names: string[]): Omit<uPlot.Options, "width" | "height"> {
  const colours = ["--series-1", "--series-2"].map(cssVar);
  return {
    scales: { x: { time: false, distr: 3, log: 10 }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      axis({ label: "latency", values: (_u, vs) => vs.map((v) => (v === null ? "" : fmtMs(v))) }),
      axis({ label: "requests", size: 70 }),
    ],
    series: [
      { label: "latency", value: (_u, v) => (v === null || v === undefined ? "–" : fmtMs(v)) },
      ...names.map((n, i) => series(n, colours[i % colours.length], { fill: colours[i % colours.length] + "40", paths: uPlot.paths.stepped!({ align: 1 }) })),
    ],
    legend: { live: true },
  };
}
