// End-to-end tests of the web UI in a real browser (Debian's chromium,
// driven by playwright-core) against real meshperf servers and a real echo
// target. scripts/web-test.sh starts those and sets:
//   MESHPERF_URL       single-user server (started with --echo)
//   MESHPERF_TEAM_URL  team-mode server (--auth), with user E2E_USER / E2E_PASSWORD
//   HOUR_RESULT_NAME   name of the synthetic one-hour result in the single-user store
//   SCREENSHOTS        where each page's screenshot goes
//   MESHPERF_BIN       the meshperf binary, and MESHPERF_DB the single-user
//                      server's store: the experiments test runs a real
//                      experiment into it with the CLI
//   PROMETHEUS_URL     a Prometheus scraping the single-user server every second
//   E2E_AGENTS         the two `meshperf agent`s connected to the single-user
//                      server (comma-separated names; labels zone=a, zone=b)
//   MESHPERF_CLUSTER_URL  (optional) a server reading a real kube-apiserver
//                      holding internal/cluster/testdata's objects
// Each test runs in a fresh browser context; a failing test leaves a
// FAIL-<name>.png. Exits non-zero when any test fails.

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const base = need("MESHPERF_URL");
const teamURL = process.env.MESHPERF_TEAM_URL;
const shots = process.env.SCREENSHOTS ?? "test-output/screenshots";
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
mkdirSync(shots, { recursive: true });

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e: ${name} is not set (run scripts/web-test.sh)`);
    process.exit(2);
  }
  return v.replace(/\/$/, "");
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

const state = {}; // what one test leaves for the next (profile, results)
const tests = [];
const test = (name, fn, opts = {}) => tests.push({ name, fn, opts });

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** A page's browser errors, so a test can check there were none. */
function watchErrors(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  return errors;
}

/** Waits until Prometheus answers query with a series, bounded. */
async function waitPrometheus(prom, query, timeoutMs) {
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    try {
      const r = await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(query)}`)).json();
      if (r.status === "success" && r.data.result.length > 0) return;
      last = JSON.stringify(r).slice(0, 200);
    } catch (e) {
      last = String(e);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`prometheus at ${prom}: no answer to ${query} after ${timeoutMs / 1000}s (${last})`);
}

/** Waits for a run to succeed (polling the API), bounded. */
async function waitRun(page, id, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await page.evaluate(async (id) => (await fetch(`/api/v1/runs/${id}`)).json(), id);
    if (["succeeded", "failed", "cancelled", "interrupted"].includes(r.state)) return r;
    if (Date.now() > until) throw new Error(`run ${id} still ${r.state} after ${timeoutMs / 1000}s`);
    await page.waitForTimeout(500);
  }
}

/** Milliseconds as the UI writes them (web/src/lib/format.ts fmtMs), to find a value on the page. */
function fmtMsLike(ms) {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  if (ms === 0) return "0 ms";
  return `${ms.toFixed(3)} ms`;
}

