// Experiments: every experiment in the store, newest first, each linking to
// its report. Experiments are run from the CLI; an empty list says how.

import { Link } from "react-router-dom";
import { api, type ExperimentList } from "../api";
import { Empty, ErrorBox, Loading, StateBadge, useApi, useTitle } from "../components/ui";
import { fmtAgo, fmtTime } from "../lib/format";

export function Experiments() {
  useTitle("Experiments");
  const list = useApi((s) => api<ExperimentList>("/api/v1/experiments", "GET", undefined, s).then((r) => r.experiments ?? []), []);
  return (
    <section>
      <div className="row-between">
        <h1>Experiments</h1>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <p className="hint">
        An experiment runs the same test against several variants (the service directly, through a proxy, through a mesh…) over a sweep of rates or
        connections, each cell repeated, and reports every variant against the baseline.
      </p>
      {list.error ? <ErrorBox error={list.error} retry={list.reload} /> : null}
      {!list.data ? (
        list.error ? null : <Loading what="experiments" />
      ) : list.data.length === 0 ? (
        <Empty>
          <p>No experiment has been run against this server's store yet.</p>
          <p>
            Experiments run from the CLI. Write an experiment file (<code>examples/experiment-proxy.yaml</code> shows every field), then run it into the
            store this server uses:
          </p>
          <pre className="command">meshperf experiment run -f experiment.yaml --db STORE</pre>
          <p>Its cells appear here as they finish; running the same command again resumes an interrupted experiment.</p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">state</th>
                <th scope="col" className="num">
                  cells done
                </th>
                <th scope="col">created</th>
                <th scope="col">last change</th>
                <th scope="col">id</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((e) => (
                <tr key={e.id}>
                  <th scope="row">
                    <Link to={`/experiments/${e.id}`}>{e.name}</Link>
                    {e.error ? <div className="muted small">{e.error}</div> : null}
                  </th>
                  <td>
                    <StateBadge state={e.state} />
                  </td>
                  <td className="num">
                    <span aria-label={`${e.done} of ${e.cells} cells done`}>
                      {e.done} / {e.cells}
                    </span>
                    <progress className="cells" max={e.cells || 1} value={e.done} aria-hidden="true" />
                  </td>
                  <td title={e.created_at}>{fmtTime(e.created_at)}</td>
                  <td title={e.updated_at}>{fmtAgo(e.updated_at)}</td>
                  <td className="mono small">{e.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
