// The latency distribution: the percentile curve (HdrHistogram-style, x by
// 1/(1−p)) and the histogram, corrected latency next to service time.

import { useEffect, useMemo, useState } from "react";
import type uPlot from "uplot";
import type { Distribution, Result } from "../../api";
import { Chart, useTheme } from "../Chart";
import { histogramOptions, percentileOptions } from "../charts";
import { Empty, ErrorBox, Loading, errorText } from "../ui";
import { decodeHistogram, histRange, logBins, maxPosition, percentileCurve, percentileGrid, percentileOf, summary, unitToMs, withMax, type Histogram } from "../../lib/hdr";

interface Decoded {
  latency?: Histogram;
  service?: Histogram;
  error?: string;
}

/** Decodes a result's histograms (off the first paint). */
function useHistograms(r: Result | undefined): Decoded | null {
  const [d, setD] = useState<Decoded | null>(null);
  useEffect(() => {
    if (!r) return;
    let live = true;
    const dec = (x?: Distribution) => (x?.histogram ? decodeHistogram(x.histogram) : Promise.resolve(undefined));
    Promise.all([dec(r.latency), dec(r.service_time)])
      .then(([latency, service]) => live && setD({ latency, service }))
      .catch((e) => live && setD({ error: errorText(e) }));
    return () => {
      live = false;
    };
  }, [r]);
  return d;
}

/** A distribution's percentile curve on the grid, from its histogram or its listed percentiles. */
export function curve(dist: Distribution | undefined, h: Histogram | undefined, xs: number[]): (number | null)[] {
  if (!dist) return xs.map(() => null);
  if (h && h.total > 0) return percentileCurve(h, xs, unitToMs(dist.histogram_unit));
  // No histogram (an import with percentiles only): step through the listed points.
  const ps = summary(dist.percentiles);
  return xs.map((x) => {
    const p = 100 * (1 - 1 / x);
    const hit = ps.find((q) => q.p >= p - 1e-9);
    return hit ? hit.ms : null;
  });
}

/** The number of values of the result's larger distribution. */
export function totalOf(r: Result): number {
  return Math.max(r.latency?.count ?? 0, r.service_time?.count ?? 0);
}

/** The two distribution charts; onDrawn(name) is called when each has drawn. */
export function DistributionCharts({ r, onDrawn }: { r: Result; onDrawn: (name: string) => () => void }) {
  const hs = useHistograms(r);
  const theme = useTheme();
  const total = totalOf(r);
  const names = [r.latency ? "latency (corrected)" : null, r.service_time ? "service time" : null].filter(Boolean) as string[];
  // The curve runs to the max, marked, as HdrHistogram's plotter does; the
  // max is the one the tables show (the distribution's listed p100).
  const maxX = useMemo(() => maxPosition(percentileGrid(total)), [total]);
  const pctOpts = useMemo(() => percentileOptions(names, maxX), [names.join(), theme, maxX]);
  const pctData = useMemo<uPlot.AlignedData | null>(() => {
    if (!hs || total === 0) return null;
    const xs = percentileGrid(total);
    const cols: (number | null)[][] = [];
    if (r.latency) cols.push(withMax(curve(r.latency, hs.latency, xs), percentileOf(r.latency.percentiles, 100)));
    if (r.service_time) cols.push(withMax(curve(r.service_time, hs.service, xs), percentileOf(r.service_time.percentiles, 100)));
    return [[...xs, maxX], ...cols] as uPlot.AlignedData;
  }, [hs, r, total, maxX]);

  const histOpts = useMemo(() => histogramOptions(names), [names.join(), theme]);
  const histData = useMemo<uPlot.AlignedData | null>(() => {
    if (!hs) return null;
    // Both distributions over one range of bins, so they share the x axis.
    const parts = [
      hs.latency && r.latency ? { h: hs.latency, toMs: unitToMs(r.latency.histogram_unit) } : null,
      hs.service && r.service_time ? { h: hs.service, toMs: unitToMs(r.service_time.histogram_unit) } : null,
    ].filter((x) => x !== null && x.h.total > 0) as { h: Histogram; toMs: number }[];
    if (parts.length === 0) return null;
    const ranges = parts.map((p) => histRange(p.h, p.toMs));
    const range: [number, number] = [Math.min(...ranges.map((x) => x[0])), Math.max(...ranges.map((x) => x[1]))];
    const binned = parts.map((p) => logBins(p.h, p.toMs, 80, range));
    return [binned[0].centres, ...binned.map((x) => x.counts)] as uPlot.AlignedData;
  }, [hs, r]);

  return (
    <div className="charts two">
      <div className="panel">
        <h2>Latency by percentile</h2>
        {hs?.error && <ErrorBox error={hs.error} />}
        {total === 0 ? (
          <Empty>No data: no response was measured.</Empty>
        ) : !pctData ? (
          <Loading what="the histograms" />
        ) : (
          <Chart label="Latency at each percentile, corrected latency and service time, log scales" options={pctOpts} data={pctData} onDrawn={onDrawn("pct")} />
        )}
      </div>
      <div className="panel">
        <h2>Latency histogram</h2>
        {total === 0 ? (
          <Empty>No response was measured.</Empty>
        ) : !histData ? (
          hs?.latency || hs?.service || !hs ? <Loading what="the histograms" /> : <Empty>This result has percentiles only, no histogram.</Empty>
        ) : (
          <Chart label="How many requests took each latency, log scale" options={histOpts} data={histData} onDrawn={onDrawn("hist")} />
        )}
      </div>
    </div>
  );
}
