// The compare page's timelines: each result's p99 and achieved rate per
// second, overlaid on one time axis (seconds from each run's start).

import { useMemo } from "react";
import type uPlot from "uplot";
import type { Result } from "../api";
import { Chart, useTheme } from "./Chart";
import { timelineOptions } from "./timeline";
import { axisNote } from "./ResultTimeline";
import { chooseYAxis, type TimelineKind } from "../lib/timeline";

/** Results' timelines on one axis of seconds: [seconds, one column per result], and the seconds any result was warming up. */
export function alignTimelines(rs: Pick<Result, "timeline">[], pick: (i: Result["timeline"][number]) => number | null): { data: (number | null)[][]; warmup: boolean[] } {
  const seconds = [...new Set(rs.flatMap((r) => r.timeline.map((i) => i.second)))].sort((a, b) => a - b);
  const at = new Map(seconds.map((s, i) => [s, i]));
  const warmup = seconds.map(() => false);
  const cols = rs.map((r) => {
    const col: (number | null)[] = seconds.map(() => null);
    for (const iv of r.timeline) {
      const i = at.get(iv.second)!;
      col[i] = pick(iv);
      if (iv.warmup) warmup[i] = true;
    }
    return col;
  });
  return { data: [seconds, ...cols], warmup };
}

function Overlay({ kind, title, label, names, data, warmup }: { kind: TimelineKind; title: string; label: string; names: string[]; data: (number | null)[][]; warmup: boolean[] }) {
  const theme = useTheme();
  const y = useMemo(() => chooseYAxis(kind, data.slice(1), warmup), [kind, data, warmup]);
  const log = y.scale === "log";
  const shown = useMemo(() => (log ? [data[0], ...data.slice(1).map((c) => c.map((v) => (v !== null && v > 0 ? v : null)))] : data) as uPlot.AlignedData, [data, log]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const options = useMemo(() => timelineOptions(kind, names, { warmup: () => warmup, log }), [kind, names.join(), warmup, log, theme]);
  const note = axisNote(kind, y);
  return (
    <div className="panel" data-timeline={`compare-${kind}`}>
      <h3>{title}</h3>
      <Chart label={label} options={options} data={shown} height={220} />
      {note && <p className="hint axis-note">{note}</p>}
    </div>
  );
}

export function CompareTimelines({ results }: { results: Result[] }) {
  const names = results.map((r, i) => `${i === 0 ? "baseline: " : ""}${r.name || r.id}`);
  const p99 = useMemo(() => alignTimelines(results, (i) => i.p99_ms), [results]);
  const rate = useMemo(() => alignTimelines(results, (i) => i.achieved_rps), [results]);
  if (results.every((r) => r.timeline.length === 0)) return null;
  return (
    <div className="charts">
      <h2>Timelines overlaid</h2>
      <Overlay kind="latency" title="p99 each second" label="Each result's p99 latency each second, overlaid" names={names} data={p99.data} warmup={p99.warmup} />
      <Overlay kind="rate" title="Achieved rate each second" label="Each result's achieved requests per second, overlaid" names={names} data={rate.data} warmup={rate.warmup} />
    </div>
  );
}
