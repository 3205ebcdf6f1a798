"""Full-resolution history fetch: step-range pages of ``sampledHistory``, never sampled.

Each page asks for ``samples`` equal to the number of steps in its range, so no server
(W&B's or ours) has a reason to drop a row.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

Columns = dict[str, npt.NDArray[Any]]


def page_specs(
    keys: Sequence[str], first: int, last: int, page_size: int
) -> Iterator[dict[str, Any]]:
    """Specs covering steps ``first..last`` (inclusive) in pages of ``page_size`` steps."""
    wanted = ["_step", "_timestamp", *[k for k in keys if k not in ("_step", "_timestamp")]]
    lo = first
    while lo <= last:
        hi = min(last, lo + page_size - 1)
        yield {"keys": wanted, "minStep": lo, "maxStep": hi, "samples": hi - lo + 1}
        lo = hi + 1


def spec_json(spec: dict[str, Any]) -> str:
    return orjson.dumps(spec).decode()


def to_columns(keys: Sequence[str], pages: list[list[dict[str, Any]]]) -> Columns:
    """Rows from ``sampledHistory`` pages as arrays: ``_step``, ``_timestamp`` and each key."""
    rows = [row for page in pages for row in page]
    return _arrays(keys, {k: [r.get(k) for r in rows] for k in ("_step", "_timestamp", *keys)})


def from_history_columns(keys: Sequence[str], data: dict[str, Any]) -> Columns:
    """The embedded server's ``historyColumns``: base64 little-endian arrays, or lists."""
    lists: dict[str, list[Any]] = {}
    columns: Columns = {}
    for key in ("_step", "_timestamp", *keys):
        value = data.get(key, [])
        if isinstance(value, str):
            dtype = "<i8" if key == "_step" else "<f8"
            columns[key] = np.frombuffer(base64.b64decode(value), dtype=dtype)
        else:
            lists[key] = value
    if lists:
        lists.setdefault("_step", [])
        converted = _arrays([k for k in lists if k != "_step"], lists)
        columns.update({k: v for k, v in converted.items() if k in lists})
    return {k: columns[k] for k in ("_step", "_timestamp", *keys) if k in columns}


def _arrays(keys: Sequence[str], lists: dict[str, list[Any]]) -> Columns:
    columns: Columns = {"_step": np.asarray(lists["_step"], dtype=np.int64)}
    for key in ("_timestamp", *keys):
        if key in columns:
            continue
        values = lists[key]
        if bool in set(map(type, values)):  # booleans are not metric values
            columns[key] = np.array(values, dtype=object)
            continue
        try:
            columns[key] = np.array(values, dtype=np.float64)  # None becomes NaN
        except (TypeError, ValueError):
            columns[key] = np.array(values, dtype=object)  # strings, media...
    return columns
