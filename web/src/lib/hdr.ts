// Reading HdrHistogram's V2 compressed encoding (base64), as meshperf's
// results carry their latency distributions, so the UI can draw the whole
// distribution and not only the few percentiles the summary lists.
//
// Layout: int32 cookie 0x1c849304 (| word-size bits), int32 length, then a
// zlib stream holding: int32 cookie 0x1c849303, int32 payload length, int32
// normalizing index offset, int32 significant digits, int64 lowest and
// highest trackable values, float64 conversion ratio (40 bytes), then the
// counts as zig-zag LEB128 varints, a negative one meaning that many empty
// buckets.

const compressedCookie = 0x1c849304;
const payloadCookie = 0x1c849303;
const headerSize = 40;

/** A decoded histogram: the counts of its non-empty buckets, in order. */
export interface Histogram {
  /** Bucket value ranges [low, high] in the recorded unit, and counts. */
  lows: Float64Array;
  highs: Float64Array;
  counts: Float64Array;
  total: number;
}

function base64Bytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes a base64 V2 compressed histogram. */
export async function decodeHistogram(b64: string): Promise<Histogram> {
  const raw = base64Bytes(b64.trim());
  if (raw.length < 8) throw new Error("histogram: too short");
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if ((dv.getInt32(0) & ~0xf0) !== compressedCookie) throw new Error("histogram: not a V2 compressed HdrHistogram");
  const len = dv.getInt32(4);
  if (len < 0 || 8 + len > raw.length) throw new Error("histogram: truncated");
  return decodePayload(await inflate(raw.subarray(8, 8 + len)));
}

/** Decodes the uncompressed V2 payload (header and counts). */
export function decodePayload(p: Uint8Array): Histogram {
  if (p.length < headerSize) throw new Error("histogram: header truncated");
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if ((dv.getInt32(0) & ~0xf0) !== payloadCookie) throw new Error("histogram: unknown payload cookie");
  const payloadLen = dv.getInt32(4);
  const digits = dv.getInt32(12);
  const lowest = Number(dv.getBigInt64(16));
  if (digits < 0 || digits > 5 || lowest < 1) throw new Error("histogram: bad geometry");
  if (headerSize + payloadLen > p.length) throw new Error("histogram: counts truncated");

  const unitMagnitude = Math.floor(Math.log2(lowest));
  const largest = 2 * Math.pow(10, digits);
  const subBucketCountMagnitude = Math.ceil(Math.log2(largest));
  const subBucketHalfCountMagnitude = Math.max(subBucketCountMagnitude, 1) - 1;
  const subBucketHalfCount = Math.pow(2, subBucketHalfCountMagnitude);

  const lows: number[] = [];
  const highs: number[] = [];
  const counts: number[] = [];
  let total = 0;
  let index = 0;
  let pos = headerSize;
  const end = headerSize + payloadLen;
  while (pos < end) {
    // zig-zag LEB128, up to 9 bytes (the 9th carries 8 bits); numbers kept
    // as doubles: counts above 2^53 are not a concern for a UI.
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 9 && pos < end; i++) {
      const b = p[pos++];
      if (i === 8) {
        v += b * mul;
        break;
      }
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
    }
    const n = v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    if (n < 0) {
      index += -n;
      continue;
    }
    if (n > 0) {
      let bucket = Math.floor(index / subBucketHalfCount) - 1;
      let sub = (index % subBucketHalfCount) + subBucketHalfCount;
      if (bucket < 0) {
        sub -= subBucketHalfCount;
        bucket = 0;
      }
      const low = sub * Math.pow(2, bucket + unitMagnitude);
      const size = Math.pow(2, bucket + unitMagnitude);
      lows.push(low);
      highs.push(low + size - 1);
      counts.push(n);
      total += n;
    }
    index++;
  }
  return { lows: Float64Array.from(lows), highs: Float64Array.from(highs), counts: Float64Array.from(counts), total };
}

/**
 * The value at quantile q (0..1), as HdrHistogram reports it: the highest
 * value equivalent to the bucket where the count reaches q of the total.
 */
export function valueAtQuantile(h: Histogram, q: number): number {
  if (h.total === 0) return 0;
  const want = Math.max(1, Math.floor(Math.min(q, 1) * h.total + 0.5));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i];
    if (seen >= want) return h.highs[i];
  }
  return h.highs[h.highs.length - 1];
}

/** Scale to milliseconds from a histogram unit ("us", "ms", "ns", "s"). */
export function unitToMs(unit: string | undefined): number {
  switch (unit) {
    case "ns":
      return 1e-6;
    case "ms":
      return 1;
    case "s":
      return 1000;
    default:
      return 1e-3; // "us", meshperf's unit
  }
}

