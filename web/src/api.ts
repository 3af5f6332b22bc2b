// The meshperf API (/api/v1) as the UI uses it: types for what it returns,
// one fetch wrapper that turns error bodies into ApiError, and the tokens of
// team mode (kept in localStorage, refreshed once on a 401).

import { readSSE } from "./lib/sse";

export interface Percentile {
  p: number;
  ms: number;
}
export interface Distribution {
  count: number;
  min_ms: number;
  mean_ms: number;
  stddev_ms: number;
  max_ms: number;
  percentiles: Percentile[];
  histogram: string;
  histogram_unit: string;
  saturated?: number;
}
export interface Achieved {
  duration: string;
  requests: number;
  responses: number;
  rps: number;
  errors: number;
  error_rate: number;
  late: number;
  late_ratio: number;
  late_threshold?: string;
  dropped: number;
  bytes_sent: number;
  bytes_received: number;
}
export interface Interval {
  second: number;
  warmup?: boolean;
  seconds: number;
  requests: number;
  errors: number;
  requested_rps?: number;
  achieved_rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  status_codes?: Record<string, number>;
  error_classes?: Record<string, number>;
}
/** The load generator process's own figures for a run (or an agent's share). */
export interface ProcessStats {
  cpu_seconds: number;
  cpu_cores: number;
  max_rss_bytes: number;
  max_goroutines: number;
  late_ratio: number;
  saturated?: boolean;
}
export interface AgentResult {
  name: string;
  labels?: Record<string, string>;
  client?: string;
  rps: number;
  connections: number;
  achieved: Achieved;
  latency?: Distribution;
  service_time?: Distribution;
  clock_offset?: string;
  dropped?: boolean;
  dropped_at?: string;
  /** The agent's own process during its share. */
  process?: ProcessStats;
}
export interface Metric {
  name: string;
  query: string;
  unit?: string;
  /** The window the query was evaluated over. */
  start?: string;
  end?: string;
  series?: { labels?: Record<string, string>; samples: { t: string; v: number }[] }[];
  average: number;
  missing?: string;
}
export interface Result {
  schema: string;
  id: string;
  name?: string;
  labels?: Record<string, string>;
  profile_id?: string;
  profile_revision?: number;
  generator: { name: string; version: string; fidelity: string; histogram_resolution_us?: number };
  requested: {
    targets: string[];
    method: string;
    protocol: string;
    http_version?: string;
    connections: number;
    rps: number;
    shape: string;
    open_loop: boolean;
    duration?: string;
    requests?: number;
    warmup?: string;
    timeout?: string;
  };
  achieved: Achieved;
  start_time: string;
  end_time: string;
  latency?: Distribution;
  service_time?: Distribution;
  status_codes?: Record<string, number>;
  errors?: { class: string; count: number; examples?: string[] }[];
  timeline: Interval[];
  interrupted?: boolean;
  notes?: string[];
  agents?: AgentResult[];
  degraded?: boolean;
  process?: ProcessStats;
  metrics?: Metric[];
}
export interface ResultSummary {
  id: string;
  name?: string;
  generator: string;
  target: string;
  start_time: string;
  end_time: string;
  requested_rps: number;
  achieved_rps: number;
  requests: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  interrupted?: boolean;
  labels?: Record<string, string>;
}
export type RunState = "queued" | "running" | "succeeded" | "degraded" | "failed" | "cancelled" | "interrupted" | "missed";
export interface Run {
  id: string;
  state: RunState;
  profile_id?: string;
  profile_revision?: number;
  name?: string;
  labels?: Record<string, string>;
  result_id?: string;
  error?: string;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  schedule_id?: string;
}
export interface Progress {
  elapsed_s: number;
  second: number;
  warmup?: boolean;
  requested_rps?: number;
  achieved_rps: number;
  requests: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  total_requests: number;
  total_errors: number;
  total_rps: number;
  total_p50_ms: number;
  total_p90_ms: number;
  total_p99_ms: number;
}
export interface RunEvent {
  type: "state" | "progress";
  run?: Run;
  progress?: Progress;
}
export interface ProfileView {
  id: string;
  name: string;
  revision: number;
  labels?: Record<string, string>;
  created_at: string;
  updated_at: string;
  owner_id?: string;
  private?: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  profile?: Record<string, any>;
  warnings?: string[];
}
export interface Schedule {
  id: string;
  profile_id: string;
  spec: string;
  timezone?: string;
  enabled: boolean;
  created_at: string;
  last_due_at?: string;
  last_run_id?: string;
  next_due_at?: string;
  description: string;
}
export interface Comparison {
  columns: { id?: string; name?: string; generator: string; generator_version?: string; fidelity: string; targets: string[] }[];
  basis: string;
  rows: { metric: string; unit: string; cells: { value: number | null; diff?: number | null; ratio?: number | null }[] }[];
  warnings: string[];
}
export interface Verdict {
  objective: { metric: string; op: string; value: number; raw: string };
  actual: number;
  met: boolean;
  /** "not evaluated": the run failed, was cancelled or interrupted. */
  status?: "met" | "broken" | "not evaluated";
  reason?: string;
}
export interface Info {
  version: string;
  mode: "single-user" | "team";
  echo_url?: string;
  generators: { name: string; description: string; available: boolean; why?: string }[];
}
export interface Agent {
  name: string;
  labels?: Record<string, string>;
  version?: string;
  capacity?: { cores?: number };
  state: "idle" | "busy" | "disconnected" | string;
  last_heartbeat?: string;
  connected_at?: string;
  address?: string;
}
export interface User {
  id: string;
  name: string;
  admin: boolean;
}

