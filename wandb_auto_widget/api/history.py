"""Full-resolution history fetch: step-range pages of ``sampledHistory``, never sampled.

Each page asks for ``samples`` equal to the number of steps in its range, so no server
(W&B's or ours) has a reason to drop a row.
"""

from __future__ import annotations

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
    """Rows from history pages as arrays: ``_step``, ``_timestamp`` and each key."""
    rows = [row for page in pages for row in page]
    columns: Columns = {"_step": np.fromiter((r["_step"] for r in rows), np.int64, len(rows))}
    for key in ("_timestamp", *keys):
        if key in columns:
            continue
        values = [r.get(key) for r in rows]
        if any(isinstance(v, bool) for v in values):  # booleans are not metric values
            columns[key] = np.array(values, dtype=object)
            continue
        try:
            columns[key] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            columns[key] = np.array(values, dtype=object)  # strings, media...
    return columns
