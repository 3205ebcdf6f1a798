// Decoding the preview's binary buffer, and the chart's data. No DOM: vitest covers it.

import type { ArrayRef, PreviewView, RunView } from "./types";

export type Pair = [Float64Array | Float32Array, Float32Array];

/** A copy of the buffer that starts at offset 0, so typed arrays can view it aligned. */
export function aligned(view: DataView): ArrayBuffer {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
}

export function read(buffer: ArrayBuffer, [x, y]: [ArrayRef, ArrayRef]): Pair {
  const xs = x.dtype === "<f8" ? new Float64Array(buffer, x.offset, x.length) : new Float32Array(buffer, x.offset, x.length);
  return [xs, new Float32Array(buffer, y.offset, y.length)];
}

/** Merge several (x, y) series into uPlot's aligned table: one sorted x column and one
 * column per series, with null where a series has no point at that x. */
export function join(series: Pair[]): (number | null)[][] {
  const xs = Array.from(new Set(series.flatMap(([x]) => Array.from(x)))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map(([x, y]) => {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < x.length; i++) {
      const value = y[i]!;
      column[index.get(x[i]!)!] = Number.isFinite(value) ? value : null;
    }
    return column;
  });
  return [xs, ...columns];
}

/** The horizontal lines a rule draws: its threshold, or +/- the amount for either-way rules. */
export function thresholdLines(rule: PreviewView["rule"]): number[] {
  if (!rule || rule.kind === "plateau" || rule.kind === "non_finite") return [];
  if (rule.kind === "threshold") return [rule.threshold];
  if (rule.cmp === "INCREASE") return [rule.threshold];
  if (rule.cmp === "DECREASE") return [-rule.threshold];
  return [rule.threshold, -rule.threshold];
}

/** The spec field a sweep click sets, by rule kind. */
export function sweepField(kind: string | undefined): "threshold" | "change_amount" | "zscore_threshold" | "patience" {
  if (kind === "plateau") return "patience";
  return kind === "change" ? "change_amount" : kind === "zscore" ? "zscore_threshold" : "threshold";
}

/** Runs to overlay: the ones that fire most, at most ``limit``. */
export function overlayRuns(runs: RunView[], limit = 10): RunView[] {
  return [...runs].sort((a, b) => b.fire_count - a.fire_count || a.name.localeCompare(b.name)).slice(0, limit);
}

/** The overview's order: runs that fire first (earliest first fire first), then the rest. */
export function overviewOrder(runs: RunView[]): RunView[] {
  const first = (r: RunView): number => (r.fire_count > 0 ? (r.first_fire_step ?? 0) : Infinity);
  return [...runs].sort((a, b) => first(a) - first(b) || a.name.localeCompare(b.name));
}

/** Whether a log scale can show these values: every finite one above zero. */
export function canLog(columns: ArrayLike<number | null>[]): boolean {
  let seen = false;
  for (const column of columns) {
    for (let i = 0; i < column.length; i++) {
      const v = column[i];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      if (v <= 0) return false;
      seen = true;
    }
  }
  return seen;
}

/** A series scaled into a ``width`` x ``height`` box (y grows down), for sparklines;
 * gaps (NaN) split the line. */
export function sparkline(xs: ArrayLike<number>, ys: ArrayLike<number>, width: number, height: number): [number, number][][] {
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!, y = ys[i]!;
    if (!Number.isFinite(y)) continue;
    xlo = Math.min(xlo, x);
    xhi = Math.max(xhi, x);
    ylo = Math.min(ylo, y);
    yhi = Math.max(yhi, y);
  }
  if (!Number.isFinite(xlo)) return [];
  const sx = (x: number): number => (xhi > xlo ? ((x - xlo) / (xhi - xlo)) * width : width / 2);
  const sy = (y: number): number => (yhi > ylo ? height - ((y - ylo) / (yhi - ylo)) * height : height / 2);
  const lines: [number, number][][] = [];
  let current: [number, number][] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i]!;
    if (!Number.isFinite(y)) {
      if (current.length) lines.push(current);
      current = [];
      continue;
    }
    current.push([sx(xs[i]!), sy(y)]);
  }
  if (current.length) lines.push(current);
  return lines;
}