/** Submits a run of a profile document through the API; returns the run. */
async function submitRun(page, doc) {
  const r = await page.evaluate(async (doc) => {
    const resp = await fetch("/api/v1/runs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ profile_document: doc }) });
    return { status: resp.status, body: await resp.json() };
  }, doc);
  if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The data attributes the timeline charts leave on a chart of a panel. */
async function chartAttrs(page, sel) {
  const el = page.locator(`${sel} .uplot`);
  await el.waitFor();
  return { scale: await el.getAttribute("data-y-scale"), ticks: await el.getAttribute("data-y-ticks"), slo: await el.getAttribute("data-slo") };
}

// ---------------------------------------------------------------- tests

test("dashboard: empty state, keyboard skip link", async (page) => {
  await page.goto(base + "/");
  await page.getByText("No tests have run on this server yet").waitFor();
  await page.getByText("against the built-in echo target").waitFor();
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement?.textContent);
  expect(focused === "Skip to content", `first Tab focuses ${focused}, want the skip link`);
  await shot(page, "01-dashboard-empty");
});

test("experiments: empty state, a real experiment from the CLI, its report, charts and CSV", async (page) => {
  const bin = need("MESHPERF_BIN");
  const db = need("MESHPERF_DB");
  const prom = need("PROMETHEUS_URL");
  const errors = watchErrors(page);
  await page.goto(base + "/experiments");
  await page.getByText("No experiment has been run against this server's store yet").waitFor();
  await page.getByText("meshperf experiment run -f experiment.yaml").waitFor();
  await shot(page, "12-experiments-empty");

  // Prometheus up and scraping the server (which also serves the echo).
  await waitPrometheus(prom, 'sum(rate(process_cpu_seconds_total{job="meshperf"}[5s]))', 30_000);

  // A small real experiment into the server's store: the built-in echo
  // directly (baseline) and the same echo told to wait 1 ms (delayed), at
  // two rates, two repeats of 2 s; the server's CPU and memory from
  // Prometheus, and a query for a metric that does not exist.
  const echo = await page.evaluate(async () => (await (await fetch("/api/v1/info")).json()).echo_url);
  expect(/^http:\/\/127\.0\.0\.1:\d+/.test(echo ?? ""), `the server's echo URL, got ${echo}`);
  const url = echo.replace(/\/$/, "");
  const dir = mkdtempSync(join(tmpdir(), "meshperf-e2e-exp-"));
  const file = join(dir, "exp.yaml");
  writeFileSync(
    file,
    [
      "name: e2e-overhead",
      "duration: 2s",
      "repeats: 2",
      "connections: 4",
      "variants:",
      "- name: baseline",
      `  targets: ['${url}/']`,
      "- name: delayed",
      `  targets: ['${url}/?delay=1ms']`,
      "sweep:",
      "  rps: [50, 100]",
      "metrics:",
      `  prometheus: ${prom}`,
      "  queries:",
      `  - {name: server_cpu_mcores, unit: mcores, query: 'sum(rate(process_cpu_seconds_total{job="meshperf"}[5s])) * 1000'}`,
      `  - {name: server_mem_mb, unit: MB, query: 'sum(process_resident_memory_bytes{job="meshperf"}) / 1e6'}`,
      "  - {name: not_there, query: 'meshperf_e2e_no_such_metric'}",
      "",
    ].join("\n"),
  );
  const run = promisify(execFile);
  let report;
  try {
    const started = Date.now();
    const out = await run(bin, ["experiment", "run", "-f", file, "--db", db, "--output", "json"], { timeout: 120_000, maxBuffer: 16 << 20 });
    report = JSON.parse(out.stdout);
    console.log(`  figure: the e2e experiment (8 cells of 2 s) ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const exp = report.experiment;
  expect(exp.state === "done" && exp.done === 8 && exp.cells === 8, `the experiment is done with 8 cells: ${JSON.stringify(exp)}`);
  expect(report.metrics.join() === "not_there,server_cpu_mcores,server_mem_mb", `the report's metrics: ${report.metrics}`);
  for (const pt of report.points) {
    for (const v of pt.variants) {
      for (const c of v.cells) {
        const where = `${v.name} at ${pt.rps} rps, repeat ${c.repeat}`;
        expect(c.metrics?.server_cpu_mcores > 0, `${where}: the server's CPU was measured: ${JSON.stringify(c.metrics)} ${JSON.stringify(c.metrics_missing)}`);
        expect(c.metrics?.server_mem_mb > 1, `${where}: the server's memory was measured: ${JSON.stringify(c.metrics)}`);
        expect(/^no data/.test(c.metrics_missing?.not_there ?? ""), `${where}: the unknown metric is missing with "no data": ${JSON.stringify(c.metrics_missing)}`);
      }
    }
  }

  // The list, then the experiment's page by its link.
  await page.goto(base + "/experiments");
  await page.getByLabel("8 of 8 cells done").waitFor();
  await page.getByRole("link", { name: "e2e-overhead" }).click();
  await page.waitForURL(new RegExp(`/experiments/${exp.id}$`));
  await page.getByRole("heading", { name: /e2e-overhead/ }).waitFor();

  // One table per sweep point, a row per variant, links to every cell's result.
  for (const label of ["50 rps · 4 connections", "100 rps · 4 connections"]) {
    const table = page.getByRole("table", { name: `Overhead at ${label}` });
    await table.waitFor();
    expect((await table.locator('tr[data-variant="baseline"]').count()) === 1, `${label}: a baseline row`);
    expect((await table.locator('tr[data-variant="delayed"]').count()) === 1, `${label}: a delayed row`);
  }
  for (const pt of report.points) {
    for (const v of pt.variants) {
      for (const c of v.cells) {
        expect((await page.locator(`a[href="/results/${c.result_id}"]`).count()) === 1, `a link to ${v.name}'s repeat ${c.repeat} at ${pt.rps} rps`);
      }
    }
  }
  // The delayed variant is slower at p50 (the echo waits 1 ms), shown as an added time.
  const p50 = await page.locator('table[aria-label="Overhead at 50 rps · 4 connections"] tr[data-variant="delayed"] td:nth-of-type(2) .overhead').textContent();
  expect(p50.startsWith("+"), `the delayed variant adds time at p50: ${p50}`);
  expect(report.points.every((pt) => pt.variants[1].overhead.p50.added_ms > 0.5), "the report says the same: over 0.5 ms added at p50");
  // The noise flags are where the report puts them.
  const flagged = report.points.flatMap((pt) => pt.variants.flatMap((v) => Object.values(v.overhead ?? {}))).filter((o) => o.within_noise).length;
  const badges = await page.locator(".overhead .badge.noise").count();
  expect(badges === flagged, `${flagged} differences within the noise in the report, ${badges} flags on the page`);

  // Charts: latency (per percentile), achieved rate, client CPU, the
  // server's CPU and memory; the unknown metric's reason.
  for (const c of ["latency", "achieved_rps", "client_cpu", "server_cpu_mcores", "server_mem_mb"]) await page.locator(`[data-chart="${c}"] canvas`).waitFor();
  const legend = await page.locator('[data-chart="latency"] .u-legend').textContent();
  expect(legend.includes("baseline") && legend.includes("delayed"), `one line per variant: ${legend}`);
  await page.getByRole("heading", { name: "Metrics not measured" }).waitFor();
  await page.locator("ul.missing li", { hasText: "not_there" }).getByText(/no data/).waitFor();
  // The client CPU column says its unit; the range bars are drawn.
  const cpuHead = page.getByRole("table", { name: "Overhead at 50 rps · 4 connections" }).locator("thead th", { hasText: "client CPU" });
  expect((await cpuHead.textContent()).trim() === "client CPU (cores)", `the client CPU column's header: ${await cpuHead.textContent()}`);
  const cpuCol = (await page.locator('table[aria-label="Overhead at 50 rps · 4 connections"] thead th').allTextContents()).findIndex((t) => t.includes("client CPU"));
  const cpuCell = await page.locator('table[aria-label="Overhead at 50 rps · 4 connections"] tr[data-variant="baseline"] > *').nth(cpuCol).textContent();
  expect(/^\d+\.\d{3}/.test(cpuCell.trim()), `a client CPU cell in cores: ${cpuCell}`);
  for (const c of ["achieved_rps", "client_cpu"]) {
    const ticks = await page.locator(`[data-chart="${c}"] .uplot`).getAttribute("data-y-ticks");
    expect(ticks && !ticks.split(",").some((t) => /^0[.,]0*\D*$/.test(t) && t !== "0"), `${c}: no "0.0/s" or "0.000 cores" tick: ${ticks}`);
  }
  const whiskers = Number(await page.locator('[data-chart="latency"] .uplot').getAttribute("data-whiskers"));
  expect(whiskers === 4, `a range bar for each variant at each rate on the latency chart: ${whiskers}`);
  await page.getByRole("button", { name: "p99", exact: true }).click();
  expect((await page.getByRole("button", { name: "p99", exact: true }).getAttribute("aria-pressed")) === "true", "p99 is selected");
  await page.locator('[data-chart="latency"] canvas').waitFor();
  await shot(page, "12-experiment");

  // The CSV download is what the CLI writes for this experiment.
  const [dl] = await Promise.all([page.waitForEvent("download"), page.locator('button[data-format="csv"]').click()]);
  const csv = readFileSync(await dl.path(), "utf8");
  const cli = (await run(bin, ["experiment", "report", exp.id, "--db", db, "--output", "csv"])).stdout;
  expect(csv === cli, `the CSV download equals meshperf experiment report --output csv:\n${csv}\n---\n${cli}`);
  const [dlj] = await Promise.all([page.waitForEvent("download"), page.locator('button[data-format="json"]').click()]);
  expect(JSON.parse(readFileSync(await dlj.path(), "utf8")).experiment.id === exp.id, "the JSON download is the report");

  // A cell's result: each metric's average and series, the missing one's
  // reason; then a wrong id in words.
  const cell = report.points[0].variants[1].cells[0];
  await page.locator(`a[href="/results/${cell.result_id}"]`).click();
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true", null, { timeout: 20_000 });
  await page.getByRole("heading", { name: "Metrics", exact: true }).waitFor();
  await page.locator('[data-metric="server_cpu_mcores"] canvas').waitFor();
  await page.locator('[data-metric="server_mem_mb"] canvas').waitFor();
  const mem = await page.locator('[data-metric="server_mem_mb"] .metric-average').textContent();
  expect(/average \d+(\.\d+)? MB/.test(mem), `the memory's average with its unit: ${mem}`);
  await page.locator('[data-metric="not_there"]').getByText(/^no data/).waitFor();
  await shot(page, "12-experiment-cell-result");
  await page.goto(base + "/experiments/nosuchexperiment");
  await page.getByRole("alert").getByText('no experiment "nosuchexperiment"').waitFor();
  expect(errors.length === 0, `no browser errors: ${errors.join("; ")}`);
});

test("new test: form and YAML edit each other, errors on fields, save as profile", async (page) => {
  await page.goto(base + "/new");
  const targets = page.getByLabel("Targets (one URL a line)");
  const echo = await targets.inputValue();
  expect(/^http:\/\/127\.0\.0\.1:\d+\/$/.test(echo), `target prefilled with the echo URL, got ${echo}`);
  state.echo = echo;
  const yaml = page.getByLabel("SMP profile (YAML), editable");

  // The defaults match their hints; the protocol is written by name.
  const connHint = await page.locator('.field:has(label:text-is("Connections")) .hint').textContent();
  const conn = await page.getByLabel("Connections").inputValue();
  expect(connHint.trim() === `default ${conn}`, `connections ${conn}, its hint "${connHint}"`);
  const starter = await yaml.inputValue();
  expect(/protocol: http\n/.test(starter) && !/protocol: 1\b/.test(starter), `the YAML names the protocol:\n${starter}`);

  // form → YAML
  await page.getByLabel("Name", { exact: true }).fill("e2e profile");
  await page.getByLabel("Rate (requests/s)").fill("200");
  await page.getByLabel("Duration").fill("6s");
  await page.getByLabel("Warm-up").fill("1s");
  let text = await yaml.inputValue();
  expect(text.includes("name: e2e profile") && text.includes("rps: 200") && text.includes("duration: 6s"), `YAML follows the form:\n${text}`);

  // a browser-side error, on its field
  await page.getByLabel("Duration").fill("six seconds");
  await page.locator('.field.invalid:has(label:text("Duration")) .field-error').getByText("is not a duration").waitFor();
  await page.getByLabel("Duration").fill("6s");
  expect((await page.locator(".field.invalid").count()) === 0, "the error clears once fixed");

  // YAML → form
  await yaml.fill(text.replace("name: e2e profile", "name: e2e profile yaml").replace("connections: 10", "connections: 4"));
  expect((await page.getByLabel("Name", { exact: true }).inputValue()) === "e2e profile yaml", "the name follows the YAML");
  expect((await page.getByLabel("Connections").inputValue()) === "4", "connections follow the YAML");
  await page.getByLabel("Name", { exact: true }).fill("e2e profile");

  // broken YAML says where
  text = await yaml.inputValue();
  await yaml.fill(text + "\nclients: [unclosed\n");
  await page.locator("#yaml-error").waitFor();
  await yaml.fill(text);
  await page.locator("#yaml-error").waitFor({ state: "detached" });

  // a server-side error on its field: a malformed ramp
  await page.getByLabel("Rate shape").selectOption("ramp");
  await page.getByLabel("Ramp FROM-TO[/over]").fill("fast");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.locator('.field.invalid .field-error').getByText('ramp "fast"').waitFor();
  await shot(page, "02-new-test-server-error");
  await page.getByLabel("Rate shape").selectOption("constant");

  // headers and an objective
  await page.getByRole("button", { name: "+ add", exact: true }).nth(1).click();
  await page.getByLabel("Headers 1 name").fill("x-e2e");
  await page.getByLabel("Headers 1 value").fill("yes");
  expect((await yaml.inputValue()).includes("x-e2e: yes"), "headers appear in the YAML");

  await page.getByRole("button", { name: "Save as profile" }).click();
  await page.getByText("Saved as profile").waitFor();
  expect(page.url().includes("/new?profile="), `after saving, the URL names the profile: ${page.url()}`);
  state.profileId = new URL(page.url()).searchParams.get("profile");
  await shot(page, "02-new-test-saved");
});

test("live run: values change while it runs, then the result opens", async (page) => {
  await page.goto(`${base}/new?profile=${state.profileId}`);
  await page.getByText("Editing revision 1").waitFor();
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.waitForURL(/\/runs\/[0-9a-f]+$/);
  state.run1 = page.url().split("/").pop();
  const requests = page.getByTestId("live-requests");
  await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid="live-requests"]')?.textContent ?? ""), null, { timeout: 20_000 });
  const first = await requests.textContent();
  await page.waitForFunction((v) => { const t = document.querySelector('[data-testid="live-requests"]')?.textContent; return t && t !== v; }, first, { timeout: 20_000 });
  const second = await requests.textContent();
  expect(first !== second, `live request count changes (${first} → ${second})`);
  const canvases = await page.locator(".chart canvas").count();
  expect(canvases >= 3, `three live charts, got ${canvases}`);
  // The live legends show the latest second's values without a hover.
  const live = await page.locator(".chart .u-legend").first().textContent();
  expect(/\d/.test(live) && !live.includes("–"), `the live rate legend shows values: ${live}`);
  await shot(page, "03-live-run");
  await page.getByRole("link", { name: "Open the result" }).waitFor({ timeout: 30_000 });
  await shot(page, "03-live-run-done");
  await page.getByRole("link", { name: "Open the result" }).click();
  await page.waitForURL(/\/results\/[0-9a-f]+\?run=/);
  state.result1 = new URL(page.url()).pathname.split("/").pop();
});

test("result: charts, verdicts, codes, downloads", async (page) => {
  const errors = watchErrors(page);
  await page.goto(`${base}/results/${state.result1}?run=${state.run1}`);
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true", null, { timeout: 20_000 });
  await page.getByRole("heading", { name: "Latency by percentile" }).waitFor();
  await page.getByRole("heading", { name: "Objectives" }).waitFor();
  const verdicts = await page.locator(".verdicts li").allTextContents();
  expect(verdicts.length === 2 && verdicts.some((v) => v.includes("p99<=50ms")), `the profile's two objectives are checked: ${verdicts}`);
  expect((await page.locator('.verdicts li[data-status="not evaluated"]').count()) === 0, "a run that succeeded has its objectives evaluated");
  expect((await page.locator(".run-banner").count()) === 0, "no banner for a run that succeeded");
  await page.getByRole("rowheader", { name: "200" }).waitFor();
  expect((await page.locator(".chart canvas").count()) >= 5, "percentile, histogram and three timeline charts");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.locator('button[data-format="csv"]').click()]);
  expect(dl.suggestedFilename().endsWith(".csv"), `the CSV export downloads (${dl.suggestedFilename()})`);
  const [dl2] = await Promise.all([page.waitForEvent("download"), page.locator('button[data-format="smp"]').click()]);
  expect(dl2.suggestedFilename().endsWith(".smp.yaml"), `the SMP export downloads (${dl2.suggestedFilename()})`);
  expect(errors.length === 0, `no browser errors: ${errors.join("; ")}`);
  await shot(page, "04-result");
});

