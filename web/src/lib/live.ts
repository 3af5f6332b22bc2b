// Following a run: its state and its per-second progress, from the
// server's event stream, reconnecting while the run is not over.

import { useEffect, useState } from "react";
import { followRun, type Progress, type Run } from "../api";

export const finalStates = new Set(["succeeded", "degraded", "failed", "cancelled", "interrupted", "missed"]);

export interface LiveRun {
  run: Run | null;
  seconds: Progress[];
  error: unknown;
}

/** Follows run id's events; seconds holds each second's progress. */
export function useLiveRun(id: string, initial?: Run): LiveRun {
  const [run, setRun] = useState<Run | null>(initial ?? null);
  const [seconds, setSeconds] = useState<Progress[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const ac = new AbortController();
    let done = false;
    let buffered: Progress[] = [];
    let timer = 0;
    const flush = () => {
      timer = 0;
      const add = buffered;
      buffered = [];
      // A reconnect replays history: keep one entry per second.
      setSeconds((s) => {
        const bySecond = new Map(s.map((p) => [p.second, p]));
        for (const p of add) bySecond.set(p.second, p);
        return [...bySecond.values()].sort((a, b) => a.second - b.second);
      });
    };
    const loop = async () => {
      for (let attempt = 0; !ac.signal.aborted && !done && attempt < 20; attempt++) {
        try {
          await followRun(
            id,
            (e) => {
              if (e.type === "state" && e.run) {
                setRun(e.run);
                if (finalStates.has(e.run.state)) done = true;
              } else if (e.type === "progress" && e.progress) {
                buffered.push(e.progress);
                if (!timer) timer = window.setTimeout(flush, 50);
              }
            },
            ac.signal,
          );
          setError(undefined);
        } catch (err) {
          if (ac.signal.aborted) return;
          setError(err);
        }
        if (!done && !ac.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    loop();
    return () => {
      ac.abort();
      if (timer) clearTimeout(timer);
    };
  }, [id]);
  return { run, seconds, error };
}
