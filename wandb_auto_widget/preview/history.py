"""Turning the history a user hands us into per-run columns.

Accepted per run: a list of row dicts, a dict of columns, or a pandas DataFrame.
Rows whose ``_step`` is not greater than every earlier row's are dropped, as
wandb itself drops a ``log`` call whose step goes backwards.

Most rules read only finite values (``logged=False``): NaN, infinities and anything that is
not a number are dropped with their row. Rules on values as logged (non-finite, plateau) keep
NaN and infinities (``logged=True``); in a numeric column NaN then means a logged NaN, so
columns should hold only the rows that logged the metric (as this package's ``Api``
returns them for one key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .values import as_logged_number, as_number, lookup

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


def _numbers(
    column: Any, logged: bool = False
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_] | None]:
    """A column as float64, and where a value counts (None: everywhere it is not NaN).

    Finite values only, NaN where a value does not count; with ``logged``, NaN and
    infinities as logged, and the mask marks the entries that are numbers."""
    # Only arrays that already have a numeric dtype are trusted as they are: NumPy would
    # silently turn a list such as [nan, True] into [nan, 1.0].
    array = column if isinstance(column, np.ndarray) else None
    if array is not None and array.dtype.kind in "iuf":
        out = array.astype(np.float64, copy=False)
        if logged:
            return out, np.ones(out.size, dtype=bool)
        finite = np.isfinite(out)
        return (out if finite.all() else np.where(finite, out, np.nan)), None
    # Mixed columns (numbers beside strings, bools or None) are read value by value;
    # as_object keeps NumPy from turning them all into strings first.
    as_object = np.asarray(column, dtype=object).tolist()
    read = as_logged_number if logged else as_number
    numbers = [read(v) for v in as_object]
    values = np.array([np.nan if n is None else n for n in numbers], dtype=np.float64)
    present = np.array([n is not None for n in numbers], dtype=bool) if logged else None
    return values, present


def _require(columns: Mapping[str, Any], key: str, run_id: str) -> Any:
    if key not in columns:
        raise ValueError(f"history of run {run_id!r} has no {key!r} column; every row needs one")
    return columns[key]


def from_columns(
    run_id: str, columns: Mapping[str, Any], metric: str, *, logged: bool = False
) -> Series:
    steps = np.asarray(_require(columns, STEP, run_id))
    if steps.dtype.kind not in "iu" and not np.all(np.mod(steps.astype(float), 1) == 0):
        raise ValueError(f"run {run_id!r}: {STEP!r} must hold integers")
    n = steps.size
    stamps = columns.get(TIMESTAMP)
    timestamps = np.full(n, np.nan) if stamps is None else _numbers(stamps)[0]
    raw = columns.get(metric)
    if raw is None and "." in metric:  # a nested key: "a.b" reads column "a"'s dicts
        head = metric.split(".", 1)[0]
        raw = [lookup({head: cell}, metric) for cell in columns.get(head, [])]
    present: npt.NDArray[np.bool_] | None
    if raw is None or len(raw) == 0:
        values, present = np.full(n, np.nan), np.zeros(n, dtype=bool)
    else:
        values, present = _numbers(raw, logged)
    if values.size != n or timestamps.size != n:
        raise ValueError(f"run {run_id!r}: every column must have one entry per row")
    steps = steps.astype(np.int64, copy=False)
    keep = _accepted(steps)
    missing = np.isnan(values) if present is None else ~present
    if missing.any():
        keep = ~missing if keep is None else keep & ~missing
    if keep is None:  # the common case: every row counts, no copies needed
        return Series(steps, timestamps, values)
    return Series(steps[keep], timestamps[keep], values[keep])


def from_rows(
    run_id: str, rows: Sequence[Mapping[str, Any]], metric: str, *, logged: bool = False
) -> Series:
    steps, stamps, values, present = [], [], [], []
    read = as_logged_number if logged else as_number
    for i, row in enumerate(rows):
        if STEP not in row:
            raise ValueError(f"run {run_id!r}, row {i}: missing {STEP!r}; every row needs one")
        steps.append(int(row[STEP]))
        ts = as_number(row.get(TIMESTAMP))
        stamps.append(np.nan if ts is None else ts)
        value = read(lookup(row, metric))
        values.append(np.nan if value is None else value)
        present.append(value is not None)
    step_array = np.asarray(steps, dtype=np.int64)
    if logged and not all(present):
        # Rows without the metric leave here: after this, NaN means a logged NaN.
        keep = np.asarray(present, dtype=bool)
        accepted = _accepted(step_array)  # dropped rows still count for step order
        if accepted is not None:
            keep &= accepted
        step_array = step_array[keep]
        stamps = np.asarray(stamps, dtype=np.float64)[keep].tolist()
        values = np.asarray(values, dtype=np.float64)[keep].tolist()
    return from_columns(
        run_id,
        # Already normalized above: hand over float arrays, not lists to re-check.
        {
            STEP: step_array,
            TIMESTAMP: np.asarray(stamps, dtype=np.float64),
            metric: np.asarray(values, dtype=np.float64),
        },
        metric,
        logged=logged,
    )


def to_series(run_id: str, history: Any, metric: str, *, logged: bool = False) -> Series:
    """Normalize one run's history, whatever shape it came in (``logged``: see above)."""
    if hasattr(history, "to_dict") and hasattr(history, "columns"):  # a pandas DataFrame
        columns = {c: history[c].to_numpy() for c in history.columns}
        return from_columns(run_id, columns, metric, logged=logged)
    if isinstance(history, Mapping):
        return from_columns(run_id, history, metric, logged=logged)
    if isinstance(history, Sequence):
        return from_rows(run_id, history, metric, logged=logged)
    raise TypeError(
        f"history of run {run_id!r} must be a list of rows, a dict of columns or a DataFrame; "
        f"got {type(history).__name__}"
    )
