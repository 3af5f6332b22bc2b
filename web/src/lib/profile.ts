// The New test form and the SMP YAML it produces. The document (a plain
// object as YAML/JSON gives it) is the source of truth: the form reads the
// fields it knows from it and writes them back, leaving every other field
// (cookies, ssl_certificate, additional_options, ...) as it was, so editing
// either side never loses the other's work.

import { parse, stringify } from "yaml";

export type KV = [string, string];

/** One client (group of load) as the form shows it. */
export interface ClientForm {
  generator: string;
  targets: string[];
  method: string;
  headers: KV[];
  body: string;
  contentType: string;
  rps: string;
  /** constant, ramp or steps; shapeArgs holds what follows "ramp:". */
  shapeKind: "constant" | "ramp" | "steps";
  shapeArgs: string;
  connections: string;
  httpVersion: string;
  timeout: string;
  /** Agents to spread this client over (distributed runs); "" for none. */
  agentsCount: string;
  agentsSelector: string;
  /** What a lost agent does to the run: "" (continue) or "abort". */
  agentsOnDrop: string;
}

/** The whole profile as the form shows it. */
export interface ProfileForm {
  name: string;
  labels: KV[];
  duration: string;
  warmup: string;
  slo: string[];
  clients: ClientForm[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = Record<string, any>;

/**
 * The YAML keys of the agents extension inside each client. The SMP
 * extension for agents is still being designed: change these in one place.
 */
export const agentsKeys = { block: "agents", count: "count", selector: "selector", onDrop: "on_drop" } as const;

/** The server's default connections per client (loadgen.DefaultConnections): the form's hint and the starter profile say the same. */
export const defaultConnections = 10;

/** SMP's protocol numbers by name, as the YAML writes them. */
export const protocolNames: Record<number, string> = { 1: "http", 2: "tcp", 3: "udp", 4: "grpc" };

/** A first profile: a 10-second test of `target` at 100 requests a second. */
export function starterDoc(target: string): Doc {
  return {
    smp_version: "v0.0.1",
    name: "first test",
    duration: "10s",
    meshperf: { warmup: "1s", slo: ["p99<=50ms", "error_rate<1%"] },
    clients: [
      {
        load_generator: "meshperf",
        protocol: "http",
        connections: defaultConnections,
        rps: 100,
        endpoint_urls: [target],
        meshperf: { rate_shape: "constant", method: "GET" },
      },
    ],
  };
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

function kvs(v: unknown): KV[] {
  if (!v || typeof v !== "object" || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, str(x)]);
}

/** First of several spellings present (snake_case or Meshery's camelCase). */
function pick(o: Doc | undefined, ...names: string[]): unknown {
  if (!o) return undefined;
  for (const n of names) if (o[n] !== undefined) return o[n];
  return undefined;
}

function shapeOf(s: string): { shapeKind: ClientForm["shapeKind"]; shapeArgs: string } {
  const [kind, ...rest] = s.split(":");
  if (kind === "ramp" || kind === "steps") return { shapeKind: kind, shapeArgs: rest.join(":") };
  return { shapeKind: "constant", shapeArgs: "" };
}

/** The test object of a document (Meshery's file form wraps it in test:). */
export function testOf(doc: Doc): Doc {
  return doc && typeof doc.test === "object" && doc.test !== null ? doc.test : doc;
}

/** Reads the form's fields from a document. */
export function docToForm(doc: Doc): ProfileForm {
  const t = testOf(doc) ?? {};
  const x: Doc = t.meshperf ?? {};
  const clients: Doc[] = Array.isArray(t.clients) && t.clients.length > 0 ? t.clients : [{}];
  return {
    name: str(t.name),
    labels: kvs(t.labels),
    duration: str(t.duration),
    warmup: str(x.warmup),
    slo: Array.isArray(x.slo) ? x.slo.map(str) : x.slo ? [str(x.slo)] : [],
    clients: clients.map((c) => {
      const cx: Doc = c.meshperf ?? {};
      const ag: Doc = c[agentsKeys.block] ?? {};
      const urls = pick(c, "endpoint_urls", "endpointUrls");
      return {
        generator: str(pick(c, "load_generator", "loadGenerator")) || "meshperf",
        targets: Array.isArray(urls) ? urls.map(str) : [],
        method: str(cx.method),
        headers: kvs(c.headers),
        body: str(c.body),
        contentType: str(pick(c, "content_type", "contentType")),
        rps: str(c.rps ?? ""),
        ...shapeOf(str(cx.rate_shape)),
        connections: str(c.connections ?? ""),
        httpVersion: str(cx.http_version),
        timeout: str(cx.timeout),
        agentsCount: str(ag[agentsKeys.count] ?? ""),
        agentsSelector: str(ag[agentsKeys.selector]),
        agentsOnDrop: str(ag[agentsKeys.onDrop]),
      };
    }),
  };
}

/** Sets o[k] to v, or removes it when v is empty. */
function put(o: Doc, k: string, v: unknown) {
  const empty = v === "" || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  if (empty) delete o[k];
  else o[k] = v;
}

/** A number when the text is one, else the text (the server names the error). */
function num(s: string): number | string {
  const t = s.trim();
  return t !== "" && /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}

function kvObject(kv: KV[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of kv) if (k.trim() !== "") o[k.trim()] = v;
  return o;
}

/** Writes the form's fields into a copy of the document. */
export function applyForm(doc: Doc, f: ProfileForm): Doc {
  const out: Doc = structuredClone(doc ?? {});
  const t = testOf(out);
  if (!t.smp_version && !t.smpVersion) t.smp_version = "v0.0.1";
  put(t, "name", f.name.trim());
  put(t, "labels", kvObject(f.labels));
  put(t, "duration", f.duration.trim());
  const x: Doc = { ...(t.meshperf ?? {}) };
  put(x, "warmup", f.warmup.trim());
  put(x, "slo", f.slo.map((s) => s.trim()).filter((s) => s !== ""));
  put(t, "meshperf", x);
  const old: Doc[] = Array.isArray(t.clients) ? t.clients : [];
  t.clients = f.clients.map((c, i) => {
    const o: Doc = { ...(old[i] ?? {}) };
    delete o.loadGenerator;
    delete o.endpointUrls;
    delete o.contentType;
    put(o, "load_generator", c.generator.trim());
    // Written by name (SMP's numbers are accepted too): protocol: http, not 1.
    if (o.protocol === undefined) o.protocol = "http";
    else if (typeof o.protocol === "number" && protocolNames[o.protocol]) o.protocol = protocolNames[o.protocol];
    put(o, "connections", num(c.connections));
    o.rps = c.rps.trim() === "" ? 0 : num(c.rps);
    o.endpoint_urls = c.targets.map((u) => u.trim()).filter((u) => u !== "");
    put(o, "headers", kvObject(c.headers));
    put(o, "body", c.body);
    put(o, "content_type", c.contentType.trim());
    const cx: Doc = { ...(o.meshperf ?? {}) };
    put(cx, "rate_shape", c.shapeKind === "constant" ? (cx.rate_shape ? "constant" : "") : `${c.shapeKind}:${c.shapeArgs.trim()}`);
    put(cx, "method", c.method.trim().toUpperCase());
    put(cx, "http_version", c.httpVersion.trim());
    put(cx, "timeout", c.timeout.trim());
    put(o, "meshperf", cx);
    const ag: Doc = { ...(o[agentsKeys.block] ?? {}) };
    put(ag, agentsKeys.count, num(c.agentsCount));
    put(ag, agentsKeys.selector, c.agentsSelector.trim());
    put(ag, agentsKeys.onDrop, c.agentsOnDrop);
    put(o, agentsKeys.block, ag);
    return o;
  });
  return out;
}

/** The document as YAML text. */
export function toYAML(doc: Doc): string {
  return stringify(doc, { lineWidth: 0 });
}

/** Reads YAML (or JSON) text into a document; throws with the line on error. */
export function fromYAML(text: string): Doc {
  const doc = parse(text, { prettyErrors: true, maxAliasCount: 100 });
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error("the profile must be a mapping (smp_version, name, duration, clients, ...)");
  }
  return doc as Doc;
}

/**
 * The form field a server field path names: "profile_document.clients[0].
 * endpoint_urls[1]" → "clients.0.targets". Unknown paths come back as they
 * are (shown above the form).
 */
export function fieldKey(path: string): string {
  const p = path.replace(/^profile_document\./, "").replace(/^test\./, "");
  const m = /^clients\[(\d+)\]\.?(.*)$/.exec(p);
  if (m) {
    const [, i, rest] = m;
    const map: Record<string, string> = {
      endpoint_urls: "targets",
      endpointUrls: "targets",
      rps: "rps",
      connections: "connections",
      headers: "headers",
      body: "body",
      content_type: "contentType",
      load_generator: "generator",
      "meshperf.rate_shape": "rate",
      "meshperf.method": "method",
      "meshperf.http_version": "httpVersion",
      "meshperf.timeout": "timeout",
      [`${agentsKeys.block}.${agentsKeys.count}`]: "agentsCount",
      [`${agentsKeys.block}.${agentsKeys.selector}`]: "agentsSelector",
      [`${agentsKeys.block}.${agentsKeys.onDrop}`]: "agentsOnDrop",
    };
    const key = rest.replace(/\[\d+\]$/, "");
    if (key === "") return `clients.${i}`;
    return map[key] ? `clients.${i}.${map[key]}` : `clients.${i}.${key}`;
  }
  if (p.startsWith("meshperf.slo")) return "slo";
  if (p === "meshperf.warmup") return "warmup";
  if (p.startsWith("labels")) return "labels";
  return p;
}

const durationRe = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Checks what can be checked in the browser, keyed like fieldKey. */
export function validateForm(f: ProfileForm): Record<string, string> {
  const errs: Record<string, string> = {};
  if (f.duration.trim() !== "" && !durationRe.test(f.duration.trim())) errs.duration = `"${f.duration}" is not a duration such as 30s or 5m`;
  if (f.warmup.trim() !== "") {
    if (!durationRe.test(f.warmup.trim())) errs.warmup = `"${f.warmup}" is not a duration such as 5s`;
  }
  f.clients.forEach((c, i) => {
    const k = `clients.${i}.`;
    const targets = c.targets.filter((t) => t.trim() !== "");
    if (targets.length === 0) errs[k + "targets"] = "at least one target URL is required";
    for (const t of targets) {
      try {
        const u = new URL(t.trim());
        if (u.protocol !== "http:" && u.protocol !== "https:") errs[k + "targets"] = `${t}: want an http:// or https:// URL`;
      } catch {
        errs[k + "targets"] = `${t}: not a URL (want e.g. http://127.0.0.1:8080/)`;
      }
    }
    if (c.rps.trim() !== "" && !/^\d+$/.test(c.rps.trim())) errs[k + "rps"] = "want a whole number of requests per second (0: as fast as possible)";
    if (c.connections.trim() !== "" && !/^\d+$/.test(c.connections.trim())) errs[k + "connections"] = "want a whole number of connections";
    if (c.shapeKind !== "constant" && c.shapeArgs.trim() === "")
      errs[k + "rate"] = c.shapeKind === "ramp" ? "a ramp needs FROM-TO, e.g. 100-1000/30s" : "steps need RATE/DURATION,..., e.g. 100/10s,500/10s";
    if (c.timeout.trim() !== "" && !durationRe.test(c.timeout.trim())) errs[k + "timeout"] = `"${c.timeout}" is not a duration`;
    if (c.agentsCount.trim() !== "" && !/^\d+$/.test(c.agentsCount.trim())) errs[k + "agentsCount"] = "want a whole number of agents";
    if (c.agentsSelector.trim() !== "" && !/^[^=,\s]+=[^=,\s]*(,[^=,\s]+=[^=,\s]*)*$/.test(c.agentsSelector.trim()))
      errs[k + "agentsSelector"] = "want key=value labels, comma-separated (e.g. zone=a)";
  });
  return errs;
}
