// Schedules: stored profiles run on a cron spec, a macro or "every N"; the
// next time in the schedule's own time zone (named); run one now.

import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, type Run, type Schedule, type ScheduleList, type ScheduleRequest } from "../api";
import { listAllProfiles } from "../lib/profiles";
import { Empty, ErrorBox, Loading, errorText, useApi, useTitle } from "../components/ui";
import { fmtInZone } from "../lib/tz";
import { ApiError } from "../api";

export function Schedules() {
  useTitle("Schedules");
  const [params] = useSearchParams();
  const list = useApi((s) => api<ScheduleList>("/api/v1/schedules", "GET", undefined, s), []);
  const profiles = useApi((s) => listAllProfiles(s), []);
  const [profile, setProfile] = useState(params.get("profile") ?? "");
  const [spec, setSpec] = useState("every 1h");
  const [tz, setTz] = useState("");
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const names = new Map((profiles.data?.items ?? []).map((p) => [p.id, p.name]));
  const navigate = useNavigate();
  const [starting, setStarting] = useState<string>();

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setErrs({});
    setError(undefined);
    try {
      await api("/api/v1/schedules", "POST", { profile, spec, timezone: tz || undefined } satisfies ScheduleRequest);
      list.reload();
    } catch (err) {
      if (err instanceof ApiError && err.field) setErrs({ [err.field]: err.message });
      else setError(errorText(err));
    }
  };
  const toggle = async (s: Schedule) => {
    try {
      await api(`/api/v1/schedules/${s.id}`, "PUT", { spec: s.spec, timezone: s.timezone, enabled: !s.enabled } satisfies ScheduleRequest);
      list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const runNow = async (s: Schedule) => {
    setError(undefined);
    setStarting(s.id);
    try {
      const run = await api<Run>(`/api/v1/schedules/${encodeURIComponent(s.id)}/run`, "POST");
      navigate(`/runs/${run.id}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setStarting(undefined);
    }
  };
  const remove = async (s: Schedule) => {
    if (!window.confirm(`Delete the schedule "${s.description || s.spec}"?`)) return;
    try {
      await api(`/api/v1/schedules/${s.id}`, "DELETE");
      list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section>
      <h1>Schedules</h1>
      {error && <ErrorBox error={error} />}
      {list.error ? <ErrorBox error={list.error} retry={list.reload} /> : null}
      {!list.data ? (
        list.error ? null : <Loading what="schedules" />
      ) : list.data.schedules.length === 0 ? (
        <Empty>No schedules. Run a stored profile regularly with the form below.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">profile</th>
                <th scope="col">when</th>
                <th scope="col">next</th>
                <th scope="col">last run</th>
                <th scope="col">
                  <span className="sr-only">actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.schedules.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/profiles/${s.profile_id}`}>{names.get(s.profile_id) ?? s.profile_id}</Link>
                  </td>
                  <td>
                    {s.description || s.spec} <span className="muted small mono">{s.spec}</span>
                    {s.timezone ? <span className="muted small"> ({s.timezone})</span> : null}
                  </td>
                  <td className="next-due">{s.enabled ? fmtInZone(s.next_due_at, s.timezone) : <span className="muted">paused</span>}</td>
                  <td>{s.last_run_id ? <Link to={`/runs/${s.last_run_id}`}>{fmtInZone(s.last_due_at, s.timezone)}</Link> : "–"}</td>
                  <td className="actions">
                    <button type="button" onClick={() => runNow(s)} disabled={starting === s.id}>
                      {starting === s.id ? "Starting…" : "Run now"}
                    </button>
                    <button type="button" onClick={() => toggle(s)}>
                      {s.enabled ? "Pause" : "Resume"}
                    </button>
                    <button type="button" className="danger" onClick={() => remove(s)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form className="panel" onSubmit={create} aria-label="New schedule">
        <h2>New schedule</h2>
        <div className="grid-3">
          <div className={`field${errs.profile ? " invalid" : ""}`}>
            <label htmlFor="s-profile">Profile</label>
            <select id="s-profile" value={profile} onChange={(e) => setProfile(e.target.value)} required>
              <option value="">choose a stored profile</option>
              {(profiles.data?.items ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
            {errs.profile && <p className="field-error">{errs.profile}</p>}
          </div>
          <div className={`field${errs.spec ? " invalid" : ""}`}>
            <label htmlFor="s-spec">When</label>
            <input id="s-spec" className="mono" value={spec} onChange={(e) => setSpec(e.target.value)} aria-describedby="s-spec-hint" />
            <p id="s-spec-hint" className="hint">
              cron (<code>0 3 * * 1-5</code>), <code>@daily</code>, or <code>every 15m</code>
            </p>
            {errs.spec && <p className="field-error">{errs.spec}</p>}
          </div>
          <div className={`field${errs.timezone ? " invalid" : ""}`}>
            <label htmlFor="s-tz">Time zone</label>
            <input id="s-tz" value={tz} placeholder="UTC" onChange={(e) => setTz(e.target.value)} />
            {errs.timezone && <p className="field-error">{errs.timezone}</p>}
          </div>
        </div>
        <button type="submit" className="primary">
          Create schedule
        </button>
      </form>
    </section>
  );
}
