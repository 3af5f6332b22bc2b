import { describe, expect, it } from "vitest";
import type { ConformanceMatrix, ConformanceSummary, ConformanceTest, MeshOverhead, ResultSummary } from "../api";
import { fmtTestDuration, groupMatrix, linkText, meshLabel, orderTests, overheadText, passRate, passText, resultMeshes } from "./conformance";

const summary = (id: string, mesh: string | undefined, version: string | undefined, counts: ConformanceSummary["counts"]): ConformanceSummary => ({
  id,
  kind: "gateway-api",
  profile: "MESH-HTTP",
  suite_version: "v1.6.3",
  mesh,
  mesh_version: version,
  outcome: counts.failed ? "failed" : "passed",
  counts,
  started: "2026-12-01T10:00:00Z",
  finished: "2026-12-01T10:05:00Z",
});

describe("pass rate", () => {
  it("counts passes among the tests that had to run", () => {
    const c = { passed: 3, failed: 4, skipped: 7, notRun: 0 };
    expect(passRate(c)).toBeCloseTo(3 / 7);
    expect(passText(c)).toBe("3/7 passed (43%)");
    expect(passText({ passed: 0, failed: 0, skipped: 14, notRun: 0 })).toBe("no test ran");
    expect(passText({ passed: 0, failed: 0, skipped: 7, notRun: 7 })).toBe("0/7 passed (0%)");
  });
  it("formats durations and names", () => {
    expect(fmtTestDuration(1_180_000_000)).toBe("1.18 s");
    expect(fmtTestDuration(70_000_000)).toBe("70.0 ms");
    expect(fmtTestDuration(0)).toBe("–");
    expect(meshLabel("Istio", "1.28.0")).toBe("Istio 1.28.0");
    expect(meshLabel(undefined, undefined)).toBe("no mesh");
  });
});

describe("orderTests", () => {
  it("puts failures first, then not run, passes and skips", () => {
    const t = (name: string, status: string): ConformanceTest => ({ name, status, durationNs: 0 });
    const got = orderTests([t("MeshBasic", "pass"), t("B", "skip"), t("Z", "fail"), t("A", "fail"), t("N", "not-run")]).map((x) => x.name);
    expect(got).toEqual(["A", "Z", "N", "MeshBasic", "B"]);
  });
});

describe("groupMatrix", () => {
  const m: ConformanceMatrix = {
    profile: "MESH-HTTP",
    columns: [
      summary("a", "Istio", "1.28.0", { passed: 1, failed: 1, skipped: 1, notRun: 0 }),
      summary("b", undefined, undefined, { passed: 3, failed: 4, skipped: 7, notRun: 0 }),
      summary("c", "Linkerd", "2.19.1", { passed: 2, failed: 0, skipped: 0, notRun: 0 }),
      summary("d", "Istio", "1.29.0", { passed: 2, failed: 1, skipped: 0, notRun: 0 }),
    ],
    tests: [
      { name: "MeshBasic", statuses: ["pass", "pass", "pass", "pass"] },
      { name: "MeshPorts", statuses: ["fail", "fail", "pass", "pass"] },
      { name: "MeshFrontend", statuses: ["", "", "", "fail"] },
    ],
  };
  it("groups columns by mesh, each oldest first, no mesh last", () => {
    const { groups, rows } = groupMatrix(m);
    expect(groups.map((g) => `${g.mesh}:${g.columns.map((c) => c.summary.id).join(",")}`)).toEqual(["Istio:a,d", "Linkerd:c", "no mesh:b"]);
    const ports = rows.find((r) => r.name === "MeshPorts")!;
    expect(ports.cells).toEqual([["fail", "pass"], ["pass"], ["fail"]]);
    expect(ports.latest).toEqual(["pass", "pass", "fail"]);
    const frontend = rows.find((r) => r.name === "MeshFrontend")!;
    expect(frontend.cells).toEqual([["", "fail"], [""], [""]]);
  });
  it("keeps an empty matrix empty", () => {
    expect(groupMatrix({ profile: "MESH-HTTP", columns: [], tests: [] })).toEqual({ groups: [], rows: [] });
  });
});

describe("linkText", () => {
  const c = summary("a", "Istio", "1.28.0", { passed: 3, failed: 4, skipped: 7, notRun: 0 });
  const perf = (p99: number, rps: number) => ({ id: "r", p99_ms: p99, achieved_rps: rps }) as unknown as ResultSummary;
  it("names the mesh version, the pass rate and the latest performance result", () => {
    expect(linkText(c, [perf(4.743, 50), perf(9, 10)])).toBe("Istio 1.28.0: MESH-HTTP 3/7 passed (43%) · p99 4.74 ms at 50/s (latest of 2 performance results)");
    expect(linkText(c, [perf(1.2, 1000)])).toBe("Istio 1.28.0: MESH-HTTP 3/7 passed (43%) · p99 1.20 ms at 1.00k/s (the only performance result)");
    expect(linkText(c, [])).toBe("Istio 1.28.0: MESH-HTTP 3/7 passed (43%) · no performance result of this version");
    expect(linkText({ ...c, mesh: undefined, mesh_version: undefined }, [])).toBe("no mesh: MESH-HTTP 3/7 passed (43%) · no mesh version to find performance results by");
  });
  it("adds the overhead an experiment measured on that mesh version", () => {
    const o = {
      experiment_id: "e1",
      experiment_name: "mesh-cost",
      variant: "istio",
      baseline: "direct",
      rps: 1000,
      connections: 8,
      latency: "latency",
      p99: { added_ms: 1.2, ratio: 1.4, noise_ms: 0.3, noise_known: true, within_noise: false },
    } as MeshOverhead;
    expect(linkText(c, [perf(4.743, 1000)], o)).toBe(
      "Istio 1.28.0: MESH-HTTP 3/7 passed (43%) · p99 4.74 ms at 1.00k/s (the only performance result) · p99 overhead +1.20 ms at 1.00k/s (experiment mesh-cost: istio against direct)",
    );
    expect(overheadText({ ...o, rps: 0, p99: { ...o.p99, added_ms: -0.02, within_noise: true } })).toBe(
      "p99 overhead −0.020 ms closed loop, 8 connections, within noise (experiment mesh-cost: istio against direct)",
    );
  });
  it("reads the meshes of a performance result's mesh context", () => {
    expect(resultMeshes({ meshes: [{ mesh: "istio", name: "Istio", version: "1.28.0" }, { mesh: "kuma" }, { mesh: "linkerd", version: "2.19.1" }] })).toEqual([
      { mesh: "Istio", version: "1.28.0" },
      { mesh: "linkerd", version: "2.19.1" },
    ]);
    expect(resultMeshes(undefined)).toEqual([]);
  });
});
