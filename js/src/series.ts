// Decoding the preview's binary buffer, and the chart's data tables. No DOM: vitest covers it.

export interface ArrayRef {
  offset: number;
  length: number;
  dtype: "<f8" | "<f4";  // x columns are float32 when the steps fit exactly
}

export interface RunView {
  id: string;
  name: string;
  points: number;
  raw: [ArrayRef, ArrayRef];
  evaluated: [ArrayRef, ArrayRef];
  fires: [ArrayRef, ArrayRef];
  suppressed: [ArrayRef, ArrayRef];
  fire_count: number;
  condition_count: number;
}

export interface Fire {
  run: string;
  run_name: string;
  step: number;
  time: string;
  value: number;
}

export interface PreviewView {
  state?: "fetching" | "done" | "error";
  kind?: "metric" | "state";
  message?: string;
  done?: number;
  total?: number;
  summary?: string;
  runs?: RunView[];
  fires?: Fire[];
  matches?: { run: string; run_name: string; state: string; time: string }[];
  sweep?: { threshold: number; fires: number; runs: number }[];
  rule?: { kind: "threshold" | "change" | "zscore"; cmp: string; threshold: number };
  bytes?: number;
}

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
  if (!rule) return [];
  if (rule.kind === "threshold") return [rule.threshold];
  if (rule.cmp === "INCREASE") return [rule.threshold];
  if (rule.cmp === "DECREASE") return [-rule.threshold];
  return rule.kind === "zscore" || rule.kind === "change" ? [rule.threshold, -rule.threshold] : [];
}

/** The spec field a sweep click sets, by rule kind. */
export function sweepField(kind: string | undefined): string {
  return kind === "change" ? "change_amount" : kind === "zscore" ? "zscore_threshold" : "threshold";
}

/** Runs to overlay: the ones that fire most, at most ``limit``. */
export function overlayRuns(runs: RunView[], limit = 10): RunView[] {
  return [...runs].sort((a, b) => b.fire_count - a.fire_count || a.name.localeCompare(b.name)).slice(0, limit);
}
