// New test: a form for every profile field side by side with the SMP YAML it
// produces, editable both ways; errors (the browser's and the server's) on
// their fields; save as a profile; run.

import { useEffect, useId, useMemo, useState, type ReactNode } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, ApiError, type ProfileView, type Run, type RunRequest } from "../api";
import { useSession } from "../App";
import { ErrorBox, Loading, errorText, useTitle } from "../components/ui";
import {
  applyForm,
  docToForm,
  fieldKey,
  fromYAML,
  starterDoc,
  toYAML,
  validateForm,
  type ClientForm,
  type Doc,
  type KV,
  type ProfileForm,
  defaultConnections,
} from "../lib/profile";

const defaultTarget = "http://127.0.0.1:8080/";

/** A labelled field with its error, wired for screen readers. */
function Field({ label, error, hint, children, id }: { label: string; error?: string; hint?: ReactNode; children: (props: FieldProps) => ReactNode; id: string }) {
  const errId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errId : "", hint ? hintId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy })}
      {hint && (
        <p id={hintId} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={errId} className="field-error" data-field-error={id}>
          {error}
        </p>
      )}
    </div>
  );
}

interface FieldProps {
  id: string;
  "aria-invalid"?: boolean;
  "aria-describedby"?: string;
}

function KVEditor({ label, rows, onChange, error, id }: { label: string; rows: KV[]; onChange: (r: KV[]) => void; error?: string; id: string }) {
  return (
    <fieldset className={`kv${error ? " invalid" : ""}`}>
      <legend>{label}</legend>
      {rows.map(([k, v], i) => (
        <div className="kv-row" key={i}>
          <input aria-label={`${label} ${i + 1} name`} value={k} placeholder="name" onChange={(e) => onChange(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
          <input aria-label={`${label} ${i + 1} value`} value={v} placeholder="value" onChange={(e) => onChange(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))} />
          <button type="button" className="icon" aria-label={`remove ${label} ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="link" id={id} onClick={() => onChange([...rows, ["", ""]])}>
        + add
      </button>
      {error && <p className="field-error">{error}</p>}
    </fieldset>
  );
}

function ClientFields({
  c,
  i,
  n,
  errs,
  generators,
  onChange,
  onRemove,
}: {
  c: ClientForm;
  i: number;
  n: number;
  errs: Record<string, string>;
  generators: { name: string; available: boolean; why?: string }[];
  onChange: (c: ClientForm) => void;
  onRemove: () => void;
}) {
  const uid = useId();
  const k = (f: string) => `clients.${i}.${f}`;
  const id = (f: string) => `${uid}-${f}`;
  const set = <K extends keyof ClientForm>(f: K, v: ClientForm[K]) => onChange({ ...c, [f]: v });
  return (
    <fieldset className="client">
      <legend>{n > 1 ? `Client ${i + 1}` : "Load"}</legend>
      {n > 1 && (
        <button type="button" className="link remove-client" onClick={onRemove}>
          Remove client {i + 1}
        </button>
      )}
      <Field id={id("targets")} label="Targets (one URL a line)" error={errs[k("targets")]}>
        {(p) => (
          <textarea {...p} name={k("targets")} rows={2} className="mono" value={c.targets.join("\n")} onChange={(e) => set("targets", e.target.value.split("\n"))} />
        )}
      </Field>
      <div className="grid-3">
        <Field id={id("method")} label="Method" error={errs[k("method")]}>
          {(p) => (
            <select {...p} name={k("method")} value={c.method} onChange={(e) => set("method", e.target.value)}>
              <option value="">default (GET, or POST with a body)</option>
              {["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          )}
        </Field>
        <Field id={id("rps")} label="Rate (requests/s)" error={errs[k("rps")]} hint="0: as fast as the connections allow (closed loop)">
          {(p) => <input {...p} name={k("rps")} inputMode="numeric" value={c.rps} onChange={(e) => set("rps", e.target.value)} />}
        </Field>
        <Field id={id("connections")} label="Connections" error={errs[k("connections")]} hint={`default ${defaultConnections}`}>
          {(p) => <input {...p} name={k("connections")} inputMode="numeric" value={c.connections} onChange={(e) => set("connections", e.target.value)} />}
        </Field>
      </div>
      <div className="grid-3">
        <Field id={id("shape")} label="Rate shape" error={errs[k("rate")]}>
          {(p) => (
            <select {...p} name={k("shapeKind")} value={c.shapeKind} onChange={(e) => set("shapeKind", e.target.value as ClientForm["shapeKind"])}>
              <option value="constant">constant</option>
              <option value="ramp">ramp</option>
              <option value="steps">steps</option>
            </select>
          )}
        </Field>
        {c.shapeKind !== "constant" && (
          <Field
            id={id("shapeArgs")}
            label={c.shapeKind === "ramp" ? "Ramp FROM-TO[/over]" : "Steps RATE/FOR,..."}
            hint={c.shapeKind === "ramp" ? "e.g. 100-1000/30s, then hold" : "e.g. 100/10s,500/10s,1000/10s"}
          >
            {(p) => <input {...p} name={k("shapeArgs")} className="mono" value={c.shapeArgs} onChange={(e) => set("shapeArgs", e.target.value)} />}
          </Field>
        )}
        <Field id={id("generator")} label="Generator" error={errs[k("generator")]}>
          {(p) => (
            <select {...p} name={k("generator")} value={c.generator} onChange={(e) => set("generator", e.target.value)}>
              {(generators.length ? generators : [{ name: "meshperf", available: true }]).map((g) => (
                <option key={g.name} value={g.name} disabled={!g.available}>
                  {g.name}
                  {g.available ? "" : ` (${g.why ?? "not available"})`}
                </option>
              ))}
              {!generators.some((g) => g.name === c.generator) && c.generator !== "meshperf" && <option value={c.generator}>{c.generator}</option>}
            </select>
          )}
        </Field>
      </div>
      <div className="grid-3">
        <Field id={id("httpVersion")} label="HTTP version" error={errs[k("httpVersion")]}>
          {(p) => (
            <select {...p} name={k("httpVersion")} value={c.httpVersion} onChange={(e) => set("httpVersion", e.target.value)}>
              <option value="">default (1.1)</option>
              <option value="1.1">1.1</option>
              <option value="2">2 (TLS, ALPN)</option>
              <option value="h2c">h2c (cleartext)</option>
            </select>
          )}
        </Field>
        <Field id={id("timeout")} label="Request timeout" error={errs[k("timeout")]} hint="default 30s">
          {(p) => <input {...p} name={k("timeout")} value={c.timeout} onChange={(e) => set("timeout", e.target.value)} />}
        </Field>
        <Field id={id("contentType")} label="Content type" error={errs[k("contentType")]}>
          {(p) => <input {...p} name={k("contentType")} value={c.contentType} placeholder="application/json" onChange={(e) => set("contentType", e.target.value)} />}
        </Field>
      </div>
      <KVEditor id={id("headers")} label="Headers" rows={c.headers} onChange={(r) => set("headers", r)} error={errs[k("headers")]} />
      <Field id={id("body")} label="Body" error={errs[k("body")]}>
        {(p) => <textarea {...p} name={k("body")} rows={2} className="mono" value={c.body} onChange={(e) => set("body", e.target.value)} />}
      </Field>
      <div className="grid-3">
        <Field id={id("agentsCount")} label="Agents" error={errs[k("agentsCount")]} hint="spread this load over N agents; empty: run here">
          {(p) => <input {...p} name={k("agentsCount")} inputMode="numeric" value={c.agentsCount} onChange={(e) => set("agentsCount", e.target.value)} />}
        </Field>
        <Field id={id("agentsSelector")} label="Agent selector" error={errs[k("agentsSelector")]} hint="labels the agents must have, e.g. zone=a">
          {(p) => <input {...p} name={k("agentsSelector")} value={c.agentsSelector} onChange={(e) => set("agentsSelector", e.target.value)} />}
        </Field>
        <Field id={id("agentsOnDrop")} label="If an agent is lost" error={errs[k("agentsOnDrop")]}>
          {(p) => (
            <select {...p} name={k("agentsOnDrop")} value={c.agentsOnDrop} onChange={(e) => set("agentsOnDrop", e.target.value)}>
              <option value="">continue with the others</option>
              <option value="continue">continue (explicit)</option>
              <option value="abort">abort the run</option>
            </select>
          )}
        </Field>
      </div>
    </fieldset>
  );
}

const formKeys = ["name", "labels", "duration", "warmup", "slo"];
const clientKeys = ["targets", "method", "rps", "connections", "rate", "generator", "httpVersion", "timeout", "contentType", "headers", "body", "agentsCount", "agentsSelector", "agentsOnDrop"];

/** Splits the server's problems into those shown on a field and the rest. */
export function serverProblems(err: ApiError, clients: number): { fields: Record<string, string>; general: string[] } {
  const fields: Record<string, string> = {};
  const general: string[] = [];
  const details = err.details.length ? err.details : [{ field: err.field, message: err.message }];
  for (const d of details) {
    const key = d.field ? fieldKey(d.field) : "";
    const m = /^clients\.(\d+)\.(\w+)$/.exec(key);
    const shown = formKeys.includes(key) || (m !== null && Number(m[1]) < clients && clientKeys.includes(m[2]));
    // The message repeats the path ("clients[0].rps: must be ..."): drop it on the field.
    const msg = d.field && d.message.includes(": ") ? d.message.slice(d.message.indexOf(": ") + 2) : d.message;
    if (shown) fields[key] = fields[key] ? `${fields[key]}; ${msg}` : msg;
    else general.push(d.message);
  }
  return { fields, general };
}

export function NewTest() {
  const { info } = useSession();
  const [params] = useSearchParams();
  const profileRef = params.get("profile");
  const navigate = useNavigate();
  useTitle(profileRef ? "Edit profile" : "New test");

  const [stored, setStored] = useState<ProfileView | null>(null);
  const [loadError, setLoadError] = useState<unknown>();
  const [doc, setDoc] = useState<Doc | null>(null);
  const [form, setForm] = useState<ProfileForm | null>(null);
  const [yamlText, setYamlText] = useState("");
  const [yamlError, setYamlError] = useState<string>();
  const [serverErrs, setServerErrs] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [busy, setBusy] = useState<"" | "run" | "save">("");
  const [saved, setSaved] = useState<ProfileView | null>(null);
  const [dirty, setDirty] = useState(false);
  const [touched, setTouched] = useState(false);

  // Start from the stored profile, or from a first test of the echo target.
  useEffect(() => {
    const start = (d: Doc) => {
      setDoc(d);
      setForm(docToForm(d));
      setYamlText(toYAML(d));
    };
    if (!profileRef) {
      start(starterDoc(info?.echo_url ?? defaultTarget));
      return;
    }
    api<ProfileView>(`/api/v1/profiles/${encodeURIComponent(profileRef)}`)
      .then((p) => {
        setStored(p);
        const d = { ...(p.profile ?? {}) };
        delete d.id;
        start(d);
      })
      .catch(setLoadError);
  }, [profileRef, info?.echo_url]);

  const clientErrs = useMemo(() => (form && touched ? validateForm(form) : {}), [form, touched]);
  const errs = { ...clientErrs, ...serverErrs };

  if (loadError) return <ErrorBox error={loadError} />;
  if (!form || !doc) return <Loading what="the profile" />;

  const changeForm = (f: ProfileForm) => {
    const d = applyForm(doc, f);
    setForm(f);
    setDoc(d);
    setYamlText(toYAML(d));
    setYamlError(undefined);
    setServerErrs({});
    setDirty(true);
    setTouched(true);
  };
  const changeYAML = (text: string) => {
    setYamlText(text);
    setDirty(true);
    try {
      const d = fromYAML(text);
      setDoc(d);
      setForm(docToForm(d));
      setYamlError(undefined);
      setServerErrs({});
      setTouched(true);
    } catch (e) {
      setYamlError(errorText(e));
    }
  };
  const setF = <K extends keyof ProfileForm>(k: K, v: ProfileForm[K]) => changeForm({ ...form, [k]: v });

  const fail = (e: unknown) => {
    if (e instanceof ApiError && (e.details.length > 0 || e.field)) {
      const p = serverProblems(e, form.clients.length);
      setServerErrs(p.fields);
      setGeneral(p.general);
      if (Object.keys(p.fields).length > 0) {
        // Take keyboard users to the first field in error.
        setTimeout(() => (document.querySelector(".field.invalid input, .field.invalid textarea, .field.invalid select") as HTMLElement | null)?.focus(), 0);
      }
    } else {
      setGeneral([errorText(e)]);
    }
  };

  const blocked = yamlError !== undefined || Object.keys(validateForm(form)).length > 0;

  const run = async () => {
    setTouched(true);
    if (blocked) return;
    setBusy("run");
    setGeneral([]);
    try {
      const body: RunRequest = stored && !dirty ? { profile: stored.id } : { profile_document: doc };
      const r = await api<Run>("/api/v1/runs", "POST", body);
      navigate(`/runs/${r.id}`);
    } catch (e) {
      fail(e);
    } finally {
      setBusy("");
    }
  };

  const save = async () => {
    setTouched(true);
    if (blocked) return;
    setBusy("save");
    setGeneral([]);
    try {
      const p = stored
        ? await api<ProfileView>(`/api/v1/profiles/${encodeURIComponent(stored.id)}`, "PUT", doc)
        : await api<ProfileView>("/api/v1/profiles", "POST", doc);
      setSaved(p);
      setStored(p);
      setDirty(false);
      if (!profileRef) navigate(`/new?profile=${p.id}`, { replace: true });
    } catch (e) {
      fail(e);
    } finally {
      setBusy("");
    }
  };

  return (
    <section>
      <h1>{stored ? `Profile ${stored.name}` : "New test"}</h1>
      {stored && (
        <p className="muted">
          Editing revision {stored.revision} of <Link to={`/profiles/${stored.id}`}>{stored.name}</Link>. Saving makes a new revision.
        </p>
      )}
      {!stored && info?.echo_url && (
        <p className="muted">
          The target is the echo server meshperf started at <code>{info.echo_url}</code>. Press <strong>Run</strong> to try it.
        </p>
      )}
      {general.length > 0 && (
        <div className="error-box" role="alert">
          <strong>The server refused the profile:</strong>
          <ul>
            {general.map((g, i) => (
              <li key={i}>{g}</li>
            ))}
          </ul>
        </div>
      )}
      {Object.keys(serverErrs).length > 0 && general.length === 0 && (
        <div className="error-box" role="alert">
          The server found problems; they are shown on their fields.
        </div>
      )}
      {saved && !dirty && (
        <p className="ok-box" role="status">
          Saved as profile <Link to={`/profiles/${saved.id}`}>{saved.name}</Link>, revision {saved.revision}.
          {saved.warnings?.length ? ` Warnings: ${saved.warnings.join("; ")}` : ""}
        </p>
      )}
      <div className="editor">
        <form
          className="profile-form"
          aria-label="Profile"
          onSubmit={(e) => {
            e.preventDefault();
            run();
          }}
        >
          <fieldset>
            <legend>Test</legend>
            <div className="grid-2">
              <Field id="f-name" label="Name" error={errs.name} hint="needed to save as a profile">
                {(p) => <input {...p} name="name" value={form.name} onChange={(e) => setF("name", e.target.value)} />}
              </Field>
              <Field id="f-duration" label="Duration" error={errs.duration} hint="measured time, e.g. 30s, 5m">
                {(p) => <input {...p} name="duration" value={form.duration} onChange={(e) => setF("duration", e.target.value)} />}
              </Field>
              <Field id="f-warmup" label="Warm-up" error={errs.warmup} hint="whole seconds, left out of the summary">
                {(p) => <input {...p} name="warmup" value={form.warmup} onChange={(e) => setF("warmup", e.target.value)} />}
              </Field>
            </div>
            <KVEditor id="f-labels" label="Labels" rows={form.labels} onChange={(r) => setF("labels", r)} error={errs.labels} />
            <fieldset className={`slo${errs.slo ? " invalid" : ""}`}>
              <legend>Objectives (SLOs)</legend>
              {form.slo.map((s, i) => (
                <div className="kv-row" key={i}>
                  <input
                    aria-label={`objective ${i + 1}`}
                    name={`slo.${i}`}
                    className="mono"
                    value={s}
                    placeholder="p99<=20ms"
                    onChange={(e) => setF("slo", form.slo.map((x, j) => (j === i ? e.target.value : x)))}
                  />
                  <button type="button" className="icon" aria-label={`remove objective ${i + 1}`} onClick={() => setF("slo", form.slo.filter((_, j) => j !== i))}>
                    ×
                  </button>
                </div>
              ))}
              <button type="button" className="link" onClick={() => setF("slo", [...form.slo, ""])}>
                + add objective
              </button>
              <p className="hint">p50…p99.99, max, mean (service_ forms too) in time; error_rate, late_ratio as a ratio; rps</p>
              {errs.slo && <p className="field-error">{errs.slo}</p>}
            </fieldset>
          </fieldset>
          {form.clients.map((c, i) => (
            <ClientFields
              key={i}
              c={c}
              i={i}
              n={form.clients.length}
              errs={errs}
              generators={info?.generators ?? []}
              onChange={(nc) => setF("clients", form.clients.map((x, j) => (j === i ? nc : x)))}
              onRemove={() => setF("clients", form.clients.filter((_, j) => j !== i))}
            />
          ))}
          <button
            type="button"
            className="link"
            onClick={() => setF("clients", [...form.clients, { ...form.clients[form.clients.length - 1], agentsCount: "", agentsSelector: "", agentsOnDrop: "" }])}
          >
            + add a client (another group of load, run at the same time)
          </button>
          <div className="actions sticky-actions">
            <button type="submit" className="primary" disabled={busy !== ""}>
              {busy === "run" ? "Starting…" : "Run"}
            </button>
            <button type="button" onClick={save} disabled={busy !== ""}>
              {busy === "save" ? "Saving…" : stored ? "Save new revision" : "Save as profile"}
            </button>
            {blocked && touched && <span className="field-error">Fix the marked fields first.</span>}
          </div>
        </form>
        <div className="yaml-side">
          <label htmlFor="profile-yaml">SMP profile (YAML), editable</label>
          <textarea
            id="profile-yaml"
            className="mono yaml"
            spellCheck={false}
            value={yamlText}
            aria-invalid={yamlError ? true : undefined}
            aria-describedby={yamlError ? "yaml-error" : undefined}
            onChange={(e) => changeYAML(e.target.value)}
          />
          {yamlError && (
            <pre id="yaml-error" className="field-error" role="alert">
              {yamlError}
            </pre>
          )}
        </div>
      </div>
    </section>
  );
}
