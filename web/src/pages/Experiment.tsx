// An experiment's report: what each variant adds to the baseline at each
// sweep point (p50/p90/p99/p99.9 medians over the repeats with their range,
// added ms and ratio, flagged when within the noise), the achieved rate,
// errors, the client's CPU and each Prometheus metric; charts of latency,
// rate, CPU and every metric against the sweep, one line per variant; links
// to every cell's result; the report as JSON and CSV.

import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import uPlot from "uplot";
import { api, type ExperimentReport, type ExperimentVariant, type Overhead, type Stat } from "../api";
import { axis, Chart, cssVar, useTheme } from "../components/Chart";
import { series as lineSeries } from "../components/charts";
import { Empty, ErrorBox, Loading, StateBadge, useApi, useTitle } from "../components/ui";
import { fmtMs, fmtPct, fmtRate, fmtTime } from "../lib/format";
import { minWhiskerPx, whiskerEnds } from "../lib/whisker";
import {
  dimValue,
  fmtAdded,
  fmtRatio,
  hasValues,
  missingReasons,
  percentileKeys,
  plainNumber,
  pointLabel,
  reportCSV,
  saveText,
  seriesMax,
  seriesOf,
  sweepShape,
  variantMissing,
  type Figure,
  type Series,
  type SweepShape,
} from "../lib/experiment";

const colourVars = ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6"];

const metricHasValues = (r: ExperimentReport, name: string) => r.points.some((p) => p.variants.some((v) => (v.metrics?.[name]?.n ?? 0) > 0));

/** How often a running experiment's report is fetched again. */
const refreshMs = 5000;

export default function ExperimentPage() {
  const { id = "" } = useParams();
  const rep = useApi((s) => api<ExperimentReport>(`/api/v1/experiments/${encodeURIComponent(id)}`, "GET", undefined, s), [id]);
  useTitle(rep.data ? `Experiment ${rep.data.experiment.name}` : "Experiment");
  const running = rep.data?.experiment.state === "running";
  const { reload } = rep;
  useEffect(() => {
    if (!running || rep.loading) return;
    const t = setTimeout(reload, refreshMs);
    return () => clearTimeout(t);
  }, [running, rep.loading, reload]);
  if (rep.error && !rep.data) return <ErrorBox error={rep.error} retry={rep.reload} />;
  if (!rep.data) return <Loading what="the experiment" />;
  return <ExperimentView r={rep.data} />;
}

/** A number with up to 3 significant digits, for metrics of any unit. */
function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

