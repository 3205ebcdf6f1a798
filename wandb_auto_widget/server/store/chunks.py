"""Columnar numeric history: per (run, key), chunks of steps/timestamps/values as arrays.

Steps within a run only increase (ingestion drops the rest), so a key's chunks are sorted
and non-overlapping, and appending touches only the last one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

CHUNK_SIZE = 4096
I8, F8 = np.dtype("<i8"), np.dtype("<f8")

Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


def append(
    conn: sqlite3.Connection,
    run_id: int,
    key_id: int,
    steps: Sequence[int],
    stamps: Sequence[float],
    values: Sequence[float],
) -> None:
    """Append points (steps increasing, all after the key's last step) to a key's chunks."""
    new_steps = np.asarray(steps, dtype=I8)
    new_ts = np.asarray(stamps, dtype=F8)
    new_vals = np.asarray(values, dtype=F8)
    last = conn.execute(
        "SELECT first_step, n, steps, ts, vals FROM history_chunks "
        "WHERE run_id = ? AND key_id = ? ORDER BY first_step DESC LIMIT 1",
        (run_id, key_id),
    ).fetchone()
    if last is not None and last[1] < CHUNK_SIZE:
        # Refill the last, partial chunk first.
        conn.execute(
            "DELETE FROM history_chunks WHERE run_id = ? AND key_id = ? AND first_step = ?",
            (run_id, key_id, last[0]),
        )
        new_steps = np.concatenate([np.frombuffer(last[2], I8), new_steps])
        new_ts = np.concatenate([np.frombuffer(last[3], F8), new_ts])
        new_vals = np.concatenate([np.frombuffer(last[4], F8), new_vals])
    rows = []
    for start in range(0, new_steps.size, CHUNK_SIZE):
        part = slice(start, start + CHUNK_SIZE)
        s = new_steps[part]
        rows.append(
            (
                run_id,
                key_id,
                int(s[0]),
                int(s[-1]),
                s.size,
                s.tobytes(),
                new_ts[part].tobytes(),
                new_vals[part].tobytes(),
            )
        )
    conn.executemany(
        "INSERT INTO history_chunks(run_id, key_id, first_step, last_step, n, steps, ts, vals) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


# The chunks of one (run, key) that overlap steps lo..hi, in step order.
_OVERLAPPING = (
    "FROM history_chunks WHERE run_id = ? AND key_id = ? AND last_step >= ? AND first_step <= ? "
    "ORDER BY first_step"
)


def read_blobs(
    conn: sqlite3.Connection, run_id: int, key_id: int, lo: int, hi: int
) -> tuple[list[bytes], list[bytes], list[bytes], int] | None:
    """The raw chunk BLOBs (steps, timestamps, values) and the point count, when every
    chunk lies inside ``lo..hi``; None when some chunk would need trimming."""
    found = conn.execute(
        f"SELECT first_step, last_step, n, steps, ts, vals {_OVERLAPPING}", (run_id, key_id, lo, hi)
    ).fetchall()
    if found and (found[0][0] < lo or found[-1][1] > hi):
        return None
    return (
        [r[3] for r in found],
        [r[4] for r in found],
        [r[5] for r in found],
        sum(r[2] for r in found),
    )


def read(conn: sqlite3.Connection, run_id: int, key_id: int, lo: int, hi: int) -> Arrays:
    """A key's (steps, timestamps, values) with ``lo <= step <= hi``."""
    found = conn.execute(
        f"SELECT steps, ts, vals {_OVERLAPPING}", (run_id, key_id, lo, hi)
    ).fetchall()
    if not found:
        return np.empty(0, I8), np.empty(0, F8), np.empty(0, F8)
    steps = np.frombuffer(b"".join(r[0] for r in found), I8)
    ts = np.frombuffer(b"".join(r[1] for r in found), F8)
    vals = np.frombuffer(b"".join(r[2] for r in found), F8)
    if steps[0] < lo or steps[-1] > hi:
        keep = (steps >= lo) & (steps <= hi)
        steps, ts, vals = steps[keep], ts[keep], vals[keep]
    return steps, ts, vals
