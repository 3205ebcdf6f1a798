import { describe, expect, it } from "vitest";
import { aligned, canLog, join, overlayRuns, overviewOrder, read, sparkline, sweepField, thresholdLines } from "../src/series";
import type { RunView } from "../src/types";

describe("buffers", () => {
  it("reads float64 x and float32 y at their offsets, even from a misaligned DataView", () => {
    const x = new Float64Array([1, 2, 3]);
    const y = new Float32Array([0.5, 1.5, 2.5]);
    const bytes = new Uint8Array(3 + 24 + 16);
    bytes.set(new Uint8Array(x.buffer), 3);
    bytes.set(new Uint8Array(y.buffer), 3 + 24);
    const view = new DataView(bytes.buffer, 3, 40); // as a DataView inside a bigger message
    const [xs, ys] = read(aligned(view), [
      { offset: 0, length: 3, dtype: "<f8" },
      { offset: 24, length: 3, dtype: "<f4" },
    ]);
    expect(Array.from(xs)).toEqual([1, 2, 3]);
    expect(Array.from(ys)).toEqual([0.5, 1.5, 2.5]);
  });
});

describe("join", () => {
  it("aligns series on the union of their x values, with null gaps and NaN as null", () => {
    const a: [Float64Array, Float32Array] = [new Float64Array([0, 2]), new Float32Array([1, NaN])];
    const b: [Float64Array, Float32Array] = [new Float64Array([1, 2]), new Float32Array([5, 6])];
    expect(join([a, b])).toEqual([[0, 1, 2], [1, null, null], [null, 5, 6]]);
  });
});

describe("rules", () => {
  it("draws the threshold, or +/- the amount for either-way rules", () => {
    expect(thresholdLines({ kind: "threshold", cmp: "$gt", threshold: 0.5 })).toEqual([0.5]);
    expect(thresholdLines({ kind: "zscore", cmp: "ANY", threshold: 3 })).toEqual([3, -3]);
    expect(thresholdLines({ kind: "change", cmp: "DECREASE", threshold: 0.1 })).toEqual([-0.1]);
  });
  it("maps a sweep click to the right form field", () => {
    expect(sweepField("threshold")).toBe("threshold");
    expect(sweepField("change")).toBe("change_amount");
    expect(sweepField("zscore")).toBe("zscore_threshold");
  });
  it("overlays the runs that fire most", () => {
    const run = (name: string, fire_count: number) => ({ name, fire_count }) as RunView;
    expect(overlayRuns([run("a", 1), run("b", 5), run("c", 0)], 2).map((r) => r.name)).toEqual(["b", "a"]);
  });
});

describe("overview and scales", () => {
  it("orders firing runs first, earliest first fire first", () => {
    const run = (name: string, fire_count: number, first_fire_step: number | null) =>
      ({ name, fire_count, first_fire_step }) as RunView;
    const order = overviewOrder([run("quiet", 0, null), run("late", 2, 900), run("early", 1, 10)]);
    expect(order.map((r) => r.name)).toEqual(["early", "late", "quiet"]);
  });
  it("allows a log scale only when every value is above zero", () => {
    expect(canLog([[1, 2, null, NaN], [0.5]])).toBe(true);
    expect(canLog([[1, 0]])).toBe(false);
    expect(canLog([[null]])).toBe(false);
  });
  it("scales a sparkline into its box and breaks it at gaps", () => {
    const lines = sparkline([0, 1, 2, 3], [0, 10, NaN, 5], 300, 20);
    expect(lines.map((line) => line.map(([x, y]) => [Math.round(x), Math.round(y)]))).toEqual([
      [[0, 20], [100, 0]],
      [[300, 10]],
    ]);
  });
});
