"""Rows from the store, shaped as the GraphQL objects of schema.graphql."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import orjson

from ..._jsontext import INT64_MAX, INT64_MIN
from ..store import executions, history, triggers
from ..store.ids import encode

LOCAL_USER_ID = encode("User", 1)


def user(entity: str) -> dict[str, Any]:
    return {
        "id": LOCAL_USER_ID,
        "name": entity,
        "username": entity,
        "email": f"{entity}@localhost",
        "admin": True,
        "flags": "{}",
        "entity": entity,
        "deletedAt": None,
        "apiKeys": {"edges": []},
    }


def entity(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": encode("Entity", row["id"]),
        "name": row["name"],
        "entityType": row["entity_type"],
        "isTeam": row["entity_type"] == "team",
        "_row": row,
    }


def project(row: sqlite3.Row, viewer: str) -> dict[str, Any]:
    return {
        "__typename": "Project",
        "id": encode("Project", row["id"]),
        "internalId": str(row["id"]),
        "name": row["name"],
        "entityName": row["entity_name"],
        "description": row["description"],
        "createdAt": row["created_at"].replace("Z", ""),
        "isBenchmark": False,
        "readOnly": False,
        "user": user(viewer),
        "_row": row,
    }


def run(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": encode("Run", row["id"]),
        "name": row["name"],
        "displayName": row["display_name"],
        "projectId": row["project_id"],
        "state": row["state"],
        "config": row["config"],
        "summaryMetrics": row["summary"],
        "systemMetrics": "{}",
        "tags": json.loads(row["tags"]),
        "group": row["group_name"],
        "jobType": row["job_type"],
        "sweepName": None,
        "commit": None,
        "readOnly": False,
        "createdAt": row["created_at"].replace("Z", ""),
        "heartbeatAt": row["heartbeat_at"].replace("Z", ""),
        "description": row["description"],
        "notes": row["notes"],
        "historyLineCount": row["history_line_count"],
        "eventsLineCount": 0,
        "logLineCount": 0,
        "exitcode": row["exit_code"],
        "stopped": bool(row["stop_requested"]),
        "_row": row,
    }


def trigger(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    data = triggers.trigger_json(conn, row)
    data["triggeringCondition"] = data.pop("event")
    data["triggeredAction"] = data.pop("action")
    return data


def sampled_history(conn: sqlite3.Connection, run_row: sqlite3.Row, specs: list[Any]) -> list[Any]:
    """One list of rows per spec: ``{"keys": [...], "samples": n, "minStep"?, "maxStep"?}``."""
    from ..errors import Invalid

    out = []
    for i, raw in enumerate(specs):
        try:
            spec = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
        except orjson.JSONDecodeError:
            spec = None
        if not isinstance(spec, dict) or not isinstance(spec.get("keys"), list):
            raise Invalid(f"specs[{i}]: must be a JSON object with a 'keys' list")
        samples = spec.get("samples")
        out.append(
            history.key_rows(
                conn,
                run_row["id"],
                [str(k) for k in spec["keys"]],
                _int(spec.get("minStep"), f"specs[{i}].minStep"),
                _int(spec.get("maxStep"), f"specs[{i}].maxStep"),
                _int(samples, f"specs[{i}].samples"),
            )
        )
    return out


def _int(value: Any, field: str) -> int | None:
    from ..errors import Invalid

    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not INT64_MIN <= value <= INT64_MAX
        or value != int(value)
    ):
        raise Invalid(f"{field}: must be an integer from {INT64_MIN} to {INT64_MAX}")
    return int(value)


def execution(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """An execution (with its delivery attempts) as the GraphQL ``AutomationExecution``."""
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
            for a in executions.attempts_of(conn, row["id"])
        ],
    }
