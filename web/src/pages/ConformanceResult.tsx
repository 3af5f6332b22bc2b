// One conformance result: the implementation, cluster and suite, each test
// of the profile with its status, duration and the suite's reason (its
// output on demand), the official report, and the performance results of
// the same mesh version. A run still going on shows its tests so far and
// is read again every 3 s until it ends.

import { useEffect } from "react";
import { Link, useParams } from "react-router-dom";
import { api, type ConformanceSummary, type ConformanceTest, type ConformanceView } from "../api";
import { ErrorBox, Loading, StateBadge, useApi, useTitle } from "../components/ui";
import { fmtTestDuration, linkText, meshLabel, orderTests, passText } from "../lib/conformance";
import { fmtMs, fmtRate, fmtTime } from "../lib/format";
import { ConformanceBadge } from "./ConformanceStatus";

const ended = (state?: string) => state !== "queued" && state !== "running";

export default function ConformanceResultPage() {
  const { id = "" } = useParams();
  const view = useApi((s) => api<ConformanceView>(`/api/v1/conformance/${encodeURIComponent(id)}`, "GET", undefined, s), [id]);
  const state = view.data?.run?.state;
  const reload = view.reload;
  useEffect(() => {
    if (!view.data || view.data.result || ended(state)) return;
    const t = setTimeout(reload, 3000);
    return () => clearTimeout(t);
  }, [view.data, state, reload]);
  useTitle(view.data?.result ? `Conformance ${meshLabel(view.data.result.implementation.mesh, view.data.result.implementation.version)}` : "Conformance");
  if (view.error) return <ErrorBox error={view.error} retry={view.reload} />;
  if (!view.data) return <Loading what="the conformance result" />;
  const { run, result: r } = view.data;
  if (!r) {
    return (
      <section>
        <h1>Conformance run {run?.id}</h1>
        <p>
          {run ? <StateBadge state={run.state} /> : null} {run?.error}
        </p>
        <TestTable tests={view.data.tests ?? []} caption="tests ended so far" />
      </section>
    );
  }
  const summary: ConformanceSummary = {
    id: r.id ?? id,
    kind: r.kind,
    profile: r.profile,
    suite_version: r.suiteVersion,
    mesh: r.implementation.mesh,
    mesh_version: r.implementation.version,
    outcome: r.outcome,
    counts: r.counts,
    started: r.started,
    finished: r.finished,
  };
  const perf = view.data.performance ?? [];
  return (
    <section className="conformance">
      <h1>
        {r.profile} · {meshLabel(r.implementation.mesh, r.implementation.version)}
      </h1>
      <p>
        <span className={`badge state-${r.outcome === "passed" ? "succeeded" : r.outcome === "cancelled" ? "cancelled" : "failed"}`}>{r.outcome}</span>{" "}
        {passText(r.counts)} · {r.counts.failed} failed · {r.counts.skipped} skipped · {r.counts.notRun} not run
        {run ? (
          <>
            {" "}
            · run <StateBadge state={run.state} />
          </>
        ) : null}
      </p>
      {r.reason ? <p className="warn-box">{r.reason}</p> : null}
      {r.reportMismatch ? <p className="warn-box">The per-test result disagrees with the suite's report: {r.reportMismatch}</p> : null}
      <dl className="facts">
        <dt>suite</dt>
        <dd>
          Gateway API {r.suiteVersion} ({r.kind})
        </dd>
        <dt>cluster</dt>
        <dd>
          {r.cluster || "–"} {r.gatewayAPI ? `· Gateway API CRDs ${r.gatewayAPI} ${r.gatewayAPIChannel ?? ""}` : ""}
        </dd>
        <dt>implementation</dt>
        <dd>
          {meshLabel(r.implementation.mesh, r.implementation.version)}
          {r.implementation.detected ? " (discovered)" : r.implementation.mesh ? " (named)" : ""}
        </dd>
        <dt>ran</dt>
        <dd>
          {fmtTime(r.started)} – {fmtTime(r.finished)}
        </dd>
        <dt>supported features</dt>
        <dd>{r.supportedFeatures.length ? r.supportedFeatures.join(", ") : "none claimed (core only)"}</dd>
        {r.cleanup?.length ? (
          <>
            <dt>namespaces deleted</dt>
            <dd>{r.cleanup.join(", ")}</dd>
          </>
        ) : null}
      </dl>
      <TestTable tests={r.tests} caption="tests" />
      <h2>Performance of the same mesh version</h2>
      <p aria-label="link">{linkText(summary, perf, view.data.overhead)}</p>
      {view.data.overhead ? (
        <p>
          The overhead comes from{" "}
          <Link to={`/experiments/${view.data.overhead.experiment_id}`}>experiment {view.data.overhead.experiment_name}</Link>.
        </p>
      ) : null}
      {perf.length > 0 ? (
        <ul>
          {perf.map((p) => (
            <li key={p.id}>
              <Link to={`/results/${p.id}`}>{p.name || p.id}</Link> · {fmtTime(p.start_time)} · p99 {fmtMs(p.p99_ms)} at {fmtRate(p.achieved_rps)}
            </li>
          ))}
        </ul>
      ) : null}
      {r.report ? (
        <details>
          <summary>The official ConformanceReport (YAML, as the suite wrote it)</summary>
          <pre className="conf-output">{r.report}</pre>
        </details>
      ) : null}
    </section>
  );
}

function TestTable({ tests, caption }: { tests: ConformanceTest[]; caption: string }) {
  if (tests.length === 0) return <p className="muted">No test has ended yet.</p>;
  return (
    <div className="table-wrap">
      <table className="list" aria-label={caption}>
        <thead>
          <tr>
            <th scope="col">status</th>
            <th scope="col">test</th>
            <th scope="col" className="num">
              duration
            </th>
            <th scope="col">message</th>
          </tr>
        </thead>
        <tbody>
          {orderTests(tests).map((t) => (
            <tr key={t.name}>
              <td>
                <ConformanceBadge status={t.status} />
              </td>
              <th scope="row" title={t.description}>
                {t.name}
                {t.provisional ? <span className="muted small"> provisional</span> : null}
              </th>
              <td className="num">{fmtTestDuration(t.durationNs)}</td>
              <td>
                {t.message ? <span className="conf-message">{t.message}</span> : null}
                {t.output ? (
                  <details>
                    <summary className="small">output</summary>
                    <pre className="conf-output">{t.output}</pre>
                  </details>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
