"""Batch evaluation over whole histories: what the preview shows.

The arithmetic here is deliberately the same, operation for operation, as in
``stream.py``: window sums are differences of float64 prefix sums of ``x - K``
(``K`` is the run's first value), built left to right by ``np.cumsum`` exactly as
the stream builds them with ``P += x - K``. That is what makes the two agree bit
for bit, which the property tests check.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .rules import Z_TOLERANCE, Rule

F64 = npt.NDArray[np.float64]


def _prefix(d: F64) -> F64:
    out = np.empty(d.size + 1)
    out[0] = 0.0
    np.cumsum(d, out=out[1:])
    return out


def _window_agg(x: F64, prefix: F64, anchor: float, agg: str | None, w: int) -> F64:
    """``out[k]`` aggregates ``x[k : k + w]``; length ``len(x) - w + 1``."""
    if agg is None:
        return x
    if agg == "AVERAGE":
        # In place, but the same three operations as the stream: (hi - lo), / w, anchor +.
        mean = np.subtract(prefix[w:], prefix[:-w])
        mean /= w
        mean += anchor
        return mean
    view = sliding_window_view(x, w)
    extreme: F64 = view.max(axis=1) if agg == "MAX" else view.min(axis=1)
    return extreme


_COMPARE = {
    "$gt": np.greater,
    "$gte": np.greater_equal,
    "$lt": np.less,
    "$lte": np.less_equal,
    "$eq": np.equal,
}


def _compare(value: F64, cmp: str, threshold: float) -> npt.NDArray[np.bool_]:
    if cmp == "$ne":  # NaN is "not evaluable", never "not equal"
        return np.not_equal(value, threshold) & ~np.isnan(value)
    result: npt.NDArray[np.bool_] = _COMPARE[cmp](value, threshold)
    return result


def _directed(delta: F64, direction: str, amount: float) -> npt.NDArray[np.bool_]:
    if direction == "INCREASE":
        return np.greater_equal(delta, amount)
    if direction == "DECREASE":
        return np.less_equal(delta, -amount)
    return np.greater_equal(np.abs(delta), amount)


def evaluate_series(rule: Rule, x: F64) -> tuple[F64, npt.NDArray[np.bool_]]:
    """The evaluated series (NaN where not evaluable) and the condition, per value of ``x``."""
    n = x.size
    series = np.full(n, np.nan)
    start = rule.history_needed - 1  # first index where the rule can be evaluated
    if n <= start:
        return series, np.zeros(n, dtype=bool)
    anchor = float(x[0])
    d = x - anchor
    prefix = _prefix(d)

    if rule.kind == "threshold":
        series[start:] = _window_agg(x, prefix, anchor, rule.agg, rule.window)
        return series, _compare(series, rule.cmp, rule.threshold)

    if rule.kind == "change":
        w, p = rule.window, rule.prior
        current = _window_agg(x, prefix, anchor, rule.agg, w)[p:]  # windows ending at i >= w+p-1
        prior = _window_agg(x, prefix, anchor, rule.agg, p)[: n - w - p + 1]
        delta = current - prior
        if rule.relative:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                delta = np.where(prior == 0.0, np.nan, delta / np.abs(prior))
        series[start:] = delta
        return series, _directed(series, rule.cmp, rule.threshold)

    # z-score of x[i] against the w values logged just before it.
    w = rule.window
    squares = _prefix(d * d)
    mean = (prefix[w:n] - prefix[: n - w]) / w
    var = (squares[w:n] - squares[: n - w]) / w - mean * mean
    std = np.sqrt(np.maximum(var, 0.0))
    flat = std <= Z_TOLERANCE * np.abs(anchor + mean)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.where(flat, np.nan, (d[w:] - mean) / std)
    series[start:] = z
    return series, _directed(series, rule.cmp, rule.threshold)
