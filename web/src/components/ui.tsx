// Small shared pieces: loading and empty states, errors in words, state
// badges, and a hook that loads from the API.

import { Component, useCallback, useEffect, useState, type ReactNode } from "react";
import { ApiError } from "../api";

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** An error as a sentence, with what to do when we know. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.details.length > 1) return err.details.map((d) => d.message).join("; ");
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <strong>Something went wrong:</strong> {errorText(error)}
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}

/** Says that a distributed run lost part of its load, and, when the run is
 * known, which agents and why (the run's error). */
export function DegradedBanner({ reason }: { reason?: string }) {
  return (
    <p className="warn-box degraded" role="alert">
      <StateBadge state="degraded" /> Part of this distributed run was lost
      {reason ? `: ${reason}` : " (an agent dropped, failed, stopped early or had its data refused)"}. The figures are those of the
      agents that finished; see the notes and agents below.
    </p>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads from the API when deps change; reload() loads again. */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    load(ac.signal)
      .then((d) => {
        if (!ac.signal.aborted) {
          setData(d);
          setError(undefined);
        }
      })
      .catch((e) => {
        if (!ac.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload };
}

/** Sets the document title for the page. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · meshperf` : "meshperf";
  }, [title]);
}

/** Catches a page's rendering error and says so, instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: unknown; key: string }> {
  state = { error: undefined as unknown, key: this.props.resetKey };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: unknown; key: string }) {
    return props.resetKey !== state.key ? { error: undefined, key: props.resetKey } : null;
  }
  render() {
    if (this.state.error) {
      return <ErrorBox error={new Error(`this page failed to show: ${errorText(this.state.error)}. Reload, or go back.`)} />;
    }
    return this.props.children;
  }
}

/** A table column: its label, and whether it holds numbers (right-aligned). */
export type Col = string | { label: ReactNode; num?: boolean };

/** The header of a table, one `<th scope="col">` per column. */
export function TableHead({ cols }: { cols: Col[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c, i) => {
          const col = typeof c === "string" ? { label: c } : c;
          return (
            <th key={i} scope="col" className={col.num ? "num" : undefined}>
              {col.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

/** A numeric column. */
export const num = (label: string): Col => ({ label, num: true });

/** Calls reload every pollMs while the page is open. */
export function usePolling(reload: () => void, pollMs: number) {
  useEffect(() => {
    const t = setInterval(reload, pollMs);
    return () => clearInterval(t);
  }, [reload, pollMs]);
}

/** A page's title with its polling period and a button to read again now. */
export function PolledHeading({ title, pollMs, reload }: { title: string; pollMs: number; reload: () => void }) {
  return (
    <div className="row-between">
      <h1>{title}</h1>
      <div className="actions">
        <span className="hint">refreshed every {pollMs / 1000} s</span>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
    </div>
  );
}