test("timeline: a warm-up burst does not flatten the later seconds; warm-up shaded, objectives as lines, values in the legends", async (page) => {
  const errors = watchErrors(page);
  await page.goto(base + "/");
  // A real run whose first second (its warm-up) sends ten times the rate of the rest.
  const run = await submitRun(page, {
    name: "e2e warm-up burst",
    duration: "5s",
    meshperf: { warmup: "1s", slo: ["p99<=50ms", "rps>=90"] },
    clients: [{ connections: 10, rps: 100, endpoint_urls: [state.echo], meshperf: { rate_shape: "steps:1000/1s,100/5s" } }],
  });
  const done = await waitRun(page, run.id);
  expect(done.state === "succeeded" && done.result_id, `the burst run succeeded: ${JSON.stringify(done)}`);
  const r = await page.evaluate(async (id) => (await fetch(`/api/v1/results/${id}`)).json(), done.result_id);
  const warm = r.timeline.filter((i) => i.warmup);
  const steady = r.timeline.filter((i) => !i.warmup);
  const peak = Math.max(...warm.map((i) => i.achieved_rps));
  const steadyMax = Math.max(...steady.map((i) => i.achieved_rps));
  console.log(`  figure: warm-up peak ${peak.toFixed(0)}/s, steady seconds up to ${steadyMax.toFixed(0)}/s`);
  expect(warm.length >= 1 && peak > 3 * steadyMax, `the warm-up burst is in the result: ${peak} vs ${steadyMax}`);

  await page.goto(`${base}/results/${done.result_id}?run=${run.id}`);
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true", null, { timeout: 20_000 });
  // The rate chart's axis is cut above the steady seconds, and says so.
  const rate = await chartAttrs(page, '[data-timeline="rate"]');
  expect(rate.scale === "clipped", `the rate axis is cut under the burst: ${JSON.stringify(rate)}`);
  const note = await page.locator('[data-timeline="rate"] .axis-note').textContent();
  expect(/stops at .* above it/.test(note), `the cut is said: ${note}`);
  const top = Math.max(...rate.ticks.split(",").map((t) => parseFloat(t) * (t.includes("k/s") ? 1000 : 1)).filter((x) => !Number.isNaN(x)));
  expect(top < peak / 2 && top >= steadyMax * 0.9, `the top tick ${top}/s is near the steady ${steadyMax}/s, not the burst's ${peak}/s`);
  // No "0.0/s" tick; objectives drawn as lines on their charts.
  for (const k of ["rate", "latency", "errors"]) {
    const a = await chartAttrs(page, `[data-timeline="${k}"]`);
    expect(a.ticks && !a.ticks.split(",").some((t) => /^0\.0+( ?\/s| ms)?$/.test(t)), `${k} ticks: ${a.ticks}`);
  }
  expect(rate.slo === "SLO rps>=90", `the rate objective is a line: ${rate.slo}`);
  expect((await chartAttrs(page, '[data-timeline="latency"]')).slo === "SLO p99<=50ms", "the p99 objective is a line on the latency chart");
  // The warm-up is shaded (the canvas under the first second differs from
  // under a later one, at the same height, below every line) and said.
  await page.getByText("The shaded seconds are warm-up").waitFor();
  const px = await page.locator('[data-timeline="rate"] .uplot').evaluate((root) => {
    const canvas = root.querySelector("canvas");
    const over = root.querySelector(".u-over").getBoundingClientRect();
    const c = canvas.getBoundingClientRect();
    const ratio = canvas.width / c.width;
    const at = (fx, fy) => Array.from(canvas.getContext("2d").getImageData(Math.round((over.left - c.left + fx * over.width) * ratio), Math.round((over.top - c.top + fy * over.height) * ratio), 1, 1).data);
    return { warm: at(0.1, 0.9), later: at(0.7, 0.9) };
  });
  expect(px.warm.join() !== px.later.join(), `the warm-up second is shaded: ${JSON.stringify(px)}`);
  // Legends show the last second's values before any hover.
  for (const k of ["rate", "latency", "errors"]) {
    const legend = (await page.locator(`[data-timeline="${k}"] .u-legend`).textContent()).replace(/\s+/g, " ");
    expect(!legend.includes("–") && /last \(\d+s\)/.test(legend), `${k} legend shows values: ${legend}`);
  }
  const last = steady[steady.length - 1];
  const latLegend = await page.locator('[data-timeline="latency"] .u-legend').textContent();
  expect(latLegend.includes(fmtMsLike(last.p99_ms)), `the latency legend shows the last second's p99 (${fmtMsLike(last.p99_ms)}): ${latLegend}`);
  await page.locator('[data-timeline="rate"]').scrollIntoViewIfNeeded();
  await shot(page, "14-timeline-warmup-burst");
  await page.locator('[data-timeline="rate"]').screenshot({ path: join(shots, "14-timeline-rate-chart.png") });
  expect(errors.length === 0, `no browser errors: ${errors.join("; ")}`);
});

