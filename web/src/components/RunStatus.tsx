// What a run's state means for its result: a banner for a run that failed,
// was cancelled or was interrupted (its state and the server's reason), and
// the objectives' verdicts (met, BROKEN, or not evaluated).

import type { ReactNode } from "react";
import { api, type Run, type Verdict } from "../api";
import { fmtMs, fmtPct, fmtRate } from "../lib/format";
import { useApi } from "./ui";

/** The banner's text for a run, or null for one that succeeded or is still going. */
export function runBannerText(run: Pick<Run, "state" | "error">): { title: string; reason: string } | null {
  const what: Record<string, string> = {
    failed: "This run failed",
    cancelled: "This run was cancelled",
    interrupted: "This run was interrupted",
    missed: "This run was missed",
  };
  const title = what[run.state];
  if (!title) return null;
  // The server's reason often starts with the state ("cancelled; the result keeps..."): say it once.
  let reason = (run.error ?? "").replace(new RegExp(`^${run.state}[;:,]?\\s*`, "i"), "").trim();
  if (reason === "") reason = run.error ? "" : "no reason was recorded";
  return { title, reason: reason && reason.charAt(0).toUpperCase() + reason.slice(1) };
}

export function RunBanner({ run }: { run: Pick<Run, "state" | "error"> }) {
  const b = runBannerText(run);
  if (!b) return null;
  return (
    <div className={run.state === "failed" ? "error-box run-banner" : "warn-box run-banner"} role="status" data-run-state={run.state}>
      <strong>{b.title}{b.reason ? ":" : "."}</strong> {b.reason ? `${b.reason.replace(/\.$/, "")}.` : null}
      {run.state !== "failed" && run.state !== "missed" ? " Its figures cover the run up to then; its objectives are not evaluated." : null}
    </div>
  );
}

/**
 * RunBanner for the run named in the URL (?run=ID), loaded from the API;
 * fallback (the result's own "stopped before its end") when there is no
 * run to name or it has no banner.
 */
export function RunBannerFor({ runId, fallback = null }: { runId: string | null; fallback?: ReactNode }) {
  const run = useApi((s) => (runId ? api<Run>(`/api/v1/runs/${encodeURIComponent(runId)}`, "GET", undefined, s) : Promise.resolve(null)), [runId]);
  if (run.data && runBannerText(run.data)) return <RunBanner run={run.data} />;
  if (runId && run.loading && !run.data) return null; // no flash of the fallback
  return <>{fallback}</>;
}

/** A verdict's status (servers before the status field: from met). */
// Servers older than the verdict's status sent met only.
export function verdictStatus(v: Omit<Verdict, "status"> & Partial<Pick<Verdict, "status">>): Verdict["status"] {
  return v.status ?? (v.met ? "met" : "broken");
}

function verdictValue(v: Verdict): string {
  const m = v.objective.metric.replace(/^service_/, "");
  if (m === "error_rate" || m === "late_ratio") return fmtPct(v.actual);
  if (m === "rps") return fmtRate(v.actual);
  return fmtMs(v.actual);
}

export function Objectives({ verdicts }: { verdicts: Verdict[] }) {
  return (
    <div className="panel">
      <h2>Objectives</h2>
      <ul className="verdicts">
        {verdicts.map((v, i) => {
          const st = verdictStatus(v);
          return (
            <li key={i} className={st === "met" ? "met" : st === "broken" ? "broken" : "not-evaluated"} data-status={st}>
              <span className="badge">{st === "broken" ? "BROKEN" : st}</span> <code>{v.objective.raw}</code>{" "}
              {v.reason ? <span className="muted">({v.reason})</span> : <span className="muted">actual {verdictValue(v)}</span>}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
