// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { Agents } from "./Agents";

function answer(status: number, body: unknown) {
  vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } })));
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Agents page", () => {
  it("shows the empty state when the server has no agents endpoint yet (404)", async () => {
    answer(404, { error: { code: "not_found", message: "no endpoint /api/v1/agents" } });
    render(<Agents />);
    expect(await screen.findByText(/No agent is connected/)).toBeTruthy();
  });

  it("shows the empty state for an empty list", async () => {
    answer(200, { agents: [] });
    render(<Agents />);
    expect(await screen.findByText(/No agent is connected/)).toBeTruthy();
  });

  it("lists agents with their state and labels", async () => {
    answer(200, {
      agents: [{ name: "a1", labels: { zone: "a" }, version: "0.1.0", capacity: { cores: 2 }, state: "busy", last_heartbeat: new Date().toISOString(), address: "10.0.0.2:5555" }],
    });
    render(<Agents />);
    expect(await screen.findByRole("rowheader", { name: "a1" })).toBeTruthy();
    expect(screen.getByText("busy")).toBeTruthy();
    expect(screen.getByText("zone=a")).toBeTruthy();
    expect(screen.getByText("10.0.0.2:5555")).toBeTruthy();
  });

  it("refreshes itself: an agent that connects later appears without a reload", async () => {
    let calls = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => {
        calls++;
        const agents = calls === 1 ? [] : [{ name: "late", state: "idle", last_heartbeat: new Date().toISOString() }];
        return new Response(JSON.stringify({ agents }), { status: 200, headers: { "Content-Type": "application/json" } });
      }),
    );
    render(<Agents pollMs={100} />);
    expect(await screen.findByText(/No agent is connected/)).toBeTruthy();
    expect(await screen.findByRole("rowheader", { name: "late" }, { timeout: 3000 })).toBeTruthy();
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("says what went wrong in words on another error", async () => {
    answer(500, { error: { code: "internal", message: "internal error; see the server's log" } });
    render(<Agents />);
    expect((await screen.findByRole("alert")).textContent).toContain("internal error; see the server's log");
  });
});
