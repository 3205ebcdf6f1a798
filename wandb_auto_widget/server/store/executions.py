"""Executions: every firing of an automation (and every ``wandb.alert``), with each delivery
attempt. PENDING executions are the outbox the delivery worker drains."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from .db import now


def insert(conn: sqlite3.Connection, values: dict[str, Any]) -> int:
    """Record one execution; returns its id."""
    cur = conn.execute(
        f"INSERT INTO executions({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()),
    )
    return int(cur.lastrowid or 0)


def get(conn: sqlite3.Connection, execution_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM executions WHERE id = ?", (execution_id,)
    ).fetchone()


def send_now(conn: sqlite3.Connection, execution_id: int) -> None:
    """Take an execution out of the worker's queue: it is sent by whoever asked, once."""
    conn.execute("UPDATE executions SET next_attempt_at = NULL WHERE id = ?", (execution_id,))


def claim_due(conn: sqlite3.Connection, limit: int, busy: list[int], lease: float) -> list[Any]:
    """Up to ``limit`` due PENDING executions, none to an integration in ``busy``; each is
    pushed out to ``lease`` (due again then, if its worker dies) and its attempt counted."""
    return conn.execute(
        "UPDATE executions SET attempts = attempts + 1, next_attempt_at = ? WHERE id IN "
        "(SELECT id FROM executions WHERE status = 'PENDING' AND next_attempt_at <= ? "
        "AND coalesce(integration_id, -1) NOT IN (SELECT value FROM json_each(?)) "
        "ORDER BY next_attempt_at LIMIT ?) RETURNING *",
        (lease, time.time(), json.dumps(busy), limit),
    ).fetchall()


def claim_one(conn: sqlite3.Connection, execution_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "UPDATE executions SET attempts = attempts + 1 WHERE id = ? AND status = 'PENDING' "
        "RETURNING *",
        (execution_id,),
    ).fetchone()


def record_attempt(
    conn: sqlite3.Connection,
    execution: Any,
    status: int | None,
    error: str | None,
    duration_ms: float,
    *,
    final: bool,
    retry_at: float | None,
) -> None:
    """One delivery attempt, and what it means for the execution: FINISHED on success,
    FAILED when ``final``, else due again at ``retry_at``."""
    conn.execute(
        "INSERT OR REPLACE INTO delivery_attempts(execution_id, attempt, at, response_status, "
        "error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
        (execution["id"], execution["attempts"], now(), status, error, duration_ms),
    )
    if error is None:
        conn.execute(
            "UPDATE executions SET status = 'FINISHED', response_status = ?, error = NULL, "
            "finished_at = ? WHERE id = ?",
            (status, now(), execution["id"]),
        )
    elif final:
        conn.execute(
            "UPDATE executions SET status = 'FAILED', response_status = ?, error = ?, "
            "finished_at = ? WHERE id = ?",
            (status, error, now(), execution["id"]),
        )
    else:
        conn.execute(
            "UPDATE executions SET response_status = ?, error = ?, next_attempt_at = ? "
            "WHERE id = ?",
            (status, error, retry_at, execution["id"]),
        )


def attempts_of(conn: sqlite3.Connection, execution_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM delivery_attempts WHERE execution_id = ? ORDER BY attempt", (execution_id,)
    ).fetchall()


def executions_of(
    conn: sqlite3.Connection, entity_id: int, trigger_id: int | None, status: str | None
) -> list[sqlite3.Row]:
    """An entity's executions (of one automation, in one status, if given), newest first."""
    query = "SELECT * FROM executions WHERE entity_id = ?"
    params: list[Any] = [entity_id]
    if trigger_id is not None:
        query += " AND trigger_id = ?"
        params.append(trigger_id)
    if status is not None:
        query += " AND status = ?"
        params.append(status)
    return conn.execute(query + " ORDER BY id DESC", params).fetchall()


def recent_alert(
    conn: sqlite3.Connection, entity_id: int, name: str, run_name: str, since: str
) -> bool:
    """Whether this alert (by title) was recorded for this run since ``since``."""
    return (
        conn.execute(
            "SELECT 1 FROM executions WHERE trigger_id IS NULL AND event_type = 'RUN_ALERT' "
            "AND trigger_name = ? AND entity_id = ? AND json_extract(event, '$.run') = ? "
            "AND created_at >= ? LIMIT 1",
            (name, entity_id, run_name, since),
        ).fetchone()
        is not None
    )


def in_period(conn: sqlite3.Connection, entity_id: int, start: str, end: str) -> list[sqlite3.Row]:
    """The entity's executions recorded in ``[start, end)`` (ISO times), tests excluded."""
    return conn.execute(
        "SELECT * FROM executions WHERE entity_id = ? AND is_test = 0 AND created_at >= ? "
        "AND created_at < ? ORDER BY id",
        (entity_id, start, end),
    ).fetchall()
