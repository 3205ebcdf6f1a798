"""Run history: appended from file_stream lines, read back by key or as whole rows."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..._jsontext import INT64_MAX, JSONTextError, dumps, loads, wire_values
from ..errors import Invalid
from . import chunks

SPECIAL = ("_step", "_timestamp")


def _flatten(row: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not value.get("_type"):  # media dicts stay whole
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "nil"
    if isinstance(value, dict):
        return str(value.get("_type", "map"))
    return "list"


class _KeyCache:
    """metric key name -> id, creating ids as needed (within the caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        key_id = self.ids.get(name)
        if key_id is None:
            self.conn.execute("INSERT OR IGNORE INTO metric_keys(name) VALUES (?)", (name,))
            key_id = self.conn.execute(
                "SELECT id FROM metric_keys WHERE name = ?", (name,)
            ).fetchone()[0]
            self.ids[name] = key_id
        return key_id


_MISSING: Any = object()


def _as_float(value: int | float) -> float:
    """A logged integer as a float; one beyond float's range is an infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def append_lines(
    conn: sqlite3.Connection,
    run: sqlite3.Row,
    offset: int,
    lines: Sequence[str],
    received_at: float,
) -> list[dict[str, Any]]:
    """Append file_stream history lines at ``offset``; return the rows that were accepted.

    ``offset`` counts lines. Lines below the run's line count were already received and are
    skipped (replays are idempotent); an offset beyond it leaves a gap and is rejected.
    Rows whose ``_step`` does not increase are counted but not stored, as wandb does.
    A row without ``_timestamp`` gets ``received_at``. ``NaN`` and ``Infinity`` values
    are stored as they were logged.
    """
    count = run["history_line_count"]
    if offset > count:
        raise Invalid(
            f"offset: {offset} is past the {count} history lines received; resend from {count}"
        )
    fresh = lines[count - offset :]
    if not fresh:
        return []
    parsed, texts = _checked_rows(fresh, count - offset, received_at)

    keys = _KeyCache(conn)
    last_step = run["last_step"]
    history_rows: list[tuple[int, int, str]] = []
    values: dict[int, tuple[list[int], list[float], list[float]]] = {}
    key_counts: dict[tuple[int, str], int] = {}
    accepted = []
    run_id = run["id"]
    for row, line in zip(parsed, texts, strict=True):
        step = row["_step"]
        if last_step is not None and step <= last_step:
            continue
        last_step = step
        accepted.append(row)
        history_rows.append((run_id, step, line))
        ts = float(row["_timestamp"])
        # Flat rows of plain floats are the hot path; anything else takes _flatten/_type_of.
        items = row.items() if not any(type(v) is dict for v in row.values()) else _flatten(row)
        for name, value in items:
            kind = "number" if type(value) is float else _type_of(value)
            key_id = keys(name)
            counted = (key_id, kind)
            key_counts[counted] = key_counts.get(counted, 0) + 1
            if kind == "number" and name not in SPECIAL:
                # NaN and infinities are stored too (the evaluators skip them when firing).
                column = values.get(key_id)
                if column is None:
                    column = values[key_id] = ([], [], [])
                column[0].append(step)
                column[1].append(ts)
                column[2].append(value if type(value) is float else _as_float(value))
    conn.executemany("INSERT INTO history(run_id, step, row) VALUES (?, ?, ?)", history_rows)
    for key_id, (steps, stamps, numbers) in values.items():
        chunks.append(conn, run_id, key_id, steps, stamps, numbers)
    conn.executemany(
        "INSERT INTO run_keys(run_id, key_id, type, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(run_id, key_id, type) DO UPDATE SET count = count + excluded.count",
        [(run_id, key_id, kind, n) for (key_id, kind), n in key_counts.items()],
    )
    summary = loads(run["summary"])
    for row in accepted:
        summary.update(row)
    conn.execute(
        "UPDATE runs SET history_line_count = ?, last_step = ?, summary = ?, "
        "history_at = CASE WHEN ? THEN ? ELSE history_at END WHERE id = ?",
        (count + len(fresh), last_step, dumps(summary), bool(accepted), received_at, run_id),
    )
    return accepted


def _checked_rows(
    lines: Sequence[str], first: int, received_at: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse and check new history lines (``first`` is the first one's index in the batch);
    returns the rows and their text as stored (a row given the server's time is written
    anew). The whole batch is rejected on the first bad line, naming it."""
    parsed: list[dict[str, Any]] = []
    texts = list(lines)
    for i, line in enumerate(lines):
        where = f"content[{first + i}]"
        try:
            row = loads(line)
        except JSONTextError:
            raise Invalid(f"{where}: not a JSON line") from None
        if not isinstance(row, dict):
            raise Invalid(f"{where}: a history line must be a JSON object")
        step = row.get("_step")
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= INT64_MAX:
            raise Invalid(f"{where}: '_step' must be an integer from 0 to {INT64_MAX}")
        stamp = row.get("_timestamp", _MISSING)
        if stamp is _MISSING:
            # Documented: a row without a time gets the time the server received it.
            row["_timestamp"] = received_at
            texts[i] = dumps(row)
        elif (
            isinstance(stamp, bool)
            or not isinstance(stamp, (int, float))
            or not math.isfinite(_as_float(stamp))
        ):
            raise Invalid(f"{where}: '_timestamp' must be a number of seconds since the epoch")
        parsed.append(row)
    return parsed, texts


def history_keys(conn: sqlite3.Connection, run: sqlite3.Row) -> dict[str, Any] | None:
    """W&B's ``historyKeys`` object: ``{"lastStep": n, "keys": {name: {"typeCounts": [...]}}}``."""
    if run["last_step"] is None:
        return None
    keys: dict[str, Any] = {}
    for name, kind, count in conn.execute(
        "SELECT k.name, rk.type, rk.count FROM run_keys rk JOIN metric_keys k ON k.id = rk.key_id "
        "WHERE rk.run_id = ? ORDER BY k.name",
        (run["id"],),
    ):
        keys.setdefault(name, {"typeCounts": []})["typeCounts"].append(
            {"type": kind, "count": count}
        )
    return {"lastStep": run["last_step"], "keys": keys}


def _numeric_only(
    conn: sqlite3.Connection, run_id: int, names: Sequence[str]
) -> dict[str, int] | None:
    """Key ids if every key is logged only as numbers in this run; else None."""
    ids: dict[str, int] = {}
    for name in names:
        kinds = conn.execute(
            "SELECT rk.key_id, rk.type FROM run_keys rk JOIN metric_keys k ON k.id = rk.key_id "
            "WHERE rk.run_id = ? AND k.name = ?",
            (run_id, name),
        ).fetchall()
        if not kinds:
            ids[name] = -1  # never logged: no rows can have it
        elif any(kind != "number" for _, kind in kinds):
            return None
        else:
            ids[name] = kinds[0][0]
    return ids


def key_rows(
    conn: sqlite3.Connection,
    run_id: int,
    keys: Sequence[str],
    min_step: int | None,
    max_step: int | None,
    limit: int | None,
) -> list[dict[str, Any]]:
    """Rows that have every key in ``keys``, each with only those keys (plus ``_step``).

    ``max_step`` is inclusive. ``limit`` caps the number of rows, taken evenly across the
    range (W&B's sampling); None returns all of them. NaN and infinities come back as
    W&B's strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
    """
    columns = key_columns(conn, run_id, keys, min_step, max_step)
    names = [k for k in dict.fromkeys(["_step", *keys])]
    lists = {k: wire_values(columns[k]) for k in names}
    rows = [dict(zip(names, row, strict=True)) for row in zip(*lists.values(), strict=True)]
    return _sample(rows, limit)


def single_key_blobs(
    conn: sqlite3.Connection, run_id: int, key: str, min_step: int | None, max_step: int | None
) -> tuple[list[bytes], list[bytes], list[bytes], int] | None:
    """For one numeric key whose chunks all lie in the step range: the raw chunk BLOBs
    (steps, timestamps, values) and the point count, to send without decoding. Else None."""
    if key in SPECIAL:
        return None
    ids = _numeric_only(conn, run_id, [key])
    if ids is None:
        return None
    lo = -(2**63) if min_step is None else min_step
    hi = 2**63 - 1 if max_step is None else max_step
    return chunks.read_blobs(conn, run_id, ids[key], lo, hi)


def key_columns(
    conn: sqlite3.Connection,
    run_id: int,
    keys: Sequence[str],
    min_step: int | None,
    max_step: int | None,
) -> dict[str, Any]:
    """Rows that have every key, as columns, never sampled; always with ``_step`` and
    ``_timestamp``. Numeric keys come back as arrays, others as lists. ``max_step`` is
    inclusive."""
    wanted = [k for k in dict.fromkeys(keys) if k not in SPECIAL]
    lo = -(2**63) if min_step is None else min_step
    hi = 2**63 - 1 if max_step is None else max_step
    ids = _numeric_only(conn, run_id, wanted)
    if ids is None:  # some key holds strings, media...: read whole rows
        rows = _rows_from_json(conn, run_id, ["_timestamp", *wanted], lo, hi)
        return {k: [row.get(k) for row in rows] for k in ["_step", "_timestamp", *wanted]}
    if not wanted:
        rows = _rows_from_json(conn, run_id, ["_timestamp"], lo, hi)
        return {
            "_step": np.asarray([r["_step"] for r in rows], dtype=np.int64),
            "_timestamp": np.asarray([r["_timestamp"] for r in rows], dtype=np.float64),
        }
    steps, stamps, first = chunks.read(conn, run_id, ids[wanted[0]], lo, hi)
    out: dict[str, Any] = {wanted[0]: first}
    for name in wanted[1:]:  # keep only the steps every key was logged at
        other_steps, _, other = chunks.read(conn, run_id, ids[name], lo, hi)
        common, mine, theirs = np.intersect1d(
            steps, other_steps, assume_unique=True, return_indices=True
        )
        steps, stamps = common, stamps[mine]
        out = {k: v[mine] for k, v in out.items()}
        out[name] = other[theirs]
    return {"_step": steps, "_timestamp": stamps, **out}


def _rows_from_json(
    conn: sqlite3.Connection, run_id: int, keys: Sequence[str], lo: int, hi: int
) -> list[dict[str, Any]]:
    out = []
    for (text,) in conn.execute(
        "SELECT row FROM history WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step",
        (run_id, lo, hi),
    ):
        flat = dict(_flatten(loads(text)))
        if all(k in flat for k in keys):
            out.append({k: flat[k] for k in dict.fromkeys(["_step", *keys])})
    return out


def full_rows(
    conn: sqlite3.Connection,
    run_id: int,
    min_step: int | None,
    max_step: int | None,
    limit: int | None,
) -> list[str]:
    """Whole rows as JSON strings; ``max_step`` is exclusive here, as in W&B's ``history``."""
    lo = -(2**63) if min_step is None else min_step
    hi = 2**63 - 1 if max_step is None else max_step - 1
    rows = [
        text
        for (text,) in conn.execute(
            "SELECT row FROM history WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step",
            (run_id, lo, hi),
        )
    ]
    return _sample(rows, limit)


def _sample(rows: list[Any], limit: int | None) -> list[Any]:
    if limit is None or len(rows) <= limit:
        return rows
    if limit <= 0:
        return []
    if limit == 1:
        return rows[-1:]
    # Evenly spaced, always keeping the first and the last row.
    step = (len(rows) - 1) / (limit - 1)
    return [rows[round(i * step)] for i in range(limit)]
