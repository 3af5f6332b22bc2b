// The mesh a result's run went through, as the cluster said at its start.

import type { MeshContext } from "../clusterApi";
import { fmtMs, fmtPct, fmtRate } from "../lib/format";

const res = (m?: Record<string, string>) =>
  m && Object.keys(m).length
    ? Object.entries(m)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")
    : "–";

/** How a target's host reached what it names (spec.MeshTarget.via). */
const viaText: Record<string, string> = { "service-name": "by name", "cluster-ip": "ClusterIP", "pod-ip": "pod IP" };

export function MeshContextPanel({ mesh }: { mesh?: MeshContext }) {
  if (!mesh) return null;
  return (
    <div className="panel" aria-label="mesh context">
      <h2>Mesh</h2>
      <p className="hint">
        {mesh.cluster ?? "cluster"} at the run's start:{" "}
        {(mesh.meshes ?? []).map((m) => `${m.name ?? m.mesh} ${m.version ?? ""}${m.mtls ? `, mTLS ${m.mtls}` : ""}`).join("; ") || "no service mesh"}
      </p>
      {mesh.error ? (
        <p role="alert" className="error">
          incomplete: {mesh.error}
        </p>
      ) : null}
      {(mesh.targets ?? []).length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">target</th>
                <th scope="col">reached</th>
                <th scope="col">mesh</th>
                <th scope="col">mode</th>
                <th scope="col">meshed pods</th>
                <th scope="col">injection</th>
                <th scope="col">proxy</th>
                <th scope="col">proxy requests / limits</th>
              </tr>
            </thead>
            <tbody>
              {mesh.targets!.map((t) => (
                <tr key={t.url}>
                  <th scope="row">{t.url}</th>
                  {t.service || t.pod ? (
                    <>
                      <td>
                        {t.service ? `${t.service}.${t.namespace}` : `pod ${t.pod}.${t.namespace}`}
                        {t.via ? <span className="muted"> ({viaText[t.via] ?? t.via})</span> : null}
                      </td>
                      <td>{t.mesh ? `${t.mesh} ${t.mesh_version ?? ""}` : "none"}</td>
                      <td>
                        {t.mode ?? "–"}
                        {t.mtls ? `, mTLS ${t.mtls}` : ""}
                      </td>
                      <td>
                        {t.meshed}/{t.pods}
                      </td>
                      <td>{(t.injection ?? []).join(", ") || "–"}</td>
                      <td>{t.proxy ? `${t.proxy.container} ${t.proxy.version ?? ""}${t.proxy.native ? " (native sidecar)" : ""}` : "–"}</td>
                      <td>{t.proxy ? `${res(t.proxy.requests)} / ${res(t.proxy.limits)}` : "–"}</td>
                    </>
                  ) : (
                    <td colSpan={7}>{t.note ?? "no Service matched"}</td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(mesh.targets ?? []).flatMap((t) =>
        (t.traffic ?? []).map((x) => (
          <p key={`${t.url} ${x.workload}`} className="traffic">
            The mesh saw {t.service}.{t.namespace} ({x.workload}): {fmtRate(x.request_rate)}, {fmtPct(x.success_rate)} ok, p50 {fmtMs(x.p50_ms)}, p90{" "}
            {fmtMs(x.p90_ms)}, p99 {fmtMs(x.p99_ms)} <span className="hint">({x.source})</span>
            {x.missing?.length ? <span className="hint"> — missing: {x.missing.join("; ")}</span> : null}
          </p>
        )),
      )}
    </div>
  );
}
