// The revision history of a stored profile or design: newest first, each
// revision a button that shows it (the latest clears ?revision=).

import { ErrorBox, Loading, type Loaded } from "./ui";
import { fmtTime } from "../lib/format";

export interface Revision {
  revision: number;
  updated_at: string;
}

export function RevisionHistory({
  revs,
  shown,
  onShow,
}: {
  revs: Loaded<{ revisions: Revision[] }>;
  /** The revision on the page. */
  shown: number;
  /** Called with the revision to show, or null for the latest. */
  onShow: (revision: number | null) => void;
}) {
  return (
    <div className="panel">
      <h2>History</h2>
      {revs.error ? <ErrorBox error={revs.error} /> : null}
      {!revs.data ? (
        <Loading what="revisions" />
      ) : (
        <ol className="revisions" reversed>
          {[...revs.data.revisions]
            .sort((a, b) => b.revision - a.revision)
            .map((r) => (
              <li key={r.revision}>
                <button
                  type="button"
                  className="link"
                  aria-current={r.revision === shown ? "true" : undefined}
                  onClick={() => onShow(r.revision === revs.data!.revisions.length ? null : r.revision)}
                >
                  revision {r.revision}
                </button>{" "}
                <span className="muted small">{fmtTime(r.updated_at)}</span>
              </li>
            ))}
        </ol>
      )}
    </div>
  );
}