/**
 * The x positions of a percentile plot: 1/(1−q) from 1 (q = 0) to the
 * point where only one value in `total` lies beyond, log-spaced, so the
 * tail gets as much room as the body.
 */
export function percentileGrid(total: number, perDecade = 40): number[] {
  const maxX = Math.max(10, Math.min(total, 1e7));
  const steps = Math.ceil(Math.log10(maxX) * perDecade);
  const xs: number[] = [];
  for (let i = 0; i <= steps; i++) xs.push(Math.pow(10, (i / steps) * Math.log10(maxX)));
  return xs;
}

/** Turns a percentile-plot x (1/(1−q)) into the percentile it stands for. */
export function xToPercentile(x: number): number {
  return 100 * (1 - 1 / x);
}

/** Labels a percentile-plot x: 1 → "0%", 10 → "90%", 1000 → "99.9%". */
export function percentileLabel(x: number): string {
  const p = xToPercentile(x);
  if (p <= 0) return "0%";
  const digits = Math.max(0, Math.ceil(Math.log10(x)) - 2);
  return `${p.toFixed(digits)}%`;
}

/** A percentile list as every view reads it: sorted by p, never decreasing (spec.Distribution.Summary). */
export function summary(ps: { p: number; ms: number }[] | null | undefined): { p: number; ms: number }[] {
  const out = [...(ps ?? [])].sort((a, b) => a.p - b.p).map((x) => ({ ...x }));
  for (let i = 1; i < out.length; i++) out[i].ms = Math.max(out[i].ms, out[i - 1].ms);
  return out;
}

/** Percentile q (100 = the max) of a list, the one source of every figure shown; undefined when not known. */
export function percentileOf(ps: { p: number; ms: number }[] | null | undefined, q: number): number | undefined {
  return summary(ps).find((x) => x.p === q)?.ms;
}

/** Where the max sits on a percentile plot: one step of the grid's spacing past its last point. */
export function maxPosition(xs: number[]): number {
  const n = xs.length;
  if (n < 2) return 10;
  return xs[n - 1] * (xs[n - 1] / xs[n - 2]) * 4;
}

/**
 * A percentile plot's curve that ends at the max, as HdrHistogram's own
 * plotter does: ys over the grid xs (clamped to the max, so the curve never
 * passes it), then the max itself at x = maxPosition(xs). The max is the
 * distribution's listed one (percentileOf(list, 100)), the figure its tables
 * show.
 */
export function withMax(ys: (number | null)[], maxMs: number | undefined): (number | null)[] {
  if (maxMs === undefined) return [...ys, null];
  const out = ys.map((y) => (y === null ? null : Math.min(y, maxMs)));
  // Grid points past the last value (1/(1−p) above the count) are the max
  // itself: the curve climbs to it there and runs on to the marked point.
  let end = out.length;
  while (end > 0 && out[end - 1] === null) end--;
  if (end > 0) for (let i = end; i < out.length; i++) out[i] = maxMs;
  return [...out, maxMs];
}

/** Latency (ms) at each x of a percentile grid. */
export function percentileCurve(h: Histogram, xs: number[], toMs: number): (number | null)[] {
  const limit = h.total;
  return xs.map((x) => (x > limit ? null : valueAtQuantile(h, 1 - 1 / x) * toMs));
}

/** The range (ms) a histogram's values span, for shared bins. */
export function histRange(h: Histogram, toMs: number): [number, number] {
  if (h.total === 0) return [1e-3, 1e-3];
  return [Math.max(h.lows[0] * toMs, 1e-3), Math.max(h.highs[h.highs.length - 1] * toMs, 1e-3)];
}

/**
 * Bins a histogram's buckets into `bins` log-spaced latency ranges over
 * `range` (ms; the histogram's own by default), for a histogram plot;
 * returns the bin centres (ms) and counts. Several histograms binned over
 * one range share an x axis.
 */
export function logBins(h: Histogram, toMs: number, bins = 80, range?: [number, number]): { centres: number[]; counts: number[] } {
  if (h.total === 0 && !range) return { centres: [], counts: [] };
  const [lo, hi0] = range ?? histRange(h, toMs);
  const hi = Math.max(hi0, lo * 1.01);
  const l0 = Math.log10(lo);
  const width = (Math.log10(hi) - l0) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < h.counts.length; i++) {
    const mid = Math.max(((h.lows[i] + h.highs[i]) / 2) * toMs, lo);
    const b = Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(mid) - l0) / width)));
    counts[b] += h.counts[i];
  }
  const centres = counts.map((_, i) => Math.pow(10, l0 + (i + 0.5) * width));
  return { centres, counts };
}
