// A run as it happens: per-second charts of achieved vs requested rate,
// latency p50/p90/p99 and errors, fed by the server's events; cancel.

import { useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import type uPlot from "uplot";
import { api, type Run } from "../api";
import { Chart, useTheme } from "../components/Chart";
import { timelineOptions } from "../components/timeline";
import { RunBanner, runBannerText } from "../components/RunStatus";
import { ErrorBox, Loading, StateBadge, errorText, useApi, useTitle } from "../components/ui";
import { fmtCount, fmtMs, fmtRate } from "../lib/format";
import { finalStates, useLiveRun } from "../lib/live";

export function LiveRun() {
  const { id = "" } = useParams();
  const first = useApi((s) => api<Run>(`/api/v1/runs/${encodeURIComponent(id)}`, "GET", undefined, s), [id]);
  if (first.error) return <ErrorBox error={first.error} retry={first.reload} />;
  if (!first.data) return <Loading what="the run" />;
  return <LiveRunView key={id} initial={first.data} />;
}

function LiveRunView({ initial }: { initial: Run }) {
  const live = useLiveRun(initial.id, initial);
  const run = live.run ?? initial;
  const [cancelError, setCancelError] = useState<string>();
  const [cancelling, setCancelling] = useState(false);
  useTitle(`${run.name || run.id} (${run.state})`);

  const s = live.seconds;
  const theme = useTheme();
  const last = s[s.length - 1];
  // The charts read the warm-up flags at each draw: they grow every second.
  const warm = useRef<boolean[]>([]);
  warm.current = s.map((p) => !!p.warmup);
  const rateOpts = useMemo(() => timelineOptions("rate", ["achieved", "requested"], { warmup: () => warm.current, dashed: [1] }), [theme]);
  const latOpts = useMemo(() => timelineOptions("latency", ["p50", "p90", "p99"], { warmup: () => warm.current }), [theme]);
  const errOpts = useMemo(() => timelineOptions("errors", ["errors"], { warmup: () => warm.current }), [theme]);
  const rate = useMemo<uPlot.AlignedData>(() => [s.map((p) => p.second), s.map((p) => p.achieved_rps), s.map((p) => p.requested_rps ?? null)], [s]);
  const lat = useMemo<uPlot.AlignedData>(() => [s.map((p) => p.second), s.map((p) => p.p50_ms), s.map((p) => p.p90_ms), s.map((p) => p.p99_ms)], [s]);
  const errs = useMemo<uPlot.AlignedData>(() => [s.map((p) => p.second), s.map((p) => p.errors)], [s]);

  const over = finalStates.has(run.state);
  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await api(`/api/v1/runs/${encodeURIComponent(run.id)}/cancel`, "POST");
    } catch (e) {
      setCancelError(errorText(e));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <section>
      <div className="row-between">
        <h1>
          {run.name || "Run"} <span className="muted small mono">{run.id}</span>
        </h1>
        <div className="actions">
          <StateBadge state={run.state} />
          {!over && (
            <button type="button" className="danger" onClick={cancel} disabled={cancelling}>
              {cancelling ? "Cancelling…" : "Cancel"}
            </button>
          )}
          {run.result_id && (
            <Link className="button primary" to={`/results/${run.result_id}?run=${run.id}`}>
              Open the result
            </Link>
          )}
        </div>
      </div>
      {cancelError && <ErrorBox error={cancelError} />}
      {runBannerText(run) ? <RunBanner run={run} /> : run.error ? <p className="muted">{run.error}</p> : null}
      {live.error ? <p className="muted">Live updates interrupted ({errorText(live.error)}); reconnecting…</p> : null}
      <dl className="figures" aria-live="polite" aria-label="Live figures">
        <div>
          <dt>elapsed</dt>
          <dd data-testid="live-elapsed">{last ? `${last.elapsed_s.toFixed(0)} s` : "–"}</dd>
        </div>
        <div>
          <dt>rate now</dt>
          <dd data-testid="live-rate">
            {last ? fmtRate(last.achieved_rps) : "–"}
            {last?.requested_rps ? <small> of {fmtRate(last.requested_rps)}</small> : null}
          </dd>
        </div>
        <div>
          <dt>p99 now</dt>
          <dd>{last ? fmtMs(last.p99_ms) : "–"}</dd>
        </div>
        <div>
          <dt>requests</dt>
          <dd data-testid="live-requests">{last ? fmtCount(last.total_requests) : "–"}</dd>
        </div>
        <div>
          <dt>errors</dt>
          <dd>{last ? fmtCount(last.total_errors) : "–"}</dd>
        </div>
        <div>
          <dt>p99 so far</dt>
          <dd>{last ? fmtMs(last.total_p99_ms) : "–"}</dd>
        </div>
      </dl>
      {last?.warmup && <p className="muted">Warming up: these seconds stay out of the summary.</p>}
      {s.length === 0 && !over && <Loading what={run.state === "queued" ? "a free worker (the run is queued)" : "the first second"} />}
      <div className="charts">
        <div className="panel">
          <h2>Rate: achieved vs requested</h2>
          <Chart label="Requests per second each second, achieved and requested" options={rateOpts} data={rate} height={220} />
        </div>
        <div className="panel">
          <h2>Latency p50 / p90 / p99</h2>
          <Chart label="Latency percentiles each second" options={latOpts} data={lat} height={220} />
        </div>
        <div className="panel">
          <h2>Errors per second</h2>
          <Chart label="Errors each second" options={errOpts} data={errs} height={160} />
        </div>
      </div>
    </section>
  );
}
