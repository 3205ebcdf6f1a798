"""What every part of the engine works with: the automations parsed once, the server's
address and user, and, for run events, the run and its project in the ingesting
transaction."""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...automations import OnRunMetric
from ...automations.events import EVENT_CLASSES, EventType
from ...preview.rules import Rule, rule_from
from ..store.ids import encode
from ..store.runs import request_stop, run_fields
from .outbox import enqueue


@functools.lru_cache(maxsize=4096)
def fingerprint(event_filter: str) -> str:
    """Identifies the filter that policy state was saved for (an edited filter starts afresh);
    cached: every batch asks for it once per automation."""
    return hashlib.sha1(event_filter.encode()).hexdigest()


def project_scope(project_id: int, name: str) -> dict[str, Any]:
    """The scope an event parses against: a project, as W&B's Trigger JSON names it."""
    return {"__typename": "Project", "id": encode("Project", project_id), "name": name}


@dataclass
class EngineSettings:
    """The engine's state that outlives a transaction: no run state is kept here (it is
    loaded from, and saved to, the database in each ingest transaction, so a rolled-back
    batch leaves no trace), only what is parsed once and the server's identity."""

    base_url: str = ""  # set once the server knows its address, for run links
    viewer: str = ""  # the local user, who owns every run (run filters on "username")
    clock: Callable[[], float] = time.time  # epoch seconds; tests pass a controllable one
    _parsed: dict[int, tuple[str, Any, Rule | None]] = field(default_factory=dict)

    def event(self, trigger: sqlite3.Row, scope: dict[str, Any]) -> Any:
        """The automation's event, parsed once per version of its filter."""
        return self._parse(trigger, scope)[0]

    def rule(self, trigger: sqlite3.Row, scope: dict[str, Any]) -> Rule:
        """The flattened condition of a metric automation."""
        rule = self._parse(trigger, scope)[1]
        assert rule is not None, "rule() is for metric automations"
        return rule

    def _parse(self, trigger: sqlite3.Row, scope: dict[str, Any]) -> tuple[Any, Rule | None]:
        cached = self._parsed.get(trigger["id"])
        key = trigger["event_filter"] + trigger["scope_id"]
        if cached is None or cached[0] != key:
            cls = EVENT_CLASSES[EventType(trigger["event_type"])]
            event = cls.model_validate({"scope": scope, "filter": trigger["event_filter"]})
            rule = rule_from(event) if isinstance(event, OnRunMetric) else None
            cached = self._parsed[trigger["id"]] = (key, event, rule)
        return cached[1], cached[2]


@dataclass
class RunContext:
    """One run's event, inside the ingesting transaction."""

    conn: sqlite3.Connection
    settings: EngineSettings
    project: sqlite3.Row
    run: sqlite3.Row

    @property
    def scope(self) -> dict[str, Any]:
        return project_scope(self.project["id"], self.project["name"])

    def fields(self) -> dict[str, Any]:
        """The run's fields for run filters."""
        return run_fields(self.run, self.settings.viewer)

    def variables(self, event_type: str) -> dict[str, Any]:
        """The payload template variables every run event has."""
        project, run = self.project, self.run
        return {
            "event_type": event_type,
            "entity_name": project["entity_name"],
            "project_name": project["name"],
            "event_author": project["entity_name"],
            "run_id": run["name"],
            "run_name": run["display_name"] or run["name"],
            "run_url": f"{self.settings.base_url}/{project['entity_name']}/{project['name']}"
            f"/runs/{run['name']}",
            "run_state": run["state"],
        }

    def fire(
        self,
        trigger: sqlite3.Row | dict[str, Any],
        variables: dict[str, Any],
        details: dict[str, Any],
    ) -> int:
        """Record a firing (into the outbox); ``details`` is the execution's event record."""
        run = self.run
        event = {"run": run["name"], "run_name": run["display_name"] or run["name"], **details}
        if trigger["action_type"] == "STOP_RUN":
            # Done in the firing transaction: the run's next file_stream answer says stop.
            request_stop(self.conn, run)
        return enqueue(self.conn, trigger, variables, event, at=self.settings.clock())
