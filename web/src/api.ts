// The meshperf API (/api/v1) as the UI uses it: types for what it returns,
// one fetch wrapper that turns error bodies into ApiError, and the tokens of
// team mode (kept in localStorage, refreshed once on a 401).

import type { components } from "./api.gen";
import { readSSE } from "./lib/sse";

// Every type of what the API sends and answers is generated from
// internal/server/openapi.json (npm run gen:api → api.gen.ts), which a Go
// test keeps equal to the Go types of internal/api field by field; a field
// renamed in Go fails the type check here.
type Schemas = components["schemas"];

export type Percentile = Schemas["Percentile"];
export type Distribution = Schemas["Distribution"];
export type Achieved = Schemas["Achieved"];
export type Interval = Schemas["Interval"];
/** The load generator process's own figures for a run (or an agent's share). */
export type ProcessStats = Schemas["ProcessStats"];
export type AgentResult = Schemas["AgentResult"];
export type Metric = Schemas["Metric"];
/** A stored result: the API answers only those, and they have their id. */
export type Result = Schemas["Result"] & Required<Pick<Schemas["Result"], "id">>;
export type ResultSummary = Schemas["ResultSummary"];
export type ResultPage = Schemas["ResultPage"];
export type Run = Schemas["Run"];
export type RunState = Run["state"];
export type RunPage = Schemas["RunPage"];
export type RunRequest = Schemas["RunRequest"];
export type Progress = Schemas["ProgressEvent"];
export type RunEvent = Schemas["Event"];
export type ProfileView = Schemas["ProfileView"];
export type ProfileList = Schemas["ProfileList"];
export type ProfileRevisions = Schemas["ProfileRevisions"];
export type Schedule = Schemas["ScheduleView"];
export type ScheduleList = Schemas["ScheduleList"];
export type ScheduleRequest = Schemas["ScheduleRequest"];
export type Comparison = Schemas["Comparison"];
export type CompareRequest = Schemas["CompareRequest"];
export type Verdict = Schemas["Verdict"];
export type VerdictsResponse = Schemas["VerdictsResponse"];
export type Info = Schemas["Info"];
export type Agent = Schemas["AgentView"];
export type AgentList = Schemas["AgentList"];
export type User = Schemas["User"];
export type Me = Schemas["Me"];
export type TokenResponse = Schemas["TokenResponse"];
/** One of several problems an API error names. */
export type ErrorDetail = Schemas["Detail"];

// Experiments (GET /api/v1/experiments[/{id}]; docs/experiments.md).
export type Experiment = Schemas["Experiment"];
export type ExperimentState = Experiment["state"];
export type ExperimentList = Schemas["ExperimentList"];
/** One figure over an experiment's repeats. */
export type Stat = Schemas["Stat"];
export type Overhead = Schemas["Overhead"];
export type ExperimentCell = Schemas["CellReport"];
export type ExperimentVariant = Schemas["VariantReport"];
export type ExperimentPoint = Schemas["PointReport"];
export type ExperimentReport = Schemas["ExperimentReport"];

// Capacity searches (GET /api/v1/capacity[/{id}]; docs/capacity.md).
export type CapacitySearch = Schemas["CapacitySearch"];
export type CapacityList = Schemas["CapacityList"];
export type CapacityView = Schemas["CapacityView"];
export type CapacityReport = Schemas["CapacityReport"];
export type CapacityStep = Schemas["CapacityStep"];
export type CapacityRequest = Schemas["CapacityRequest"];

/** An error from the API, in its words, with the fields it names. */
export class ApiError extends Error {
  status: number;
  code: string;
  field?: string;
  details: ErrorDetail[];
  constructor(status: number, code: string, message: string, field?: string, details: ErrorDetail[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

const tokenKey = "meshperf.tokens";

/** What is kept of a login's TokenResponse. */
type Tokens = Pick<TokenResponse, "access_token" | "refresh_token">;

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
  // What a proxy answers need not be the API's body: every part may be missing.
  let body: { error?: Partial<Schemas["ErrorDetail"]> } = {};
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
export type ConformanceResult = Schemas["ConformanceResult"];
export type ConformanceTest = Schemas["ConformanceTest"];
export type ConformanceView = Schemas["ConformanceView"];
export type MeshOverhead = Schemas["MeshOverhead"];
export type ConformanceList = Schemas["ConformanceList"];
export type ConformanceSummary = Schemas["ConformanceSummary"];
export type ConformanceMatrix = Schemas["ConformanceMatrix"];
