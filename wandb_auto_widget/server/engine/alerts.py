"""``wandb.alert()``: a Slack message through the entity's first Slack integration, at most
once per ``wait_duration`` per run and title, recorded in the execution history."""

from __future__ import annotations

import json
import time
from typing import Any

from ...automations.actions import CONFIG_KEYS
from ..errors import Invalid
from ..store import executions, integrations
from .context import RunContext

DEFAULT_ALERT_WAIT_S = 60.0  # wandb.alert's default wait_duration
MAX_ALERT_WAIT_S = 366 * 24 * 3600.0


def alert_wait_seconds(wait: Any) -> float:
    """wandb-core sends ``waitDuration`` as a Duration; accept seconds or a "90s"/"1m" string.

    Invalid for anything that is not a duration from 0 to a year."""
    if wait is None:
        return DEFAULT_ALERT_WAIT_S
    seconds: float | None = None
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        seconds = float(wait)
    elif isinstance(wait, str):
        text = wait.strip()
        units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        unit = next((u for u in ("ms", "s", "m", "h") if text.endswith(u)), "")
        try:
            seconds = float(text[: len(text) - len(unit)]) * units.get(unit, 1.0)
        except ValueError:
            seconds = None
    if seconds is None or not 0 <= seconds <= MAX_ALERT_WAIT_S:  # NaN fails this too
        raise Invalid(
            f"waitDuration: {str(wait)[:40]!r} must be a duration from 0 to a year, in seconds "
            'or like "90s", "5m", "1h"'
        )
    return seconds


def on_alert(context: RunContext, title: str, text: str, severity: str, wait: Any) -> int:
    """Send the alert unless the same title was sent for this run within ``wait``."""
    name = f"alert: {title}"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - alert_wait_seconds(wait)))
    entity_id = context.project["entity_id"]
    if executions.recent_alert(context.conn, entity_id, name, context.run["name"], since):
        return 0
    slack = integrations.first_slack(context.conn, entity_id)
    # An alert is an ad-hoc automation: notify this entity's Slack.
    alert = {
        "id": None,
        "name": name,
        "entity_id": entity_id,
        "event_type": "RUN_ALERT",
        "action_type": "NOTIFICATION",
        "action_config": json.dumps(
            {CONFIG_KEYS["NOTIFICATION"]: {"title": title, "message": text, "severity": severity}}
        ),
        "integration_id": None if slack is None else slack["id"],
    }
    context.fire(alert, context.variables("RUN_ALERT"), {"title": title, "text": text})
    return 1
