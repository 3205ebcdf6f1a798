"""What the preview sends to the browser: each run's series downsampled to the chart's
width in one binary buffer, its fires and (thinned) suppressed condition steps, and the
table of fires."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from ..preview import Rule
from ..preview.plateau import PlateauState, plateau_batch

MAX_SUPPRESSED = 300  # markers per run at 800 buckets, thinned evenly (fewer when narrower)
MAX_FIRE_MARKERS = 1000  # fire markers per run (the earliest); the counts cover every fire
MAX_SHADES = 300  # cooldown ranges per run
EXACT_F32 = 2**24  # steps below this are exact as float32


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


def run_drawing(result: Any, name: str, rule: Rule, width: int) -> tuple[dict[str, Any], bytes]:
    """What the chart draws of one evaluated run (a ``RunEvaluation``): its header entry,
    whose array references are offsets into the returned bytes, and those bytes. Series are
    downsampled to ``width`` buckets; fires are kept at full resolution."""
    payload = Payload()
    # Non-finite values cannot be drawn: they are gaps in the lines, and a non-finite
    # rule's fires sit on the last finite value before them.
    drawn = np.where(np.isfinite(result.series), result.series, np.nan)
    raw = np.where(np.isfinite(result.values), result.values, np.nan)
    keep_raw = minmax_indices(raw, width)
    keep_eval = minmax_indices(drawn, width)
    fires = result.fire_index[:MAX_FIRE_MARKERS]
    condition = result.condition.copy()
    condition[result.fire_index] = False
    suppressed = np.flatnonzero(condition)
    most = max(1, MAX_SUPPRESSED * width // 800)
    if suppressed.size > most:
        suppressed = suppressed[np.linspace(0, suppressed.size - 1, most).astype(np.intp)]
    # Steps go as float32 when that is exact, halving the bytes for the x axis.
    x = "<f4" if result.steps.size == 0 or result.steps[-1] < EXACT_F32 else "<f8"
    entry = {
        "id": result.run_id,
        "name": name,
        "points": int(result.steps.size),
        "raw": [payload.add(result.steps[keep_raw], x), payload.add(raw[keep_raw], "<f4")],
        "evaluated": [
            payload.add(result.steps[keep_eval], x),
            payload.add(drawn[keep_eval], "<f4"),
        ],
        "fires": [
            payload.add(result.steps[fires], x),
            payload.add(_marker_heights(drawn, fires), "<f4"),
        ],
        "suppressed": [
            payload.add(result.steps[suppressed], x),
            payload.add(_marker_heights(drawn, suppressed), "<f4"),
        ],
        "fire_count": int(result.fire_index.size),
        "condition_count": int(np.count_nonzero(result.condition)),
        "first_fire_step": (
            int(result.steps[result.fire_index[0]]) if result.fire_index.size else None
        ),
        **(_plateau_overlays(rule, result, payload, x) if rule.kind == "plateau" else {}),
    }
    return entry, payload.buffer()


def assemble(entries: list[tuple[dict[str, Any], bytes]]) -> tuple[list[dict[str, Any]], bytes]:
    """Runs' header entries and bytes (from :func:`run_drawing`) as one header and buffer:
    each run's references shifted by where its bytes start."""
    runs, offset = [], 0
    for entry, chunk in entries:
        runs.append(_shifted(entry, offset))
        offset += len(chunk)
    return runs, b"".join(chunk for _, chunk in entries)


def _shifted(value: Any, by: int) -> Any:
    if isinstance(value, dict):
        if "offset" in value and "dtype" in value:
            return {**value, "offset": value["offset"] + by}
        return {k: _shifted(v, by) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, by) for v in value]
    return value


def fire_rows(
    runs: list[Any], limit: int, previous: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The earliest ``limit`` fires, by time, as table rows: those of ``previous`` (rows from
    an earlier call) and of ``runs`` (``RunBacktest`` objects)."""
    rows = list(previous or [])
    for r in runs:
        for step, ts, value in zip(
            r.fire_steps[:limit].tolist(),
            r.fire_timestamps[:limit].tolist(),
            r.fire_values[:limit].tolist(),
            strict=True,
        ):
            rows.append(
                {
                    "run": r.run_id,
                    "run_name": r.name,
                    "step": step,
                    "time": _iso(ts),
                    "ts": ts,
                    "value": _json_number(value),
                }
            )
    rows.sort(key=lambda f: (f["ts"] if math.isfinite(f["ts"]) else math.inf, f["run"], f["step"]))
    return rows[:limit]


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