test("failed and cancelled runs: a banner with the state and reason; a cancelled run's objectives not evaluated", async (page) => {
  await page.goto(base + "/");
  // Cancelled: a 30 s run with objectives it would meet, cancelled from its page after 3 s.
  const run = await submitRun(page, {
    name: "e2e cancelled",
    duration: "30s",
    meshperf: { slo: ["p99<=10s", "error_rate<=100%"] },
    clients: [{ connections: 2, rps: 50, endpoint_urls: [state.echo] }],
  });
  await page.goto(`${base}/runs/${run.id}`);
  await page.waitForFunction(() => /[1-9]/.test(document.querySelector('[data-testid="live-requests"]')?.textContent ?? ""), null, { timeout: 20_000 });
  await page.waitForTimeout(2000);
  await page.getByRole("button", { name: "Cancel" }).click();
  const cancelled = await waitRun(page, run.id);
  expect(cancelled.state === "cancelled" && cancelled.result_id, `cancelled with a result: ${JSON.stringify(cancelled)}`);
  await page.getByRole("link", { name: "Open the result" }).click();
  await page.waitForURL(/\/results\/[0-9a-f]+\?run=/);
  const banner = page.locator('.run-banner[data-run-state="cancelled"]');
  await banner.waitFor();
  const bt = await banner.textContent();
  const why = cancelled.error.replace(/^cancelled[;:,]?\s*/, "");
  expect(bt.startsWith("This run was cancelled:") && bt.toLowerCase().includes(why.toLowerCase()) && !/cancelled: cancelled/.test(bt), `the banner names the state and the reason, once: ${bt}`);
  expect((await page.locator(".warn-box", { hasText: "stopped before its end" }).count()) === 0, "one banner, not a second one for the interruption");
  await page.getByRole("heading", { name: "Objectives" }).waitFor();
  const statuses = await page.locator(".verdicts li").evaluateAll((els) => els.map((e) => `${e.dataset.status}|${e.querySelector(".badge").textContent}`));
  expect(statuses.length === 2 && statuses.every((x) => x === "not evaluated|not evaluated"), `a cancelled run's objectives: ${statuses}`);
  expect((await page.locator(".verdicts li.met").count()) === 0, "none shown as met");
  const api = await page.evaluate(async ([res, id]) => (await fetch(`/api/v1/results/${res}/verdicts?run=${id}`)).json(), [cancelled.result_id, run.id]);
  expect(api.verdicts.every((v) => v.status === "not evaluated" && !v.met && v.reason === "the run was cancelled"), `the API agrees: ${JSON.stringify(api)}`);
  await shot(page, "15-result-cancelled");

  // Failed: nothing listens on 127.0.0.1:9, so no request gets a response.
  const failedRun = await submitRun(page, { name: "e2e failed", duration: "2s", clients: [{ connections: 2, rps: 20, endpoint_urls: ["http://127.0.0.1:9/nothing-listens-here"] }] });
  const failed = await waitRun(page, failedRun.id);
  expect(failed.state === "failed" && failed.error, `the run failed with a reason: ${JSON.stringify(failed)}`);
  state.failedRun = failed;
  await page.goto(failed.result_id ? `${base}/results/${failed.result_id}?run=${failed.id}` : `${base}/runs/${failed.id}`);
  if (failed.result_id) {
    const fb = page.locator('.run-banner[data-run-state="failed"]');
    await fb.waitFor();
    const ft = await fb.textContent();
    expect(ft.startsWith("This run failed:") && ft.toLowerCase().includes(failed.error.toLowerCase()), `the failed run's banner: ${ft}`);
  } else {
    await page.getByText(failed.error).waitFor();
  }
  await shot(page, "15-result-failed");
});

test("dashboard on a phone: p99 and errors in view, a failed run's long error on one line", async (page) => {
  expect(state.failedRun, "a failed run from the test before");
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Recent runs" }).waitFor();
  const vw = page.viewportSize().width;
  for (const table of [".dash-runs", ".dash-results"]) {
    for (const col of ["p99", "Errors"]) {
      const box = await page.locator(`${table} thead th`, { hasText: new RegExp(`^${col}$`) }).boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= vw + 1, `${table}: the ${col} column is on screen at ${vw}px: ${JSON.stringify(box)}`);
    }
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 1, `the dashboard fits the phone's width (overflows by ${overflow}px)`);
  const row = page.locator("tr", { has: page.locator(`a[href*="${state.failedRun.id}"]`) });
  const err = row.locator(".run-error");
  expect((await err.getAttribute("title")) === state.failedRun.error, "the full error is the title, shown on hover");
  const m = await err.evaluate((e) => ({ h: e.getBoundingClientRect().height, line: parseFloat(getComputedStyle(e).lineHeight) || 20, cut: e.scrollWidth > e.clientWidth }));
  expect(m.h <= m.line * 1.2, `the error takes one line: ${JSON.stringify(m)}`);
  console.log(`  figure: the failed run's error is ${state.failedRun.error.length} characters; on the phone it is ${m.cut ? "cut with an ellipsis" : "short enough to fit"}`);
  await shot(page, "16-phone-dashboard");
}, { viewport: { width: 390, height: 844 }, isMobile: true });

test("result: the percentile plot ends at the table's max", async (page) => {
  await page.goto(`${base}/results/${state.result1}`);
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true", null, { timeout: 20_000 });
  const plot = page.locator('.chart[aria-label^="Latency at each percentile"]');
  await plot.waitFor();
  // The points uPlot holds: [x, latency, service time] at the last x.
  const last = JSON.parse((await plot.getAttribute("data-last-point")) ?? "null");
  expect(Array.isArray(last) && last.length === 3, `the plot's last point: ${JSON.stringify(last)}`);
  // The table's max row: latency, then service time.
  const maxRow = page.locator('tr[data-p="100"]');
  expect((await maxRow.locator("th").textContent()) === "max", "the table's p100 row is labelled max");
  const cells = await maxRow.locator("td[data-ms]").evaluateAll((tds) => tds.map((td) => td.dataset.ms));
  const table = cells.slice(0, 2).map(Number);
  expect(table.every((v) => v > 0), `the table's max figures: ${cells}`);
  expect(last[1] === table[0] && last[2] === table[1], `the plot ends at the table's max: plot ${last.slice(1)} vs table ${table}`);
  // The max sits past the last percentile of the grid (1/(1−p) = count),
  // where HdrHistogram's plotter puts it.
  const count = await page.evaluate(async (id) => {
    const r = await (await fetch(`/api/v1/results/${id}`)).json();
    return Math.max(r.latency?.count ?? 0, r.service_time?.count ?? 0);
  }, state.result1);
  expect(last[0] > count, `the max is plotted past the grid's last percentile (x ${last[0]}, count ${count})`);
  await shot(page, "04-result-percentile-max");
});

