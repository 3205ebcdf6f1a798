"""Turning the history a user hands us into per-run columns.

Accepted per run: a list of row dicts, a dict of columns, or a pandas DataFrame.
Rows whose ``_step`` is not greater than every earlier row's are dropped, as
wandb itself drops a ``log`` call whose step goes backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .values import as_number, lookup

STEP, TIMESTAMP = "_step", "_timestamp"


@dataclass(frozen=True)
class Series:
    """The rows of one run that carry a valid value of the metric, in logged order."""

    steps: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]


def _accepted(steps: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_] | None:
    """True where a row's step is greater than every earlier row's; None if all are."""
    increasing = steps[1:] > steps[:-1]
    if increasing.all():
        return None
    keep = np.ones(steps.size, dtype=bool)
    keep[1:] = steps[1:] > np.maximum.accumulate(steps)[:-1]
    return keep


def _numbers(column: Any) -> npt.NDArray[np.float64]:
    """A column as float64 with NaN wherever the value does not count."""
    # Only arrays that already have a numeric dtype are trusted as they are: NumPy would
    # silently turn a list such as [nan, True] into [nan, 1.0].
    array = column if isinstance(column, np.ndarray) else None
    if array is not None and array.dtype.kind in "iuf":
        out = array.astype(np.float64, copy=False)
        finite = np.isfinite(out)
        return out if finite.all() else np.where(finite, out, np.nan)
    # Mixed columns (numbers beside strings, bools or None) are read value by value;
    # as_object keeps NumPy from turning them all into strings first.
    as_object = np.asarray(column, dtype=object).tolist()
    return np.array(
        [np.nan if (n := as_number(v)) is None else n for v in as_object], dtype=np.float64
    )


def _require(columns: Mapping[str, Any], key: str, run_id: str) -> Any:
    if key not in columns:
        raise ValueError(f"history of run {run_id!r} has no {key!r} column; every row needs one")
    return columns[key]


def from_columns(run_id: str, columns: Mapping[str, Any], metric: str) -> Series:
    steps = np.asarray(_require(columns, STEP, run_id))
    if steps.dtype.kind not in "iu" and not np.all(np.mod(steps.astype(float), 1) == 0):
        raise ValueError(f"run {run_id!r}: {STEP!r} must hold integers")
    n = steps.size
    stamps = columns.get(TIMESTAMP)
    timestamps = np.full(n, np.nan) if stamps is None else _numbers(stamps)
    raw = columns.get(metric)
    if raw is None and "." in metric:  # a nested key: "a.b" reads column "a"'s dicts
        head = metric.split(".", 1)[0]
        raw = [lookup({head: cell}, metric) for cell in columns.get(head, [])]
    values = np.full(n, np.nan) if raw is None or len(raw) == 0 else _numbers(raw)
    if values.size != n or timestamps.size != n:
        raise ValueError(f"run {run_id!r}: every column must have one entry per row")
    steps = steps.astype(np.int64, copy=False)
    keep = _accepted(steps)
    missing = np.isnan(values)
    if missing.any():
        keep = ~missing if keep is None else keep & ~missing
    if keep is None:  # the common case: every row counts, no copies needed
        return Series(steps, timestamps, values)
    return Series(steps[keep], timestamps[keep], values[keep])


def from_rows(run_id: str, rows: Sequence[Mapping[str, Any]], metric: str) -> Series:
    steps, stamps, values = [], [], []
    for i, row in enumerate(rows):
        if STEP not in row:
            raise ValueError(f"run {run_id!r}, row {i}: missing {STEP!r}; every row needs one")
        steps.append(int(row[STEP]))
        ts = as_number(row.get(TIMESTAMP))
        stamps.append(np.nan if ts is None else ts)
        value = as_number(lookup(row, metric))
        values.append(np.nan if value is None else value)
    return from_columns(
        run_id,
        # Already normalized above: hand over float arrays, not lists to re-check.
        {
            STEP: np.asarray(steps, dtype=np.int64),
            TIMESTAMP: np.asarray(stamps, dtype=np.float64),
            metric: np.asarray(values, dtype=np.float64),
        },
        metric,
    )


def to_series(run_id: str, history: Any, metric: str) -> Series:
    """Normalize one run's history, whatever shape it came in."""
    if hasattr(history, "to_dict") and hasattr(history, "columns"):  # a pandas DataFrame
        return from_columns(run_id, {c: history[c].to_numpy() for c in history.columns}, metric)
    if isinstance(history, Mapping):
        return from_columns(run_id, history, metric)
    if isinstance(history, Sequence):
        return from_rows(run_id, history, metric)
    raise TypeError(
        f"history of run {run_id!r} must be a list of rows, a dict of columns or a DataFrame; "
        f"got {type(history).__name__}"
    )
