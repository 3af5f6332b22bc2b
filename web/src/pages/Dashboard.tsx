// The dashboard: running tests first, with live progress, then recent runs
// and results, where results can be picked for comparison.

import { useEffect, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, type Run, type RunPage, type ResultPage } from "../api";
import { Empty, ErrorBox, Loading, StateBadge, TableHead, num, useApi, useTitle } from "../components/ui";
import { fmtAgo, fmtCount, fmtMs, fmtPct, fmtRate } from "../lib/format";
import { useLiveRun } from "../lib/live";
import { useSession } from "../App";

function RunningCard({ run }: { run: Run }) {
  const live = useLiveRun(run.id, run);
  const last = live.seconds[live.seconds.length - 1];
  return (
    <li className="card running">
      <div className="row-between">
        <Link to={`/runs/${run.id}`}>
          <strong>{run.name || run.id}</strong>
        </Link>
        <StateBadge state={live.run?.state ?? run.state} />
      </div>
      {last ? (
        <dl className="figures compact" aria-live="polite">
          <div>
            <dt>elapsed</dt>
            <dd>{last.elapsed_s.toFixed(0)} s</dd>
          </div>
          <div>
            <dt>rate</dt>
            <dd>{fmtRate(last.achieved_rps)}</dd>
          </div>
          <div>
            <dt>p99</dt>
            <dd>{fmtMs(last.p99_ms)}</dd>
          </div>
          <div>
            <dt>errors</dt>
            <dd>{fmtCount(last.total_errors)}</dd>
          </div>
        </dl>
      ) : (
        <p className="muted">{run.state === "queued" ? "waiting for a free worker…" : "starting…"}</p>
      )}
    </li>
  );
}

export function Dashboard() {
  useTitle("Dashboard");
  const { info } = useSession();
  const navigate = useNavigate();
  const [tick, setTick] = useState(0);
  const runs = useApi((s) => api<RunPage>("/api/v1/runs?limit=30", "GET", undefined, s), [tick]);
  const results = useApi((s) => api<ResultPage>("/api/v1/results?limit=50", "GET", undefined, s), [tick]);
  const [picked, setPicked] = useState<string[]>([]);

  const active = (runs.data?.runs ?? []).filter((r) => r.state === "running" || r.state === "queued");
  useEffect(() => {
    const t = setTimeout(() => setTick((x) => x + 1), active.length > 0 ? 3000 : 15000);
    return () => clearTimeout(t);
  }, [active.length, runs.data]);

  const byId = new Map((results.data?.results ?? []).map((r) => [r.id, r]));
  const recent = (runs.data?.runs ?? []).filter((r) => r.state !== "running" && r.state !== "queued");
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));

  return (
    <section>
      <div className="row-between">
        <h1>Dashboard</h1>
        <Link className="button primary" to="/new">
          New test
        </Link>
      </div>
      {active.length > 0 && (
        <>
          <h2>Running</h2>
          <ul className="cards">
            {active.map((r) => (
              <RunningCard key={r.id} run={r} />
            ))}
          </ul>
        </>
      )}

      <h2>Recent runs</h2>
      {runs.error ? <ErrorBox error={runs.error} retry={runs.reload} /> : null}
      {runs.loading && !runs.data ? (
        <Loading what="runs" />
      ) : recent.length === 0 && active.length === 0 ? (
        <Empty>
          <p>No tests have run on this server yet.</p>
          <p>
            <Link to="/new">Start a first test</Link>
            {info?.echo_url ? (
              <>
                {" "}
                against the built-in echo target at <code>{info.echo_url}</code>: it takes ten seconds.
              </>
            ) : (
              <>
                {" "}
                (no target? start one with <code>meshperf echo</code>, or the server with <code>--echo</code>).
              </>
            )}
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="list dense dash-runs">
            <TableHead cols={["Test", "State", "Target", num("Rate"), num("p99"), num("Errors"), "When"]} />
            <tbody>
              {recent.map((r) => {
                const s = r.result_id ? byId.get(r.result_id) : undefined;
                const to = r.result_id ? `/results/${r.result_id}?run=${r.id}` : `/runs/${r.id}`;
                return (
                  <tr key={r.id}>
                    <td>
                      <Link to={to}>{r.name || r.id}</Link>
                    </td>
                    <td>
                      <StateBadge state={r.state} />
                      {r.error && (r.state === "failed" || r.state === "degraded") ? (
                        <div className="muted small run-error" title={r.error}>
                          {r.error}
                        </div>
                      ) : null}
                    </td>
                    <td className="mono ellipsis">{s?.target ?? "–"}</td>
                    <td className="num">{s ? `${fmtRate(s.achieved_rps)}${s.requested_rps ? ` of ${fmtRate(s.requested_rps)}` : ""}` : "–"}</td>
                    <td className="num">{s ? fmtMs(s.p99_ms) : "–"}</td>
                    <td className="num">{s ? fmtPct(s.error_rate) : "–"}</td>
                    <td title={r.finished_at ?? r.created_at}>{fmtAgo(r.finished_at ?? r.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <div className="row-between">
        <h2>Results</h2>
        <button type="button" className="primary" disabled={picked.length < 2} onClick={() => navigate(`/compare?ids=${picked.join(",")}`)}>
          Compare {picked.length >= 2 ? `${picked.length} results` : "(pick two or more)"}
        </button>
      </div>
      {results.error ? <ErrorBox error={results.error} retry={results.reload} /> : null}
      {results.loading && !results.data ? (
        <Loading what="results" />
      ) : (results.data?.results ?? []).length === 0 ? (
        <Empty>No results yet: each finished test keeps one, and so do results imported or run from the CLI.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="list dense dash-results">
            <TableHead cols={[{ label: <span className="sr-only">Pick for comparison</span> }, "Result", "Target", num("Rate"), num("p50"), num("p99"), num("Errors"), "When"]} />
            <tbody>
              {(results.data?.results ?? []).map((r) => (
                <tr key={r.id}>
                  <td>
                    <input type="checkbox" aria-label={`compare ${r.name || r.id}`} checked={picked.includes(r.id)} onChange={() => toggle(r.id)} />
                  </td>
                  <td>
                    <Link to={`/results/${r.id}`}>{r.name || r.id}</Link> <span className="muted small">{r.generator}</span>
                  </td>
                  <td className="mono ellipsis">{r.target}</td>
                  <td className="num">{fmtRate(r.achieved_rps)}</td>
                  <td className="num">{fmtMs(r.p50_ms || undefined) /* 0: nothing measured */}</td>
                  <td className="num">{fmtMs(r.p99_ms || undefined)}</td>
                  <td className="num">{fmtPct(r.error_rate)}</td>
                  <td title={r.start_time}>{fmtAgo(r.end_time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