test("result: nothing answered shows no data, not 0, under a failed banner", async (page) => {
  await page.goto(base + "/");
  const doc = {
    name: "e2e nothing answers",
    duration: "1s",
    clients: [{ protocol: 1, rps: 5, connections: 1, endpoint_urls: ["http://127.0.0.1:1/"] }],
  };
  const run = await page.evaluate(
    async (doc) => (await fetch("/api/v1/runs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ profile_document: doc }) })).json(),
    doc,
  );
  expect(run.id, `the run was queued: ${JSON.stringify(run)}`);
  const r = await waitRun(page, run.id);
  expect(r.state === "failed" && r.result_id, `a run where nothing answered fails and keeps its result: ${JSON.stringify(r)}`);
  await page.goto(`${base}/results/${r.result_id}`);
  await page.locator("[data-failed]").getByText("nothing answered").waitFor();
  const figures = await page.locator('dl[aria-label="Summary"] dd').allTextContents();
  const lat = figures.slice(1, 5);
  expect(lat.every((f) => f.trim() === "–"), `p50, p90, p99 and max show no data: ${figures}`);
  expect(!figures.some((f) => /^0 ms/.test(f.trim())), `no figure reads 0 ms: ${figures}`);
  await page.goto(base + "/");
  const row = page.locator(`tr:has(a[href="/results/${r.result_id}"])`);
  await row.waitFor();
  const cells = await row.locator("td").allTextContents();
  expect(!cells.some((c) => c.trim() === "0 ms"), `the result list shows no 0 ms: ${cells}`);
  await shot(page, "04-result-nothing-answered");
});

test("profiles: list, search, history, run again", async (page) => {
  await page.goto(base + "/profiles");
  await page.getByLabel("Search").fill("nothing like this");
  await page.getByText("No profile matches").waitFor();
  await page.getByLabel("Search").fill("e2e");
  await page.getByRole("link", { name: "e2e profile" }).click();
  await page.getByRole("heading", { name: "History" }).waitFor();
  await page.getByText("revision 1").first().waitFor();
  await shot(page, "05-profile");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.waitForURL(/\/runs\/[0-9a-f]+$/);
  state.run2 = page.url().split("/").pop();
  const r = await waitRun(page, state.run2);
  expect(r.state === "succeeded" && r.result_id, `second run succeeded: ${JSON.stringify(r)}`);
  state.result2 = r.result_id;
});

test("compare: two results from the dashboard, then a warning when not comparable", async (page) => {
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Results" }).waitFor();
  for (const id of [state.result1, state.result2]) {
    await page.locator(`tr:has(a[href="/results/${id}"]) input[type=checkbox]`).check();
  }
  await shot(page, "06-dashboard");
  await page.getByRole("button", { name: /Compare 2 results/ }).click();
  await page.waitForURL(/\/compare\?ids=/);
  await page.getByRole("rowheader", { name: "p99", exact: true }).waitFor();
  await page.locator(".chart canvas").first().waitFor();
  expect((await page.getByText("may not be comparable").count()) === 0, "two runs of one profile are comparable");
  // Readable row names.
  await page.getByRole("rowheader", { name: "achieved rate", exact: true }).waitFor();
  await page.getByRole("rowheader", { name: "error rate", exact: true }).waitFor();
  expect((await page.getByRole("rowheader", { name: "achieved_rps" }).count()) === 0, "no achieved_rps row name");
  // One verdict line on top, for the result against the baseline (the first picked).
  const names = await page.evaluate(async (ids) => Promise.all(ids.map(async (id) => { const r = await (await fetch(`/api/v1/results/${id}`)).json(); return r.name || r.id; })), [state.result1, state.result2]);
  const line = page.locator(".verdict-line");
  expect((await line.count()) === 1, "one verdict line for two results");
  const text = await line.textContent();
  expect(/p99 .* → .*, errors .* → .*, rate .* → .*: (worse than|better than|about the same as) /.test(text), `the verdict line: ${text}`);
  // The timelines overlaid: one line per result.
  for (const k of ["compare-latency", "compare-rate"]) {
    const series = await page.locator(`[data-timeline="${k}"] .u-legend .u-series`).allTextContents();
    expect(series.length === 3 && series[1].includes(`baseline: ${names[0]}`) && series[2].includes(names[1]), `${k}: the seconds and a line per result: ${series}`);
    expect(series.every((x) => !x.includes("–")), `${k}: the legend shows values before any hover: ${series}`);
  }
  await shot(page, "06-compare");
  // Choose the other result as the baseline: the URL, the columns and the verdict follow.
  await page.getByLabel("Baseline", { exact: true }).selectOption(state.result2);
  await page.waitForURL(new RegExp(`ids=${state.result2}(%2C|,)${state.result1}`));
  await page.locator(`.compare-table thead th:nth-child(2) a[href="/results/${state.result2}"]`).waitFor();
  await page.locator(".compare-table thead th:nth-child(2)", { hasText: "baseline" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll(".verdict-line").length === 1);
  await shot(page, "06-compare-other-baseline");

  const hour = await page.evaluate(async (name) => {
    const r = await (await fetch("/api/v1/results?limit=100")).json();
    return r.results.find((x) => x.name === name)?.id;
  }, process.env.HOUR_RESULT_NAME ?? "one hour (synthetic, e2e)");
  expect(hour, "the synthetic one-hour result is in the store");
  state.hour = hour;
  await page.goto(`${base}/compare?ids=${state.result1},${hour}`);
  await page.getByText("These results may not be comparable").waitFor();
  await page.getByText(/requested rate differs|durations differ/i).first().waitFor();
  const banner = await page.locator(".warn-box").allTextContents();
  expect(banner.length === 1 && !/not comparable:/.test(banner[0]), `one banner, without "not comparable:" again: ${banner}`);
  await shot(page, "06-compare-not-comparable");
});

test("schedules, not found, API errors in words", async (page) => {
  await page.goto(`${base}/schedules?profile=${state.profileId}`);
  await page.getByText("No schedules").waitFor();
  await page.getByLabel("When").fill("whenever it suits");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.locator(".field.invalid .field-error").waitFor();
  await page.getByLabel("When").fill("0 3 * * *");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.getByRole("button", { name: "Pause" }).waitFor();
  // The next time in the schedule's zone, named: 03:00 in Berlin whatever the browser's zone.
  const next = (await page.locator("td.next-due").first().textContent()).trim();
  expect(/^\w{3} \d{1,2} \w{3} \d{4}, 03:00 Europe\/Berlin$/.test(next), `the next run in Berlin time: ${next}`);
  const sched = await page.evaluate(async () => (await (await fetch("/api/v1/schedules")).json()).schedules[0]);
  const berlin = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(sched.next_due_at));
  expect(berlin === "03:00", `the server's next_due_at is 03:00 in Berlin too: ${sched.next_due_at}`);
  await shot(page, "07-schedules");
  // Run now: a run of the schedule's profile, the schedule's own, at once.
  await page.getByRole("button", { name: "Run now" }).click();
  await page.waitForURL(/\/runs\/[0-9a-f]+$/);
  const nowRun = await waitRun(page, page.url().split("/").pop());
  expect(nowRun.state === "succeeded" && nowRun.schedule_id === sched.id && nowRun.profile_id === state.profileId, `the run now: ${JSON.stringify(nowRun)}`);
  const after = await page.evaluate(async (id) => (await fetch(`/api/v1/schedules/${id}`)).json(), sched.id);
  expect(after.next_due_at === sched.next_due_at, `run now leaves the next time: ${after.next_due_at} vs ${sched.next_due_at}`);
  await shot(page, "07-schedule-run-now");

  await page.goto(base + "/results/ffffffffffffffffffff");
  await page.getByRole("alert").getByText(/no result/).waitFor();
  await page.goto(base + "/no/such/page");
  await page.getByRole("heading", { name: "No such page" }).waitFor();
});

test("dark theme and phone width", async (page) => {
  await page.goto(`${base}/results/${state.result1}`);
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true");
  await page.getByRole("button", { name: "Switch to dark theme" }).click();
  expect((await page.evaluate(() => document.documentElement.dataset.theme)) === "dark", "dark theme applied");
  await shot(page, "08-result-dark");
  await page.reload();
  expect((await page.evaluate(() => document.documentElement.dataset.theme)) === "dark", "the theme is remembered");
}, { colorScheme: "light" });

test("phone width: menu, dashboard and result fit", async (page) => {
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  expect(!(await page.getByRole("link", { name: "Profiles" }).isVisible()), "the navigation folds into a menu");
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("link", { name: "Profiles" }).waitFor();
  await shot(page, "09-phone-menu");
  await page.goto(`${base}/results/${state.result1}`);
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 1, `the result page fits the phone's width (overflows by ${overflow}px)`);
  await shot(page, "09-phone-result");
}, { viewport: { width: 390, height: 844 }, isMobile: true });

test("one-hour result renders (time printed, median of 3 loads)", async (page) => {
  const times = [];
  for (let i = 0; i < 3; i++) {
    await page.goto(`${base}/results/${state.hour}`);
    await page.waitForFunction(() => document.body.dataset.resultRendered === "true", null, { timeout: 30_000 });
    const t = await page.evaluate(() => performance.getEntriesByName("meshperf:result-rendered")[0]?.startTime);
    times.push(t);
  }
  const points = await page.evaluate(async (id) => (await (await fetch(`/api/v1/results/${id}`)).json()).timeline.length, state.hour);
  expect(points === 3600, `the hour result has 3600 timeline points, got ${points}`);
  times.sort((a, b) => a - b);
  console.log(`  figure: one-hour result page (3600 points) rendered in ${times.map((t) => t.toFixed(0)).join(", ")} ms; median ${times[1].toFixed(0)} ms`);
  await shot(page, "10-result-one-hour");
});

test("agents: two real agents listed, a distributed run, its per-agent breakdown", async (page) => {
  const names = need("E2E_AGENTS").split(",");
  expect(names.length === 2, `two agents in E2E_AGENTS: ${names}`);
  const errors = watchErrors(page);
  await page.goto(base + "/");
  // The agents dial the server at start: wait (bounded) until both are idle.
  const until = Date.now() + 20_000;
  let listed = [];
  for (;;) {
    listed = (await page.evaluate(async () => (await (await fetch("/api/v1/agents")).json()).agents)) ?? [];
    if (names.every((n) => listed.some((a) => a.name === n && a.state === "idle"))) break;
    if (Date.now() > until) throw new Error(`agents ${names} not all idle after 20s: ${JSON.stringify(listed)}`);
    await page.waitForTimeout(250);
  }

  // The agents page: both, idle, with their labels.
  await page.goto(base + "/agents");
  for (const n of names) {
    const row = page.locator("tr", { has: page.getByRole("rowheader", { name: n, exact: true }) });
    await row.waitFor();
    const zone = listed.find((a) => a.name === n).labels.zone;
    await row.locator(".badge.state-idle", { hasText: "idle" }).waitFor();
    await row.locator(".badge", { hasText: `zone=${zone}` }).waitFor();
  }
  await shot(page, "13-agents");

  // A distributed run from the New test form: 200 rps for 4 s over 2 agents.
  await page.goto(base + "/new");
  await page.getByLabel("Name", { exact: true }).fill("e2e distributed");
  await page.getByLabel("Rate (requests/s)").fill("200");
  await page.getByLabel("Duration").fill("4s");
  await page.getByLabel("Agents", { exact: true }).fill("2");
  const yaml = await page.getByLabel("SMP profile (YAML), editable").inputValue();
  expect(/agents:\s*\n\s+count: 2/.test(yaml), `the YAML asks for 2 agents:\n${yaml}`);
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.waitForURL(/\/runs\/[0-9a-f]+$/);
  const runId = page.url().split("/").pop();

  // The live page shows the merged figures as they come.
  await page.waitForFunction(() => /[1-9]/.test(document.querySelector('[data-testid="live-requests"]')?.textContent ?? ""), null, { timeout: 20_000 });
  const first = await page.getByTestId("live-requests").textContent();
  await page.waitForFunction((v) => { const t = document.querySelector('[data-testid="live-requests"]')?.textContent; return t && t !== v; }, first, { timeout: 20_000 });
  expect((await page.locator(".chart canvas").count()) >= 3, "the live charts");
  await shot(page, "13-live-distributed");
  await page.getByRole("link", { name: "Open the result" }).waitFor({ timeout: 30_000 });
  await page.getByRole("link", { name: "Open the result" }).click();
  await page.waitForURL(/\/results\/[0-9a-f]+\?run=/);
  const resultId = new URL(page.url()).pathname.split("/").pop();
  await page.waitForFunction(() => document.body.dataset.resultRendered === "true", null, { timeout: 20_000 });

  // The result as stored: two agents, nothing lost, totals that add up.
  const run = await page.evaluate(async (id) => (await fetch(`/api/v1/runs/${id}`)).json(), runId);
  expect(run.state === "succeeded" && run.result_id === resultId, `the run succeeded into this result: ${JSON.stringify(run)}`);
  const r = await page.evaluate(async (id) => (await fetch(`/api/v1/results/${id}`)).json(), resultId);
  expect(!r.degraded && r.agents?.length === 2, `two agents, not degraded: ${JSON.stringify(r.agents?.map((a) => a.name))} degraded=${r.degraded}`);
  expect(names.every((n) => r.agents.some((a) => a.name === n && !a.dropped)), `both agents ran to the end: ${r.agents.map((a) => a.name)}`);
  const sum = (f) => r.agents.reduce((s, a) => s + f(a), 0);
  expect(sum((a) => a.achieved.requests) === r.achieved.requests, `agents' requests ${sum((a) => a.achieved.requests)} = total ${r.achieved.requests}`);
  expect(sum((a) => a.achieved.responses) === r.achieved.responses, "agents' responses add up to the total");
  expect(sum((a) => a.achieved.errors) === r.achieved.errors, "agents' errors add up to the total");
  expect(sum((a) => a.latency.count) === r.latency.count, `agents' latency counts ${sum((a) => a.latency.count)} = merged histogram's ${r.latency.count}`);
  expect(sum((a) => a.rps) === 200, `the agents were asked 200 rps between them: ${r.agents.map((a) => a.rps)}`);
  const timeline = r.timeline.filter((i) => !i.warmup).reduce((s, i) => s + i.requests, 0);
  expect(timeline === r.achieved.requests, `the timeline's requests ${timeline} = total ${r.achieved.requests}`);
  expect(r.achieved.requests >= 600 && r.achieved.errors === 0, `about 800 requests, no errors: ${JSON.stringify(r.achieved)}`);

  // The page: the summary's total, and a row per agent whose requests add up to it.
  const count = (t) => Number(t.replace(/[^0-9]/g, ""));
  const errFig = await page.locator('dl[aria-label="Summary"] div:has(> dt:text-is("errors")) small').textContent();
  const shown = count(errFig.split(" of ")[1] ?? "");
  expect(shown === r.achieved.requests, `the summary shows ${errFig.trim()}, the result has ${r.achieved.requests} requests`);
  const table = page.getByRole("table", { name: "Per-agent breakdown" });
  await table.waitFor();
  const headers = (await table.locator("thead th").allTextContents()).map((t) => t.trim());
  const col = headers.indexOf("requests");
  expect(col > 0, "a requests column");
  const cpuCol = headers.indexOf("agent CPU");
  let perAgent = 0;
  for (const n of names) {
    const row = table.locator(`tr[data-agent="${n}"]`);
    const zone = r.agents.find((a) => a.name === n).labels.zone;
    expect((await row.locator("th").textContent()).includes(`zone=${zone}`), `${n}'s labels shown`);
    const cells = await row.locator("th, td").allTextContents();
    expect(cells.at(-1).trim() === "complete", `${n}'s row: ${cells}`);
    const req = count(cells[col]);
    expect(req === r.agents.find((a) => a.name === n).achieved.requests && req > 0, `${n}: ${cells[col]} requests shown`);
    expect(/^\d+\.\d\d cores/.test(cells[cpuCol].trim()), `${n}'s own CPU shown: ${cells[cpuCol]}`);
    perAgent += req;
  }
  expect(perAgent === shown, `the agents' requests shown add up to the total shown: ${perAgent} vs ${shown}`);
  await table.scrollIntoViewIfNeeded();
  await page.locator(".panel", { has: table }).screenshot({ path: join(shots, "13-result-agents.png") });
  await shot(page, "13-result-distributed");

  // Both agents are idle again.
  await page.goto(base + "/agents");
  for (const n of names) {
    await page.locator("tr", { has: page.getByRole("rowheader", { name: n, exact: true }) }).locator(".badge.state-idle").waitFor();
  }
  expect(errors.length === 0, `no browser errors: ${errors.join("; ")}`);
});

test("agents page refreshes itself: a distributed run shows the agents busy, then idle, without a reload", async (page) => {
  const names = need("E2E_AGENTS").split(",");
  await page.goto(base + "/agents");
  for (const n of names) await page.locator("tr", { has: page.getByRole("rowheader", { name: n, exact: true }) }).locator(".badge.state-idle").waitFor({ timeout: 20_000 });
  let navigations = 0;
  page.on("framenavigated", () => navigations++);
  const run = await submitRun(page, { name: "e2e agents busy", duration: "4s", clients: [{ connections: 2, rps: 50, endpoint_urls: [state.echo], agents: { count: 2 } }] });
  for (const n of names) await page.locator("tr", { has: page.getByRole("rowheader", { name: n, exact: true }) }).locator(".badge.state-busy").waitFor({ timeout: 15_000 });
  await shot(page, "17-agents-busy");
  const done = await waitRun(page, run.id);
  expect(done.state === "succeeded", `the distributed run: ${JSON.stringify(done)}`);
  for (const n of names) await page.locator("tr", { has: page.getByRole("rowheader", { name: n, exact: true }) }).locator(".badge.state-idle").waitFor({ timeout: 15_000 });
  expect(navigations === 0, `the page was not reloaded (${navigations} navigations)`);
});

if (teamURL) {
  test("team mode: login, wrong password, logout", async (page) => {
    const team = teamURL.replace(/\/$/, "");
    await page.goto(team + "/profiles");
    await page.waitForURL(/\/login\?next=%2Fprofiles/);
    await page.getByRole("heading", { name: "Log in to meshperf" }).waitFor();
    await page.getByLabel("Name").fill(need("E2E_USER"));
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").getByText("wrong name or password").waitFor();
    await shot(page, "11-team-login-error");
    await page.getByLabel("Password").fill(need("E2E_PASSWORD"));
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/profiles$/);
    await page.getByText(process.env.E2E_USER, { exact: true }).waitFor();
    await page.getByText("team mode").waitFor();
    await shot(page, "11-team-profiles");
    await page.reload(); // the session survives a reload
    await page.getByRole("button", { name: "Log out" }).waitFor();
    // The team server takes no agents: the agents page's empty state.
    await page.goto(team + "/agents");
    await page.getByText("No agent is connected").waitFor();
    await shot(page, "11-team-agents-empty");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login/);
    await page.goto(team + "/");
    await page.waitForURL(/\/login/);
    await shot(page, "11-team-logged-out");
  });
}

