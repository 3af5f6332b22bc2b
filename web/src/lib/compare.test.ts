import { describe, expect, it } from "vitest";
import type { Comparison } from "../api";
import { compareVerdicts, rowLabel, warningText, withBaseline } from "./compare";

function cmp(p99: [number, number], err: [number, number], rate: [number, number]): Comparison {
  const cells = (v: [number, number]) => [{ value: v[0] }, { value: v[1], diff: v[1] - v[0] }];
  return {
    columns: [
      { id: "a1", name: "before", generator: "meshperf", fidelity: "hdr", targets: [] },
      { id: "b2", name: "after", generator: "meshperf", fidelity: "hdr", targets: [] },
    ],
    basis: "latency",
    rows: [
      { metric: "p99", unit: "ms", cells: cells(p99) },
      { metric: "achieved_rps", unit: "1/s", cells: cells(rate) },
      { metric: "error_rate", unit: "ratio", cells: cells(err) },
    ],
    warnings: [],
  };
}

describe("compare", () => {
  it("names rows as people read them", () => {
    expect(rowLabel("achieved_rps")).toBe("achieved rate");
    expect(rowLabel("error_rate")).toBe("error rate");
    expect(rowLabel("p99.9")).toBe("p99.9");
    expect(rowLabel("requests")).toBe("requests");
  });
  it("drops the warnings' 'not comparable:' prefix (the banner says it once)", () => {
    expect(warningText("not comparable: requested rate differs (100/s vs 200/s)")).toBe("Requested rate differs (100/s vs 200/s)");
    expect(warningText("durations differ")).toBe("Durations differ");
  });
  it("puts the chosen baseline first", () => {
    expect(withBaseline(["a", "b", "c"], "c")).toEqual(["c", "a", "b"]);
    expect(withBaseline(["a", "b"], "a")).toEqual(["a", "b"]);
    expect(withBaseline(["a", "b"], "z")).toEqual(["a", "b"]);
  });
  it("says in one line whether each result is worse, better or about the same", () => {
    const worse = compareVerdicts(cmp([10, 15], [0, 0], [100, 100]));
    expect(worse).toHaveLength(1);
    expect(worse[0].judgement).toBe("worse");
    expect(worse[0].text).toBe("after: p99 10.0 ms → 15.0 ms (+50%), errors 0% → 0%, rate 100/s → 100/s: worse than before");
    expect(compareVerdicts(cmp([10, 8], [0, 0], [100, 100]))[0].judgement).toBe("better");
    expect(compareVerdicts(cmp([10, 10.5], [0, 0], [100, 99]))[0].text).toMatch(/\(\+5\.0%\).*: about the same as before$/);
    // Two results of one name: the ids tell them apart.
    const twins = cmp([10, 15], [0, 0], [100, 100]);
    twins.columns[1].name = "before";
    expect(compareVerdicts(twins)[0].text).toMatch(/^before \(b2\): .*: worse than before \(a1\)$/);
    // Faster but erroring or slower to send: worse.
    expect(compareVerdicts(cmp([10, 5], [0, 0.02], [100, 100]))[0].judgement).toBe("worse");
    expect(compareVerdicts(cmp([10, 5], [0, 0], [100, 80]))[0].judgement).toBe("worse");
  });
});
