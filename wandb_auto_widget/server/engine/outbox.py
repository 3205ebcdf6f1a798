"""Recording a firing: one execution row, delivered later by the delivery worker."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

import orjson

from ..store.db import now
from .render import render_value, slack_message

_CONFIG_KEYS = {
    "NOTIFICATION": "notificationActionInput",
    "GENERIC_WEBHOOK": "genericWebhookActionInput",
    "NO_OP": "noOpActionInput",
}


def enqueue(
    conn: sqlite3.Connection,
    trigger: sqlite3.Row | dict[str, Any],
    variables: dict[str, Any],
    event: dict[str, Any],
    *,
    is_test: bool = False,
) -> int:
    """Record a firing of ``trigger``; webhooks and Slack messages wait in the outbox."""
    action_type = trigger["action_type"]
    config = json.loads(trigger["action_config"]).get(_CONFIG_KEYS[action_type], {})
    variables = {**variables, "automation_name": trigger["name"]}
    integration = None
    if trigger["integration_id"] is not None:
        integration = conn.execute(
            "SELECT * FROM integrations WHERE id = ?", (trigger["integration_id"],)
        ).fetchone()
    payload: Any = None
    target = None
    status, error = "PENDING", None
    if action_type == "GENERIC_WEBHOOK":
        template = json.loads(config.get("requestPayload") or "{}")
        payload = render_value(template, variables)
        target = integration["url"] if integration else None
    elif action_type == "NOTIFICATION":
        payload = slack_message(
            config.get("title") or "",
            config.get("message") or "",
            config.get("severity") or "INFO",
            variables,
        )
        target = integration["channel_name"] if integration else None
    else:
        status = "FINISHED"  # a no-op is recorded, and that is all it does
    if action_type != "NO_OP" and integration is None:
        status, error = "FAILED", "no integration to send to; add a Slack integration to the entity"
    elif action_type != "NO_OP" and integration is not None and integration["disabled"]:
        status, error = "FAILED", "the integration is disabled (its endpoint answered 410 Gone)"
    cur = conn.execute(
        "INSERT INTO executions(trigger_id, trigger_name, entity_id, event_type, event, "
        "action_type, "
        "integration_id, target, payload, webhook_id, status, next_attempt_at, error, is_test, "
        "created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            trigger["id"],
            trigger["name"],
            trigger["entity_id"],
            trigger["event_type"],
            orjson.dumps(event).decode(),
            action_type,
            trigger["integration_id"],
            target,
            None if payload is None else orjson.dumps(payload).decode(),
            f"msg_{uuid.uuid4().hex}",
            status,
            time.time(),
            error,
            int(is_test),
            now(),
            None if status == "PENDING" else now(),
        ),
    )
    return int(cur.lastrowid or 0)
