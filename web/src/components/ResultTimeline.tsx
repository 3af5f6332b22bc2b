// A result's per-second timeline: rate (achieved vs requested), latency
// p50/p90/p99 and errors, with warm-up shaded, objectives as lines and a
// y axis a spike does not flatten (said under the chart when it is cut or
// logarithmic).

import { useMemo } from "react";
import type uPlot from "uplot";
import type { Interval, Verdict } from "../api";
import { Chart, useTheme } from "./Chart";
import { fmtValue, timelineOptions } from "./timeline";
import { Empty } from "./ui";
import { chooseYAxis, thresholds, type TimelineKind, type YAxis } from "../lib/timeline";

/** What a chart's axis choice means, in words (empty for a plain linear axis). */
export function axisNote(kind: TimelineKind, y: YAxis): string {
  if (y.scale === "log") return "Log scale: the latency spans more than 30×, so small and large seconds both stay readable.";
  if (y.scale === "clipped")
    return `The axis stops at ${fmtValue(kind, y.max)} so later seconds stay readable; ${y.clipped} value${y.clipped === 1 ? " is" : "s are"} above it, marked ▲ on the top edge (hover for the value).`;
  return "";
}

function TimelineChart({
  kind,
  title,
  label,
  names,
  data,
  warmup,
  verdicts,
  height,
  onDrawn,
  dashed,
}: {
  kind: TimelineKind;
  title: string;
  label: string;
  names: string[];
  data: uPlot.AlignedData;
  warmup: boolean[];
  verdicts?: Verdict[];
  height: number;
  onDrawn?: () => void;
  dashed?: number[];
}) {
  const theme = useTheme();
  const ts = useMemo(() => thresholds(kind, verdicts), [kind, verdicts]);
  const y = useMemo(() => chooseYAxis(kind, data.slice(1) as (number | null)[][], warmup, ts.map((t) => t.value)), [kind, data, warmup, ts]);
  const log = y.scale === "log";
  // A log axis cannot show 0 (a second without a response): leave it out.
  const shown = useMemo<uPlot.AlignedData>(() => (log ? ([data[0], ...data.slice(1).map((c) => (c as (number | null)[]).map((v) => (v !== null && v > 0 ? v : null)))] as uPlot.AlignedData) : data), [data, log]);
  const options = useMemo(
    () => timelineOptions(kind, names, { warmup: () => warmup, thresholds: ts, log, dashed }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [kind, names.join(), warmup, ts, log, theme],
  );
  const note = axisNote(kind, y);
  return (
    <div className="panel" data-timeline={kind}>
      <h3>{title}</h3>
      <Chart label={label} options={options} data={shown} height={height} onDrawn={onDrawn} />
      {note && <p className="hint axis-note">{note}</p>}
    </div>
  );
}

export function ResultTimeline({ timeline: tl, verdicts, onDrawn }: { timeline: Interval[]; verdicts?: Verdict[]; onDrawn: (name: string) => () => void }) {
  const warmup = useMemo(() => tl.map((i) => !!i.warmup), [tl]);
  const rate = useMemo<uPlot.AlignedData>(() => [tl.map((i) => i.second), tl.map((i) => i.achieved_rps), tl.map((i) => i.requested_rps ?? null)], [tl]);
  const lat = useMemo<uPlot.AlignedData>(() => [tl.map((i) => i.second), tl.map((i) => i.p50_ms), tl.map((i) => i.p90_ms), tl.map((i) => i.p99_ms)], [tl]);
  const errs = useMemo<uPlot.AlignedData>(() => [tl.map((i) => i.second), tl.map((i) => i.errors)], [tl]);
  if (tl.length === 0) return <Empty>This result has no per-second timeline.</Empty>;
  return (
    <div className="charts">
      {warmup.some(Boolean) && <p className="hint">The shaded seconds are warm-up: they stay out of the summary.</p>}
      <TimelineChart
        kind="rate"
        title="Rate: achieved vs requested"
        label="Requests per second, achieved and requested, each second"
        names={["achieved", "requested"]}
        dashed={[1]}
        data={rate}
        warmup={warmup}
        verdicts={verdicts}
        height={200}
        onDrawn={onDrawn("rate")}
      />
      <TimelineChart
        kind="latency"
        title="Latency p50 / p90 / p99"
        label="Latency percentiles each second"
        names={["p50", "p90", "p99"]}
        data={lat}
        warmup={warmup}
        verdicts={verdicts}
        height={200}
        onDrawn={onDrawn("lat")}
      />
      <TimelineChart kind="errors" title="Errors per second" label="Errors each second" names={["errors"]} data={errs} warmup={warmup} height={150} onDrawn={onDrawn("err")} />
    </div>
  );
}
