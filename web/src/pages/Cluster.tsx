// Cluster: the Kubernetes cluster the server reads — its meshes, their
// versions and health, which workloads carry a proxy, what the mesh says
// about their traffic, a topology drawing, and the latest changes.

import { useState } from "react";
import { loadCluster, type ClusterEvent, type ClusterView, type Topology, type TopologyEdge, type TopologyNode, type TrafficReport } from "../clusterApi";
import { Empty, ErrorBox, Loading, PolledHeading, useApi, usePolling, useTitle } from "../components/ui";
import { fmtAgo, fmtMs, fmtPct, fmtRate } from "../lib/format";
import { layout, nodeH, nodeW } from "../lib/topology";

export const clusterPollMs = 5000;

export function Cluster({ pollMs = clusterPollMs }: { pollMs?: number }) {
  useTitle("Cluster");
  const [ns, setNs] = useState("");
  const view = useApi((signal) => loadCluster(ns, signal), [ns]);
  usePolling(view.reload, pollMs);
  return (
    <section>
      <PolledHeading title="Cluster" pollMs={pollMs} reload={view.reload} />
      {view.error ? <ErrorBox error={view.error} retry={view.reload} /> : null}
      {view.data === undefined ? (
        view.error ? null : <Loading what="the cluster" />
      ) : view.data === null ? (
        <Empty>
          <p>This server reads no Kubernetes cluster.</p>
          <p>
            Start it with <code>meshperf server --kubeconfig FILE</code> (or with a kubeconfig in <code>$KUBECONFIG</code>, or in a pod) to see the meshes, their
            versions and which workloads carry a proxy.
          </p>
        </Empty>
      ) : (
        <ClusterBody view={view.data} ns={ns} setNs={setNs} />
      )}
    </section>
  );
}

