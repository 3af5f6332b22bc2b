// One capacity search: its answer, its curve (latency percentiles and error
// rate against rate, the found and breaking rates and the knee marked) and
// its steps, each linking to its stored result; refreshed while it runs.
// The list and a profile's trend are CapacityList.tsx.

import { useEffect, useMemo } from "react";
import { Link, useParams } from "react-router-dom";
import uPlot from "uplot";
import { api, type CapacityReport, type CapacityView } from "../api";
import { axis, Chart, cssVar, useTheme } from "../components/Chart";
import { series as lineSeries } from "../components/charts";
import { Empty, ErrorBox, Loading, StateBadge, TableHead, num, useApi, useTitle } from "../components/ui";
import { answerOf, curveOf, markersOf, plainRate, verdictOf, type Curve, type Marker } from "../lib/capacity";
import { fmtMs, fmtPct, fmtTime } from "../lib/format";

/** How often a running search is fetched again. */
const refreshMs = 2000;

const running = (state: string | undefined) => state === "queued" || state === "running";

export default function CapacityPage() {
  const { id = "" } = useParams();
  const view = useApi((s) => api<CapacityView>(`/api/v1/capacity/${encodeURIComponent(id)}`, "GET", undefined, s), [id]);
  useTitle(view.data ? `Capacity ${view.data.search.name || id}` : "Capacity");
  const live = running(view.data?.search.state);
  const { reload } = view;
  useEffect(() => {
    if (!live || view.loading) return;
    const t = setTimeout(reload, refreshMs);
    return () => clearTimeout(t);
  }, [live, view.loading, reload]);
  if (view.error && !view.data) return <ErrorBox error={view.error} retry={view.reload} />;
  if (!view.data) return <Loading what="the capacity search" />;
  return <SearchView v={view.data} />;
}

function SearchView({ v }: { v: CapacityView }) {
  const rep = v.report;
  const s = v.search;
  return (
    <section>
      <div className="row-between">
        <h1>
          Capacity: {s.name || s.id} <StateBadge state={s.state} />
        </h1>
        {s.profile_id ? <Link to={`/capacity?profile=${encodeURIComponent(s.profile_id)}`}>This profile over time</Link> : null}
      </div>
      <p className="muted small">
        search <span className="mono">{s.id}</span> · run <Link to={`/runs/${v.run.id}`}>{v.run.id}</Link> · created {fmtTime(s.created_at)}
        {s.error ? ` · ${s.error}` : ""}
      </p>
      {!rep ? <Empty>No report yet.</Empty> : <ReportView rep={rep} live={running(s.state)} />}
    </section>
  );
}

function ReportView({ rep, live }: { rep: CapacityReport; live: boolean }) {
  const final = rep.tolerance > 0; // a report the search finished has its options
  const curve = useMemo(() => curveOf(rep), [rep]);
  const markers = useMemo(() => markersOf(rep), [rep]);
  return (
    <>
      {final ? (
        <div className="answer">
          <p className="big" data-testid="capacity-answer" data-sustained={rep.sustained_rps} data-outcome={rep.outcome}>
            {answerOf(rep)}
          </p>
          <p>
            objectives {rep.objectives.join(", ")}
            {rep.sustained_rps > 0 ? ` · at ${plainRate(rep.sustained_rps)}: p99 ${fmtMs(rep.p99_ms_at_sustained)}, errors ${fmtPct(rep.error_rate_at_sustained)}` : ""}
            {rep.broken_by?.length ? ` · broken by ${rep.broken_by.join(", ")}` : ""} · {rep.steps.length} steps in {Math.round(rep.duration_seconds)} s
          </p>
          {rep.advice?.map((a) => (
            <p key={a} className="warn-box">
              {a}
            </p>
          ))}
        </div>
      ) : (
        <p className="hint">{live ? `Searching: ${rep.steps.length} steps so far.` : `${rep.steps.length} steps measured; no final report.`}</p>
      )}
      {curve.rps.length > 0 ? (
        <>
          <CurveChart curve={curve} markers={markers} which="latency" />
          <CurveChart curve={curve} markers={markers} which="errors" />
        </>
      ) : null}
      <StepTable rep={rep} />
    </>
  );
}

const markerColour: Record<Marker["kind"], string> = { found: "--ok", breaks: "--danger", knee: "--muted" };

