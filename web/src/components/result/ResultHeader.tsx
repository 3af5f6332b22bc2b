// The result's title, what produced it, its labels, and the banners that
// qualify its figures (failed, interrupted, degraded, saturated client).

import { Link } from "react-router-dom";
import type { Result } from "../../api";
import { RunBannerFor } from "../RunStatus";
import { DegradedBanner } from "../ui";
import { fmtCount, fmtTime } from "../../lib/format";

export function ResultHeader({ r, runId, degraded }: { r: Result; runId: string | null; degraded?: string }) {
  const a = r.achieved;
  return (
    <>
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
      {a.responses === 0 && (
        <p className="error-box" role="alert" data-failed="true">
          Failed: nothing answered ({fmtCount(a.requests)} requests, no response). There are no latency figures.
        </p>
      )}
      <RunBannerFor runId={runId} fallback={r.interrupted && <p className="warn-box">This run was stopped before its end; the result keeps what was measured.</p>} />
      {(r.degraded || degraded !== undefined) && <DegradedBanner reason={degraded} />}
      {r.process?.saturated && <p className="warn-box">The load generator looked saturated (late sends or CPU near capacity): latency may include the client's own delay.</p>}
    </>
  );
}
