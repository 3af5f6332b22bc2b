// On a performance result: the conformance results of the mesh versions
// its mesh context found ("Istio 1.28.0: MESH-HTTP 3/7 passed (43%)").

import { Link } from "react-router-dom";
import { api, type ConformanceList } from "../api";
import { useApi } from "../components/ui";
import { meshLabel, passText, resultMeshes } from "../lib/conformance";
import { fmtTime } from "../lib/format";

type MeshCtx = Parameters<typeof resultMeshes>[0];

export function ConformanceLinks({ mesh }: { mesh: MeshCtx }) {
  const meshes = resultMeshes(mesh);
  const key = meshes.map((m) => `${m.mesh}@${m.version}`).join(",");
  const found = useApi(
    (s) =>
      Promise.all(
        meshes.map((m) =>
          api<ConformanceList>(`/api/v1/conformance?limit=5&mesh=${encodeURIComponent(m.mesh)}&mesh_version=${encodeURIComponent(m.version)}`, "GET", undefined, s),
        ),
      ).then((pages) => pages.flatMap((p) => p.results)),
    [key],
  );
  if (meshes.length === 0 || !found.data || found.data.length === 0) return null;
  return (
    <section aria-label="conformance of this mesh version">
      <h2>Conformance of this mesh version</h2>
      <ul>
        {found.data.map((c) => (
          <li key={c.id}>
            <Link to={`/conformance/${c.id}`}>
              {meshLabel(c.mesh, c.mesh_version)}: {c.profile} {passText(c.counts)}
            </Link>{" "}
            <span className="muted small">{fmtTime(c.started)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
