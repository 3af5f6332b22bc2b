// Compare: two or more results, a one-line verdict for each against the
// baseline (the first in the URL, chosen on the page), their percentile
// curves and per-second timelines overlaid, a table of differences against
// the baseline, and one banner with the server's warnings when they are not
// comparable. The URL names the results, so a comparison is a link.

import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type uPlot from "uplot";
import { api, type Comparison, type Result, type ResultPage, type CompareRequest } from "../api";
import { Chart, useTheme } from "../components/Chart";
import { percentileOptions } from "../components/charts";
import { CompareTimelines } from "../components/CompareTimelines";
import { Empty, ErrorBox, Loading, errorText, useApi, useTitle } from "../components/ui";
import { fmtAgo, fmtCount, fmtMs, fmtPct, fmtRate } from "../lib/format";
import { decodeHistogram, percentileGrid, type Histogram } from "../lib/hdr";
import { curve } from "./Result";
import { compareVerdicts, rowLabel, warningText, withBaseline } from "../lib/compare";

function fmtValue(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined) return "–";
  switch (unit) {
    case "ms":
      return fmtMs(v);
    case "1/s":
      return fmtRate(v);
    case "ratio":
      return fmtPct(v);
    default:
      return fmtCount(v);
  }
}

/** Whether a difference is worse or better: higher latency or errors are worse, a lower rate is. */
function judge(unit: string, diff: number): string {
  if (diff === 0 || unit === "count") return "";
  const worse = unit === "1/s" ? diff < 0 : diff > 0;
  return worse ? "worse" : "better";
}

