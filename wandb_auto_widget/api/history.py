"""Full-resolution history fetch: step-range pages of ``sampledHistory``, never sampled.

Each page asks for ``samples`` equal to the number of steps in its range, so no server
(W&B's or ours) has a reason to drop a row.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from .._jsontext import WIRE_NAMES

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
    """Rows from ``sampledHistory`` pages as arrays: ``_step``, ``_timestamp`` and each key.

    For one key, only the rows that logged it: then a NaN in the column is a logged NaN, as
    in the embedded server's bulk columns (rules on logged values depend on it)."""
    rows = [row for page in pages for row in page]
    if len(keys) == 1 and keys[0] not in ("_step", "_timestamp"):
        rows = [row for row in rows if row.get(keys[0]) is not None]
    return _arrays(keys, {k: [r.get(k) for r in rows] for k in ("_step", "_timestamp", *keys)})


def parse_bulk_columns(content: bytes) -> dict[str, Columns | None]:
    """Decode the embedded server's ``/history/columns`` response (see bulk_history.py)."""
    (head_len,) = struct.unpack_from("<I", content)
    header = orjson.loads(content[4 : 4 + head_len])
    offset = 4 + head_len
    out: dict[str, Columns | None] = {}
    for entry in header:
        if entry.get("missing"):
            out[entry["run"]] = None
            continue
        columns: Columns = {}
        for column in entry["columns"]:
            if "values" in column:  # not numeric: sent as a JSON list
                lists = {"_step": [], column["key"]: column["values"]}
                columns[column["key"]] = _arrays([column["key"]], lists)[column["key"]]
                continue
            dtype = np.dtype(column["dtype"])
            size = column["length"] * dtype.itemsize
            columns[column["key"]] = np.frombuffer(content, dtype, column["length"], offset)
            offset += size
        out[entry["run"]] = columns
    return out


def _arrays(keys: Sequence[str], lists: dict[str, list[Any]]) -> Columns:
    columns: Columns = {"_step": np.asarray(lists["_step"], dtype=np.int64)}
    for key in ("_timestamp", *keys):
        if key in columns:
            continue
        values = lists[key]
        if str in set(map(type, values)):  # W&B spells NaN and infinities as strings
            values = [WIRE_NAMES.get(v, v) if isinstance(v, str) else v for v in values]
        if bool in set(map(type, values)):  # booleans are not metric values
            columns[key] = np.array(values, dtype=object)
            continue
        try:
            columns[key] = np.array(values, dtype=np.float64)  # None becomes NaN
        except (TypeError, ValueError):
            columns[key] = np.array(values, dtype=object)  # strings, media...
    return columns


def bulk_jobs(paths: Sequence[str], batch_runs: int) -> list[tuple[str, list[str]]]:
    """Run paths grouped by ``entity/project``, at most ``batch_runs`` to a request of the
    embedded server's bulk endpoint."""
    by_project: dict[str, list[str]] = {}
    for path in paths:
        entity, project, name = path.strip("/").split("/")
        by_project.setdefault(f"{entity}/{project}", []).append(name)
    return [
        (project, names[i : i + batch_runs])
        for project, names in by_project.items()
        for i in range(0, len(names), batch_runs)
    ]


def bulk_request(
    project_path: str,
    names: list[str],
    keys: Sequence[str],
    min_step: int | None,
    max_step: int | None,
) -> dict[str, Any]:
    entity, project = project_path.split("/")
    return {
        "entity": entity,
        "project": project,
        "runs": names,
        "keys": list(keys),
        "minStep": min_step,
        "maxStep": max_step,
    }
