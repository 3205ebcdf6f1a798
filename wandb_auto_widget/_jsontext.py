"""JSON as training code writes it: with ``NaN``, ``Infinity`` and ``-Infinity``.

The wandb SDK writes non-finite floats as bare tokens (Python's ``json`` does the same),
which strict JSON, and orjson, refuse. W&B stores them, and so do we: the fast path is
orjson, and only text that orjson refuses, or values it would change, take the standard
library's lenient path. Shared by the client (which logs) and the server (which stores).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""What SQLite's INTEGER holds."""
_UINT64_MAX = 2**64 - 1  # the largest integer orjson writes


class JSONTextError(ValueError):
    """Not JSON, even with ``NaN``/``Infinity`` allowed (or nested too deeply to read)."""


def loads(text: str | bytes) -> Any:
    """Parse JSON, accepting the ``NaN``/``Infinity``/``-Infinity`` tokens wandb writes."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JSONTextError(str(exc)) from None


def _needs_lenient(value: Any) -> bool:
    """Whether orjson would change ``value`` (NaN/inf become null) or refuse it (big ints)."""
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return not INT64_MIN <= value <= _UINT64_MAX
    if isinstance(value, dict):
        return any(_needs_lenient(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_needs_lenient(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and not bool(np.isfinite(value).all())
    return False


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values, for the standard library's encoder."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Compact JSON that reads back equal through :func:`loads`: non-finite floats stay
    ``NaN``/``Infinity`` tokens instead of turning into ``null``. numpy values are
    written as numbers and lists."""
    if _needs_lenient(value):
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=True, default=_plain
        )
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


# Inside GraphQL's JSON values, which must be strict JSON (wandb-core reads them with Go's
# encoder), W&B spells non-finite numbers as these strings (wandb's make_safe_for_json).
WIRE_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _wire_name(value: float) -> str:
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def wire_number(value: float) -> float | str:
    """A float for a JSON record: itself, or W&B's spelling when it is not finite."""
    return value if math.isfinite(value) else _wire_name(value)


def wire_values(column: Any) -> list[Any]:
    """A column as a JSON list, non-finite floats spelled as W&B spells them."""
    if isinstance(column, np.ndarray):
        if column.dtype.kind != "f" or bool(np.isfinite(column).all()):
            return list(column.tolist())
        column = column.tolist()
    return [_wire_name(v) if isinstance(v, float) and not math.isfinite(v) else v for v in column]
