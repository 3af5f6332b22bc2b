// Stored profiles: a searchable list, and each profile with its revision
// history, its YAML, and buttons to run or edit it.

import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, type ProfileView, type Run, type ProfileRevisions, type ResultPage, type RunRequest } from "../api";
import { listAllProfiles } from "../lib/profiles";
import { NamedList } from "../components/NamedList";
import { RevisionHistory } from "../components/RevisionHistory";
import { Empty, ErrorBox, Loading, errorText, useApi, useTitle } from "../components/ui";
import { fmtMs, fmtRate, fmtTime } from "../lib/format";
import { toYAML } from "../lib/profile";

export function Profiles() {
  useTitle("Profiles");
  const list = useApi((s) => listAllProfiles(s), []);
  return (
    <section>
      <div className="row-between">
        <h1>Profiles</h1>
        <Link className="button primary" to="/new">
          New profile
        </Link>
      </div>
      <NamedList
        what="profiles"
        list={list}
        href={(p) => `/profiles/${p.id}`}
        empty={
          <>
            No stored profiles yet. Build one in <Link to="/new">New test</Link> and press <em>Save as profile</em>.
          </>
        }
      />
    </section>
  );
}

export function ProfileDetail() {
  const { ref = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const rev = params.get("revision");
  const navigate = useNavigate();
  const p = useApi(
    (s) => api<ProfileView>(`/api/v1/profiles/${encodeURIComponent(ref)}${rev ? `?revision=${encodeURIComponent(rev)}` : ""}`, "GET", undefined, s),
    [ref, rev],
  );
  const revs = useApi((s) => api<ProfileRevisions>(`/api/v1/profiles/${encodeURIComponent(ref)}/revisions`, "GET", undefined, s), [ref]);
  const results = useApi((s) => api<ResultPage>(`/api/v1/results?profile=${encodeURIComponent(ref)}&limit=20`, "GET", undefined, s), [ref]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useTitle(p.data ? `Profile ${p.data.name}` : "Profile");

  if (p.error) return <ErrorBox error={p.error} retry={p.reload} />;
  if (!p.data) return <Loading what="the profile" />;
  const prof = p.data;
  const doc = { ...(prof.profile ?? {}) };
  delete doc.id;

  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const r = rev
        ? await api<Run>("/api/v1/runs", "POST", { profile_document: doc } satisfies RunRequest)
        : await api<Run>("/api/v1/runs", "POST", { profile: prof.id } satisfies RunRequest);
      navigate(`/runs/${r.id}`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete profile ${prof.name} and its history? Results stay.`)) return;
    try {
      await api(`/api/v1/profiles/${encodeURIComponent(prof.id)}`, "DELETE");
      navigate("/profiles");
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section>
      <div className="row-between">
        <h1>
          {prof.name} <span className="muted small">revision {prof.revision}</span>
        </h1>
        <div className="actions">
          <button type="button" className="primary" onClick={run} disabled={busy}>
            {busy ? "Starting…" : rev ? `Run revision ${rev}` : "Run"}
          </button>
          <Link className="button" to={`/new?profile=${prof.id}`}>
            Edit
          </Link>
          <Link className="button" to={`/schedules?profile=${prof.id}`}>
            Schedule
          </Link>
          <button type="button" className="danger" onClick={remove}>
            Delete
          </button>
        </div>
      </div>
      {error && <ErrorBox error={error} />}
      <div className="grid-2">
        <div className="panel">
          <h2>Profile (SMP YAML)</h2>
          <pre className="mono yaml-view" tabIndex={0}>
            {toYAML(doc)}
          </pre>
        </div>
        <div>
          <RevisionHistory revs={revs} shown={rev ? Number(rev) : prof.revision} onShow={(r) => setParams(r === null ? {} : { revision: String(r) })} />
          <div className="panel">
            <h2>Results of this profile</h2>
            {!results.data ? (
              <Loading what="results" />
            ) : results.data.results.length === 0 ? (
              <Empty>Not run yet.</Empty>
            ) : (
              <ul className="plain">
                {results.data.results.map((r) => (
                  <li key={r.id}>
                    <Link to={`/results/${r.id}`}>{fmtTime(r.start_time)}</Link> · {fmtRate(r.achieved_rps)} · p99 {fmtMs(r.p99_ms)}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      </div>
    </section>
  );
}
