"""``POST /history/columns``: full-resolution history of many runs as raw arrays.

Ours. W&B serves bulk history from files (parquet) rather than through GraphQL, and so do
we: GraphQL stays the API, and this endpoint only moves bytes. The response is::

    <4-byte little-endian header length> <header JSON> <payload>

The header lists, per run, its columns in payload order: ``{"key", "dtype", "length"}``
for arrays (``<i8`` for ``_step``, ``<f8`` otherwise), or ``{"key", "values"}`` for
columns that are not numeric. A run that does not exist has ``"missing": true``.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

from .._jsontext import INT64_MAX
from .errors import Invalid, NotFound
from .store import entities, history, runs
from .store.db import Database

MAX_RUNS = 1000


def _int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise Invalid(f"{field}: must be an integer from 0 to {INT64_MAX}")
    return value


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{field}: must be a non-empty string")
    return value


def columns_response(db: Database, body: Any) -> bytes:
    if not isinstance(body, dict):
        raise Invalid("body: must be a JSON object")
    names, keys = body.get("runs"), body.get("keys")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Invalid("runs: must be a list of run names")
    if len(names) > MAX_RUNS:
        raise Invalid(f"runs: at most {MAX_RUNS} runs per request")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise Invalid("keys: must be a non-empty list of metric names")
    lo, hi = _int(body.get("minStep"), "minStep"), _int(body.get("maxStep"), "maxStep")
    entity, project_name = (
        _name(body.get("entity"), "entity"),
        _name(body.get("project"), "project"),
    )
    conn = db.read()
    project = entities.find_project(conn, entity, project_name)
    if project is None:
        raise NotFound(f"project {entity}/{project_name} not found")
    header: list[dict[str, Any]] = []
    payload: list[bytes] = []
    for name in names:
        run = runs.get_run(conn, project["id"], name)
        if run is None:
            header.append({"run": name, "missing": True})
            continue
        described = []
        blobs = (
            history.single_key_blobs(conn, run["id"], keys[0], lo, hi) if len(keys) == 1 else None
        )
        if blobs is not None:  # the common case: chunks go out as stored, never decoded
            steps, stamps, values, count = blobs
            for key, dtype, parts in (
                ("_step", "<i8", steps),
                ("_timestamp", "<f8", stamps),
                (keys[0], "<f8", values),
            ):
                described.append({"key": key, "dtype": dtype, "length": count})
                payload += parts
            header.append({"run": name, "columns": described})
            continue
        for key, column in history.key_columns(conn, run["id"], keys, lo, hi).items():
            if isinstance(column, np.ndarray):
                described.append({"key": key, "dtype": column.dtype.str, "length": column.size})
                payload.append(column.tobytes())
            else:
                described.append({"key": key, "values": column})
        header.append({"run": name, "columns": described})
    head = orjson.dumps(header)
    return b"".join([struct.pack("<I", len(head)), head, *payload])
