"""Webhook payload templates and Slack messages.

Templates are rendered on the *parsed* payload: ``${variable}`` is replaced inside string
values only, and the result is serialized afterwards, so no value (quotes, braces,
newlines) can break the JSON or add keys. Unknown or inapplicable variables render as
an empty string, as W&B documents for ``${alias}`` outside alias events.
"""

from __future__ import annotations

import re
from typing import Any

VARIABLE = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render_value(value: Any, variables: dict[str, Any]) -> Any:
    """``value`` with every ``${name}`` inside its strings replaced (keys stay as written)."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: _text(variables.get(m.group(1))), value)
    if isinstance(value, list):
        return [render_value(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, variables) for key, item in value.items()}
    return value


def _duration(seconds: Any) -> str:
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def slack_message(
    title: str, message: str, severity: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """A Block Kit message: title, text, what fired and its value, and a link."""
    emoji = {"INFO": ":information_source:", "WARN": ":warning:", "ERROR": ":rotating_light:"}.get(
        severity, ":bell:"
    )
    headline = (
        render_value(title, variables) or f"Automation {variables.get('automation_name', '')}"
    )
    body = render_value(message, variables)
    if variables.get("stall_state") == "stalled":
        what = (
            f"Run *{variables.get('run_name')}* has logged nothing for "
            f"{_duration(variables.get('stalled_for_s'))} "
            f"(since {variables.get('last_history_at')})"
        )
    elif variables.get("stall_state") == "resolved":
        headline = f"Resolved: {headline}"
        what = (
            f"Run *{variables.get('run_name')}* is logging again after "
            f"{_duration(variables.get('stalled_for_s'))}"
        )
    elif variables.get("metric_name"):
        what = (
            f"*{variables['metric_name']}* = `{_text(variables.get('metric_value'))}` at step "
            f"{variables.get('step')} of run *{variables.get('run_name')}*"
        )
    elif variables.get("run_state"):
        what = f"Run *{variables.get('run_name')}* is now *{variables['run_state']}*"
    else:
        what = (
            f"*{variables.get('event_type')}* on `{variables.get('artifact_version_string', '')}`"
        )
    link = variables.get("run_url") or variables.get("artifact_url") or ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{headline}"[:150]}},
    ]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": what}})
    context = f"{emoji} {severity} · {variables.get('entity_name')}/{variables.get('project_name')}"
    if link:
        context += f" · <{link}|open>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": f"{headline}: {what}", "blocks": blocks}
