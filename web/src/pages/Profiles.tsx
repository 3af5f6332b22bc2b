// Stored profiles: a searchable list, and each profile with its revision
// history, its YAML, and buttons to run or edit it.

import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, type ProfileView, type Run, type ProfileRevisions, type ResultPage, type RunRequest } from "../api";
import { listAllProfiles } from "../lib/profiles";
import { RevisionHistory } from "../components/RevisionHistory";
import { Empty, ErrorBox, Loading, errorText, useApi, useTitle } from "../components/ui";
import { fmtAgo, fmtMs, fmtRate, fmtTime } from "../lib/format";
import { toYAML } from "../lib/profile";

export function Profiles() {
  useTitle("Profiles");
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const list = useApi((s) => listAllProfiles(s), []);
  const rows = (list.data?.profiles ?? []).filter((p) =>
    `${p.name} ${p.id} ${Object.entries(p.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(" ")}`.toLowerCase().includes(q.toLowerCase()),
  );
  return (
    <section>
      <div className="row-between">
        <h1>Profiles</h1>
        <Link className="button primary" to="/new">
          New profile
        </Link>
      </div>
      <label className="search">
        Search{" "}
        <input type="search" value={q} placeholder="name, id or label" onChange={(e) => setParams(e.target.value ? { q: e.target.value } : {}, { replace: true })} />
      </label>
      {list.error ? <ErrorBox error={list.error} retry={list.reload} /> : null}
      {list.data?.truncated ? <p className="muted">Only the first {list.data.profiles.length} profiles by name are listed.</p> : null}
      {!list.data ? (
        list.error ? null : <Loading what="profiles" />
      ) : list.data.profiles.length === 0 ? (
        <Empty>
          No stored profiles yet. Build one in <Link to="/new">New test</Link> and press <em>Save as profile</em>.
        </Empty>
      ) : rows.length === 0 ? (
        <Empty>No profile matches “{q}”.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">labels</th>
                <th scope="col" className="num">
                  revision
                </th>
                <th scope="col">updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`/profiles/${p.id}`}>{p.name}</Link>
                    {p.private ? <span className="badge">private</span> : null}
                  </td>
                  <td>
                    {Object.entries(p.labels ?? {}).map(([k, v]) => (
                      <span key={k} className="badge">
                        {k}={v}
                      </span>
                    ))}
                  </td>
                  <td className="num">{p.revision}</td>
                  <td title={p.updated_at}>{fmtAgo(p.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
