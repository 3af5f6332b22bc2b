// Agents: the machines that run distributed tests, as the server sees them,
// refreshed every few seconds while the page is open.

import { api, ApiError, type Agent, type AgentList } from "../api";
import { Empty, ErrorBox, Loading, PolledHeading, StateBadge, useApi, usePolling, useTitle } from "../components/ui";
import { fmtAgo } from "../lib/format";

/** The agents, or an empty list when this server has no agent support yet (404). */
async function loadAgents(signal: AbortSignal): Promise<Agent[]> {
  try {
    return (await api<AgentList>("/api/v1/agents", "GET", undefined, signal)).agents ?? [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return [];
    throw e;
  }
}

/** How often the page reads the agents again. */
export const agentsPollMs = 3000;

export function Agents({ pollMs = agentsPollMs }: { pollMs?: number }) {
  useTitle("Agents");
  const list = useApi(loadAgents, []);
  usePolling(list.reload, pollMs);
  return (
    <section>
      <PolledHeading title="Agents" pollMs={pollMs} reload={list.reload} />
      {list.error ? <ErrorBox error={list.error} retry={list.reload} /> : null}
      {!list.data ? (
        list.error ? null : <Loading what="agents" />
      ) : list.data.length === 0 ? (
        <Empty>
          <p>No agent is connected. Tests run on this server's machine.</p>
          <p>
            Agents dial the server and take a share of a test's load; start one on another machine with <code>meshperf agent --server ADDRESS</code>, then set{" "}
            <em>Agents</em> on a client in New test.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">state</th>
                <th scope="col">labels</th>
                <th scope="col" className="num">
                  cores
                </th>
                <th scope="col">address</th>
                <th scope="col">version</th>
                <th scope="col">last heartbeat</th>
                <th scope="col">connected</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((a) => (
                <tr key={a.name}>
                  <th scope="row">{a.name}</th>
                  <td>
                    <StateBadge state={a.state} />
                  </td>
                  <td>
                    {Object.entries(a.labels ?? {}).map(([k, v]) => (
                      <span key={k} className="badge">
                        {k}={v}
                      </span>
                    ))}
                  </td>
                  <td className="num">{a.capacity?.cores ?? "–"}</td>
                  <td className="mono">{a.address ?? "–"}</td>
                  <td>{a.version ?? "–"}</td>
                  <td title={a.last_heartbeat}>{fmtAgo(a.last_heartbeat)}</td>
                  <td title={a.connected_at}>{fmtAgo(a.connected_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
