// What was asked next to what was done: targets, rate, duration, requests,
// late sends, drops and bytes.

import type { Result } from "../../api";
import { durationSeconds, fmtBytes, fmtCount, fmtPct, fmtRate } from "../../lib/format";

export function RequestedAchieved({ r }: { r: Result }) {
  const a = r.achieved;
  return (
    <div className="panel">
      <h2>Requested vs achieved</h2>
      <table className="list compact-table">
        <tbody>
          <tr>
            <th scope="row">targets</th>
            <td className="mono">{r.requested.targets.join(", ")}</td>
          </tr>
          <tr>
            <th scope="row">method, protocol</th>
            <td>
              {r.requested.method} {r.requested.protocol} {r.requested.http_version ?? ""}
            </td>
          </tr>
          <tr>
            <th scope="row">rate</th>
            <td>
              {r.requested.rps ? fmtRate(r.requested.rps) : "as fast as possible"} ({r.requested.shape}) → {fmtRate(a.rps)}
            </td>
          </tr>
          <tr>
            <th scope="row">connections</th>
            <td>{r.requested.connections}</td>
          </tr>
          <tr>
            <th scope="row">duration</th>
            <td>
              {r.requested.duration ?? (r.requested.requests ? `${fmtCount(r.requested.requests)} requests` : "–")} → {durationSeconds(a.duration).toFixed(1)} s
              {r.requested.warmup ? ` (after ${r.requested.warmup} warm-up)` : ""}
            </td>
          </tr>
          <tr>
            <th scope="row">requests</th>
            <td>
              {fmtCount(a.requests)} sent, {fmtCount(a.responses)} answered
            </td>
          </tr>
          <tr>
            <th scope="row">late sends</th>
            <td>
              {fmtCount(a.late)} ({fmtPct(a.late_ratio)}){a.late_threshold ? ` beyond ${a.late_threshold}` : ""}
            </td>
          </tr>
          <tr>
            <th scope="row">dropped</th>
            <td>{fmtCount(a.dropped)}</td>
          </tr>
          <tr>
            <th scope="row">bytes</th>
            <td>
              {fmtBytes(a.bytes_sent)} sent, {fmtBytes(a.bytes_received)} received
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
