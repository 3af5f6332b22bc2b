// Conformance: the matrix of a profile's tests × the latest results,
// grouped by mesh (each mesh's results oldest first), and every stored
// conformance result, newest first, a page at a time. Runs start from the
// CLI (meshperf conformance run) or POST /api/v1/conformance.

import { useState } from "react";
import { Link } from "react-router-dom";
import { api, type ConformanceList, type ConformanceMatrix, type ConformanceSummary } from "../api";
import { Empty, ErrorBox, Loading, useApi, useTitle } from "../components/ui";
import { groupMatrix, meshLabel, passText } from "../lib/conformance";
import { fmtTime } from "../lib/format";
import { ConformanceBadge } from "./ConformanceStatus";

const profiles = ["MESH-HTTP", "MESH-GRPC", "GATEWAY-HTTP", "GATEWAY-GRPC", "GATEWAY-TLS", "GATEWAY-TCP", "GATEWAY-UDP"];

export function Conformance() {
  useTitle("Conformance");
  const [profile, setProfile] = useState("MESH-HTTP");
  const [pages, setPages] = useState<ConformanceSummary[][]>([]);
  const [next, setNext] = useState<string | undefined>();
  const first = useApi(
    (s) =>
      api<ConformanceList>("/api/v1/conformance?limit=25", "GET", undefined, s).then((p) => {
        setPages([]);
        setNext(p.next);
        return p.results;
      }),
    [],
  );
  const matrix = useApi((s) => api<ConformanceMatrix>(`/api/v1/conformance/matrix?profile=${encodeURIComponent(profile)}`, "GET", undefined, s), [profile]);
  const more = async () => {
    if (!next) return;
    const p = await api<ConformanceList>(`/api/v1/conformance?limit=25&cursor=${encodeURIComponent(next)}`);
    setPages((ps) => [...ps, p.results]);
    setNext(p.next);
  };
  const rows = [...(first.data ?? []), ...pages.flat()];
  return (
    <section>
      <div className="row-between">
        <h1>Conformance</h1>
        <button type="button" onClick={() => (first.reload(), matrix.reload())}>
          Refresh
        </button>
      </div>
      <p className="hint">
        Does the mesh do what the specification says? Each result is a run of the Gateway API's official conformance suite against a cluster:
        every test of a profile passed, failed, skipped (a feature not claimed) or not run, with the suite's own reason.
      </p>
      <h2>
        <label>
          Matrix of{" "}
          <select value={profile} onChange={(e) => setProfile(e.target.value)} aria-label="profile">
            {profiles.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
      </h2>
      {matrix.error ? <ErrorBox error={matrix.error} retry={matrix.reload} /> : null}
      {!matrix.data ? matrix.error ? null : <Loading what="the matrix" /> : <Matrix m={matrix.data} />}
      <h2>Results</h2>
      {first.error ? <ErrorBox error={first.error} retry={first.reload} /> : null}
      {!first.data ? (
        first.error ? null : <Loading what="conformance results" />
      ) : rows.length === 0 ? (
        <Empty>
          <p>No conformance result is stored yet.</p>
          <p>Run the suite against the cluster of your kubeconfig, into the store this server uses:</p>
          <pre className="command">meshperf conformance run --profile MESH-HTTP --db STORE</pre>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="list" aria-label="conformance results">
            <thead>
              <tr>
                <th scope="col">started</th>
                <th scope="col">implementation</th>
                <th scope="col">profile</th>
                <th scope="col">outcome</th>
                <th scope="col">tests</th>
                <th scope="col">id</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.id}>
                  <td title={c.started}>{fmtTime(c.started)}</td>
                  <th scope="row">
                    <Link to={`/conformance/${c.id}`}>{meshLabel(c.mesh, c.mesh_version)}</Link>
                  </th>
                  <td>
                    {c.profile} <span className="muted small">{c.suite_version}</span>
                  </td>
                  <td>
                    <span className={`badge state-${c.outcome === "passed" ? "succeeded" : c.outcome === "cancelled" ? "cancelled" : "failed"}`}>{c.outcome}</span>
                  </td>
                  <td>
                    {passText(c.counts)}
                    <span className="muted small">
                      {" "}
                      · {c.counts.skipped} skipped{c.counts.notRun ? ` · ${c.counts.notRun} not run` : ""}
                    </span>
                  </td>
                  <td className="mono small">{c.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next ? (
        <button type="button" onClick={more}>
          More
        </button>
      ) : null}
    </section>
  );
}

function Matrix({ m }: { m: ConformanceMatrix }) {
  const { groups, rows } = groupMatrix(m);
  if (groups.length === 0) return <p className="muted">No {m.profile} result yet.</p>;
  return (
    <div className="table-wrap">
      <table className="list matrix" aria-label={`${m.profile} tests by mesh over time`}>
        <thead>
          <tr>
            <th scope="col" rowSpan={2}>
              test
            </th>
            {groups.map((g) => (
              <th key={g.mesh} scope="colgroup" colSpan={g.columns.length} className="mesh">
                {g.mesh}
              </th>
            ))}
          </tr>
          <tr>
            {groups.flatMap((g) =>
              g.columns.map((c) => (
                <th key={c.summary.id} scope="col" className="small">
                  <Link to={`/conformance/${c.summary.id}`} title={`${meshLabel(c.summary.mesh, c.summary.mesh_version)}, ${fmtTime(c.summary.started)}`}>
                    {c.summary.mesh_version || fmtTime(c.summary.started)}
                  </Link>
                </th>
              )),
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.name}>
              <th scope="row">{r.name}</th>
              {r.cells.flatMap((cells, gi) =>
                cells.map((st, ci) => (
                  <td key={`${gi}-${ci}`} className="cell">
                    <ConformanceBadge status={st} compact />
                  </td>
                )),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
