// Stored designs (issue 20): a list, and each design as the graph of its
// resources' references, its YAML and its revision history. Designs are
// made with `meshperf design import` or POST /api/v1/designs; putting one
// on a cluster is the CLI's (meshperf design apply).

import { useState } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import type { components } from "../api.gen";
import { api, raw } from "../api";
import { RevisionHistory } from "../components/RevisionHistory";
import { NamedList } from "../components/NamedList";
import { ErrorBox, Loading, errorText, useApi, useTitle } from "../components/ui";
import { listAllDesigns } from "../lib/profiles";
import { designLayout, nodeH, nodeW, type DesignGraph } from "../lib/design";

type DesignView = components["schemas"]["DesignView"];
type DesignRevisions = components["schemas"]["DesignRevisions"];

export function Designs() {
  useTitle("Designs");
  const list = useApi((s) => listAllDesigns(s), []);
  return (
    <section>
      <h1>Designs</h1>
      <NamedList
        what="designs"
        list={list}
        href={(d) => `/designs/${encodeURIComponent(d.name)}`}
        empty={
          <>
            No stored designs yet. Import one with <code>meshperf design import NAME --compose FILE</code> (or -f, --chart), or POST it to /api/v1/designs.
          </>
        }
      />
    </section>
  );
}

export function DesignDetail() {
  const { ref = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const rev = params.get("revision");
  const navigate = useNavigate();
  const q = rev ? `?revision=${encodeURIComponent(rev)}` : "";
  const path = `/api/v1/designs/${encodeURIComponent(ref)}`;
  const d = useApi((s) => api<DesignView>(path + q, "GET", undefined, s), [ref, rev]);
  const yaml = useApi(async (s) => (await raw(`${path}/manifests${q}`, { signal: s })).text(), [ref, rev]);
  const revs = useApi((s) => api<DesignRevisions>(`${path}/revisions`, "GET", undefined, s), [ref]);
  const [error, setError] = useState<string>();
  useTitle(d.data ? `Design ${d.data.name}` : "Design");

  if (d.error) return <ErrorBox error={d.error} retry={d.reload} />;
  if (!d.data) return <Loading what="the design" />;
  const v = d.data;
  const doc = v.design;
  const remove = async () => {
    if (!window.confirm(`Remove design ${v.name} and its history from the store? (What is on a cluster stays: that is meshperf design delete.)`)) return;
    try {
      await api(`/api/v1/designs/${encodeURIComponent(v.id)}`, "DELETE");
      navigate("/designs");
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section>
      <div className="row-between">
        <h1>
          {v.name} <span className="muted small">revision {v.revision}</span>
        </h1>
        <div className="actions">
          <button type="button" className="danger" onClick={remove}>
            Remove
          </button>
        </div>
      </div>
      {error && <ErrorBox error={error} />}
      <p className="muted">
        {doc?.resources.length ?? 0} resources{doc?.namespace ? ` in namespace ${doc.namespace}` : ""}. Apply it with{" "}
        <code>meshperf design apply {v.name}</code>.
      </p>
      <div className="panel">
        <h2>Resources and their references</h2>
        {v.graph ? <DesignGraphView graph={v.graph} /> : null}
        {v.graph?.dangling?.length ? (
          <>
            <h3>References outside the design</h3>
            <ul className="plain">
              {v.graph.dangling.map((e, i) => (
                <li key={i}>
                  {e.from} → {e.to} <span className="muted">({e.why})</span>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
      {doc?.report?.length ? (
        <div className="panel">
          <h2>Not converted, or changed, by the import</h2>
          <ul className="plain" aria-label="import report">
            {doc.report.map((n, i) => (
              <li key={i}>
                <strong>{n.source}</strong>
                {n.field ? <code> {n.field}</code> : null}: {n.reason}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="grid-2">
        <div className="panel">
          <h2>Manifests (YAML, in apply order)</h2>
          {yaml.error ? <ErrorBox error={yaml.error} /> : null}
          <pre className="mono yaml-view" tabIndex={0} aria-label="manifests">
            {yaml.data ?? ""}
          </pre>
        </div>
        <div>
          <RevisionHistory revs={revs} shown={rev ? Number(rev) : v.revision} onShow={(r) => setParams(r === null ? {} : { revision: String(r) })} />
          {doc?.charts?.length ? (
            <div className="panel">
              <h2>Charts</h2>
              <ul className="plain">
                {doc.charts.map((c) => (
                  <li key={c.release}>
                    release {c.release}: {c.chart} {c.version} from {c.from}
                    {c.repo ? ` (repository ${c.repo})` : ""}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
        </div>
      </div>
    </section>
  );
}

/** The design's resources as boxes, their references as arrows. */
export function DesignGraphView({ graph }: { graph: DesignGraph }) {
  const l = designLayout(graph);
  if (l.nodes.length === 0) return <p className="hint">The design holds no resource.</p>;
  return (
    <div className="table-wrap">
      <svg role="img" aria-label="design graph" width={l.width} height={l.height} viewBox={`0 0 ${l.width} ${l.height}`}>
        <defs>
          <marker id="design-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
          </marker>
        </defs>
        {l.edges.map((e, i) => {
          const x1 = e.from.x + nodeW;
          const y1 = e.from.y + nodeH / 2;
          const x2 = e.to.x;
          const y2 = e.to.y + nodeH / 2;
          // An edge within one column (a cycle cut short) bends around it.
          const d = x2 > x1 ? `M ${x1} ${y1} C ${x1 + 35} ${y1}, ${x2 - 35} ${y2}, ${x2} ${y2}` : `M ${x1} ${y1} C ${x1 + 40} ${y1}, ${x2 + nodeW + 40} ${y2}, ${x2 + nodeW} ${y2}`;
          return (
            <path key={i} data-edge={`${e.from.id} -> ${e.to.id}`} d={d} fill="none" stroke="currentColor" strokeOpacity={0.5} markerEnd="url(#design-arrow)">
              <title>{`${e.from.id} → ${e.to.id} (${e.why})`}</title>
            </path>
          );
        })}
        {l.nodes.map((n) => (
          <g key={n.id} data-node={n.id} transform={`translate(${n.x},${n.y})`}>
            <rect width={nodeW} height={nodeH} rx={6} fill="var(--panel)" stroke="var(--border)" />
            <text x={8} y={17} fontSize={12} fontWeight={600} fill="currentColor">
              {n.name.length > 24 ? n.name.slice(0, 23) + "…" : n.name}
            </text>
            <text x={8} y={34} fontSize={11} fill="var(--muted)">
              {n.kind}
              {n.namespace ? ` · ${n.namespace}` : ""}
            </text>
            <title>{n.id}</title>
          </g>
        ))}
      </svg>
    </div>
  );
}
