import { describe, expect, it } from "vitest";
import { runBannerText, verdictStatus } from "./RunStatus";

describe("run banners", () => {
  it("states the state and the server's reason, once", () => {
    expect(runBannerText({ state: "cancelled", error: "cancelled; the result keeps what was measured" })).toEqual({
      title: "This run was cancelled",
      reason: "The result keeps what was measured",
    });
    expect(runBannerText({ state: "failed", error: "no request got a response: connection refused" })).toEqual({
      title: "This run failed",
      reason: "No request got a response: connection refused",
    });
    expect(runBannerText({ state: "interrupted", error: "" })).toEqual({ title: "This run was interrupted", reason: "No reason was recorded" });
    expect(runBannerText({ state: "cancelled", error: "cancelled" })).toEqual({ title: "This run was cancelled", reason: "" });
  });
  it("has none for a run that succeeded or is going", () => {
    expect(runBannerText({ state: "succeeded" })).toBeNull();
    expect(runBannerText({ state: "running" })).toBeNull();
  });
  it("reads a verdict's status, or met from servers without it", () => {
    const o = { metric: "p99", op: "<=", value: 1, raw: "p99<=1ms" };
    expect(verdictStatus({ objective: o, actual: 0, met: false, status: "not evaluated" })).toBe("not evaluated");
    expect(verdictStatus({ objective: o, actual: 0, met: true })).toBe("met");
    expect(verdictStatus({ objective: o, actual: 2, met: false })).toBe("broken");
  });
});
