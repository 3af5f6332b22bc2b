// Conformance results shaped for the pages: counts and the pass rate, the
// matrix of tests × results grouped by mesh, and the one line that links a
// conformance result with the performance results of the same mesh
// version. The figures are the server's (counts, statuses); only their
// arrangement is made here.

import type { ConformanceMatrix, ConformanceSummary, ConformanceTest, MeshOverhead, ResultSummary } from "../api";
import { fmtAdded } from "./experiment";
import { fmtMs, fmtRate } from "./format";

export type Status = "pass" | "fail" | "skip" | "not-run";

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  notRun: number;
}

/** The share of the tests that had to run (not skipped) that passed; null when none had to. */
export function passRate(c: Counts): number | null {
  const due = c.passed + c.failed + c.notRun;
  return due === 0 ? null : c.passed / due;
}

/** "3/7 passed (43%)", or "no test ran" when every test was skipped. */
export function passText(c: Counts): string {
  const r = passRate(c);
  if (r === null) return "no test ran";
  return `${c.passed}/${c.passed + c.failed + c.notRun} passed (${Math.round(r * 100)}%)`;
}

/** A test's duration (nanoseconds) as people read it; "–" for one that never ran. */
export function fmtTestDuration(ns: number): string {
  return ns > 0 ? fmtMs(ns / 1e6) : "–";
}

/** The implementation as one name: "Istio 1.28.0", or "no mesh". */
export function meshLabel(mesh?: string, version?: string): string {
  if (!mesh) return "no mesh";
  return version ? `${mesh} ${version}` : mesh;
}

/** Tests in the order a reader wants them: failures first, then not run, passes, skips; by name within each. */
export function orderTests(tests: ConformanceTest[]): ConformanceTest[] {
  const rank: Record<string, number> = { fail: 0, "not-run": 1, pass: 2, skip: 3 };
  return [...tests].sort((a, b) => (rank[a.status] ?? 4) - (rank[b.status] ?? 4) || a.name.localeCompare(b.name));
}

export interface MeshGroup {
  /** The mesh's name ("no mesh" when none was detected or named). */
  mesh: string;
  /** Its results, oldest first, each with its index among the matrix's columns. */
  columns: { summary: ConformanceSummary; index: number }[];
}

export interface MatrixRow {
  name: string;
  /** Per group, per column of the group: the status ("" when that result has no such test). */
  cells: string[][];
  /** Per group: the status in the group's latest result. */
  latest: string[];
}

/** The matrix grouped by mesh (meshes by name; "no mesh" last), each mesh's results oldest first, as the server orders them. */
export function groupMatrix(m: ConformanceMatrix): { groups: MeshGroup[]; rows: MatrixRow[] } {
  const byMesh = new Map<string, MeshGroup>();
  m.columns.forEach((summary, index) => {
    const mesh = summary.mesh || "no mesh";
    let g = byMesh.get(mesh);
    if (!g) {
      g = { mesh, columns: [] };
      byMesh.set(mesh, g);
    }
    g.columns.push({ summary, index });
  });
  const groups = [...byMesh.values()].sort((a, b) =>
    a.mesh === "no mesh" ? 1 : b.mesh === "no mesh" ? -1 : a.mesh.localeCompare(b.mesh),
  );
  const rows = m.tests.map((t) => {
    const cells = groups.map((g) => g.columns.map((c) => t.statuses[c.index] ?? ""));
    return { name: t.name, cells, latest: cells.map((c) => c[c.length - 1] ?? "") };
  });
  return { groups, rows };
}

/**
 * The line linking a conformance result and the performance results of the
 * same mesh version (newest first): "Istio 1.28.0: MESH-HTTP 3/7 passed
 * (43%) · p99 4.74 ms at 50/s (latest of 2 performance results)".
 */
export function linkText(c: ConformanceSummary, perf: ResultSummary[], overhead?: MeshOverhead): string {
  const head = `${meshLabel(c.mesh, c.mesh_version)}: ${c.profile} ${passText(c.counts)}`;
  if (!c.mesh || !c.mesh_version) return `${head} · no mesh version to find performance results by`;
  if (perf.length === 0) return `${head} · no performance result of this version`;
  const p = perf[0];
  const n = perf.length === 1 ? "the only performance result" : `latest of ${perf.length} performance results`;
  return `${head} · p99 ${fmtMs(p.p99_ms)} at ${fmtRate(p.achieved_rps)} (${n})${overhead ? ` · ${overheadText(overhead)}` : ""}`;
}

/**
 * What the mesh version added in an experiment, as its report says:
 * "p99 overhead +1.20 ms at 1.00k/s (experiment mesh-cost: istio against
 * direct)", with "within noise" when the report says so.
 */
export function overheadText(o: MeshOverhead): string {
  const at = o.rps > 0 ? `at ${fmtRate(o.rps)}` : `closed loop, ${o.connections} connections`;
  const noise = o.p99.within_noise ? (o.p99.noise_known ? ", within noise" : ", one repeat: noise unknown") : "";
  return `p99 overhead ${fmtAdded(o.p99.added_ms, fmtMs)} ${at}${noise} (experiment ${o.experiment_name}: ${o.variant} against ${o.baseline})`;
}

/** The mesh and version a performance result's mesh context found, one per mesh ({mesh, version}). */
export function resultMeshes(mesh: { meshes?: { mesh: string; name?: string; version?: string }[] } | undefined): { mesh: string; version: string }[] {
  return (mesh?.meshes ?? []).filter((m) => (m.name || m.mesh) && m.version).map((m) => ({ mesh: m.name || m.mesh, version: m.version ?? "" }));
}