function Picker({ ids, onChange }: { ids: string[]; onChange: (ids: string[]) => void }) {
  const list = useApi((s) => api<ResultPage>("/api/v1/results?limit=100", "GET", undefined, s), []);
  const [filter, setFilter] = useState("");
  if (list.error) return <ErrorBox error={list.error} retry={list.reload} />;
  if (!list.data) return <Loading what="results" />;
  const rows = list.data.results.filter((r) => `${r.name ?? ""} ${r.id} ${r.target} ${r.generator}`.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div className="panel">
      <h2>Pick results</h2>
      <label>
        Filter{" "}
        <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name, target, generator" />
      </label>
      {list.data.results.length === 0 ? (
        <Empty>No results to compare yet.</Empty>
      ) : (
        <div className="table-wrap picker">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">
                  <span className="sr-only">pick</span>
                </th>
                <th scope="col">result</th>
                <th scope="col">target</th>
                <th scope="col" className="num">
                  rate
                </th>
                <th scope="col" className="num">
                  p99
                </th>
                <th scope="col">when</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`compare ${r.name || r.id}`}
                      checked={ids.includes(r.id)}
                      onChange={() => onChange(ids.includes(r.id) ? ids.filter((x) => x !== r.id) : [...ids, r.id])}
                    />
                  </td>
                  <td>
                    {r.name || r.id} <span className="muted small mono">{r.id}</span>
                  </td>
                  <td className="mono ellipsis">{r.target}</td>
                  <td className="num">{fmtRate(r.achieved_rps)}</td>
                  <td className="num">{fmtMs(r.p99_ms || undefined)}</td>
                  <td>{fmtAgo(r.end_time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export default function ComparePage() {
  const [params, setParams] = useSearchParams();
  const ids = (params.get("ids") ?? "").split(",").filter(Boolean);
  const setIds = (next: string[]) => setParams(next.length ? { ids: next.join(",") } : {}, { replace: true });
  useTitle(ids.length >= 2 ? `Compare ${ids.length} results` : "Compare");

  const key = ids.join(",");
  const cmp = useApi<Comparison | null>((s) => (ids.length >= 2 ? api<Comparison>("/api/v1/compare", "POST", { ids } satisfies CompareRequest, s) : Promise.resolve(null)), [key]);
  const [curves, setCurves] = useState<{ names: string[]; data: uPlot.AlignedData; results: Result[] } | null>(null);
  const [curveError, setCurveError] = useState<string>();

  useEffect(() => {
    setCurves(null);
    setCurveError(undefined);
    if (ids.length < 2) return;
    let live = true;
    (async () => {
      const rs = await Promise.all(ids.map((id) => api<Result>(`/api/v1/results/${encodeURIComponent(id)}`)));
      const dists = rs.map((r) => r.latency ?? r.service_time);
      const hs: (Histogram | undefined)[] = await Promise.all(dists.map((d) => (d?.histogram ? decodeHistogram(d.histogram) : Promise.resolve(undefined))));
      const total = Math.max(...dists.map((d) => d?.count ?? 0));
      const xs = percentileGrid(total);
      const cols = dists.map((d, i) => curve(d, hs[i], xs));
      if (live) setCurves({ names: rs.map((r, i) => `${i === 0 ? "baseline: " : ""}${r.name || r.id}`), data: [xs, ...cols] as uPlot.AlignedData, results: rs });
    })().catch((e) => live && setCurveError(errorText(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const theme = useTheme();
  const opts = useMemo(() => (curves ? percentileOptions(curves.names) : null), [curves, theme]);
  const c = cmp.data;
  const verdicts = useMemo(() => (c ? compareVerdicts(c) : []), [c]);

  return (
    <section>
      <h1>Compare results</h1>
      {ids.length < 2 && <p className="muted">Pick two or more results; the first one picked is the baseline the others are measured against (choose another above the table).</p>}
      {cmp.error ? <ErrorBox error={cmp.error} retry={cmp.reload} /> : null}
      {c && verdicts.length > 0 && (
        <ul className="compare-verdicts" aria-label="Verdict">
          {verdicts.map((v, i) => (
            <li key={i} className={`verdict-line ${v.judgement === "about the same" ? "same" : v.judgement}`} data-judgement={v.judgement}>
              {v.text}
              {(c.warnings ?? []).length > 0 ? <span className="muted"> (but see below: they may not be comparable)</span> : null}
            </li>
          ))}
        </ul>
      )}
      {c && (c.warnings ?? []).length > 0 && (
        <div className="warn-box" role="alert">
          <strong>These results may not be comparable:</strong>
          {c.warnings.length === 1 ? (
            <> {warningText(c.warnings[0])}.</>
          ) : (
            <ul>
              {c.warnings.map((w, i) => (
                <li key={i}>{warningText(w)}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {c && ids.length >= 2 && (
        <p className="baseline-pick">
          <label htmlFor="compare-baseline">Baseline</label>{" "}
          <select id="compare-baseline" value={ids[0]} onChange={(e) => setIds(withBaseline(ids, e.target.value))}>
              {ids.map((id, i) => (
                <option key={id} value={id}>
                  {c.columns[i]?.name || id} ({id})
                </option>
              ))}
          </select>{" "}
          <span className="hint">the others are measured against it</span>
        </p>
      )}
      {ids.length >= 2 && (
        <div className="panel">
          <h2>Latency by percentile</h2>
          {curveError ? <ErrorBox error={curveError} /> : !curves || !opts ? <Loading what="the histograms" /> : <Chart label="Latency at each percentile, every result overlaid" options={opts} data={curves.data} height={300} />}
        </div>
      )}
      {curves && <CompareTimelines results={curves.results} />}
      {c && (
        <div className="panel">
          <h2>Differences against the baseline ({c.basis === "latency" ? "corrected latency" : "service time"})</h2>
          <div className="table-wrap">
            <table className="list compare-table">
              <thead>
                <tr>
                  <th scope="col">figure</th>
                  {c.columns.map((col, i) => (
                    <th scope="col" key={i} className="num">
                      <Link to={`/results/${col.id}`}>{col.name || col.id}</Link>
                      <div className="muted small">
                        {i === 0 ? "baseline · " : ""}
                        {col.generator} ({col.fidelity})
                      </div>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {(c.rows ?? []).map((row) => (
                  <tr key={row.metric}>
                    <th scope="row" title={row.metric}>
                      {rowLabel(row.metric)}
                    </th>
                    {row.cells.map((cell, i) => (
                      <td key={i} className="num">
                        {fmtValue(cell.value, row.unit)}
                        {i > 0 && cell.diff !== undefined && cell.diff !== null && (
                          <div className={`small ${judge(row.unit, cell.diff)}`}>
                            {cell.diff > 0 ? "+" : ""}
                            {fmtValue(cell.diff, row.unit)}
                            {cell.ratio !== undefined && cell.ratio !== null ? ` (×${cell.ratio.toFixed(2)})` : ""}
                          </div>
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <Picker ids={ids} onChange={setIds} />
    </section>
  );
}
