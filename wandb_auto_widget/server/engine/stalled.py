"""Stalled runs (an extension): a running run that logs no history for ``after`` fires once
per silence, on the engine's clock; with ``resolved=True`` it fires again, marked resolved,
when the run next logs.

Activity is a history row accepted by the server, on the server's clock: system metrics and
heartbeats do not count, so a run that hangs while its process lives is caught, which W&B's
crash detection (no heartbeat for minutes) cannot do.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Any

from ...preview import matches_run_filter
from ..store import entities, stalls, triggers
from .context import EngineSettings, RunContext

EVENT_TYPE = "RUN_STALLED"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def on_tick(conn: sqlite3.Connection, settings: EngineSettings, now: float) -> int:
    """Report every run that has been silent for its automations' ``after``; returns how
    many firings were recorded."""
    stalls.forget_finished(conn)
    fired = 0
    for trigger in triggers.enabled_of_type(conn, EVENT_TYPE):
        scope, _ = triggers.scope_json(conn, trigger["scope_type"], trigger["scope_id"])
        event = settings.event(trigger, scope)
        after = event.filter.stalled.after_seconds
        for run in stalls.running_runs(conn, trigger["scope_type"], trigger["scope_id"]):
            since = stalls.last_activity(run)
            if now - since < after or stalls.reported(conn, trigger["id"], run["id"]) == since:
                continue
            project = entities.project_by_id(conn, run["project_id"])
            assert project is not None
            context = RunContext(conn, settings, project, run)
            if not matches_run_filter(event.filter.run, context.fields()):
                continue
            _fire(context, trigger, "stalled", since, now)
            stalls.record(conn, trigger["id"], run["id"], since, now)
            fired += 1
    return fired


def on_history(context: RunContext) -> int:
    """The run logged again: its open stalls are over; those that asked say so."""
    open_stalls = stalls.open_stalls(context.conn, context.run["id"])
    if not open_stalls:
        return 0
    stalls.resolve(context.conn, context.run["id"])
    fired = 0
    for row in open_stalls:
        event = context.settings.event(row, context.scope)
        if row["enabled"] and event.filter.stalled.notify_resolved:
            _fire(context, row, "resolved", float(row["since"]), context.settings.clock())
            fired += 1
    return fired


def _fire(context: RunContext, trigger: sqlite3.Row, state: str, since: float, now: float) -> None:
    silent = round(now - since)
    variables: dict[str, Any] = {
        **context.variables(EVENT_TYPE),
        "stall_state": state,
        "stalled_for_s": silent,
        "last_history_at": _iso(since),
        # One key per silence, the same on "stalled" and "resolved", so that an incident
        # tool can close what it opened.
        "stall_id": f"{trigger['id']}-{context.run['id']}-{int(since)}",
    }
    details = {"state": state, "last_history_at": _iso(since), "silent_s": silent}
    context.fire(trigger, variables, details)
