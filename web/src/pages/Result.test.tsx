// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { serve } from "./testing";

// uPlot needs a canvas, which jsdom lacks: the charts are checked in the
// browser by the e2e suite; here a chart is a placeholder naming its label.
vi.mock("../components/Chart", () => ({
  Chart: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
  useTheme: () => "light",
  cssVar: () => "#888",
  axis: (x: object) => x,
}));
vi.mock("uplot", () => ({ default: { pxRatio: 1, paths: { stepped: () => () => null, bars: () => () => null, spline: () => () => null, linear: () => () => null } } }));

const { default: ResultPage } = await import("./Result");
const { exportFormats } = await import("../api");

const dist = (p50: number, p99: number, max: number) => ({
  count: 1000,
  min_ms: 0.5,
  mean_ms: p50,
  stddev_ms: 1,
  max_ms: max,
  percentiles: [
    { p: 50, ms: p50 },
    { p: 99, ms: p99 },
    { p: 100, ms: max },
  ],
  histogram: "",
  histogram_unit: "us",
});

const result = {
  schema: "meshperf.result/v1",
  id: "0123456789abcdef0123",
  name: "sections",
  generator: { name: "meshperf", version: "test", fidelity: "percentiles" },
  requested: { targets: ["http://127.0.0.1:1/"], method: "GET", protocol: "http", connections: 4, rps: 300, shape: "constant", open_loop: true },
  achieved: { duration: "3s", requests: 1000, responses: 990, rps: 299, errors: 10, error_rate: 0.01, late: 0, late_ratio: 0, dropped: 0, bytes_sent: 0, bytes_received: 0 },
  start_time: new Date().toISOString(),
  end_time: new Date().toISOString(),
  latency: dist(2, 9, 20),
  service_time: dist(1.5, 5, 12),
  status_codes: { "200": 980, "503": 10 },
  errors: [{ class: "connection_refused", count: 10, examples: ["dial tcp 127.0.0.1:1: connect: connection refused"] }],
  agents: [
    { name: "a1", client: "clients[0]", rps: 150, connections: 2, achieved: { requests: 500, rps: 149, error_rate: 0 }, latency: dist(2, 8, 15), clock_offset: "120µs" },
    { name: "a2", client: "clients[0]", rps: 150, connections: 2, achieved: { requests: 500, rps: 150, error_rate: 0.02 }, latency: dist(2.1, 9.5, 20), dropped: true, dropped_at: new Date().toISOString() },
  ],
  process: { cpu_cores: 0.25, cpu_seconds: 0.8, max_rss_bytes: 50e6, max_goroutines: 40, late_ratio: 0 },
  timeline: [],
  notes: ["a note the reader needs"],
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// A first render here takes seconds on a loaded machine: wait up to 10s.
describe("the result page", () => {
  it("shows every section of the result, in order, with its figures", async () => {
    serve({
      [`/api/v1/results/${result.id}`]: result,
      [`/api/v1/results/${result.id}/verdicts`]: { source: "none", verdicts: [] },
    });
    render(
      <MemoryRouter initialEntries={[`/results/${result.id}`]}>
        <Routes>
          <Route path="/results/:id" element={<ResultPage />} />
        </Routes>
      </MemoryRouter>,
    );
    await screen.findByRole("heading", { level: 1, name: /sections/ }, { timeout: 10000 });
    const headings = screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent);
    expect(headings).toEqual([
      "Latency by percentile",
      "Latency histogram",
      "Corrected latency vs service time",
      "Timeline",
      "Requested vs achieved",
      "Status codes",
      "Errors",
      "Agents",
      "Load generator process",
      "Notes",
      "Downloads",
    ]);

    // The summary's figures are the corrected latency's percentiles.
    const summary = screen.getByLabelText("Summary");
    expect(within(summary).getByText("p99").nextSibling?.textContent).toBe("9.00 ms");
    expect(within(summary).getByText("max").nextSibling?.textContent).toBe("20.0 ms");

    // Latency next to service time, and their difference.
    const p99 = document.querySelector('tr[data-p="99"]')!;
    expect([...p99.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["9.00 ms", "5.00 ms", "4.00 ms"]);

    // Status codes with their share; the 503 marked bad.
    const bad = screen.getByRole("rowheader", { name: "503" }).closest("tr")!;
    expect(bad.className).toBe("bad");
    expect([...bad.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["10", "1.01%"]); // 10 of 990 responses
    expect(screen.getByText("dial tcp 127.0.0.1:1: connect: connection refused")).toBeTruthy();

    // One row per agent; the dropped one says so.
    const rows = screen.getByRole("table", { name: "Per-agent breakdown" }).querySelectorAll("tbody tr");
    expect([...rows].map((r) => r.getAttribute("data-agent"))).toEqual(["a1", "a2"]);
    expect(rows[1].className).toBe("bad");
    expect(rows[1].textContent).toContain("dropped");

    expect(screen.getByText("a note the reader needs")).toBeTruthy();
    const buttons = document.querySelectorAll("button[data-format]");
    expect([...buttons].map((b) => b.getAttribute("data-format"))).toEqual(exportFormats.map((f) => f.format));
  });
});
