"""Stalled runs: when each running run last logged history, and the stalls already reported.

A stall is identified by the automation, the run, and ``since``: the time of the run's last
history row. It is reported once; when the run logs again, its ``since`` moves on and the
stall is over (``resolve``).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from .ids import decode


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def last_activity(run: sqlite3.Row) -> float:
    """When ``run`` last logged history (server clock), or, if it never has, when it began."""
    found = run["history_at"]
    return float(found) if found is not None else _epoch(run["created_at"])


def running_runs(conn: sqlite3.Connection, scope_type: str, scope_id: str) -> list[sqlite3.Row]:
    """The running runs in an automation's scope (a project, or every project of an entity),
    each with its project's name and entity name."""
    query = (
        "SELECT r.* FROM runs r JOIN projects p ON p.id = r.project_id "
        "WHERE r.state = 'running' AND "
    )
    if scope_type == "PROJECT":
        _, number = decode(scope_id, "Project", field="scopeID")
        return conn.execute(query + "p.id = ? ORDER BY r.id", (number,)).fetchall()
    _, number = decode(scope_id, "Entity", field="scopeID")
    return conn.execute(query + "p.entity_id = ? ORDER BY r.id", (number,)).fetchall()


def reported(conn: sqlite3.Connection, trigger_id: int, run_id: int) -> float | None:
    """The ``since`` of the stall already reported for this automation and run, if any."""
    row = conn.execute(
        "SELECT since FROM stalls WHERE trigger_id = ? AND run_id = ?", (trigger_id, run_id)
    ).fetchone()
    return None if row is None else float(row[0])


def record(
    conn: sqlite3.Connection, trigger_id: int, run_id: int, since: float, fired_at: float
) -> None:
    conn.execute(
        "INSERT INTO stalls(trigger_id, run_id, since, fired_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(trigger_id, run_id) DO UPDATE SET since = excluded.since, "
        "fired_at = excluded.fired_at",
        (trigger_id, run_id, since, fired_at),
    )


def open_stalls(conn: sqlite3.Connection, run_id: int) -> list[sqlite3.Row]:
    """The run's reported stalls, with their automations (enabled or not)."""
    return conn.execute(
        "SELECT s.since, s.fired_at, t.* FROM stalls s JOIN triggers t ON t.id = s.trigger_id "
        "WHERE s.run_id = ? ORDER BY t.id",
        (run_id,),
    ).fetchall()


def resolve(conn: sqlite3.Connection, run_id: int) -> None:
    conn.execute("DELETE FROM stalls WHERE run_id = ?", (run_id,))


def forget_finished(conn: sqlite3.Connection) -> None:
    """Stalls of runs that ended without logging again are closed without a message."""
    conn.execute(
        "DELETE FROM stalls WHERE run_id IN (SELECT id FROM runs WHERE state != 'running')"
    )
