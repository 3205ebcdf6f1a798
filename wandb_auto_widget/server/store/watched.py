"""The watcher's memory: per mirrored W&B run, what was last seen on W&B; per watched
project, the newest heartbeat (W&B's clock) its last poll saw. The mirrors themselves are
ordinary local runs."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class Seen(NamedTuple):
    line_count: int
    state: str
    stop_sent: bool


def seen(conn: sqlite3.Connection, run_id: int) -> Seen | None:
    row = conn.execute(
        "SELECT line_count, state, stop_sent FROM watched_runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    return None if row is None else Seen(int(row[0]), str(row[1]), bool(row[2]))


def remember(conn: sqlite3.Connection, run_id: int, seen: Seen) -> None:
    conn.execute(
        "INSERT INTO watched_runs(run_id, line_count, state, stop_sent) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(run_id) DO UPDATE SET line_count = excluded.line_count, "
        "state = excluded.state, stop_sent = excluded.stop_sent",
        (run_id, seen.line_count, seen.state, int(seen.stop_sent)),
    )


def last_poll(conn: sqlite3.Connection, path: str) -> float | None:
    row = conn.execute("SELECT last_poll FROM watched_projects WHERE path = ?", (path,)).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def polled(conn: sqlite3.Connection, path: str, at: float) -> None:
    conn.execute(
        "INSERT INTO watched_projects(path, last_poll) VALUES (?, ?) "
        "ON CONFLICT(path) DO UPDATE SET last_poll = excluded.last_poll",
        (path, at),
    )