// Experiments (GET /api/v1/experiments[/{id}]; docs/experiments.md).
export type ExperimentState = "running" | "done" | "failed" | "interrupted";
export interface Experiment {
  id: string;
  name: string;
  state: ExperimentState | string;
  error?: string;
  cells: number;
  done: number;
  created_at: string;
  updated_at: string;
}
/** One figure over an experiment's repeats. */
export interface Stat {
  n: number;
  median: number;
  min: number;
  max: number;
}
export interface Overhead {
  added_ms: number;
  ratio: number;
  noise_ms: number;
  noise_known: boolean;
  within_noise: boolean;
}
export interface ExperimentCell {
  repeat: number;
  result_id: string;
  latency_ms: Record<string, number>;
  achieved_rps: number;
  error_rate: number;
  metrics?: Record<string, number>;
  metrics_missing?: Record<string, string>;
  client_cpu_cores: number;
  client_saturated?: boolean;
  interrupted?: boolean;
}
export interface ExperimentVariant {
  name: string;
  cells: ExperimentCell[];
  latency_ms: Record<string, Stat>;
  achieved_rps: Stat;
  error_rate: Stat;
  metrics?: Record<string, Stat>;
  client_cpu_cores: Stat;
  client_saturated?: boolean;
  overhead?: Record<string, Overhead>;
}
export interface ExperimentPoint {
  rps: number;
  connections: number;
  variants: ExperimentVariant[];
}
export interface ExperimentReport {
  experiment: Experiment;
  baseline: string;
  variants: string[];
  repeats: number;
  latency: "latency" | "service_time" | "mixed" | string;
  metrics: string[];
  points: ExperimentPoint[];
}

