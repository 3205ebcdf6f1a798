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

from .plateau import PlateauState, plateau_batch
from .rules import Z_TOLERANCE, Rule

F64 = npt.NDArray[np.float64]


def _prefix(x: F64, anchor: float, *, square: bool = False) -> F64:
    """Running sums of ``x - anchor`` (or its square) before each value and after the last,
    built in place: this and the comparison are most of a rule's time."""
    out = np.empty(x.size + 1)
    out[0] = 0.0
    body = out[1:]
    np.subtract(x, anchor, out=body)
    if square:
        np.multiply(body, body, out=body)
    np.cumsum(body, out=body)
    return out


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
    if x.size == 0:
        return np.full(0, np.nan), np.zeros(0, dtype=bool)
    if rule.kind in ("plateau", "non_finite"):
        series = x if rule.agg is None else evaluate_series(rule.smoothing(), x)[0]
        return series, stateful_condition(rule, series, None)[0]
    anchor = float(x[0])
    prefix = _prefix(x, anchor)
    # Only z-scores read the sums of squares.
    squares = _prefix(x, anchor, square=True) if rule.kind == "zscore" else prefix
    series = series_with_history(rule, x, prefix, squares, anchor, 0, 0)
    return series, condition_of(rule, series)


def stateful_condition(
    rule: Rule, series: F64, state: PlateauState | None
) -> tuple[npt.NDArray[np.bool_], PlateauState | None]:
    """The condition of a rule whose past matters beyond its window (non-finite, plateau),
    continuing from ``state``; returns it and the state after.

    ``series`` is what the rule reads: values as logged, or a smoothed plateau's window
    aggregates (NaN until the first full window, and those values are not fed)."""
    if rule.kind == "non_finite":
        return ~np.isfinite(series), None
    assert rule.plateau is not None, "stateful_condition() is for non-finite and plateau rules"
    condition = np.zeros(series.size, dtype=bool)
    fed_at = None if rule.agg is None else np.flatnonzero(~np.isnan(series))
    fed = series if fed_at is None else series[fed_at]
    trace = plateau_batch(rule.plateau, fed, state or PlateauState())
    condition[trace.fires if fed_at is None else fed_at[trace.fires]] = True
    return condition, trace.state


def condition_of(rule: Rule, series: F64) -> npt.NDArray[np.bool_]:
    """Where the rule's comparison holds on its evaluated series (never where it is NaN)."""
    if rule.kind == "threshold":
        return _compare(series, rule.cmp, rule.threshold)
    return _directed(series, rule.cmp, rule.threshold)


def series_with_history(
    rule: Rule,
    x: F64,
    prefix: F64,
    squares: F64,
    anchor: float,
    tail: int,
    seen: int,
) -> F64:
    """Evaluate the values ``x[tail:]``, given the ``tail`` values logged just before them.

    ``prefix[k]`` / ``squares[k]`` are the run's running sums of ``x - anchor`` and its
    square before ``x[k]`` (``len(x) + 1`` entries), carried from earlier batches; ``seen``
    counts the run's values before ``x[0]``. With no tail this is the whole-history batch
    evaluation; with one it is ``StreamEvaluator.push_rows``. Same operations either way.
    The series depends on the rule's metric, aggregation and windows, not on its comparison
    or threshold.
    """
    n = x.size
    new = n - tail
    series = np.empty(new)
    # Positions tail..n-1 are evaluated; those whose run index reaches the rule's history
    # are a suffix starting at ``lo``, so every window below is a slice, not a gather.
    lo = max(tail, rule.history_needed - 1 - seen)
    if lo >= n:
        series.fill(np.nan)
        return series
    series[: lo - tail] = np.nan
    out = slice(lo - tail, new)
    w = rule.window

    def agg(size: int, back: int, agg_op: str | None, into: F64 | None = None) -> F64:
        """Aggregate of the ``size`` values ending ``back`` positions before each of lo..n-1."""
        end_lo, end_hi = lo - back, n - back  # window ends, as a slice
        if agg_op is None:
            return x[end_lo:end_hi]
        if agg_op == "AVERAGE":
            mean: F64 = np.subtract(
                prefix[end_lo + 1 : end_hi + 1],
                prefix[end_lo + 1 - size : end_hi + 1 - size],
                out=into,
            )
            mean /= size
            mean += anchor
            return mean
        view = sliding_window_view(x, size)[end_lo - size + 1 : end_hi - size + 1]
        extreme: F64 = view.max(axis=1) if agg_op == "MAX" else view.min(axis=1)
        return extreme

    if rule.kind == "threshold":
        # A window mean is written straight into the series (no temporary to copy).
        target = series[out]
        result = agg(w, 0, rule.agg, into=target)
        if result is not target:
            target[...] = result
        return series
    if rule.kind == "change":
        prior = agg(rule.prior, w, rule.agg)
        if prior.base is not None:  # a view of x (no aggregation): not to be written to
            prior = prior.copy()
        # current - prior, then / |prior| (NaN where prior is 0), in place in the series:
        # the same operations as on temporaries, without allocating them.
        target = series[out]
        current = agg(w, 0, rule.agg, into=target)
        if current is not target:
            target[...] = current
        target -= prior
        if rule.relative:
            zero = prior == 0.0
            np.abs(prior, out=prior)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                target /= prior
            if zero.any():
                target[zero] = np.nan
        return series
    # z-score of x[k] against the w values logged just before it.
    mean = (prefix[lo:n] - prefix[lo - w : n - w]) / w
    var = (squares[lo:n] - squares[lo - w : n - w]) / w - mean * mean
    std = np.sqrt(np.maximum(var, 0.0))
    flat = std <= Z_TOLERANCE * np.abs(anchor + mean)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.where(flat, np.nan, ((x[lo:n] - anchor) - mean) / std)
    series[out] = z
    return series
