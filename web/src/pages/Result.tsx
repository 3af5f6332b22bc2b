// A result, whole: the percentile distribution (HdrHistogram-style, x by
// 1/(1−p)), the histogram, corrected latency vs service time, the timeline,
// status codes, error classes, requested vs achieved, agents, SLO verdicts,
// and every export.

import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import type uPlot from "uplot";
import { api, download, exportFormats, type Distribution, type Result as ResultT, type Run, type Verdict } from "../api";
import { Chart, useTheme } from "../components/Chart";
import { histogramOptions, percentileOptions } from "../components/charts";
import { ResultTimeline } from "../components/ResultTimeline";
import { Objectives, RunBannerFor } from "../components/RunStatus";
import { DegradedBanner, Empty, ErrorBox, Loading, TableHead, errorText, num, useApi, useTitle } from "../components/ui";
import { MetricsPanel } from "../components/Metrics";
import { MeshContextPanel } from "../components/MeshContextPanel";
import { durationSeconds, fmtBytes, fmtCount, fmtMs, fmtPct, fmtRate, fmtTime } from "../lib/format";
import { decodeHistogram, histRange, logBins, maxPosition, percentileCurve, percentileGrid, percentileOf, summary, unitToMs, withMax, type Histogram } from "../lib/hdr";

interface Decoded {
  latency?: Histogram;
  service?: Histogram;
  error?: string;
}

/** Decodes a result's histograms (off the first paint). */
function useHistograms(r: ResultT | undefined): Decoded | null {
  const [d, setD] = useState<Decoded | null>(null);
  useEffect(() => {
    if (!r) return;
    let live = true;
    const dec = (x?: Distribution) => (x?.histogram ? decodeHistogram(x.histogram) : Promise.resolve(undefined));
    Promise.all([dec(r.latency), dec(r.service_time)])
      .then(([latency, service]) => live && setD({ latency, service }))
      .catch((e) => live && setD({ error: errorText(e) }));
    return () => {
      live = false;
    };
  }, [r]);
  return d;
}

/** A distribution's percentile curve on the grid, from its histogram or its listed percentiles. */
export function curve(dist: Distribution | undefined, h: Histogram | undefined, xs: number[]): (number | null)[] {
  if (!dist) return xs.map(() => null);
  if (h && h.total > 0) return percentileCurve(h, xs, unitToMs(dist.histogram_unit));
  // No histogram (an import with percentiles only): step through the listed points.
  const ps = summary(dist.percentiles);
  return xs.map((x) => {
    const p = 100 * (1 - 1 / x);
    const hit = ps.find((q) => q.p >= p - 1e-9);
    return hit ? hit.ms : null;
  });
}

function Figure({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {value}
        {sub ? <small> {sub}</small> : null}
      </dd>
    </div>
  );
}

export default function ResultPage() {
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const runId = params.get("run");
  const res = useApi((s) => api<ResultT>(`/api/v1/results/${encodeURIComponent(id)}`, "GET", undefined, s), [id]);
  const verdicts = useApi(
    (s) => api<{ source: string; verdicts: Verdict[] }>(`/api/v1/results/${encodeURIComponent(id)}/verdicts${runId ? `?run=${encodeURIComponent(runId)}` : ""}`, "GET", undefined, s),
    [id, runId],
  );
  // The run that saved it, when known: a degraded one says why.
  const run = useApi((s) => (runId ? api<Run>(`/api/v1/runs/${encodeURIComponent(runId)}`, "GET", undefined, s) : Promise.resolve(undefined)), [runId]);
  useTitle(res.data ? `Result ${res.data.name || res.data.id}` : "Result");
  if (res.error) return <ErrorBox error={res.error} retry={res.reload} />;
  if (!res.data) return <Loading what="the result" />;
  const degraded = run.data?.state === "degraded" ? run.data.error || "" : undefined;
  return <ResultView r={res.data} runId={runId} verdicts={verdicts.data?.verdicts} verdictError={verdicts.error} degraded={degraded} />;
}

