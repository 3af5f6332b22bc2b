// The list page of stored named documents (profiles, designs): a search by
// name, id or label kept in the address (?q=), and a table of name,
// labels, revision and age. The pages give the rows' links and their own
// words for an empty store.

import type { ReactNode } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { AllOf } from "../lib/profiles";
import { fmtAgo } from "../lib/format";
import { Empty, ErrorBox, Loading, type Loaded } from "./ui";

/** What the table shows of a document. */
export type Named = { id: string; name: string; revision: number; labels?: Record<string, string>; private?: boolean; updated_at?: string };

export function NamedList<T extends Named>(props: { what: string; list: Loaded<AllOf<T>>; href: (d: T) => string; empty: ReactNode }) {
  const { what, list, href, empty } = props;
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const rows = (list.data?.items ?? []).filter((d) =>
    `${d.name} ${d.id} ${Object.entries(d.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(" ")}`.toLowerCase().includes(q.toLowerCase()),
  );
  return (
    <>
      <label className="search">
        Search{" "}
        <input type="search" value={q} placeholder="name, id or label" onChange={(e) => setParams(e.target.value ? { q: e.target.value } : {}, { replace: true })} />
      </label>
      {list.error ? <ErrorBox error={list.error} retry={list.reload} /> : null}
      {list.data?.truncated ? (
        <p className="muted">
          Only the first {list.data.items.length} {what} by name are listed.
        </p>
      ) : null}
      {!list.data ? (
        list.error ? null : <Loading what={what} />
      ) : list.data.items.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : rows.length === 0 ? (
        <Empty>
          No {what.replace(/s$/, "")} matches “{q}”.
        </Empty>
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
              {rows.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link to={href(d)}>{d.name}</Link>
                    {d.private ? <span className="badge">private</span> : null}
                  </td>
                  <td>
                    {Object.entries(d.labels ?? {}).map(([k, v]) => (
                      <span key={k} className="badge">
                        {k}={v}
                      </span>
                    ))}
                  </td>
                  <td className="num">{d.revision}</td>
                  <td title={d.updated_at}>{fmtAgo(d.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