function ClusterBody({ view, ns, setNs }: { view: ClusterView; ns: string; setNs: (ns: string) => void }) {
  const { status, workloads } = view;
  const c = status.coverage;
  const traffic = trafficByWorkload(view.traffic);
  return (
    <>
      <p className="hint">
        {status.server} · {status.synced ? "inventory complete" : "still reading the cluster…"} · {c.pods} pods: {c.withProxy} with a proxy, {c.ambient} ambient,{" "}
        {c.withoutProxy} without · {c.injectedNamespaces} of {c.namespaces} namespaces injected
      </p>
      {(status.unreadable ?? []).map((d) => (
        <p key={d.resource} role="alert" className="error">
          cannot {d.verb} {d.resource}: {d.message}
        </p>
      ))}
      <h2>Meshes</h2>
      {status.meshes.length === 0 ? (
        <Empty>
          <p>No service mesh found in this cluster.</p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="list" aria-label="meshes">
            <thead>
              <tr>
                <th scope="col">mesh</th>
                <th scope="col">version</th>
                <th scope="col">modes</th>
                <th scope="col">mTLS</th>
                <th scope="col">health</th>
                <th scope="col">control plane</th>
                <th scope="col">injected namespaces</th>
                <th scope="col" className="num">
                  pods with proxy
                </th>
                <th scope="col">proxy versions</th>
              </tr>
            </thead>
            <tbody>
              {status.meshes.map((m) => (
                <tr key={m.mesh}>
                  <th scope="row">{m.name}</th>
                  <td>{m.version ?? "–"}</td>
                  <td>{(m.modes ?? []).join(", ") || "–"}</td>
                  <td>{m.mtls ?? "–"}</td>
                  <td>
                    <span className="badge">{m.healthy ? "healthy" : "not ready"}</span>
                  </td>
                  <td>
                    {(m.components ?? []).map((x) => `${x.namespace}/${x.name} ${x.ready}/${x.desired}`).join(", ") || `CRDs only (${(m.crds ?? []).length})`}
                  </td>
                  <td>{(m.injectedNamespaces ?? []).join(", ") || "–"}</td>
                  <td className="num">
                    {m.podsWithProxy}
                    {m.podsAmbient ? ` (+${m.podsAmbient} ambient)` : ""}
                  </td>
                  <td>{(m.proxyVersions ?? []).join(", ") || "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="hint">
        Gateway API: {status.gatewayAPI ? `${status.gatewayAPI.version ?? "version unknown"} (${status.gatewayAPI.channel ?? "?"} channel)` : "not installed"} · routes:{" "}
        {status.routes.length} ({status.routes.filter((r) => r.gamma).length} GAMMA) · SMI: {(status.smi ?? []).map((s) => s.kind).join(", ") || "none"}
      </p>

      <div className="row-between">
        <h2>Workloads</h2>
        <label>
          namespace{" "}
          <select value={ns} onChange={(e) => setNs(e.target.value)}>
            <option value="">all</option>
            {status.namespaces.map((n) => (
              <option key={n.name} value={n.name}>
                {n.name}
                {n.meshes?.length ? ` (${n.meshes.join(", ")})` : ""}
              </option>
            ))}
          </select>
        </label>
      </div>
      {view.traffic === null && view.trafficNote ? <p className="hint">Traffic metrics: {view.trafficNote}</p> : null}
      {(view.traffic ?? []).filter((r) => r.missing).map((r) => (
        <p key={r.mesh} className="hint">
          {r.mesh} traffic missing: {r.missing}
        </p>
      ))}
      <div className="table-wrap">
        <table className="list" aria-label="workloads">
          <thead>
            <tr>
              <th scope="col">namespace</th>
              <th scope="col">kind</th>
              <th scope="col">name</th>
              <th scope="col" className="num">
                ready
              </th>
              <th scope="col">proxy coverage</th>
              <th scope="col">mesh</th>
              <th scope="col" className="num">
                rps
              </th>
              <th scope="col" className="num">
                success
              </th>
              <th scope="col" className="num">
                p99
              </th>
            </tr>
          </thead>
          <tbody>
            {workloads.workloads.map((w) => {
              const t = traffic.get(`${w.namespace}/${w.name}`);
              return (
                <tr key={`${w.kind}/${w.namespace}/${w.name}`}>
                  <td>{w.namespace}</td>
                  <td>{w.kind}</td>
                  <th scope="row">{w.name}</th>
                  <td className="num">
                    {w.ready}/{w.desired}
                  </td>
                  <td>
                    {w.meshed}/{w.pods} meshed
                  </td>
                  <td>
                    {w.mesh ?? "–"}
                    {w.mtls ? <span className="hint"> mTLS {w.mtls}</span> : null}
                  </td>
                  <td className="num">{fmtRate(t?.requestRate)}</td>
                  <td className="num" title={t?.missing?.join("; ")}>
                    {fmtPct(t?.successRate)}
                  </td>
                  <td className="num">{fmtMs(t?.p99Ms)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2>Topology</h2>
      <TopologyView topology={view.topology} />

      <h2>Changes</h2>
      {view.events.length === 0 ? (
        <p className="hint">No change seen yet.</p>
      ) : (
        <ol className="events" aria-label="changes" reversed>
          {[...view.events].reverse().map((e) => (
            <li key={e.seq}>
              <span className="badge">{e.type}</span> {eventText(e)} <span className="hint">{fmtAgo(e.time)}</span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

/** An event in words: "istio 1.23.2 → 1.24.1", "pods shop/reviews-1". */
function eventText(e: ClusterEvent): string {
  const what = [e.mesh, e.resource, e.name ? (e.namespace ? `${e.namespace}/${e.name}` : e.name) : undefined].filter(Boolean).join(" ");
  return e.from || e.to ? `${what} ${e.from ?? ""} → ${e.to ?? ""}` : what;
}

/** The traffic figures by namespace/name, from every mesh's report. */
function trafficByWorkload(reports: TrafficReport[] | null) {
  const m = new Map<string, TrafficReport["workloads"][number]>();
  for (const r of reports ?? []) for (const w of r.workloads) m.set(`${w.namespace}/${w.name}`, w);
  return m;
}

/** An edge's words: "istio: 6.0/s, 100% ok" for traffic, its kind otherwise. */
export function edgeText(e: Pick<TopologyEdge, "kind" | "mesh" | "requestRate" | "successRate">): string {
  if (e.kind !== "traffic") return e.kind;
  return `${e.mesh ?? "mesh"}: ${fmtRate(e.requestRate)}, ${fmtPct(e.successRate)} ok`;
}

/** Services and workloads as boxes; selection (thin), routes (dashed) and
 *  the traffic the mesh saw (thick, labelled with its rate and success) as arrows. */
export function TopologyView({ topology }: { topology: Topology }) {
  const l = layout(topology);
  const tt = topology.traffic;
  const note = tt ? (
    <p className="hint" aria-label="traffic source">
      {tt.source ? `Traffic edges: what the mesh saw over ${tt.window} (${tt.source}).` : "No traffic edges."}
      {tt.missing?.length ? ` Missing: ${tt.missing.join("; ")}` : null}
    </p>
  ) : null;
  if (l.nodes.length === 0)
    return (
      <>
        {note}
        <p className="hint">No Service or workload here.</p>
      </>
    );
  return (
    <>
      {note}
      <p className="hint">── a Service selects a workload · ╌╌ a route · ━━ traffic the mesh saw (rate, success)</p>
      <div className="table-wrap">
        <svg role="img" aria-label="topology" width={l.width} height={l.height} viewBox={`0 0 ${l.width} ${l.height}`}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
            </marker>
            <marker id="arrow-traffic" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="var(--accent)" />
            </marker>
          </defs>
          {l.edges.map((e, i) =>
            e.traffic ? (
              <g key={i} data-edge="traffic">
                <path d={e.d} fill="none" stroke="var(--accent)" strokeWidth={2.5} strokeOpacity={0.8} markerEnd="url(#arrow-traffic)">
                  <title>{`${e.from.id} → ${e.to.id} (${edgeText(e)})`}</title>
                </path>
                <text x={e.mid.x} y={e.mid.y - 4} fontSize={10} textAnchor="middle" fill="var(--accent)">
                  {edgeText(e)}
                </text>
              </g>
            ) : (
              <path
                key={i}
                data-edge={e.kind === "selects" ? "selects" : "route"}
                d={e.d}
                fill="none"
                stroke="currentColor"
                strokeOpacity={0.5}
                strokeDasharray={e.kind === "selects" ? undefined : "4 3"}
                markerEnd="url(#arrow)"
              >
                <title>{`${e.from.id} → ${e.to.id} (${e.kind})`}</title>
              </path>
            ),
          )}
          {l.nodes.map((n) => (
            <g key={n.id} data-node={n.id} transform={`translate(${n.x},${n.y})`}>
              <rect
                width={nodeW}
                height={nodeH}
                rx={6}
                fill="var(--panel)"
                stroke={n.meshed > 0 ? "var(--accent)" : "var(--border)"}
                strokeWidth={n.meshed > 0 ? 2 : 1}
                strokeDasharray={n.kind === "External" || n.kind === "Workload" ? "3 3" : undefined}
              />
              <text x={8} y={17} fontSize={12} fontWeight={600} fill="currentColor">
                {n.name.length > 24 ? n.name.slice(0, 23) + "…" : n.name}
              </text>
              <text x={8} y={34} fontSize={11} fill="var(--muted)">
                {nodeDetail(n)}
              </text>
              <title>{`${n.id}${n.mesh ? ` (${n.mesh})` : ""}`}</title>
            </g>
          ))}
        </svg>
      </div>
    </>
  );
}

/** A node's second line: kind, namespace and how many of its pods are meshed. */
function nodeDetail(n: TopologyNode): string {
  switch (n.kind) {
    case "Gateway":
      return `Gateway · ${n.namespace}`;
    case "External":
      return "seen in the mesh's metrics";
    case "Workload":
      return `${n.namespace} · in the metrics, not the inventory`;
  }
  return `${n.kind} · ${n.namespace} · ${n.meshed}/${n.pods} meshed`;
}
