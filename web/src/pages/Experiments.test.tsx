// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { Experiments } from "./Experiments";

function answer(status: number, body: unknown) {
  vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } })));
}

const page = () =>
  render(
    <MemoryRouter>
      <Experiments />
    </MemoryRouter>,
  );

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Experiments page", () => {
  it("says how to run one when there is none", async () => {
    answer(200, { experiments: [] });
    page();
    expect(await screen.findByText(/No experiment has been run/)).toBeTruthy();
    expect(screen.getByText(/meshperf experiment run -f experiment.yaml/)).toBeTruthy();
  });

  it("lists experiments with their state and cells done, linking to each", async () => {
    answer(200, {
      experiments: [
        { id: "01a1fd00ac6c2944be73", name: "proxy-overhead", state: "running", cells: 12, done: 5, created_at: "2026-11-21T07:25:01Z", updated_at: new Date().toISOString() },
        { id: "01a1fd00ac6c2944be74", name: "old", state: "failed", error: "cell 3: no response from http://127.0.0.1:1/", cells: 4, done: 2, created_at: "2026-11-20T07:25:01Z", updated_at: "2026-11-20T07:26:01Z" },
      ],
    });
    page();
    const link = await screen.findByRole("link", { name: "proxy-overhead" });
    expect(link.getAttribute("href")).toBe("/experiments/01a1fd00ac6c2944be73");
    expect(screen.getByLabelText("5 of 12 cells done")).toBeTruthy();
    expect(screen.getByText("running")).toBeTruthy();
    expect(screen.getByText("failed")).toBeTruthy();
    expect(screen.getByText(/no response from/)).toBeTruthy();
  });

  it("says what went wrong in words", async () => {
    answer(500, { error: { code: "internal", message: "internal error; see the server's log" } });
    page();
    expect((await screen.findByRole("alert")).textContent).toContain("internal error; see the server's log");
  });
});
