"""What the preview sends to the browser: downsampled series as one binary buffer, fires
and suppressed condition steps at full resolution, a summary and a threshold sweep."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from ..preview import Evaluation, FirePolicy, RunEvaluation
from ..preview.batch import _compare, _directed  # one comparison rule for sweep and evaluate
from ..preview.policy import select_fires

MAX_SUPPRESSED = 300  # markers per run, thinned evenly; fires are never thinned
EXACT_F32 = 2**24  # steps below this are exact as float32
SWEEP_POINTS = 41


def minmax_indices(y: npt.NDArray[np.float64], buckets: int) -> npt.NDArray[np.intp]:
    """Indices that keep each bucket's minimum and maximum (and both ends): the line a
    chart ``buckets`` pixels wide would draw, in about ``2 * buckets`` points."""
    n = y.size
    if n <= 2 * buckets:
        return np.arange(n)
    size = -(-n // buckets)
    padded = np.full(size * buckets, np.nan)
    padded[:n] = y
    view = padded.reshape(buckets, size)
    finite = ~np.isnan(view)
    low = np.argmin(np.where(finite, view, np.inf), axis=1)
    high = np.argmax(np.where(finite, view, -np.inf), axis=1)
    base = np.arange(buckets) * size
    keep = np.concatenate([base + low, base + high, [0, n - 1]])
    keep = np.unique(keep[keep < n])
    return keep[~np.isnan(y[keep])] if np.isnan(y[keep]).any() else keep


@dataclass
class Payload:
    """Header (JSON-able) plus one bytes buffer holding every array the chart draws."""

    header: dict[str, Any] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, array: npt.NDArray[Any], dtype: str) -> dict[str, Any]:
        data = np.ascontiguousarray(array, dtype=dtype).tobytes()
        ref = {"offset": self.size, "length": int(array.size), "dtype": dtype}
        # Keep every array 8-byte aligned so the browser can view it in place.
        data += b"\0" * (-len(data) % 8)
        self.chunks.append(data)
        self.size += len(data)
        return ref

    def buffer(self) -> bytes:
        return b"".join(self.chunks)


def _iso(ts: float) -> str:
    return (
        ""
        if not np.isfinite(ts)
        else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    )


def build_payload(
    evaluation: Evaluation, names: dict[str, str], width: int = 800
) -> tuple[dict[str, Any], bytes]:
    """The chart payload for an evaluation; ``names`` maps run ids to display names."""
    payload = Payload()
    runs = []
    fires: list[dict[str, Any]] = []
    for run_id, result in evaluation.items():
        keep_raw = minmax_indices(result.values, width)
        keep_eval = minmax_indices(result.series, width)
        condition = result.condition.copy()
        condition[result.fire_index] = False
        suppressed = np.flatnonzero(condition)
        if suppressed.size > MAX_SUPPRESSED:
            suppressed = suppressed[
                np.linspace(0, suppressed.size - 1, MAX_SUPPRESSED).astype(np.intp)
            ]
        # Steps go as float32 when that is exact, halving the bytes for the x axis.
        x = "<f4" if result.steps.size == 0 or result.steps[-1] < EXACT_F32 else "<f8"
        runs.append(
            {
                "id": run_id,
                "name": names.get(run_id, run_id),
                "points": int(result.steps.size),
                "raw": [
                    payload.add(result.steps[keep_raw], x),
                    payload.add(result.values[keep_raw], "<f4"),
                ],
                "evaluated": [
                    payload.add(result.steps[keep_eval], x),
                    payload.add(result.series[keep_eval], "<f4"),
                ],
                "fires": [
                    payload.add(result.steps[result.fire_index], x),
                    payload.add(result.series[result.fire_index], "<f4"),
                ],
                "suppressed": [
                    payload.add(result.steps[suppressed], x),
                    payload.add(result.series[suppressed], "<f4"),
                ],
                "fire_count": int(result.fire_index.size),
                "condition_count": int(result.condition.sum()),
            }
        )
        for i in result.fire_index:
            fires.append(
                {
                    "run": run_id,
                    "run_name": names.get(run_id, run_id),
                    "step": int(result.steps[i]),
                    "time": _iso(float(result.timestamps[i])),
                    "ts": float(result.timestamps[i]),
                    "value": float(result.series[i]),
                }
            )
    fires.sort(key=lambda f: (f["ts"] if math.isfinite(f["ts"]) else math.inf, f["run"], f["step"]))
    header = {"runs": runs, "fires": fires, "bytes": payload.size}
    return header, payload.buffer()


def sweep(evaluation: Evaluation, policy: FirePolicy) -> list[dict[str, float]]:
    """Fires and runs affected across thresholds spanning the observed evaluated values.

    The evaluated series does not depend on the threshold, so each candidate only re-runs
    the comparison and the fire policy, with the same rules as ``evaluate``.
    """
    rule = evaluation.rule
    series = [r.series for r in evaluation.values() if np.isfinite(r.series).any()]
    if not series:
        return []
    values = np.concatenate([s[np.isfinite(s)] for s in series])
    if rule.kind != "threshold" or rule.cmp in ("$eq", "$ne"):
        values = np.abs(values) if rule.kind != "threshold" else values
    lo, hi = float(np.quantile(values, 0.01)), float(np.quantile(values, 0.99))
    if rule.kind != "threshold":
        lo = max(lo, 1e-12)  # change amounts and z thresholds must be positive
    if not hi > lo:
        hi = lo + abs(lo) * 0.1 + 1e-9
    points = []
    for threshold in np.linspace(lo, hi, SWEEP_POINTS):
        fired_runs, fire_total = 0, 0
        for result in evaluation.values():
            cond = (
                _compare(result.series, rule.cmp, float(threshold))
                if rule.kind == "threshold"
                else _directed(result.series, rule.cmp, float(threshold))
            )
            count = int(select_fires(policy, cond, result.timestamps).size)
            fire_total += count
            fired_runs += count > 0
        points.append({"threshold": float(threshold), "fires": fire_total, "runs": fired_runs})
    return points


def run_evaluation_summary(result: RunEvaluation) -> dict[str, Any]:
    return {"fires": int(result.fire_index.size), "conditions": int(result.condition.sum())}