test("capacity: a real search through the server, its curve, steps and found rate", async (page) => {
  const errors = watchErrors(page);
  await page.goto(base + "/capacity");
  await page.getByRole("heading", { name: "Capacity searches" }).waitFor();
  const echo = await page.evaluate(async () => (await (await fetch("/api/v1/info")).json()).echo_url);
  expect(echo, "the server has no --echo target");
  // One connection to an echo that takes 20 ms a request: at most ~50
  // requests a second get through, above that requests queue and p99
  // grows for as long as a step lasts. 1 s steps from 20 rps, no
  // warm-up, no pause, no confirmation: a few steps, bounded by max_steps.
  const body = {
    profile_document: { name: "e2e capacity", duration: "1s", clients: [{ connections: 1, rps: 10, endpoint_urls: [`${echo}/?delay=20ms`] }] },
    objective: "p99<=300ms",
    min_rps: 20,
    max_rps: 160,
    step_duration: "1s",
    warmup: "0s",
    pause: "0s",
    tolerance: 0.25,
    confirm: 0,
    max_steps: 8,
  };
  const sub = await page.evaluate(async (body) => {
    const r = await fetch("/api/v1/capacity", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  }, body);
  expect(sub.status === 202, `submit: ${sub.status} ${JSON.stringify(sub.body)}`);
  const id = sub.body.id;
  const run = await waitRun(page, id, 90_000);
  expect(run.state === "succeeded", `the search ended ${run.state}: ${run.error}`);
  const view = await page.evaluate(async (id) => (await fetch(`/api/v1/capacity/${id}`)).json(), id);
  const rep = view.report;
  expect(["found", "above_max"].includes(rep.outcome) && rep.sustained_rps > 0, `report: ${rep.outcome} ${rep.sustained_rps}`);

  // The list shows it with the rate the API returned.
  await page.goto(base + "/capacity");
  const row = page.locator("tr", { has: page.getByRole("link", { name: "e2e capacity" }) }).first();
  await row.waitFor();
  expect((await row.locator("td[data-sustained]").getAttribute("data-sustained")) === String(rep.sustained_rps), "the list's rate is not the API's");
  await row.getByRole("link", { name: "e2e capacity" }).click();
  await page.waitForURL(new RegExp(`/capacity/${id}$`));

  // The page states the API's found rate, draws the curve with the rates
  // marked, and lists every step linking to its stored result.
  const answer = page.getByTestId("capacity-answer");
  await answer.waitFor();
  expect((await answer.getAttribute("data-sustained")) === String(rep.sustained_rps), `answer attribute ${await answer.getAttribute("data-sustained")}, API ${rep.sustained_rps}`);
  const text = await answer.innerText();
  const shown = `${Math.round(rep.sustained_rps).toLocaleString("en-US")} rps`;
  expect(text.includes(shown), `the answer "${text}" does not show ${shown}`);
  const lat = page.locator('[data-testid="capacity-latency"] .uplot');
  await lat.waitFor();
  const markers = await lat.getAttribute("data-markers");
  expect(markers && markers.includes(`found:${rep.sustained_rps}`), `markers ${markers}`);
  if (rep.breaks_rps) expect(markers.includes(`breaks:${rep.breaks_rps}`), `markers ${markers}, breaks at ${rep.breaks_rps}`);
  await page.locator('[data-testid="capacity-errors"] .uplot').waitFor();
  const rows = page.getByTestId("capacity-steps").locator("tbody tr");
  expect((await rows.count()) === rep.steps.length, `${await rows.count()} step rows, ${rep.steps.length} steps`);
  const first = rep.steps[0];
  await rows.first().getByRole("link", { name: first.result_id.slice(0, 12) }).click();
  await page.waitForURL(new RegExp(`/results/${first.result_id}$`));
  await page.goto(base + `/capacity/${id}`);
  await answer.waitFor();
  await shot(page, "12-capacity");
  expect(errors.length === 0, `browser errors: ${errors.join("; ")}`);
});

// The Cluster page: the single-user server reads no cluster (its empty
// state); MESHPERF_CLUSTER_URL, when web-test.sh could start a real
// kube-apiserver (scripts/kube-up.sh) with the meshes' objects of
// internal/cluster/testdata, is a server reading it: meshes, coverage,
// workloads and the topology, with the traffic edges missing for want of
// --mesh-prometheus (no Prometheus of the mesh's proxies runs here).
test("cluster page: no cluster, then a real API server's meshes, workloads and topology", async (page) => {
  const errors = watchErrors(page);
  await page.goto(base + "/cluster");
  await page.getByText("This server reads no Kubernetes cluster.").waitFor();
  await page.getByText("meshperf server --kubeconfig FILE").waitFor();
  await shot(page, "12-cluster-none");
  const clusterURL = process.env.MESHPERF_CLUSTER_URL;
  if (!clusterURL) {
    console.log("     (MESHPERF_CLUSTER_URL not set: only the no-cluster state was tested)");
    expect(errors.length === 0, `browser errors: ${errors.join("; ")}`);
    return;
  }
  await page.goto(clusterURL + "/cluster");
  const meshes = page.getByRole("table", { name: "meshes" });
  const rowText = async (table, name) => {
    const row = table.getByRole("row", { name });
    await row.waitFor();
    return (await row.textContent()) ?? "";
  };
  // The inventory may still be reading when the page first loads: the page
  // refreshes itself every 5 s, and waitFor allows 15.
  for (const [name, version] of [[/Istio/, "1.23.2"], [/Linkerd/, "stable-2.14.10"], [/Kuma/, "2.8.2"]]) {
    const text = await rowText(meshes, name);
    expect(text.includes(version), `mesh row ${name}: ${text}`);
  }
  await page.getByText(/5 pods: 3 with a proxy, 1 ambient, 1 without/).waitFor();
  const reviews = await rowText(page.getByRole("table", { name: "workloads" }), /reviews/);
  expect(reviews.includes("2/2 meshed") && reviews.includes("istio"), `reviews row: ${reviews}`);

  await page.getByRole("combobox").selectOption("shop");
  const svg = page.getByRole("img", { name: "topology" });
  // The Gateway is in the drawing of every namespace too: wait for the
  // drawing of shop alone (the page keeps the last view until the new one
  // arrives), for up to 15 s.
  const want = JSON.stringify(["Deployment/shop/reviews", "Gateway/istio-system/public-gw", "Service/shop/reviews"]);
  let nodes = [];
  for (const until = Date.now() + 15000; Date.now() < until; await page.waitForTimeout(100)) {
    nodes = await svg.locator("[data-node]").evaluateAll((els) => els.map((e) => e.getAttribute("data-node")).sort());
    if (JSON.stringify(nodes) === want) break;
  }
  expect(
    JSON.stringify(nodes) === JSON.stringify(["Deployment/shop/reviews", "Gateway/istio-system/public-gw", "Service/shop/reviews"]),
    `topology nodes of shop: ${nodes}`,
  );
  const count = async (kind) => svg.locator(`[data-edge="${kind}"]`).count();
  const edges = { selects: await count("selects"), route: await count("route"), traffic: await count("traffic") };
  expect(edges.selects === 1 && edges.route === 2 && edges.traffic === 0, `edges ${JSON.stringify(edges)}`);
  const note = (await page.getByLabel("traffic source").textContent()) ?? "";
  expect(note.includes("--mesh-prometheus"), `traffic note: ${note}`);
  await shot(page, "12-cluster");
  expect(errors.length === 0, `browser errors: ${errors.join("; ")}`);
});

test("designs: a Compose file imported through the API, its graph's nodes and edges, YAML and history", async (page) => {
  await page.goto(base + "/designs");
  const compose = [
    "services:",
    "  front:",
    "    image: ghcr.io/meshperf/meshperf:e2e",
    '    ports: ["80:8080"]',
    "  api:",
    "    image: ghcr.io/meshperf/meshperf:e2e",
    '    expose: ["9090"]',
    "    configs: [conf]",
    "configs:",
    '  conf: {content: "delay=1ms"}',
    "",
  ].join("\n");
  const created = await page.evaluate(async (file) => {
    await fetch("/api/v1/designs/e2e-shop", { method: "DELETE" }); // left by a run before, if any
    const resp = await fetch("/api/v1/designs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "e2e-shop", namespace: "shop", labels: { e2e: "yes" }, compose: { file } }),
    });
    return { status: resp.status, body: await resp.json() };
  }, compose);
  expect(created.status === 201, `POST /api/v1/designs: ${JSON.stringify(created)}`);
  // The graph the API answered is the one drawn.
  const graph = created.body.graph;
  const wantNodes = ["configmap/conf", "deployment.apps/api", "deployment.apps/front", "service/api", "service/front"];
  expect(JSON.stringify([...graph.nodes].sort()) === JSON.stringify(wantNodes), `graph nodes ${JSON.stringify(graph.nodes)}`);
  await page.reload();
  await page.getByRole("link", { name: "e2e-shop" }).click();
  await page.waitForURL(/\/designs\/e2e-shop$/);
  const svg = page.getByRole("img", { name: "design graph" });
  await svg.waitFor();
  const nodes = await svg.locator("[data-node]").evaluateAll((els) => els.map((e) => e.getAttribute("data-node")).sort());
  expect(JSON.stringify(nodes) === JSON.stringify(wantNodes), `nodes drawn ${JSON.stringify(nodes)}`);
  const edges = await svg.locator("[data-edge]").evaluateAll((els) => els.map((e) => e.getAttribute("data-edge")).sort());
  const wantEdges = ["deployment.apps/api -> configmap/conf", "service/api -> deployment.apps/api", "service/front -> deployment.apps/front"];
  expect(JSON.stringify(edges) === JSON.stringify(wantEdges), `edges drawn ${JSON.stringify(edges)}, want ${JSON.stringify(wantEdges)}`);
  // Arrows go left to right: a Service's box left of its Deployment's.
  const x = async (id) => (await svg.locator(`[data-node="${id}"]`).boundingBox()).x;
  expect((await x("service/api")) < (await x("deployment.apps/api")), "service/api is drawn left of deployment.apps/api");
  await page.getByLabel("manifests").getByText("kind: Deployment").first().waitFor();
  await page.getByRole("button", { name: "revision 1", exact: true }).waitFor();
  await shot(page, "12-design");
});

