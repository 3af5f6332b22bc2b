// Range bars (min–max over an experiment's repeats) that stay visible:
// a spread smaller than a few pixels is drawn at a minimum length, centred
// on its middle, so "the repeats agreed closely" still shows as a bar.

/** The smallest bar drawn, in CSS pixels. */
export const minWhiskerPx = 8;

/** The pixel ends to draw for a bar from y1 to y2 (canvas pixels), at least minPx long. */
export function whiskerEnds(y1: number, y2: number, minPx: number): [number, number] {
  const lo = Math.min(y1, y2);
  const hi = Math.max(y1, y2);
  if (hi - lo >= minPx) return [lo, hi];
  const mid = (lo + hi) / 2;
  return [mid - minPx / 2, mid + minPx / 2];
}
