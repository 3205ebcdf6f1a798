"""Reading a metric's value out of a logged row, by the rules of docs/semantics.md."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real
from typing import Any

_MISSING = object()


def lookup(row: Mapping[str, Any], key: str) -> Any:
    """``row[key]``; failing that, a nested path (``"a.b"`` reads ``row["a"]["b"]``)."""
    value = row.get(key, _MISSING)
    if value is not _MISSING:
        return value
    node: Any = row
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def as_logged_number(value: Any) -> float | None:
    """The value as a float as it was logged, NaN and infinities included; None if it is not
    a number (booleans, strings, None and other objects)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond float range
        return math.inf if value > 0 else -math.inf  # type: ignore[operator]


def as_number(value: Any) -> float | None:
    """The value as a finite float, or None if it does not count as a logged value.

    Booleans, strings, None, NaN and infinities do not count.
    """
    number = as_logged_number(value)
    return number if number is not None and math.isfinite(number) else None