/** Vertical lines at the marked rates, labelled; their rates go on the chart's root for tests. */
function drawMarkers(markers: Marker[]) {
  return (u: uPlot) => {
    const ctx = u.ctx;
    const px = uPlot.pxRatio;
    ctx.save();
    ctx.font = `${11 * px}px sans-serif`;
    markers.forEach((m, i) => {
      const x = Math.round(u.valToPos(m.rps, "x", true));
      ctx.strokeStyle = ctx.fillStyle = cssVar(markerColour[m.kind]);
      ctx.setLineDash(m.kind === "knee" ? [2 * px, 3 * px] : [6 * px, 4 * px]);
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      // Right of the line, or left of it in the chart's right half, so
      // the label stays inside the plot.
      const right = x > u.bbox.left + u.bbox.width / 2;
      ctx.textAlign = right ? "right" : "left";
      ctx.fillText(m.label, x + (right ? -4 : 4) * px, u.bbox.top + (12 + 13 * i) * px);
    });
    ctx.restore();
    u.root.dataset.markers = markers.map((m) => `${m.kind}:${m.rps}`).join(",");
  };
}

function CurveChart({ curve, markers, which }: { curve: Curve; markers: Marker[]; which: "latency" | "errors" }) {
  const theme = useTheme();
  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(() => {
    const c = ["--series-1", "--series-2", "--series-3", "--series-4"].map(cssVar);
    const lo = Math.min(...curve.rps, ...markers.map((m) => m.rps));
    const hi = Math.max(...curve.rps, ...markers.map((m) => m.rps));
    const logX = lo > 0 && hi / lo >= 8;
    const pts = { show: true, size: 7 };
    return {
      scales: {
        x: { time: false, ...(logX ? { distr: 3, log: 2 } : { range: (): uPlot.Range.MinMax => (lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05]) }) },
        y: which === "latency" ? { distr: 3, log: 10 } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      axes: [
        axis({ label: "requested rate (req/s)", splits: () => curve.rps, values: (_u, vs) => vs.map((x) => (x == null ? "" : Math.round(x).toLocaleString("en-US"))), space: 30 }),
        axis({ size: 80, label: which === "latency" ? "corrected latency" : "errors", values: (_u, vs) => vs.map((y) => (y == null ? "" : which === "latency" ? fmtMs(y) : `${+y.toPrecision(3)}%`)) }),
      ],
      series: [
        { label: "rate", value: (_u, x) => (x == null ? "–" : plainRate(x)) },
        ...(which === "latency"
          ? (["p50", "p90", "p99"] as const).map((p, i) => lineSeries(p, c[i], { width: 2, points: pts, value: (_u, y) => fmtMs(y) }))
          : [lineSeries("error rate", c[3], { width: 2, points: pts, value: (_u, y) => (y == null ? "–" : `${+y.toPrecision(3)}%`) })]),
      ],
      legend: { live: true },
      hooks: { draw: [drawMarkers(markers)] },
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [curve, markers, which, theme]);
  const data = useMemo(
    () => (which === "latency" ? [curve.rps, curve.p50, curve.p90, curve.p99] : [curve.rps, curve.errorPct]) as uPlot.AlignedData,
    [curve, which],
  );
  const label = which === "latency" ? "latency percentiles p50, p90 and p99 against the requested rate" : "error rate against the requested rate";
  return (
    <figure className="chart" data-testid={`capacity-${which}`}>
      <figcaption>{which === "latency" ? "Latency (worst step at each rate)" : "Error rate (worst step at each rate)"}</figcaption>
      <Chart label={label} options={options} data={data} height={which === "latency" ? 280 : 200} />
    </figure>
  );
}

function StepTable({ rep }: { rep: CapacityReport }) {
  if (rep.steps.length === 0) return <Empty>No step has ended yet.</Empty>;
  return (
    <div className="table-wrap">
      <table className="list" data-testid="capacity-steps">
        <caption>Steps, in the order they ran; each is a stored result</caption>
        <TableHead cols={[num("step"), "phase", num("rate"), num("achieved"), num("p50"), num("p90"), num("p99"), num("errors"), "verdict", "result"]} />
        <tbody>
          {rep.steps.map((s) => (
            <tr key={s.step} className={s.met ? undefined : "bad"}>
              <td className="num">{s.step}</td>
              <td>{s.phase}</td>
              <td className="num">{plainRate(s.rps)}</td>
              <td className="num">{s.achieved_rps.toFixed(1)}</td>
              <td className="num">{fmtMs(s.p50_ms)}</td>
              <td className="num">{fmtMs(s.p90_ms)}</td>
              <td className="num">{fmtMs(s.p99_ms)}</td>
              <td className="num">{fmtPct(s.error_rate)}</td>
              <td>{verdictOf(s)}</td>
              <td>{s.result_id ? <Link to={`/results/${s.result_id}`}>{s.result_id.slice(0, 12)}</Link> : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
