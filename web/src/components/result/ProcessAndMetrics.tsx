// The load generator's own process figures and the Prometheus metrics of
// the run, side by side; nothing when the result has neither.

import type { Result } from "../../api";
import { MetricsPanel } from "../Metrics";
import { fmtBytes, fmtCount, fmtPct } from "../../lib/format";
import { Figure } from "./Figure";

export function ProcessAndMetrics({ r }: { r: Result }) {
  if (!r.process && (r.metrics ?? []).length === 0) return null;
  return (
    <div className="grid-2">
      {r.process && (
        <div className="panel">
          <h2>Load generator process</h2>
          <dl className="figures compact">
            <Figure label="CPU" value={`${r.process.cpu_cores.toFixed(2)} cores`} sub={`${r.process.cpu_seconds.toFixed(1)} s`} />
            <Figure label="peak memory" value={fmtBytes(r.process.max_rss_bytes)} />
            <Figure label="goroutines" value={fmtCount(r.process.max_goroutines)} />
            <Figure label="late sends" value={fmtPct(r.process.late_ratio)} />
          </dl>
        </div>
      )}
      {(r.metrics ?? []).length > 0 && <MetricsPanel metrics={r.metrics!} />}
    </div>
  );
}