/** An error from the API, in its words, with the fields it names. */
export class ApiError extends Error {
  status: number;
  code: string;
  field?: string;
  details: { field?: string; message: string }[];
  constructor(status: number, code: string, message: string, field?: string, details: { field?: string; message: string }[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

const tokenKey = "meshperf.tokens";

interface Tokens {
  access_token: string;
  refresh_token: string;
}

function loadTokens(): Tokens | null {
  try {
    return JSON.parse(localStorage.getItem(tokenKey) ?? "null");
  } catch {
    return null;
  }
}

export function hasTokens(): boolean {
  return loadTokens() !== null;
}

function saveTokens(t: Tokens | null) {
  if (t) localStorage.setItem(tokenKey, JSON.stringify({ access_token: t.access_token, refresh_token: t.refresh_token }));
  else localStorage.removeItem(tokenKey);
}

/** Listeners told when the API says the caller must log in. */
const unauthorized = new Set<() => void>();
export function onUnauthorized(f: () => void): () => void {
  unauthorized.add(f);
  return () => unauthorized.delete(f);
}

async function toError(resp: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; field?: string; details?: { field?: string; message: string }[] } } = {};
  try {
    body = await resp.json();
  } catch {
    // not JSON: a proxy's page, or nothing
  }
  const e = body.error;
  if (e?.message) return new ApiError(resp.status, e.code ?? "error", e.message, e.field, e.details ?? (e.field ? [{ field: e.field, message: e.message }] : []));
  return new ApiError(resp.status, "http", `the server answered ${resp.status} ${resp.statusText || ""}`.trim());
}

let refreshing: Promise<boolean> | null = null;

async function refresh(): Promise<boolean> {
  const t = loadTokens();
  if (!t) return false;
  refreshing ??= (async () => {
    try {
      const resp = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: t.refresh_token }),
      });
      if (!resp.ok) {
        saveTokens(null);
        return false;
      }
      saveTokens(await resp.json());
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => (refreshing = null), 0);
    }
  })();
  return refreshing;
}

/** Fetches an API path with the caller's token; errors become ApiError. */
export async function raw(path: string, init: RequestInit = {}, retry = true): Promise<Response> {
  const headers = new Headers(init.headers);
  const t = loadTokens();
  if (t) headers.set("Authorization", `Bearer ${t.access_token}`);
  let resp: Response;
  try {
    resp = await fetch(path, { ...init, headers });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "network", "the meshperf server cannot be reached (is it running?)");
  }
  if (resp.status === 401) {
    if (retry && t && (await refresh())) return raw(path, init, false);
    unauthorized.forEach((f) => f());
  }
  if (!resp.ok) throw await toError(resp);
  return resp;
}

/** GETs or sends JSON and returns the decoded answer. */
export async function api<T>(path: string, method = "GET", body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, signal };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "Content-Type": typeof body === "string" ? "application/yaml" : "application/json" };
  }
  const resp = await raw(path, init);
  if (resp.status === 204) return undefined as T;
  return (await resp.json()) as T;
}

export async function login(name: string, password: string): Promise<void> {
  const resp = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  if (!resp.ok) {
    const e = await toError(resp);
    if (resp.status === 401) e.message = "wrong name or password";
    throw e;
  }
  saveTokens(await resp.json());
}

export async function logout(): Promise<void> {
  const t = loadTokens();
  saveTokens(null);
  if (t) {
    await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: t.refresh_token }),
    }).catch(() => undefined);
  }
}

/** Follows a run's events until it ends or signal aborts. */
export async function followRun(id: string, onEvent: (e: RunEvent) => void, signal: AbortSignal): Promise<void> {
  const resp = await raw(`/api/v1/runs/${encodeURIComponent(id)}/events`, { signal, headers: { Accept: "text/event-stream" } });
  if (!resp.body) return;
  await readSSE(
    resp.body,
    (m) => {
      try {
        onEvent(JSON.parse(m.data));
      } catch {
        // a message we cannot read: skip it
      }
    },
    signal,
  );
}

/** The URL of an export of a result (a download link). */
export function exportURL(id: string, format: string): string {
  return `/api/v1/results/${encodeURIComponent(id)}/export?format=${encodeURIComponent(format)}`;
}

/** Downloads an export with the caller's token (team mode needs it). */
export async function download(id: string, format: string): Promise<void> {
  const resp = await raw(exportURL(id, format));
  const blob = await resp.blob();
  const cd = resp.headers.get("Content-Disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? `meshperf-${id}.${format}`;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export const exportFormats = [
  { format: "json", label: "JSON (full result, histograms)" },
  { format: "smp", label: "SMP result (YAML, with meshperf's extension)" },
  { format: "smp-strict", label: "SMP result, strict (official proto JSON)" },
  { format: "fortio", label: "fortio JSON" },
  { format: "csv", label: "CSV summary" },
  { format: "timeline-csv", label: "CSV timeline" },
];
