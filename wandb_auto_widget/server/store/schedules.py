"""Scheduled automations: when each fires next, and where its next digest's period begins."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class Schedule(NamedTuple):
    fingerprint: str  # of the event filter the times were computed for
    next_at: float  # epoch seconds
    period_start: float  # epoch seconds


def get(conn: sqlite3.Connection, trigger_id: int) -> Schedule | None:
    row = conn.execute(
        "SELECT fingerprint, next_at, period_start FROM schedules WHERE trigger_id = ?",
        (trigger_id,),
    ).fetchone()
    return None if row is None else Schedule(row[0], float(row[1]), float(row[2]))


def save(conn: sqlite3.Connection, trigger_id: int, schedule: Schedule) -> None:
    conn.execute(
        "INSERT INTO schedules(trigger_id, fingerprint, next_at, period_start) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(trigger_id) DO UPDATE SET "
        "fingerprint = excluded.fingerprint, next_at = excluded.next_at, "
        "period_start = excluded.period_start",
        (trigger_id, *schedule),
    )


def forget_disabled(conn: sqlite3.Connection) -> None:
    """A disabled schedule starts afresh when enabled again: no catch-up for the time off."""
    conn.execute(
        "DELETE FROM schedules WHERE trigger_id IN (SELECT id FROM triggers WHERE enabled = 0)"
    )
