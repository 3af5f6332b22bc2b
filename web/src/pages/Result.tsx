// A result, whole: the percentile distribution (HdrHistogram-style, x by
// 1/(1−p)), the histogram, corrected latency vs service time, the timeline,
// status codes, error classes, requested vs achieved, agents, SLO verdicts,
// and every export. Each section is a component of components/result.

import { useRef } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import { api, type Result as ResultT, type Run, type Verdict, type VerdictsResponse } from "../api";
import { ResultTimeline } from "../components/ResultTimeline";
import { ErrorBox, Loading, useApi, useTitle } from "../components/ui";
import { AgentsTable } from "../components/result/AgentsTable";
import { DistributionCharts, totalOf } from "../components/result/Distribution";
import { LatencyTable } from "../components/result/LatencyTable";
import { Downloads, Notes } from "../components/result/NotesAndDownloads";
import { ProcessAndMetrics } from "../components/result/ProcessAndMetrics";
import { MeshContextPanel } from "../components/MeshContextPanel";
import { ConformanceLinks } from "./ConformanceLinks";
import { RequestedAchieved } from "../components/result/RequestedAchieved";
import { ResultHeader } from "../components/result/ResultHeader";
import { StatusAndErrors } from "../components/result/StatusAndErrors";
import { Summary } from "../components/result/Summary";

export { curve } from "../components/result/Distribution";

export default function ResultPage() {
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const runId = params.get("run");
  const res = useApi((s) => api<ResultT>(`/api/v1/results/${encodeURIComponent(id)}`, "GET", undefined, s), [id]);
  const verdicts = useApi(
    (s) => api<VerdictsResponse>(`/api/v1/results/${encodeURIComponent(id)}/verdicts${runId ? `?run=${encodeURIComponent(runId)}` : ""}`, "GET", undefined, s),
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
  const drawnCharts = useRef(new Set<string>());
  const marked = useRef(false);
  // The page is rendered when every chart it shows has drawn (the browser
  // tests and the load benchmark wait for the mark).
  const expected = (r.timeline.length > 0 ? 3 : 0) + (totalOf(r) > 0 ? 2 : 0);
  const onDrawn = (name: string) => () => {
    if (marked.current) return;
    drawnCharts.current.add(name);
    if (drawnCharts.current.size >= expected) {
      marked.current = true;
      performance.mark("meshperf:result-rendered");
      document.body.dataset.resultRendered = "true";
    }
  };
  return (
    <section className="result">
      <ResultHeader r={r} runId={runId} degraded={degraded} />
      <Summary r={r} verdicts={verdicts} verdictError={verdictError} />
      <DistributionCharts r={r} onDrawn={onDrawn} />
      <LatencyTable r={r} />
      <h2>Timeline</h2>
      <ResultTimeline timeline={r.timeline} verdicts={verdicts} onDrawn={onDrawn} />
      <div className="grid-2">
        <RequestedAchieved r={r} />
        <StatusAndErrors r={r} />
      </div>
      <AgentsTable r={r} />
      <ProcessAndMetrics r={r} />
      <MeshContextPanel mesh={r.mesh} />
      <ConformanceLinks mesh={r.mesh} />
      <Notes r={r} />
      <Downloads id={r.id} />
    </section>
  );
}