function ResultView({ r, runId, verdicts, verdictError, degraded }: { r: ResultT; runId: string | null; verdicts?: Verdict[]; verdictError?: unknown; degraded?: string }) {
  const hs = useHistograms(r);
  const theme = useTheme();
  const [dlError, setDlError] = useState<string>();
  const drawnCharts = useRef(new Set<string>());
  const marked = useRef(false);
  const total = Math.max(r.latency?.count ?? 0, r.service_time?.count ?? 0);
  const hasTimeline = r.timeline.length > 0;
  const expected = (hasTimeline ? 3 : 0) + (total > 0 ? 2 : 0);
  const onDrawn = (name: string, hasData: boolean) => () => {
    if (!hasData || marked.current) return;
    drawnCharts.current.add(name);
    if (drawnCharts.current.size >= expected) {
      marked.current = true;
      performance.mark("meshperf:result-rendered");
      document.body.dataset.resultRendered = "true";
    }
  };

  // Percentile distribution: corrected latency vs service time.
  const names = [r.latency ? "latency (corrected)" : null, r.service_time ? "service time" : null].filter(Boolean) as string[];
  // The curve runs to the max, marked, as HdrHistogram's plotter does; the
  // max is the one the tables show (the distribution's listed p100).
  const maxX = useMemo(() => maxPosition(percentileGrid(total)), [total]);
  const pctOpts = useMemo(() => percentileOptions(names, maxX), [names.join(), theme, maxX]);
  const pctData = useMemo<uPlot.AlignedData | null>(() => {
    if (!hs || total === 0) return null;
    const xs = percentileGrid(total);
    const cols: (number | null)[][] = [];
    if (r.latency) cols.push(withMax(curve(r.latency, hs.latency, xs), percentileOf(r.latency.percentiles, 100)));
    if (r.service_time) cols.push(withMax(curve(r.service_time, hs.service, xs), percentileOf(r.service_time.percentiles, 100)));
    return [[...xs, maxX], ...cols] as uPlot.AlignedData;
  }, [hs, r, total, maxX]);

  const histOpts = useMemo(() => histogramOptions(names), [names.join(), theme]);
  const histData = useMemo<uPlot.AlignedData | null>(() => {
    if (!hs) return null;
    // Both distributions over one range of bins, so they share the x axis.
    const parts = [
      hs.latency && r.latency ? { h: hs.latency, toMs: unitToMs(r.latency.histogram_unit) } : null,
      hs.service && r.service_time ? { h: hs.service, toMs: unitToMs(r.service_time.histogram_unit) } : null,
    ].filter((x) => x !== null && x.h.total > 0) as { h: Histogram; toMs: number }[];
    if (parts.length === 0) return null;
    const ranges = parts.map((p) => histRange(p.h, p.toMs));
    const range: [number, number] = [Math.min(...ranges.map((x) => x[0])), Math.max(...ranges.map((x) => x[1]))];
    const binned = parts.map((p) => logBins(p.h, p.toMs, 80, range));
    return [binned[0].centres, ...binned.map((x) => x.counts)] as uPlot.AlignedData;
  }, [hs, r]);

  const main = r.latency ?? r.service_time;
  // Every figure from the distribution's one percentile list.
  const p = (q: number) => percentileOf(main?.percentiles, q);
  const failed = r.achieved.responses === 0;
  const a = r.achieved;
  const codes = Object.entries(r.status_codes ?? {}).sort(([x], [y]) => Number(x) - Number(y));
  const codeTotal = codes.reduce((s, [, n]) => s + n, 0);
  const allPs = [...new Set([...(r.latency?.percentiles ?? []), ...(r.service_time?.percentiles ?? [])].map((x) => x.p))].sort((x, y) => x - y);

  const dl = async (format: string) => {
    setDlError(undefined);
    try {
      await download(r.id, format);
    } catch (e) {
      setDlError(errorText(e));
    }
  };

  return (
    <section className="result">
      <div className="row-between">
        <h1>
          {r.name || "Result"} <span className="muted small mono">{r.id}</span>
        </h1>
        <Link className="button" to={`/compare?ids=${r.id}`}>
          Compare with…
        </Link>
      </div>
      <p className="muted">
        {fmtTime(r.start_time)} · {[r.generator.name, r.generator.version].filter(Boolean).join(" ")} · fidelity {r.generator.fidelity}
        {r.generator.histogram_resolution_us ? ` (histogram resolution ${r.generator.histogram_resolution_us} µs)` : ""} ·{" "}
        {r.requested.open_loop ? "open loop (latency corrected for coordinated omission)" : "closed loop (service time only)"}
        {r.profile_id ? (
          <>
            {" "}
            · profile <Link to={`/profiles/${r.profile_id}`}>{r.profile_id}</Link> rev {r.profile_revision}
          </>
        ) : null}
      </p>
      {r.labels && Object.keys(r.labels).length > 0 && (
        <ul className="labels" aria-label="labels">
          {Object.entries(r.labels).map(([k, v]) => (
            <li key={k} className="badge">
              {k}={v}
            </li>
          ))}
        </ul>
      )}
      {failed && (
        <p className="error-box" role="alert" data-failed="true">
          Failed: nothing answered ({fmtCount(a.requests)} requests, no response). There are no latency figures.
        </p>
      )}
      <RunBannerFor runId={runId} fallback={r.interrupted && <p className="warn-box">This run was stopped before its end; the result keeps what was measured.</p>} />
      {(r.degraded || degraded !== undefined) && <DegradedBanner reason={degraded} />}
      {r.process?.saturated && <p className="warn-box">The load generator looked saturated (late sends or CPU near capacity): latency may include the client's own delay.</p>}

      <dl className="figures" aria-label="Summary">
        <Figure label="achieved rate" value={fmtRate(a.rps)} sub={r.requested.rps ? `of ${fmtRate(r.requested.rps)}` : "closed loop"} />
        <Figure label="p50" value={fmtMs(p(50))} />
        <Figure label="p90" value={fmtMs(p(90))} />
        <Figure label="p99" value={fmtMs(p(99))} />
        <Figure label="max" value={fmtMs(p(100))} />
        <Figure label="errors" value={fmtPct(a.error_rate)} sub={`${fmtCount(a.errors)} of ${fmtCount(a.requests)}`} />
      </dl>

      {(verdicts?.length ?? 0) > 0 && <Objectives verdicts={verdicts!} />}
      {verdictError ? <p className="muted">Objectives could not be checked: {errorText(verdictError)}</p> : null}

      <div className="charts two">
        <div className="panel">
          <h2>Latency by percentile</h2>
          {hs?.error && <ErrorBox error={hs.error} />}
          {total === 0 ? (
            <Empty>No data: no response was measured.</Empty>
          ) : !pctData ? (
            <Loading what="the histograms" />
          ) : (
            <Chart label="Latency at each percentile, corrected latency and service time, log scales" options={pctOpts} data={pctData} onDrawn={onDrawn("pct", true)} />
          )}
        </div>
        <div className="panel">
          <h2>Latency histogram</h2>
          {total === 0 ? (
            <Empty>No response was measured.</Empty>
          ) : !histData ? (
            hs?.latency || hs?.service || !hs ? <Loading what="the histograms" /> : <Empty>This result has percentiles only, no histogram.</Empty>
          ) : (
            <Chart label="How many requests took each latency, log scale" options={histOpts} data={histData} onDrawn={onDrawn("hist", true)} />
          )}
        </div>
      </div>

      <div className="panel">
        <h2>Corrected latency vs service time</h2>
        <p className="hint">
          Latency counts from when each request should have been sent; service time from when it was. A gap between them is queueing a fixed-rate user would
          feel.
        </p>
        <div className="table-wrap">
          <table className="list compact-table">
            <TableHead cols={["percentile", num("latency"), num("service time"), num("difference")]} />
            <tbody>
              {allPs.map((q) => {
                const l = percentileOf(r.latency?.percentiles, q);
                const s = percentileOf(r.service_time?.percentiles, q);
                return (
                  <tr key={q} data-p={q}>
                    <th scope="row">{q === 100 ? "max" : `p${q}`}</th>
                    <td className="num" data-ms={l ?? ""}>
                      {fmtMs(l)}
                    </td>
                    <td className="num" data-ms={s ?? ""}>
                      {fmtMs(s)}
                    </td>
                    <td className="num">{l !== undefined && s !== undefined ? fmtMs(l - s) : "–"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>

      <h2>Timeline</h2>
      <ResultTimeline timeline={r.timeline} verdicts={verdicts} onDrawn={(name) => onDrawn(name, true)} />

      <div className="grid-2">
        <div className="panel">
          <h2>Requested vs achieved</h2>
          <table className="list compact-table">
            <tbody>
              <tr>
                <th scope="row">targets</th>
                <td className="mono">{r.requested.targets.join(", ")}</td>
              </tr>
              <tr>
                <th scope="row">method, protocol</th>
                <td>
                  {r.requested.method} {r.requested.protocol} {r.requested.http_version ?? ""}
                </td>
              </tr>
              <tr>
                <th scope="row">rate</th>
                <td>
                  {r.requested.rps ? fmtRate(r.requested.rps) : "as fast as possible"} ({r.requested.shape}) → {fmtRate(a.rps)}
                </td>
              </tr>
              <tr>
                <th scope="row">connections</th>
                <td>{r.requested.connections}</td>
              </tr>
              <tr>
                <th scope="row">duration</th>
                <td>
                  {r.requested.duration ?? (r.requested.requests ? `${fmtCount(r.requested.requests)} requests` : "–")} → {durationSeconds(a.duration).toFixed(1)} s
                  {r.requested.warmup ? ` (after ${r.requested.warmup} warm-up)` : ""}
                </td>
              </tr>
              <tr>
                <th scope="row">requests</th>
                <td>
                  {fmtCount(a.requests)} sent, {fmtCount(a.responses)} answered
                </td>
              </tr>
              <tr>
                <th scope="row">late sends</th>
                <td>
                  {fmtCount(a.late)} ({fmtPct(a.late_ratio)}){a.late_threshold ? ` beyond ${a.late_threshold}` : ""}
                </td>
              </tr>
              <tr>
                <th scope="row">dropped</th>
                <td>{fmtCount(a.dropped)}</td>
              </tr>
              <tr>
                <th scope="row">bytes</th>
                <td>
                  {fmtBytes(a.bytes_sent)} sent, {fmtBytes(a.bytes_received)} received
                </td>
              </tr>
            </tbody>
          </table>
        </div>
        <div className="panel">
          <h2>Status codes</h2>
          {codes.length === 0 ? (
            <Empty>No response.</Empty>
          ) : (
            <table className="list compact-table">
              <TableHead cols={["code", num("responses"), num("share")]} />
              <tbody>
                {codes.map(([c, n]) => (
                  <tr key={c} className={Number(c) >= 400 ? "bad" : ""}>
                    <th scope="row">{c}</th>
                    <td className="num">{fmtCount(n)}</td>
                    <td className="num">{fmtPct(n / codeTotal)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Errors</h2>
          {(r.errors ?? []).length === 0 ? (
            <Empty>No transport errors.</Empty>
          ) : (
            <ul className="error-classes">
              {r.errors!.map((e) => (
                <li key={e.class}>
                  <strong>{e.class}</strong> × {fmtCount(e.count)}
                  {e.examples?.length ? (
                    <ul>
                      {e.examples.map((x, i) => (
                        <li key={i} className="mono small">
                          {x}
                        </li>
                      ))}
                    </ul>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>

      {(r.agents ?? []).length > 0 && (
        <div className="panel">
          <h2>Agents</h2>
          <div className="table-wrap">
            <table className="list" aria-label="Per-agent breakdown">
              <TableHead cols={["agent", "client", num("asked"), num("achieved"), num("requests"), num("p50"), num("p99"), num("errors"), num("clock offset"), num("agent CPU"), "state"]} />
              <tbody>
                {r.agents!.map((ag) => {
                  const d = ag.latency ?? ag.service_time;
                  return (
                    <tr key={`${ag.client ?? ""}/${ag.name}`} data-agent={ag.name} className={ag.dropped ? "bad" : ""}>
                      <th scope="row">
                        {ag.name}
                        {ag.labels ? <div className="muted small">{Object.entries(ag.labels).map(([k, v]) => `${k}=${v}`).join(", ")}</div> : null}
                      </th>
                      <td>{ag.client ?? "–"}</td>
                      <td className="num">
                        {fmtRate(ag.rps)} × {ag.connections}
                      </td>
                      <td className="num">{fmtRate(ag.achieved.rps)}</td>
                      <td className="num">{fmtCount(ag.achieved.requests)}</td>
                      <td className="num">{fmtMs(percentileOf(d?.percentiles, 50))}</td>
                      <td className="num">{fmtMs(percentileOf(d?.percentiles, 99))}</td>
                      <td className="num">{fmtPct(ag.achieved.error_rate)}</td>
                      <td className="num">{ag.clock_offset ?? "–"}</td>
                      <td className="num" title={ag.process?.saturated ? "this agent looked saturated: its share may have measured the agent, not the target" : undefined}>
                        {ag.process ? `${ag.process.cpu_cores.toFixed(2)} cores${ag.process.saturated ? " ⚠" : ""}` : "–"}
                      </td>
                      <td>{ag.dropped ? `dropped ${fmtTime(ag.dropped_at)}` : "complete"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      )}

      {(r.process || (r.metrics ?? []).length > 0) && (
        <div className="grid-2">
          {r.process && (
            <div className="panel">
              <h2>Load generator process</h2>
              <dl className="figures compact">
                <Figure label="CPU" value={`${r.process.cpu_cores.toFixed(2)} cores`} sub={`${r.process.cpu_seconds.toFixed(1)} s`} />
                <Figure label="peak memory" value={fmtBytes(r.process.max_rss_bytes)} />
                <Figure label="goroutines" value={fmtCount(r.process.max_goroutines)} />
                <Figure label="late sends" value={fmtPct(r.process.late_ratio)} />
              </dl>
            </div>
          )}
          {(r.metrics ?? []).length > 0 && <MetricsPanel metrics={r.metrics!} />}
        </div>
      )}

      <MeshContextPanel mesh={(r as { mesh?: import("../clusterApi").MeshContext }).mesh} />
      {(r.notes ?? []).length > 0 && (
        <div className="panel">
          <h2>Notes</h2>
          <ul>
            {r.notes!.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </div>
      )}

      <div className="panel">
        <h2>Downloads</h2>
        <div className="actions wrap">
          {exportFormats.map((f) => (
            <button key={f.format} type="button" onClick={() => dl(f.format)} data-format={f.format}>
              {f.label}
            </button>
          ))}
        </div>
        {dlError && <ErrorBox error={dlError} />}
      </div>
    </section>
  );
}

