"""What the preview sends to the browser: downsampled series as one binary buffer, fires
and suppressed condition steps at full resolution, a summary and a threshold sweep."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from ..preview import Evaluation, FirePolicy, Rule
from ..preview.batch import condition_of, stateful_condition  # the rules evaluate applies
from ..preview.plateau import PlateauState, plateau_batch
from ..preview.policy import resolve_policy, select_fires

MAX_SUPPRESSED = 300  # markers per run, thinned evenly; fires are never thinned
MAX_SHADES = 300  # cooldown ranges per run
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
    rule = evaluation.rule
    for run_id, result in evaluation.items():
        # Non-finite values cannot be drawn: they are gaps in the lines, and a non-finite
        # rule's fires sit on the last finite value before them.
        drawn = np.where(np.isfinite(result.series), result.series, np.nan)
        raw = np.where(np.isfinite(result.values), result.values, np.nan)
        keep_raw = minmax_indices(raw, width)
        keep_eval = minmax_indices(drawn, width)
        at_fires = _marker_heights(drawn, result.fire_index)
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
                    payload.add(raw[keep_raw], "<f4"),
                ],
                "evaluated": [
                    payload.add(result.steps[keep_eval], x),
                    payload.add(drawn[keep_eval], "<f4"),
                ],
                "fires": [
                    payload.add(result.steps[result.fire_index], x),
                    payload.add(at_fires, "<f4"),
                ],
                "suppressed": [
                    payload.add(result.steps[suppressed], x),
                    payload.add(_marker_heights(drawn, suppressed), "<f4"),
                ],
                "fire_count": int(result.fire_index.size),
                "condition_count": int(result.condition.sum()),
                **(_plateau_overlays(rule, result, payload, x) if rule.kind == "plateau" else {}),
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
                    "value": _json_number(float(result.series[i])),
                }
            )
    fires.sort(key=lambda f: (f["ts"] if math.isfinite(f["ts"]) else math.inf, f["run"], f["step"]))
    header = {"runs": runs, "fires": fires, "bytes": payload.size}
    return header, payload.buffer()


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _marker_heights(drawn: npt.NDArray[np.float64], index: npt.NDArray[np.intp]) -> Any:
    """Where markers sit: the drawn value, or the last finite value before it (0 if none)."""
    if index.size == 0:
        return np.zeros(0)
    finite = np.isfinite(drawn)
    last = np.maximum.accumulate(np.where(finite, np.arange(drawn.size), -1))
    at = last[index]
    return np.where(at >= 0, drawn[np.maximum(at, 0)], 0.0)


def _plateau_overlays(rule: Rule, result: Any, payload: Payload, x: str) -> dict[str, Any]:
    """The plateau's state machine drawn: the best so far, the value to beat, the count of
    values without improvement, and the cooldowns after each fire (shaded)."""
    assert rule.plateau is not None
    fed_at = (
        np.arange(result.series.size)
        if rule.agg is None
        else np.flatnonzero(~np.isnan(result.series))
    )
    trace = plateau_batch(rule.plateau, result.series[fed_at], PlateauState())
    n = fed_at.size
    improved = np.zeros(n, dtype=bool)
    improved[trace.improvements] = True
    # Best so far: the value at the last improvement (none before the first).
    last = np.maximum.accumulate(np.where(improved, np.arange(n), -1))
    fed = result.series[fed_at]
    best = np.where(last >= 0, fed[np.maximum(last, 0)], np.nan)
    minimize = rule.plateau.mode == "min"
    bar = np.array(
        [rule.plateau.bar(b if minimize else -b) for b in best.tolist()], dtype=np.float64
    )
    bar = bar if minimize else -bar
    # Values since the last improvement or fire, as the counter sees them (ignoring cooldown).
    reset = improved.copy()
    reset[trace.fires] = True
    since = np.arange(n) - np.maximum.accumulate(np.where(reset, np.arange(n), -1))
    since[: trace.skipped] = 0
    steps = result.steps[fed_at]
    keep = minmax_indices(np.where(np.isfinite(best), best, np.nan), 400)
    cooldown = rule.plateau.cooldown
    shades = [
        [float(steps[f]), float(steps[min(f + cooldown, n - 1)])]
        for f in trace.fires[:MAX_SHADES].tolist()
        if cooldown and f + 1 < n
    ]
    return {
        "overlays": [
            {"label": "best so far", "scale": "e", "xy": _pair(payload, steps, best, keep, x)},
            {"label": "must beat", "scale": "e", "xy": _pair(payload, steps, bar, keep, x)},
            {
                "label": "values without improvement",
                "scale": "count",
                "xy": _pair(payload, steps, since.astype(np.float64), keep, x),
            },
        ],
        "shades": shades,
    }


def _pair(payload: Payload, steps: Any, values: Any, keep: Any, x: str) -> list[dict[str, Any]]:
    return [payload.add(steps[keep], x), payload.add(values[keep], "<f4")]


def sweep(evaluation: Evaluation, policy: FirePolicy) -> dict[str, Any]:
    """Fires and runs affected across thresholds: the range of the evaluated values (1st to
    99th percentile) widened to include the current threshold, which is always one of the
    points. Log-spaced when that range spans orders of magnitude.

    The evaluated series does not depend on the threshold, so each candidate only re-runs
    the comparison and the fire policy, with the same functions as ``evaluate``.
    """
    rule = evaluation.rule
    if rule.kind == "plateau":
        return _patience_sweep(evaluation, policy)
    if rule.kind == "non_finite":
        return {"points": [], "current": None}  # nothing to tune
    series = [r.series for r in evaluation.values() if np.isfinite(r.series).any()]
    if not series:
        return {"points": [], "current": None}
    values = np.concatenate([s[np.isfinite(s)] for s in series])
    if rule.kind != "threshold":
        values = np.abs(values)  # change amounts and z thresholds are magnitudes
    lo, hi = float(np.quantile(values, 0.01)), float(np.quantile(values, 0.99))
    lo, hi = min(lo, rule.threshold), max(hi, rule.threshold)
    if rule.kind != "threshold":
        lo = max(lo, 1e-12)  # must stay positive
    if not hi > lo:
        hi = lo + abs(lo) * 0.1 + 1e-9
    if lo > 0 and hi / lo > 100:
        grid = np.geomspace(lo, hi, SWEEP_POINTS)
    else:
        pad = (hi - lo) * 0.05
        grid = np.linspace(lo - pad if rule.kind == "threshold" else lo, hi + pad, SWEEP_POINTS)
    grid = np.unique(np.append(grid, rule.threshold))

    def count(threshold: float) -> dict[str, float]:
        candidate = replace(rule, threshold=threshold)
        fired_runs, fire_total = 0, 0
        for result in evaluation.values():
            cond = condition_of(candidate, result.series)
            fires = int(select_fires(policy, cond, result.timestamps).size)
            fire_total += fires
            fired_runs += fires > 0
        return {"threshold": threshold, "fires": fire_total, "runs": fired_runs}

    points = [count(float(t)) for t in grid]
    current = next(p for p in points if p["threshold"] == rule.threshold)
    return {"points": points, "current": current, "log": bool(lo > 0 and hi / lo > 100)}


def _patience_sweep(evaluation: Evaluation, policy: FirePolicy) -> dict[str, Any]:
    """Fires and runs affected across patience values: the rule's state machine re-run on
    each run's values (which do not depend on patience), with ``evaluate``'s functions."""
    rule = evaluation.rule
    assert rule.plateau is not None
    current = rule.plateau.patience
    # Up to the longest run: a patience that long can no longer fire, so the curve reaches 0.
    longest = max((r.series.size for r in evaluation.values()), default=0)
    top = max(30, 3 * current, longest)
    grid = sorted({*np.unique(np.geomspace(1, top + 1, 30).astype(int) - 1).tolist(), current})

    def count(patience: int) -> dict[str, float]:
        assert rule.plateau is not None
        candidate = replace(rule, plateau=replace(rule.plateau, patience=patience))
        fired_runs, fire_total = 0, 0
        for result in evaluation.values():
            cond, _ = stateful_condition(candidate, result.series, None)
            fires = int(select_fires(policy, cond, result.timestamps).size)
            fire_total += fires
            fired_runs += fires > 0
        return {"threshold": patience, "fires": fire_total, "runs": fired_runs}

    points = [count(int(p)) for p in grid]
    found = next(p for p in points if p["threshold"] == current)
    return {"points": points, "current": found, "log": False, "parameter": "patience"}


def evaluated_label(rule: Rule) -> str:
    """What the evaluated series is, with its unit, for the chart's axis."""
    agg = {"AVERAGE": "mean", "MIN": "min", "MAX": "max"}.get(rule.agg or "", "")
    if rule.kind == "threshold":
        return f"{agg} of last {rule.window} {rule.metric}" if agg else rule.metric
    if rule.kind == "plateau":
        return f"{agg} of last {rule.window} {rule.metric}" if agg else rule.metric
    if rule.kind == "non_finite":
        return f"{rule.metric} (NaN and infinities are gaps)"
    if rule.kind == "change":
        now = f"{agg} of last {rule.window}" if agg else "latest value"
        before = f"{agg} of the {rule.prior} before" if agg else "the value before"
        what = "relative change (0.1 = 10%)" if rule.relative else "change"
        return f"{what}: {now} vs {before}"
    return f"z-score of {rule.metric} vs its last {rule.window} values (standard deviations)"


