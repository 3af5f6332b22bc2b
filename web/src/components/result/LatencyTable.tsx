// Corrected latency next to service time at every listed percentile.

import type { Result } from "../../api";
import { TableHead, num } from "../ui";
import { fmtMs } from "../../lib/format";
import { percentileOf } from "../../lib/hdr";

export function LatencyTable({ r }: { r: Result }) {
  const allPs = [...new Set([...(r.latency?.percentiles ?? []), ...(r.service_time?.percentiles ?? [])].map((x) => x.p))].sort((x, y) => x - y);
  return (
    <div className="panel">
      <h2>Corrected latency vs service time</h2>
      <p className="hint">
        Latency counts from when each request should have been sent; service time from when it was. A gap between them is queueing a fixed-rate user would
        feel.
      </p>
      <div className="table-wrap">
        <table className="list compact-table">
          <TableHead cols={["percentile", num("latency"), num("service time"), num("difference")]} />
          <tbody>
            {allPs.map((q) => {
              const l = percentileOf(r.latency?.percentiles, q);
              const s = percentileOf(r.service_time?.percentiles, q);
              return (
                <tr key={q} data-p={q}>
                  <th scope="row">{q === 100 ? "max" : `p${q}`}</th>
                  <td className="num" data-ms={l ?? ""}>
                    {fmtMs(l)}
                  </td>
                  <td className="num" data-ms={s ?? ""}>
                    {fmtMs(s)}
                  </td>
                  <td className="num">{l !== undefined && s !== undefined ? fmtMs(l - s) : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
