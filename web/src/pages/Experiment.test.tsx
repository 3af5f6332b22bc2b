// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import type { ExperimentReport } from "../api";
import fixture from "../lib/experiment.fixture.json";

// uPlot needs a canvas, which jsdom lacks: the charts are checked in the
// browser by the e2e suite; here a chart is a placeholder naming its label.
vi.mock("../components/Chart", () => ({
  Chart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  useTheme: () => "light",
  cssVar: () => "#888",
  axis: (x: object) => x,
}));

vi.mock("uplot", () => ({ default: { pxRatio: 1, paths: {} } }));

const { default: ExperimentPage } = await import("./Experiment");
const report = fixture.report as ExperimentReport;

function answer(status: number, body: unknown) {
  const f = vi.fn(async (_url: string) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
  vi.stubGlobal("fetch", f);
  return f;
}

const page = (id = report.experiment.id) =>
  render(
    <MemoryRouter initialEntries={[`/experiments/${id}`]}>
      <Routes>
        <Route path="/experiments/:id" element={<ExperimentPage />} />
      </Routes>
    </MemoryRouter>,
  );

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Experiment page", () => {
  it("shows a table per sweep point with medians, ranges, overhead and noise flags", async () => {
    const f = answer(200, report);
    page();
    const t50 = await screen.findByRole("table", { name: "Overhead at 50 rps · 4 connections" });
    expect(f.mock.calls[0][0]).toBe(`/api/v1/experiments/${report.experiment.id}`);
    const delayed = within(t50).getByRole("row", { name: /^delayed/ });
    const cells = within(delayed).getAllByRole("cell");
    // cells: the repeats' links, then p50 … p99.9
    expect(cells[1].textContent).toContain("1.46 ms"); // median 1.4585
    expect(cells[1].textContent).toContain("1.44–1.48 ms");
    expect(cells[1].textContent).toContain("+1.10 ms ×4.11");
    expect(cells[1].textContent).not.toContain("within noise");
    expect(cells[3].textContent).toContain("+1.16 ms ×1.35");
    expect(cells[3].textContent).toContain("within noise");
    // one link per stored repeat, to its result
    const links = within(cells[0]).getAllByRole("link");
    expect(links.map((a) => a.getAttribute("href"))).toEqual(report.points[0].variants[1].cells.map((c) => `/results/${c.result_id}`));
    // the flags are where the report puts them: 2 per point here
    expect(screen.getAllByText("within noise", { selector: ".overhead .badge" })).toHaveLength(4);
    expect(screen.getByRole("table", { name: "Overhead at 100 rps · 4 connections" })).toBeTruthy();
  });

  it("charts latency, rate and CPU, and says why a metric has no value", async () => {
    answer(200, report);
    page();
    await screen.findByRole("img", { name: /Latency p50 against the requested rate/ });
    expect(screen.getByRole("img", { name: /Achieved requests per second/ })).toBeTruthy();
    expect(screen.getByRole("img", { name: /load generator's CPU/ })).toBeTruthy();
    expect(screen.getByText(/No value: prometheus at http:\/\/127\.0\.0\.1:9 unreachable/)).toBeTruthy();
    expect(screen.getByRole("heading", { name: "Metrics not measured" })).toBeTruthy();
    expect(screen.getAllByText("missing")).toHaveLength(4);
  });

  it("says a single repeat leaves the noise unknown", async () => {
    const one: ExperimentReport = JSON.parse(JSON.stringify(report));
    for (const p of one.points)
      for (const v of p.variants)
        for (const o of Object.values(v.overhead ?? {})) {
          o.noise_known = false;
          o.within_noise = true;
        }
    answer(200, one);
    page();
    await screen.findByRole("table", { name: "Overhead at 50 rps · 4 connections" });
    expect(screen.getAllByText("noise unknown", { selector: ".overhead .badge" })).toHaveLength(8);
  });

  it("shows the API's error in words", async () => {
    answer(404, { error: { code: "not_found", message: 'no experiment "nope"' } });
    page("nope");
    expect((await screen.findByRole("alert")).textContent).toContain('no experiment "nope"');
  });
});
