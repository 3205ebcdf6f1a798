"""Recording a firing: one execution row, delivered later by the delivery worker."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

import orjson

from ...automations.actions import CONFIG_KEYS
from ..store import executions, integrations
from ..store.db import iso, now
from .render import render_value, slack_message


def enqueue(
    conn: sqlite3.Connection,
    trigger: sqlite3.Row | dict[str, Any],
    variables: dict[str, Any],
    event: dict[str, Any],
    *,
    is_test: bool = False,
    payload: Any = None,
    at: float | None = None,
) -> int:
    """Record a firing of ``trigger``; webhooks and Slack messages wait in the outbox.

    ``payload`` is a digest's message, composed by the caller; ``at`` the engine clock's
    time of the firing (default: now)."""
    action_type = trigger["action_type"]
    config = json.loads(trigger["action_config"]).get(CONFIG_KEYS[action_type], {})
    variables = {**variables, "automation_name": trigger["name"]}
    integration = (
        None
        if trigger["integration_id"] is None
        else integrations.get_integration_row(conn, trigger["integration_id"])
    )
    target = None
    status, error = "PENDING", None
    if action_type == "DIGEST":
        if integration is not None:
            slack = integration["kind"] == "slack"
            target = integration["channel_name"] if slack else integration["url"]
    elif action_type == "GENERIC_WEBHOOK":
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
    elif action_type == "STOP_RUN":
        # The stop itself was requested in the firing transaction (RunContext.fire).
        status, target = "FINISHED", f"run {event.get('run')}"
    else:
        status = "FINISHED"  # a no-op is recorded, and that is all it does
    sends = action_type in ("GENERIC_WEBHOOK", "NOTIFICATION", "DIGEST")
    if sends and integration is None:
        status, error = "FAILED", "no integration to send to; add a Slack integration to the entity"
    elif sends and integration is not None and integration["disabled"]:
        status, error = "FAILED", "the integration is disabled (its endpoint answered 410 Gone)"
    return executions.insert(
        conn,
        {
            "trigger_id": trigger["id"],
            "trigger_name": trigger["name"],
            "entity_id": trigger["entity_id"],
            "event_type": trigger["event_type"],
            "event": orjson.dumps(event).decode(),
            "action_type": action_type,
            "integration_id": trigger["integration_id"],
            "target": target,
            "payload": None if payload is None else orjson.dumps(payload).decode(),
            "webhook_id": f"msg_{uuid.uuid4().hex}",
            "status": status,
            "next_attempt_at": time.time(),
            "error": error,
            "is_test": int(is_test),
            "created_at": now() if at is None else iso(at),
            "finished_at": None if status == "PENDING" else now(),
        },
    )
