// A result's Prometheus metrics: each query's average over the measured
// window with its unit, the window, its series drawn over the window, and,
// for a metric that could not be measured, why.

import { useMemo } from "react";
import type uPlot from "uplot";
import type { Metric } from "../api";
import { axis, Chart, cssVar, useTheme } from "./Chart";
import { series as lineSeries } from "./charts";
import { fmtTime } from "../lib/format";
import { metricChart } from "../lib/experiment";

function fmtValue(v: number | null | undefined, unit?: string): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const n = Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4)));
  return unit ? `${n} ${unit}` : n;
}

function MetricChart({ m }: { m: Metric }) {
  const theme = useTheme();
  const c = useMemo(() => metricChart(m), [m]);
  const options = useMemo<Omit<uPlot.Options, "width" | "height"> | null>(() => {
    if (!c) return null;
    const colours = ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6"].map(cssVar);
    return {
      scales: { x: { time: false } },
      axes: [axis({ label: "second of the window" }), axis({ size: 70, values: (_u, vs) => vs.map((v) => (v === null ? "" : fmtValue(v))) })],
      series: [
        { label: "second", value: (_u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} s`) },
        ...c.names.map((n, i) => lineSeries(n, colours[i % colours.length], { value: (_u, v) => fmtValue(v, m.unit), spanGaps: false })),
      ],
      legend: { live: true },
    };
    // theme: colours follow it
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [c, m.unit, theme]);
  if (!c || !options) return <p className="hint">No sample stored.</p>;
  return (
    <>
      <Chart label={`${m.name} over the measured window, one line per series`} options={options} data={c.data as uPlot.AlignedData} height={140} />
      {c.total > c.names.length && (
        <p className="hint">
          The first {c.names.length} of {c.total} series; sum() them in the query to get one.
        </p>
      )}
    </>
  );
}

export function MetricsPanel({ metrics }: { metrics: Metric[] }) {
  return (
    <div className="panel metrics">
      <h2>Metrics</h2>
      <p className="hint">Prometheus queries, averaged over the measured window (after warm-up, before cool-down).</p>
      {metrics.map((m) => (
        <div key={m.name} className="metric" data-metric={m.name}>
          <div className="row-between">
            <h3>
              {m.name} {m.missing ? <span className="badge state-failed">missing</span> : null}
            </h3>
            {!m.missing && (
              <span className="metric-average">
                average <strong>{fmtValue(m.average, m.unit)}</strong>
              </span>
            )}
          </div>
          <p className="mono small muted">{m.query}</p>
          {m.missing ? (
            <p className="warn-box small">{m.missing}</p>
          ) : (
            <>
              {m.start && m.end && (
                <p className="hint">
                  window {fmtTime(m.start)} – {fmtTime(m.end)} · {(m.series ?? []).length} series
                </p>
              )}
              <MetricChart m={m} />
            </>
          )}
        </div>
      ))}
    </div>
  );
}
