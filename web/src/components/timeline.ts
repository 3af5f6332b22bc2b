// uPlot options for the per-second timelines (result, live run, compare):
// a y axis that a warm-up spike does not flatten (lib/timeline's
// chooseYAxis), warm-up shaded, objectives drawn as dashed lines, legends
// that show the last second's values until hovered, and tick labels
// without "0.0/s". What was drawn is left on the chart's element as data
// attributes (data-y-scale, data-y-ticks, data-slo), for tests and tools.

import uPlot from "uplot";
import { axis, cssVar } from "./Chart";
import { fmtSecond, series } from "./charts";
import { fmtMs, fmtRate } from "../lib/format";
import { chooseYAxis, fmtTick, lastValue, warmupSpan, type Threshold, type TimelineKind, type YAxis } from "../lib/timeline";

export interface TimelineOpts {
  /** Whether each point (by index) is a warm-up second; read at every draw (live charts grow). */
  warmup?: () => (boolean | undefined)[];
  thresholds?: Threshold[];
  /** A log axis is fixed when the chart is made: give it for static data only. */
  log?: boolean;
  /** Dashed series by index (0-based among names), e.g. "requested". */
  dashed?: number[];
  colours?: string[];
}

/** A value of kind as the legend writes it. */
export function fmtValue(kind: TimelineKind, v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  return kind === "rate" ? fmtRate(v) : kind === "latency" ? fmtMs(v) : String(v);
}

/** The y axis for data as the chart has it (u.data), its warm-up flags and objectives. */
export function axisFor(kind: TimelineKind, data: uPlot.AlignedData, warmup: (boolean | undefined)[], o: TimelineOpts, allowLog: boolean): YAxis {
  const cols = data.slice(1) as (number | null)[][];
  const ts = (o.thresholds ?? []).map((t) => t.value);
  const y = chooseYAxis(kind, cols, warmup as boolean[], ts);
  // A live chart keeps a linear axis: clip rather than switch scales (the rule for rates).
  return y.scale === "log" && !allowLog ? chooseYAxis("rate", cols, warmup as boolean[], ts) : y;
}

export function timelineOptions(kind: TimelineKind, names: string[], o: TimelineOpts = {}): Omit<uPlot.Options, "width" | "height"> {
  const colours = o.colours ?? ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6"].map(cssVar);
  const warm = () => o.warmup?.() ?? [];
  const muted = cssVar("--muted");
  const danger = cssVar("--danger");
  const ok = cssVar("--ok");
  let current: YAxis = { scale: "linear", min: 0, max: 1, clipped: 0 };

  const shade = (u: uPlot) => {
    const span = warmupSpan(u.data[0] as number[], warm());
    if (!span) return;
    const { ctx, bbox } = u;
    const x0 = Math.max(bbox.left, u.valToPos(span[0], "x", true));
    const x1 = Math.min(bbox.left + bbox.width, u.valToPos(span[1], "x", true));
    if (x1 <= x0) return;
    ctx.save();
    ctx.fillStyle = muted;
    ctx.globalAlpha = 0.14;
    ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    ctx.globalAlpha = 0.9;
    ctx.font = `${11 * uPlot.pxRatio}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    ctx.fillText("warm-up", x0 + 4 * uPlot.pxRatio, bbox.top + 4 * uPlot.pxRatio);
    ctx.restore();
  };

  const lines = (u: uPlot) => {
    const ts = o.thresholds ?? [];
    const { ctx, bbox } = u;
    const px = uPlot.pxRatio;
    ctx.save();
    for (const t of ts) {
      const y = Math.round(u.valToPos(t.value, "y", true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      ctx.strokeStyle = t.met ? ok : danger;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash([6 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.font = `${11 * px}px system-ui, sans-serif`;
      ctx.textAlign = "right";
      ctx.textBaseline = "bottom";
      ctx.fillText(t.label, bbox.left + bbox.width - 4 * px, y - 2 * px);
    }
    // Points above a clipped axis: a mark on the top edge.
    if (current.scale === "clipped") {
      ctx.setLineDash([]);
      u.data.slice(1).forEach((col, si) => {
        if (!u.series[si + 1]?.show) return;
        ctx.fillStyle = colours[si % colours.length];
        (col as (number | null)[]).forEach((v, i) => {
          if (v === null || v === undefined || v <= current.max) return;
          const x = u.valToPos(u.data[0][i] as number, "x", true);
          ctx.beginPath();
          ctx.moveTo(x - 4 * px, bbox.top + 7 * px);
          ctx.lineTo(x + 4 * px, bbox.top + 7 * px);
          ctx.lineTo(x, bbox.top);
          ctx.closePath();
          ctx.fill();
        });
      });
    }
    ctx.restore();
    u.root.dataset.yScale = current.scale;
    u.root.dataset.slo = ts.map((t) => t.label).join("; ");
  };

  return {
    scales: {
      x: { time: false },
      y: {
        ...(o.log ? { distr: 3, log: 10 } : {}),
        range: (u) => {
          current = axisFor(kind, u.data, warm(), o, !!o.log);
          return [current.min, current.max];
        },
      },
    },
    axes: [
      axis({ label: "second", incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200], values: (_u, vs) => vs.map((v) => fmtSecond(v)) }),
      axis({
        size: 70,
        values: (u, vs) => {
          const labels = vs.map((v) => fmtTick(kind, v));
          u.root.dataset.yTicks = labels.filter((l) => l !== "").join(",");
          return labels;
        },
      }),
    ],
    series: [
      {
        label: "second",
        value: (u, v, _si, idx) => {
          if (idx === null || idx === undefined) {
            const last = lastValue(u.data[0] as number[]);
            return last === null ? "–" : `last (${fmtSecond(last)})`;
          }
          return v === null || v === undefined ? "–" : fmtSecond(v);
        },
      },
      ...names.map((n, i) =>
        series(n, colours[i % colours.length], {
          // The cursor elsewhere: the last second's value, not "–".
          value: (u, v, si, idx) => fmtValue(kind, idx === null || idx === undefined ? lastValue(u.data[si] as (number | null)[]) : v),
          ...(kind === "errors" ? { fill: colours[i % colours.length] + "33", paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          ...(o.dashed?.includes(i) ? { dash: [6, 4] } : {}),
        }),
      ),
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    hooks: { drawClear: [shade], draw: [lines] },
  };
}
