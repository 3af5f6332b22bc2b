// Numbers as people read them.

/** Milliseconds with sensible precision: 0.123 ms, 12.3 ms, 1.23 s. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  if (ms === 0) return "0 ms";
  return `${ms.toFixed(3)} ms`;
}

/** Requests per second. */
export function fmtRate(r: number | null | undefined): string {
  if (r === null || r === undefined || Number.isNaN(r)) return "–";
  if (r >= 1000) return `${(r / 1000).toPrecision(3)}k/s`;
  return `${r.toFixed(r >= 10 ? 0 : 1)}/s`;
}

/** A ratio (0–1) as a percentage. */
export function fmtPct(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (x === 0) return "0%";
  const p = x * 100;
  return `${p < 0.01 ? p.toExponential(1) : p < 1 ? p.toPrecision(2) : p.toFixed(p < 10 ? 2 : 1)}%`;
}

/** A count with thousands separators. */
export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  return n.toLocaleString("en-US");
}

/** Bytes in binary units. */
export function fmtBytes(n: number | null | undefined): string {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A time as a short local date and time. */
export function fmtTime(t: string | undefined): string {
  if (!t || t.startsWith("0001-")) return "–";
  const d = new Date(t);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** How long ago, in words. */
export function fmtAgo(t: string | undefined, now = Date.now()): string {
  if (!t || t.startsWith("0001-")) return "–";
  const s = Math.round((now - new Date(t).getTime()) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A Go duration string ("1m30s") or a number of seconds, in seconds. */
export function durationSeconds(d: string | number | undefined): number {
  if (d === undefined) return 0;
  if (typeof d === "number") return d;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const scale: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let m: RegExpExecArray | null;
  while ((m = re.exec(d))) total += Number(m[1]) * scale[m[2]];
  return total;
}