def advice(evaluation: Evaluation, names: dict[str, str], label: str) -> list[dict[str, str]]:
    """Warnings where a rule is likely to spam or to miss, each computed from the evaluation:
    ``{"kind", "text"}``."""
    rule, out = evaluation.rule, []
    runs = list(evaluation.values())
    fired = [r for r in runs if r.fire_index.size]
    if not fired:
        finite = [r.series[np.isfinite(r.series)] for r in runs]
        finite = [f for f in finite if f.size]
        if rule.kind in ("plateau", "non_finite"):
            what = (
                f"no run went {rule.plateau.patience + 1} values without improving"
                if rule.plateau is not None
                else "no run logged NaN or an infinity"
            )
            if runs:
                out.append(
                    {"kind": "never", "text": f"Never fires on these {len(runs)} runs: {what}."}
                )
            return out
        if finite:
            values = np.concatenate(finite)
            low, high = float(values.min()), float(values.max())
            out.append(
                {
                    "kind": "never",
                    "text": f"Never fires on these {len(runs)} runs: the {label} ranges from "
                    f"{low:.4g} to {high:.4g}, and the threshold is {rule.threshold:.4g}.",
                }
            )
        return out
    if len(runs) >= 3 and len(fired) == len(runs):
        out.append({"kind": "every-run", "text": f"Fires in every one of the {len(runs)} runs."})
    early = [r for r in fired if r.fire_index[0] < max(rule.history_needed + 1, r.steps.size // 10)]
    if len(early) >= 2 and len(early) * 2 >= len(fired):
        out.append(
            {
                "kind": "warm-up",
                "text": f"Fires at the start of {len(early)} of {len(runs)} runs (warm-up): the "
                "metric starts on the firing side. A change rule, another threshold or a run "
                "filter would skip it.",
            }
        )
    if evaluation.policy.mode == "every":
        capped = sum(
            int(select_fires(resolve_policy("wandb"), r.condition, r.timestamps).size) for r in runs
        )
        if evaluation.fire_count > 5 * max(capped, 1):
            out.append(
                {
                    "kind": "spam",
                    "text": f"{evaluation.fire_count:,} messages at every step the condition "
                    f"holds; W&B's policy (once per run per 24 h) would send {capped:,}.",
                }
            )
    return out


def first_fire_steps(evaluation: Evaluation) -> dict[str, int | None]:
    return {
        run_id: (int(r.steps[r.fire_index[0]]) if r.fire_index.size else None)
        for run_id, r in evaluation.items()
    }
