// The headline figures, every one from the main distribution's one
// percentile list; then the objectives' verdicts.

import type { Result, Verdict } from "../../api";
import { Objectives } from "../RunStatus";
import { errorText } from "../ui";
import { fmtCount, fmtMs, fmtPct, fmtRate } from "../../lib/format";
import { percentileOf } from "../../lib/hdr";
import { Figure } from "./Figure";

export function Summary({ r, verdicts, verdictError }: { r: Result; verdicts?: Verdict[]; verdictError?: unknown }) {
  const main = r.latency ?? r.service_time;
  const p = (q: number) => percentileOf(main?.percentiles, q);
  const a = r.achieved;
  return (
    <>
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
    </>
  );
}