test("conformance: a stored result in the matrix, its page with each test and the suite's reasons", async (page) => {
  // No cluster runs in this setup, so the result is seeded through the
  // CLI into the server's store: conformance-result.json is what the real
  // suite (MESH-HTTP, v1.6.3) wrote on the test node without a mesh
  // (internal/conformance TestNode, MESHPERF_TEST_CONFORMANCE_OUT).
  const bin = need("MESHPERF_BIN");
  const db = need("MESHPERF_DB");
  const errors = watchErrors(page);
  const file = new URL("./conformance-result.json", import.meta.url).pathname;
  const fixture = JSON.parse(readFileSync(file, "utf8"));
  const out = await promisify(execFile)(bin, ["conformance", "import", file, "--db", db], { timeout: 30_000 });
  const id = out.stdout.split(/\s+/)[3];
  expect(/^[0-9a-f]{20}$/.test(id ?? ""), `import said ${out.stdout}`);
  await page.goto(base + "/conformance");
  const matrix = page.getByRole("table", { name: "MESH-HTTP tests by mesh over time" });
  await matrix.waitFor();
  for (const t of fixture.tests) {
    const badge = matrix.locator("tr", { has: page.getByRole("rowheader", { name: t.name, exact: true }) }).locator(".badge").last();
    expect((await badge.getAttribute("title")) === t.status, `matrix: ${t.name} is ${t.status}`);
  }
  const c = fixture.counts;
  const rate = `${c.passed}/${c.passed + c.failed + c.notRun} passed`;
  await page.getByRole("table", { name: "conformance results" }).getByText(rate).first().waitFor();
  await shot(page, "14-conformance-matrix");
  await page.goto(base + "/conformance/" + id);
  const tests = page.getByRole("table", { name: "tests", exact: true });
  await tests.waitFor();
  const rows = await tests.locator("tbody tr").count();
  expect(rows === fixture.tests.length, `${rows} test rows, the result has ${fixture.tests.length}`);
  for (const t of fixture.tests.filter((t) => t.status === "fail")) {
    const row = tests.locator("tr", { has: page.getByRole("rowheader", { name: t.name, exact: true }) });
    await row.getByText(t.message.split("\n")[0], { exact: false }).first().waitFor();
    expect((await row.locator(".badge").getAttribute("title")) === "fail", `${t.name} shows fail`);
  }
  await page.getByText("The official ConformanceReport").click();
  await page.getByText("kind: ConformanceReport").waitFor();
  await shot(page, "14-conformance-result");
  expect(errors.length === 0, `console errors: ${errors.join("; ")}`);
});

// ---------------------------------------------------------------- runner

let failed = 0;
// E2E_ONLY=text runs only the tests whose name contains text (for working on one).
const only = process.env.E2E_ONLY;
const selected = tests.filter((t) => !only || t.name.includes(only));
for (const t of selected) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, ...t.opts });
  ctx.setDefaultTimeout(15_000);
  const page = await ctx.newPage();
  const started = Date.now();
  try {
    await t.fn(page);
    console.log(`ok   ${t.name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}: ${e.message.split("\n").slice(0, 6).join("\n     ")}`);
    await page.screenshot({ path: join(shots, `FAIL-${t.name.replace(/[^a-z0-9]+/gi, "-")}.png`), fullPage: true }).catch(() => {});
  }
  await ctx.close();
}
await browser.close();
console.log(failed ? `e2e: ${failed} of ${selected.length} failed (screenshots in ${shots})` : `e2e: all ${selected.length} passed (screenshots in ${shots})`);
process.exit(failed ? 1 : 0);