const fmtCores = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v.toFixed(v < 0.1 ? 3 : 2)} cores`);

/** ms without the unit when both ends share it: "0.346–0.364 ms". */
function fmtMsRange(min: number, max: number): string {
  const a = fmtMs(min);
  const b = fmtMs(max);
  return a.endsWith(" ms") && b.endsWith(" ms") ? `${a.slice(0, -3)}–${b}` : `${a}–${b}`;
}

export function ExperimentView({ r }: { r: ExperimentReport }) {
  const e = r.experiment;
  const shape = useMemo(() => sweepShape(r), [r]);
  const [pct, setPct] = useState<string>("p50");
  const [other, setOther] = useState<number | undefined>(undefined);
  const fixed = shape.others.length > 1 ? (other ?? shape.others[0]) : undefined;
  const missing = useMemo(() => missingReasons(r), [r]);
  const stored = r.points.reduce((n, p) => n + p.variants.reduce((m, v) => m + v.cells.length, 0), 0);
  const of = r.latency === "service_time" ? "service time (closed loop)" : r.latency === "mixed" ? "latency or service time (mixed)" : "latency, corrected for coordinated omission";

  const download = (format: "json" | "csv") => {
    if (format === "json") saveText(`meshperf-experiment-${e.name}-${e.id}.json`, "application/json", JSON.stringify(r, null, 2) + "\n");
    else saveText(`meshperf-experiment-${e.name}-${e.id}.csv`, "text/csv", reportCSV(r));
  };

  const xLabel = shape.x === "rps" ? "requested rate (req/s)" : "connections";
  const charts: { title: string; label: string; figure: Figure; fmt: (v: number | null | undefined) => string; why?: string }[] = [
    { title: "Achieved rate", label: `Achieved requests per second against the ${xLabel}, one line per variant`, figure: { kind: "achieved_rps" }, fmt: fmtRate },
    { title: "Client CPU (the load generator)", label: `The load generator's CPU in cores against the ${xLabel}, one line per variant`, figure: { kind: "client_cpu" }, fmt: fmtCores },
    // Metrics with values first; those never measured after them.
    ...[...r.metrics].sort((a, b) => Number(!metricHasValues(r, a)) - Number(!metricHasValues(r, b))).map((m) => ({
      title: m,
      label: `Prometheus metric ${m} (average over each cell's window) against the ${xLabel}, one line per variant`,
      figure: { kind: "metric", name: m } as Figure,
      fmt: fmtNum,
      why: missing.filter((x) => x.metric === m).map((x) => x.reason)[0],
    })),
  ];

  return (
    <section className="experiment">
      <div className="row-between">
        <h1>
          {e.name} <span className="muted small mono">{e.id}</span>
        </h1>
        <div className="actions">
          <button type="button" onClick={() => download("json")} data-format="json">
            Report (JSON)
          </button>
          <button type="button" onClick={() => download("csv")} data-format="csv">
            Report (CSV)
          </button>
        </div>
      </div>
      <p className="muted">
        <StateBadge state={e.state} /> {e.done} of {e.cells} cells done · started {fmtTime(e.created_at)} · last change {fmtTime(e.updated_at)} · baseline{" "}
        <strong>{r.baseline}</strong> · {r.repeats} repeat{r.repeats === 1 ? "" : "s"} · percentiles of {of}
      </p>
      {e.error ? (
        <p className={e.state === "failed" ? "error-box" : "warn-box"} role="alert">
          {e.state === "failed" ? "The experiment failed: " : "The experiment stopped: "}
          {e.error}
        </p>
      ) : null}
      {e.state === "running" && (
        <p className="hint" aria-live="polite">
          Still running: this page fetches the report again every {refreshMs / 1000} s.
        </p>
      )}
      {e.state === "interrupted" && !e.error && <p className="warn-box">Interrupted: run the same command again to resume with the cells not yet stored.</p>}

      {stored === 0 ? (
        <Empty>No cell of this experiment has been stored yet.</Empty>
      ) : (
        <>
          <div className="panel">
            <div className="row-between">
              <h2>Latency vs {shape.x === "rps" ? "rate" : "connections"}</h2>
              <div className="actions">
                <div className="segmented" role="group" aria-label="Percentile">
                  {percentileKeys.map((k) => (
                    <button key={k} type="button" aria-pressed={pct === k} onClick={() => setPct(k)}>
                      {k}
                    </button>
                  ))}
                </div>
                {shape.others.length > 1 && (
                  <label className="inline">
                    at{" "}
                    <select value={fixed} onChange={(ev) => setOther(Number(ev.target.value))} aria-label={shape.other === "rps" ? "Rate" : "Connections"}>
                      {shape.others.map((v) => (
                        <option key={v} value={v}>
                          {dimValue(shape.other, v)}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
              </div>
            </div>
            <SweepChart
              r={r}
              shape={shape}
              other={fixed}
              figure={{ kind: "latency", key: pct }}
              fmt={fmtMs}
              label={`Latency ${pct} against the ${xLabel}, one line per variant; bars show the range over the repeats`}
              height={300}
            />
            <p className="hint">
              Each point is the median over the repeats; the bar through it spans their minimum and maximum (a spread too small to see is drawn {minWhiskerPx} px long).
            </p>
          </div>

          <h2>Rate and resources vs {shape.x === "rps" ? "rate" : "connections"}</h2>
          <div className="charts two">
            {charts.map((c) => (
              <div className="panel" key={c.title}>
                <h3>{c.title}</h3>
                <SweepChart r={r} shape={shape} other={fixed} figure={c.figure} fmt={c.fmt} label={c.label} height={200} why={c.why} />
              </div>
            ))}
          </div>
          {r.metrics.length === 0 && (
            <p className="hint">
              No Prometheus metric: add <code>metrics:</code> to the experiment file to measure the proxies' CPU and memory in each cell.
            </p>
          )}
          {missing.length > 0 && (
            <div className="panel">
              <h2>Metrics not measured</h2>
              <ul className="missing">
                {missing.map((m) => (
                  <li key={m.metric + m.reason}>
                    <strong>{m.metric}</strong> <span className="muted small">({m.cells} cell{m.cells === 1 ? "" : "s"})</span>: <span className="mono small">{m.reason}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      )}

      <h2>Overhead at each sweep point</h2>
      <p className="hint">
        Medians over the repeats, their range below. For each variant, the difference from the baseline's median (added ms) and their ratio;{" "}
        <span className="badge noise">within noise</span> marks a difference no larger than the spread of either side's repeats, and{" "}
        <span className="badge noise">noise unknown</span> one measured with a single repeat.
      </p>
      {r.points.map((p) => (
        <PointTable key={`${p.rps}/${p.connections}`} r={r} label={pointLabel(p)} variants={p.variants} />
      ))}
    </section>
  );
}

/** A figure against the sweep: one line per variant, with range bars. */
function SweepChart({
  r,
  shape,
  other,
  figure,
  fmt,
  label,
  height,
  why,
}: {
  r: ExperimentReport;
  shape: SweepShape;
  other?: number;
  figure: Figure;
  fmt: (v: number | null | undefined) => string;
  label: string;
  height: number;
  why?: string;
}) {
  const theme = useTheme();
  const s = useMemo(() => seriesOf(r, figure, shape, other), [r, figure.kind, "key" in figure ? figure.key : "", "name" in figure ? figure.name : "", shape, other]);
  const options = useMemo(() => sweepOptions(s, shape, fmt), [s, shape, fmt, theme]);
  const data = useMemo(() => [s.xs, ...s.lines.map((l) => l.median)] as uPlot.AlignedData, [s]);
  if (!hasValues(s)) return <Empty>No value{why ? `: ${why}` : " at any point yet."}</Empty>;
  return (
    <div data-chart={figure.kind === "metric" ? figure.name : figure.kind}>
      <Chart label={label} options={options} data={data} height={height} />
    </div>
  );
}

function sweepOptions(s: Series, shape: SweepShape, fmt: (v: number | null | undefined) => string): Omit<uPlot.Options, "width" | "height"> {
  const colours = colourVars.map(cssVar);
  const top = seriesMax(s);
  const positive = s.xs.length > 1 && s.xs[0] > 0;
  const logX = positive && s.xs[s.xs.length - 1] / s.xs[0] >= 20;
  const xFmt = (v: number) => (shape.x === "rps" ? (v === 0 ? "closed" : plainNumber(v)) : String(v));
  // Range bars (min–max over the repeats), offset a little per variant so
  // that overlapping ones stay visible.
  const whiskers = (u: uPlot) => {
    const ctx = u.ctx;
    const px = uPlot.pxRatio;
    let drawn = 0;
    ctx.save();
    s.lines.forEach((l, i) => {
      if (!u.series[i + 1]?.show) return;
      ctx.strokeStyle = colours[i % colours.length];
      ctx.lineWidth = 1.5 * px;
      const off = (i - (s.lines.length - 1) / 2) * 4 * px;
      s.xs.forEach((x, j) => {
        const lo = l.min[j];
        const hi = l.max[j];
        if (lo === null || hi === null) return;
        const cx = Math.round(u.valToPos(x, "x", true) + off);
        const [y1, y2] = whiskerEnds(u.valToPos(lo, "y", true), u.valToPos(hi, "y", true), minWhiskerPx * px);
        drawn++;
        ctx.beginPath();
        ctx.moveTo(cx, y1);
        ctx.lineTo(cx, y2);
        ctx.moveTo(cx - 3 * px, y1);
        ctx.lineTo(cx + 3 * px, y1);
        ctx.moveTo(cx - 3 * px, y2);
        ctx.lineTo(cx + 3 * px, y2);
        ctx.stroke();
      });
    });
    ctx.restore();
    u.root.dataset.whiskers = String(drawn);
  };
  return {
    scales: {
      x: { time: false, ...(logX ? { distr: 3, log: 10 } : { range: (_u, min, max) => (min === max ? [min - 1, max + 1] : [min - (max - min) * 0.05, max + (max - min) * 0.05]) }) },
      y: { range: () => [0, top > 0 ? top * 1.1 : 1] },
    },
    axes: [
      // Ticks at the sweep's values only: the points measured.
      axis({ label: shape.x === "rps" ? "requested rate (req/s)" : "connections", splits: () => s.xs, values: (_u, vs) => vs.map((v) => (v === null ? "" : xFmt(v))), space: 30 }),
      // A zero tick is "0", not "0.0/s" or "0.000 cores".
      axis({ size: 95, values: (u, vs) => {
        const labels = vs.map((v) => (v === null ? "" : v === 0 ? "0" : fmt(v)));
        u.root.dataset.yTicks = labels.filter((l) => l !== "").join(",");
        return labels;
      } }),
    ],
    series: [
      { label: shape.x === "rps" ? "rate" : "connections", value: (_u, v) => (v === null || v === undefined ? "–" : xFmt(v)) },
      ...s.lines.map((l, i) =>
        lineSeries(l.name, colours[i % colours.length], {
          width: 2,
          points: { show: true, size: 7 },
          spanGaps: false,
          value: (_u, v) => (v === null || v === undefined ? "–" : fmt(v)),
        }),
      ),
    ],
    legend: { live: true },
    hooks: { draw: [whiskers] },
  };
}

/** A median with its range over the repeats (shown when its ends differ as written). */
function StatCell({ s, fmt }: { s: Stat | undefined; fmt: (v: number) => string }) {
  if (!s || s.n === 0) return <td className="num">–</td>;
  const lo = fmt(s.min);
  const hi = fmt(s.max);
  return (
    <td className="num">
      <div>{fmt(s.median)}</div>
      {lo !== hi && <div className="muted small">{`${lo}–${hi}`}</div>}
    </td>
  );
}

function OverheadLine({ o }: { o: Overhead | undefined }) {
  if (!o) return null;
  const cls = o.within_noise ? "overhead noise" : o.added_ms > 0 ? "overhead worse" : "overhead better";
  return (
    <div className={cls}>
      {fmtAdded(o.added_ms, fmtMs)} {fmtRatio(o.ratio)}
      {o.within_noise && (
        <>
          {" "}
          <span
            className="badge noise"
            title={
              o.noise_known
                ? `the difference (${fmtMs(Math.abs(o.added_ms))}) is no larger than the spread of the repeats (${fmtMs(o.noise_ms)})`
                : "a single repeat: the noise is unknown"
            }
          >
            {o.noise_known ? "within noise" : "noise unknown"}
          </span>
        </>
      )}
    </div>
  );
}

function PointTable({ r, label, variants }: { r: ExperimentReport; label: string; variants: ExperimentVariant[] }) {
  return (
    <div className="panel point">
      <h3>{label}</h3>
      <div className="table-wrap">
        <table className="list compact-table overhead-table" aria-label={`Overhead at ${label}`}>
          <thead>
            <tr>
              <th scope="col">variant</th>
              <th scope="col">cells</th>
              {percentileKeys.map((k) => (
                <th scope="col" className="num" key={k}>
                  {k}
                </th>
              ))}
              <th scope="col" className="num">
                achieved rate
              </th>
              <th scope="col" className="num">
                errors
              </th>
              <th scope="col" className="num">
                client CPU (cores)
              </th>
              {r.metrics.map((m) => (
                <th scope="col" className="num" key={m}>
                  {m}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {variants.map((v) => {
              const base = v.name === r.baseline;
              return (
                <tr key={v.name} data-variant={v.name} className={base ? "baseline" : ""}>
                  <th scope="row">
                    {v.name}
                    {base && <div className="muted small">baseline</div>}
                    {v.client_saturated && (
                      <div className="warn small" title="in at least one repeat, the load generator looked saturated (late sends or CPU near capacity)">
                        client saturated
                      </div>
                    )}
                  </th>
                  <td>
                    {v.cells.length === 0 ? (
                      <span className="muted">none yet</span>
                    ) : (
                      <ul className="cells-list">
                        {v.cells.map((c) => (
                          <li key={c.repeat}>
                            <Link to={`/results/${c.result_id}`} title={`repeat ${c.repeat}: result ${c.result_id}`}>
                              #{c.repeat}
                            </Link>
                            {c.interrupted ? <span title="this repeat was interrupted"> ✂</span> : null}
                            {c.client_saturated ? <span title="the load generator looked saturated in this repeat"> ⚠</span> : null}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  {percentileKeys.map((k) => {
                    const s = v.latency_ms?.[k];
                    return (
                      <td className="num" key={k}>
                        {s && s.n > 0 ? (
                          <>
                            <div>{fmtMs(s.median)}</div>
                            {s.n > 1 && <div className="muted small">{fmtMsRange(s.min, s.max)}</div>}
                            <OverheadLine o={v.overhead?.[k]} />
                          </>
                        ) : (
                          "–"
                        )}
                      </td>
                    );
                  })}
                  <StatCell s={v.achieved_rps} fmt={fmtRate} />
                  <StatCell s={v.error_rate} fmt={fmtPct} />
                  <StatCell s={v.client_cpu_cores} fmt={(x) => x.toFixed(3)} />
                  {r.metrics.map((m) => {
                    const s = v.metrics?.[m];
                    if (s && s.n > 0) return <StatCell key={m} s={s} fmt={fmtNum} />;
                    const why = variantMissing(v, m);
                    return (
                      <td className="num" key={m}>
                        {why ? (
                          <span className="muted" title={why}>
                            missing
                          </span>
                        ) : (
                          "–"
                        )}
                      </td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
