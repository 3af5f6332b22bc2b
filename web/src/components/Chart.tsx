// A uPlot chart that fits its container's width and follows the theme.

import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartProps {
  /** What the chart shows, for screen readers (a table usually follows). */
  label: string;
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
  /** Called once the chart has drawn its data. */
  onDrawn?: () => void;
}

/**
 * The current theme (html[data-theme]); chart options built from the
 * theme's colours list it among their memo dependencies, so charts are
 * redrawn in the new colours when the theme changes.
 */
export function useTheme(): string {
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? "");
  useEffect(() => {
    const mo = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? ""));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => mo.disconnect();
  }, []);
  return theme;
}

/** The theme's colour for a CSS variable, e.g. cssVar("--series-1"). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** Axis styling from the theme. */
export function axis(extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
  const fg = cssVar("--muted");
  const grid = cssVar("--grid");
  return { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, ...extra };
}

/** Puts the last point of each series, as uPlot holds it, on the chart's element (data-last-point, JSON), for tests and tools. */
function lastPoint(el: HTMLElement, u: uPlot) {
  el.dataset.lastPoint = JSON.stringify(u.data.map((s) => (s.length ? s[s.length - 1] : null)));
}

export function Chart({ label, options, data, height = 260, onDrawn }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const drawn = useRef(onDrawn);
  drawn.current = onDrawn;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(el.clientWidth, 280);
    const u = new uPlot(
      { ...options, width, height, hooks: { ...options.hooks, draw: [...(options.hooks?.draw ?? []), () => drawn.current?.()] } },
      data,
      el,
    );
    plot.current = u;
    lastPoint(el, u);
    const ro = new ResizeObserver(() => {
      const w = Math.max(el.clientWidth, 280);
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Options are rebuilt by callers only when what they show changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [options, height]);

  useEffect(() => {
    if (!plot.current || !box.current) return;
    plot.current.setData(data);
    lastPoint(box.current, plot.current);
  }, [data]);

  return <div className="chart" ref={box} role="img" aria-label={label} />;
}
