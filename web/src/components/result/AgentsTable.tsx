// A distributed run's per-agent breakdown: each agent's share asked and
// achieved, its figures, clock offset and CPU, and whether it dropped.

import type { Result } from "../../api";
import { TableHead, num } from "../ui";
import { fmtCount, fmtMs, fmtPct, fmtRate, fmtTime } from "../../lib/format";
import { percentileOf } from "../../lib/hdr";

export function AgentsTable({ r }: { r: Result }) {
  if ((r.agents ?? []).length === 0) return null;
  return (
    <div className="panel">
      <h2>Agents</h2>
      <div className="table-wrap">
        <table className="list" aria-label="Per-agent breakdown">
          <TableHead cols={["agent", "client", num("asked"), num("achieved"), num("requests"), num("p50"), num("p99"), num("errors"), num("clock offset"), num("agent CPU"), "state"]} />
          <tbody>
            {r.agents!.map((ag) => {
              const d = ag.latency ?? ag.service_time;
              return (
                <tr key={`${ag.client ?? ""}/${ag.name}`} data-agent={ag.name} className={ag.dropped ? "bad" : ""}>
                  <th scope="row">
                    {ag.name}
                    {ag.labels ? <div className="muted small">{Object.entries(ag.labels).map(([k, v]) => `${k}=${v}`).join(", ")}</div> : null}
                  </th>
                  <td>{ag.client ?? "–"}</td>
                  <td className="num">
                    {fmtRate(ag.rps)} × {ag.connections}
                  </td>
                  <td className="num">{fmtRate(ag.achieved.rps)}</td>
                  <td className="num">{fmtCount(ag.achieved.requests)}</td>
                  <td className="num">{fmtMs(percentileOf(d?.percentiles, 50))}</td>
                  <td className="num">{fmtMs(percentileOf(d?.percentiles, 99))}</td>
                  <td className="num">{fmtPct(ag.achieved.error_rate)}</td>
                  <td className="num">{ag.clock_offset ?? "–"}</td>
                  <td className="num" title={ag.process?.saturated ? "this agent looked saturated: its share may have measured the agent, not the target" : undefined}>
                    {ag.process ? `${ag.process.cpu_cores.toFixed(2)} cores${ag.process.saturated ? " ⚠" : ""}` : "–"}
                  </td>
                  <td>{ag.dropped ? `dropped ${fmtTime(ag.dropped_at)}` : "complete"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
