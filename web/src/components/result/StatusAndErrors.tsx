// Responses by status code, and transport errors by class with examples.

import type { Result } from "../../api";
import { Empty, TableHead, num } from "../ui";
import { fmtCount, fmtPct } from "../../lib/format";

export function StatusAndErrors({ r }: { r: Result }) {
  const codes = Object.entries(r.status_codes ?? {}).sort(([x], [y]) => Number(x) - Number(y));
  const codeTotal = codes.reduce((s, [, n]) => s + n, 0);
  return (
    <div className="panel">
      <h2>Status codes</h2>
      {codes.length === 0 ? (
        <Empty>No response.</Empty>
      ) : (
        <table className="list compact-table">
          <TableHead cols={["code", num("responses"), num("share")]} />
          <tbody>
            {codes.map(([c, n]) => (
              <tr key={c} className={Number(c) >= 400 ? "bad" : ""}>
                <th scope="row">{c}</th>
                <td className="num">{fmtCount(n)}</td>
                <td className="num">{fmtPct(n / codeTotal)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Errors</h2>
      {(r.errors ?? []).length === 0 ? (
        <Empty>No transport errors.</Empty>
      ) : (
        <ul className="error-classes">
          {r.errors!.map((e) => (
            <li key={e.class}>
              <strong>{e.class}</strong> × {fmtCount(e.count)}
              {e.examples?.length ? (
                <ul>
                  {e.examples.map((x, i) => (
                    <li key={i} className="mono small">
                      {x}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
