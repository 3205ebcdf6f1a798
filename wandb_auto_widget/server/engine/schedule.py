"""Scheduled digests (an extension), on the engine's clock.

Each enabled ``OnSchedule`` automation has a stored next time. When the clock passes it, one
digest is recorded, covering everything since the previous digest (however many firing
times a downtime skipped), and the next time after now is stored. Times come from cron in
the automation's time zone (``cronsim``), so daylight saving neither skips nor doubles a
digest. An edit reschedules at once; a disabled automation is forgotten and starts afresh.
The digest itself is ``preview.digest``'s, so the builder previews exactly what is sent.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timezone
from typing import Any

from ...automations import OnSchedule, SendDigest
from ...preview.digest import DigestFiring, DigestRun, compose_digest, is_empty, slack_blocks
from ..store import entities, executions, history, integrations, schedules, triggers
from ..store.ids import decode
from ..store.runs import alive_in
from ..store.schedules import Schedule
from .context import EngineSettings, fingerprint
from .outbox import enqueue

EVENT_TYPE = "SCHEDULE"
_ENDED = ("finished", "failed", "crashed")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _next_after(event: OnSchedule, now: float) -> float:
    return event.next_times(1, datetime.fromtimestamp(now, timezone.utc))[0].timestamp()


def on_tick(conn: sqlite3.Connection, settings: EngineSettings, now: float) -> int:
    """Record the digests that are due; returns how many."""
    now = math.floor(now)  # the store keeps whole seconds: periods start and end on them
    schedules.forget_disabled(conn)
    sent = 0
    for trigger in triggers.enabled_of_type(conn, EVENT_TYPE):
        scope, _ = triggers.scope_json(conn, trigger["scope_type"], trigger["scope_id"])
        event: OnSchedule = settings.event(trigger, scope)
        current = fingerprint(trigger["event_filter"])
        found = schedules.get(conn, trigger["id"])
        if found is None or found.fingerprint != current:
            # New, or edited: the next time follows the new cron; the period keeps its start.
            start = now if found is None else found.period_start
            schedules.save(conn, trigger["id"], Schedule(current, _next_after(event, now), start))
            continue
        if now < found.next_at:
            continue
        sent += record_digest(conn, settings, trigger, scope, found.period_start, now)
        schedules.save(conn, trigger["id"], Schedule(current, _next_after(event, now), now))
    return sent


def record_digest(
    conn: sqlite3.Connection,
    settings: EngineSettings,
    trigger: sqlite3.Row,
    scope: dict[str, Any],
    start: float,
    end: float,
    *,
    is_test: bool = False,
) -> int:
    """Compose the digest of ``[start, end)`` and put it in the outbox (unless it is empty
    and the automation skips empty ones); returns 1 if one was recorded, else 0."""
    action = SendDigest.model_validate(json.loads(trigger["action_config"])["digestActionInput"])
    digest = compose_digest(
        automation=trigger["name"],
        scope=scope["name"],
        start=start,
        end=end,
        runs=_runs(conn, settings, trigger, action, start, end),
        firings=_firings(conn, trigger, start, end),
        metrics=action.metrics,
        include=action.include,
    )
    if action.skip_if_empty and is_empty(digest) and not is_test:
        return 0
    row = integrations.get_integration_row(conn, trigger["integration_id"])
    payload = slack_blocks(digest) if row is not None and row["kind"] == "slack" else digest
    variables = {"event_type": EVENT_TYPE, "entity_name": "", "project_name": scope["name"]}
    event = {"digest": digest["period"], "scope": scope["name"]}
    enqueue(conn, trigger, variables, event, is_test=is_test, payload=payload, at=end)
    return 1


def _projects(conn: sqlite3.Connection, trigger: sqlite3.Row) -> list[sqlite3.Row]:
    _, number = decode(trigger["scope_id"], "Project", "Entity", field="scopeID")
    if trigger["scope_type"] == "PROJECT":
        project = entities.project_by_id(conn, number)
        return [] if project is None else [project]
    return entities.projects_of(conn, number)


def _runs(
    conn: sqlite3.Connection,
    settings: EngineSettings,
    trigger: sqlite3.Row,
    action: SendDigest,
    start: float,
    end: float,
) -> list[DigestRun]:
    projects = {p["id"]: p for p in _projects(conn, trigger)}
    if not projects:
        return []
    found = []
    for run in alive_in(conn, list(projects), _iso(start), _iso(end)):
        project = projects[run["project_id"]]
        series = {}
        for metric in action.metrics:
            columns = history.key_columns(conn, run["id"], [metric], None, None)
            values = columns.get(metric)
            if values is not None and getattr(values, "dtype", None) is not None:
                series[metric] = (columns["_timestamp"], values)
        path = f"{project['entity_name']}/{project['name']}/runs/{run['name']}"
        found.append(
            DigestRun(
                name=run["display_name"] or run["name"],
                url=f"{settings.base_url}/{path}",
                state=run["state"],
                created_at=_epoch(run["created_at"]),
                ended_at=_epoch(run["heartbeat_at"]) if run["state"] in _ENDED else None,
                series=series,
            )
        )
    return found


def _firings(
    conn: sqlite3.Connection, trigger: sqlite3.Row, start: float, end: float
) -> list[DigestFiring]:
    out = []
    for row in executions.in_period(conn, trigger["entity_id"], _iso(start), _iso(end)):
        event = json.loads(row["event"])
        out.append(
            DigestFiring(
                automation=row["trigger_name"],
                event_type=row["event_type"],
                time=_epoch(row["created_at"]),
                failed=row["status"] == "FAILED",
                run_name=event.get("run_name"),
                stalled=row["event_type"] == "RUN_STALLED" and event.get("state") == "stalled",
            )
        )
    return out
