"""Reading the execution history, shaped as the GraphQL ``AutomationExecution``."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from ..store.ids import encode


def execution_json(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    attempts = conn.execute(
        "SELECT * FROM delivery_attempts WHERE execution_id = ? ORDER BY attempt", (row["id"],)
    ).fetchall()
    return {
        "id": encode("AutomationExecution", row["id"]),
        "automationID": None if row["trigger_id"] is None else encode("Trigger", row["trigger_id"]),
        "automationName": row["trigger_name"],
        "eventType": row["event_type"],
        "event": orjson.loads(row["event"]),
        "actionType": row["action_type"],
        "target": row["target"],
        "payload": row["payload"],
        "webhookID": row["webhook_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "responseStatus": row["response_status"],
        "error": row["error"],
        "isTest": bool(row["is_test"]),
        "createdAt": row["created_at"],
        "finishedAt": row["finished_at"],
        "deliveries": [
            {
                "attempt": a["attempt"],
                "at": a["at"],
                "responseStatus": a["response_status"],
                "error": a["error"],
                "durationMs": a["duration_ms"],
            }
            for a in attempts
        ],
    }


def executions_of(
    conn: sqlite3.Connection, entity_id: int, trigger_id: int | None, status: str | None
) -> list[sqlite3.Row]:
    """Newest first."""
    query = "SELECT * FROM executions WHERE entity_id = ?"
    params: list[Any] = [entity_id]
    if trigger_id is not None:
        query += " AND trigger_id = ?"
        params.append(trigger_id)
    if status is not None:
        query += " AND status = ?"
        params.append(status)
    return conn.execute(query + " ORDER BY id DESC", params).fetchall()
