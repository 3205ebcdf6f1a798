"""Deciding what fires: run metrics through the preview's shared windows and fire policy
(``preview.windows`` and ``preview.stream.fire_batch``, state persisted per run), run-state
changes, and artifact events. Everything here runs inside the ingesting transaction, so a
firing is recorded exactly when the data that caused it is."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sqlite3
import time
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson

from ...automations import OnRunMetric, OnRunState
from ...automations.events import EVENT_CLASSES, EventType
from ...preview import artifact_event_fields, matches_run_filter, state_change_fires
from ...preview.policy import resolve_policy
from ...preview.rules import Rule, rule_from
from ...preview.stream import Fire, fire_batch
from ...preview.values import as_number, lookup
from ...preview.windows import SeriesBatch, Windows
from ..errors import Invalid
from ..store.artifacts import ArtifactEvent, record_event
from ..store.ids import encode
from ..store.runs import run_fields
from .outbox import enqueue

RUN_METRIC_TYPES = ("RUN_METRIC", "RUN_METRIC_CHANGE", "RUN_METRIC_ZSCORE")
# The preview's default: at most once per run per 24 h.
FIRE_POLICY: Final = resolve_policy("wandb")


class TriggerCache:
    """Parsed events and their rules by trigger id, rebuilt when an automation's filter
    changes. No run state is kept here: it is loaded from, and saved to, the database inside
    each ingest transaction, so a rolled-back batch leaves no trace."""

    def __init__(self) -> None:
        self._parsed: dict[int, tuple[str, Any, Rule | None]] = {}
        self.viewer = ""  # the local user, who owns every run (run filters on "username")

    def fingerprint(self, trigger: sqlite3.Row) -> str:
        """Identifies the filter that policy state was saved for (a changed filter starts
        afresh)."""
        return _filter_fingerprint(trigger["event_filter"])

    def event(self, trigger: sqlite3.Row, scope: dict[str, Any]) -> Any:
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


@functools.lru_cache(maxsize=4096)
def _filter_fingerprint(event_filter: str) -> str:
    # Cached: every batch asks for it once per automation.
    return hashlib.sha1(event_filter.encode()).hexdigest()


def _series_key(rule: Rule) -> tuple[Any, ...]:
    """What a rule's series depends on: not its comparison or threshold."""
    return (rule.kind, rule.agg, rule.window, rule.prior, rule.relative)


def _project_scope(project_id: int, name: str) -> dict[str, Any]:
    """The scope an event parses against: a project, as W&B's Trigger JSON names it."""
    return {"__typename": "Project", "id": encode("Project", project_id), "name": name}


def _run_scope_triggers(
    conn: sqlite3.Connection, project: sqlite3.Row, types: Iterable[str]
) -> list[sqlite3.Row]:
    kinds = tuple(types)
    placeholders = ",".join("?" * len(kinds))
    return conn.execute(
        f"SELECT * FROM triggers WHERE enabled = 1 AND event_type IN ({placeholders}) "
        "AND ((scope_type = 'PROJECT' AND scope_id = ?) "
        "OR (scope_type = 'ENTITY' AND scope_id = ?)) ORDER BY id",
        (*kinds, encode("Project", project["id"]), encode("Entity", project["entity_id"])),
    ).fetchall()


def run_variables(base_url: str, project: sqlite3.Row, run: sqlite3.Row) -> dict[str, Any]:
    return {
        "entity_name": project["entity_name"],
        "project_name": project["name"],
        "event_author": project["entity_name"],
        "run_id": run["name"],
        "run_name": run["display_name"] or run["name"],
        "run_url": f"{base_url}/{project['entity_name']}/{project['name']}/runs/{run['name']}",
        "run_state": run["state"],
    }


def _number(value: Any) -> float:
    """A logged value as a float, NaN when it does not count (the fast path is a float)."""
    if type(value) is float:
        return value  # NaN and inf stay as they are; push_columns drops them
    number = as_number(value)
    return math.nan if number is None else number


_PLAIN: Final = frozenset({float, int, type(None)})


def _column(rows: list[dict[str, Any]], key: str) -> npt.NDArray[np.float64]:
    """A logged key as floats, NaN where it does not count (missing, bool, text...)."""
    found = [row.get(key) for row in rows]
    nested = "." in key
    if set(map(type, found)) <= _PLAIN and not (nested and None in found):
        # The usual batch: plain numbers and gaps, which numpy converts as _number() would.
        return np.array(found, dtype=np.float64)
    return np.array(
        [
            _number(value if not nested or key in row else lookup(row, key))
            for row, value in zip(rows, found, strict=True)
        ],
        dtype=np.float64,
    )


def _columns(
    rows: list[dict[str, Any]], metric: str, cache: dict[str, Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(steps, timestamps, values) of ``metric`` in this batch, extracted once per metric."""
    if "_steps" not in cache:
        cache["_steps"] = np.fromiter((row["_step"] for row in rows), np.int64, len(rows))
        cache["_ts"] = _column(rows, "_timestamp")
    if metric not in cache:
        cache[metric] = _column(rows, metric)
    return cache["_steps"], cache["_ts"], cache[metric]


def on_history(
    conn: sqlite3.Connection,
    cache: TriggerCache,
    base_url: str,
    project: sqlite3.Row,
    run: sqlite3.Row,
    rows: list[dict[str, Any]],
) -> int:
    """Push newly accepted history rows through each matching metric automation.

    Work is shared as far as the semantics allow: one set of running windows per metric
    (advanced once per batch, saved once), one evaluated series per distinct window shape,
    and per automation only its comparison and its fire policy. The windows cover the run's
    values since the first automation on the metric saw it, as the preview's windows cover
    the run's whole history.
    """
    if not rows:
        return 0
    scope = _project_scope(project["id"], project["name"])
    fields = run_fields(run, cache.viewer)
    by_metric: dict[str, list[tuple[sqlite3.Row, Rule]]] = {}
    for trigger in _run_scope_triggers(conn, project, RUN_METRIC_TYPES):
        event: OnRunMetric = cache.event(trigger, scope)
        if matches_run_filter(event.filter.run, fields):
            rule = cache.rule(trigger, scope)
            by_metric.setdefault(rule.metric, []).append((trigger, rule))
    if not by_metric:
        return 0
    # One read and one write of each kind of state per batch, for all the automations.
    stored_windows = dict(
        conn.execute("SELECT metric, state FROM metric_windows WHERE run_id = ?", (run["id"],))
    )
    policy_states = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            "SELECT trigger_id, fingerprint, state FROM evaluator_state WHERE run_id = ?",
            (run["id"],),
        )
    }
    key = str(run["id"])
    columns: dict[str, Any] = {}
    saved_windows: list[tuple[int, str, bytes]] = []
    saved_policies: list[tuple[int, int, str, str]] = []
    fired = 0
    for metric, watchers in by_metric.items():
        stored = stored_windows.get(metric)
        windows = Windows() if stored is None else Windows.from_bytes(stored)
        if windows.last_step != run["last_step"]:
            # Rows were logged while nothing watched this metric (its automations were
            # disabled, or are all newer): windows with that gap would join values that are
            # not consecutive, so they start afresh.
            windows = Windows()
        capacity = max(rule.history_needed for _, rule in watchers)
        windows, advance = windows.advance(key, *_columns(rows, metric, columns), capacity)
        saved_windows.append((run["id"], metric, windows.to_bytes()))
        if advance is None:
            continue
        series: dict[tuple[Any, ...], SeriesBatch] = {}
        for trigger, rule in watchers:
            shape = _series_key(rule)
            batch = series.get(shape)
            if batch is None:
                batch = series[shape] = advance.series(rule)
            fingerprint = cache.fingerprint(trigger)
            saved_for, previous = policy_states.get(trigger["id"], ("", _FRESH))
            if saved_for != fingerprint:  # never saved, or saved for an edited filter
                previous = _FRESH
            last_condition, last_fire_ts = orjson.loads(previous)
            fires, last_condition, last_fire_ts = fire_batch(
                rule, FIRE_POLICY, batch, last_condition, last_fire_ts
            )
            policy_state = orjson.dumps([last_condition, last_fire_ts]).decode()
            if saved_for != fingerprint or policy_state != previous:
                saved_policies.append((trigger["id"], run["id"], fingerprint, policy_state))
            for fire in fires:
                _enqueue_metric_fire(conn, base_url, project, run, trigger, metric, fire)
                fired += 1
    conn.executemany(
        "INSERT INTO metric_windows(run_id, metric, state) VALUES (?, ?, ?) "
        "ON CONFLICT(run_id, metric) DO UPDATE SET state = excluded.state",
        saved_windows,
    )
    conn.executemany(
        "INSERT INTO evaluator_state(trigger_id, run_id, fingerprint, state) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(trigger_id, run_id) DO UPDATE SET fingerprint = excluded.fingerprint, "
        "state = excluded.state",
        saved_policies,
    )
    return fired


_FRESH: Final = "[false,null]"  # policy state: condition held at the last value; last fire


def _enqueue_metric_fire(
    conn: sqlite3.Connection,
    base_url: str,
    project: sqlite3.Row,
    run: sqlite3.Row,
    trigger: sqlite3.Row,
    metric: str,
    fire: Fire,
) -> None:
    variables = {
        **run_variables(base_url, project, run),
        "event_type": trigger["event_type"],
        "metric_name": metric,
        "metric_value": fire.metric_value,
        "step": fire.step,
    }
    details = {
        "run": run["name"],
        "run_name": variables["run_name"],
        "metric": metric,
        "step": fire.step,
        "value": fire.metric_value,
        "evaluated": fire.value,
        "timestamp": fire.timestamp,
    }
    enqueue(conn, trigger, variables, details)


def on_run_state(
    conn: sqlite3.Connection,
    cache: TriggerCache,
    base_url: str,
    project: sqlite3.Row,
    run: sqlite3.Row,
    previous: str | None,
    current: str,
) -> int:
    """Fire run-state automations for a state change (crashed counts as failed)."""
    fired = 0
    scope = _project_scope(project["id"], project["name"])
    fields = run_fields(run, cache.viewer)
    for trigger in _run_scope_triggers(conn, project, ("RUN_STATE",)):
        event: OnRunState = cache.event(trigger, scope)
        if matches_run_filter(event.filter.run, fields) and state_change_fires(
            event.filter, previous, current
        ):
            variables = {
                **run_variables(base_url, project, run),
                "event_type": "RUN_STATE",
                "run_state": current,
            }
            enqueue(
                conn,
                trigger,
                variables,
                {
                    "run": run["name"],
                    "run_name": variables["run_name"],
                    "from": previous,
                    "to": current,
                },
            )
            fired += 1
    return fired


def on_artifact_events(
    conn: sqlite3.Connection, cache: TriggerCache, base_url: str, events: list[ArtifactEvent]
) -> int:
    """Fire artifact automations scoped to the collection, its project or its entity."""
    fired = 0
    for ev in events:
        collection = conn.execute(
            "SELECT c.*, p.name AS project_name, p.entity_id, e.name AS entity_name "
            "FROM artifact_collections c JOIN projects p ON p.id = c.project_id "
            "JOIN entities e ON e.id = p.entity_id WHERE c.id = ?",
            (ev.collection_id,),
        ).fetchone()
        kind = "ArtifactSequence" if collection["kind"] == "sequence" else "ArtifactPortfolio"
        scopes = {
            ("ARTIFACT_COLLECTION", encode(kind, collection["id"])): {
                "__typename": kind,
                "id": encode(kind, collection["id"]),
                "name": collection["name"],
            },
            ("PROJECT", encode("Project", collection["project_id"])): _project_scope(
                collection["project_id"], collection["project_name"]
            ),
        }
        artifact = conn.execute(
            "SELECT * FROM artifacts WHERE id = ?", (ev.artifact_id,)
        ).fetchone()
        version = None
        if artifact is not None:
            member = conn.execute(
                "SELECT version_index FROM artifact_memberships WHERE collection_id = ? AND "
                "artifact_id = ?",
                (collection["id"], artifact["id"]),
            ).fetchone()
            version = f"v{member[0]}" if member else f"v{artifact['version_index']}"
        variables: dict[str, Any] = {
            "event_type": ev.event_type,
            "event_author": collection["entity_name"],
            "entity_name": collection["entity_name"],
            "project_name": collection["project_name"],
            "artifact_collection_name": collection["name"],
            "alias": ev.alias or "",
            "tag": ev.tag or "",
        }
        if artifact is not None:
            variables["artifact_version"] = (
                f"wandb-artifact://_id/{encode('Artifact', artifact['id'])}"
            )
            variables["artifact_version_string"] = (
                f"{collection['entity_name']}/{collection['project_name']}/{collection['name']}:{version}"
            )
            for key, value in json.loads(artifact["metadata"]).items():
                variables[f"artifact_metadata.{key}"] = value
        aliases = [
            r[0]
            for r in conn.execute(
                "SELECT alias FROM artifact_aliases WHERE collection_id = ? AND artifact_id = ?",
                (collection["id"], ev.artifact_id),
            )
        ]
        record_event(conn, ev, version, aliases)  # kept for previews, fired on or not
        fields = artifact_event_fields(ev.alias, ev.tag, aliases)
        for (scope_type, scope_id), scope in scopes.items():
            for trigger in conn.execute(
                "SELECT * FROM triggers WHERE enabled = 1 AND event_type = ? AND scope_type = ? "
                "AND scope_id = ? ORDER BY id",
                (ev.event_type, scope_type, scope_id),
            ).fetchall():
                event = cache.event(trigger, scope)
                if matches_run_filter(event.filter, fields):
                    enqueue(
                        conn,
                        trigger,
                        variables,
                        {
                            "artifact": variables.get("artifact_version_string"),
                            "alias": ev.alias,
                            "tag": ev.tag,
                            "collection": collection["name"],
                        },
                    )
                    fired += 1
    return fired


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


def on_alert(
    conn: sqlite3.Connection,
    base_url: str,
    project: sqlite3.Row,
    run: sqlite3.Row,
    title: str,
    text: str,
    severity: str,
    wait: Any,
) -> int:
    name = f"alert: {title}"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - alert_wait_seconds(wait)))
    recent = conn.execute(
        "SELECT 1 FROM executions WHERE trigger_id IS NULL AND event_type = 'RUN_ALERT' "
        "AND trigger_name = ? AND entity_id = ? AND json_extract(event, '$.run') = ? "
        "AND created_at >= ? LIMIT 1",
        (name, project["entity_id"], run["name"], since),
    ).fetchone()
    if recent is not None:
        return 0  # throttled: the same title for this run within wait_duration
    slack = conn.execute(
        "SELECT id FROM integrations WHERE entity_id = ? AND kind = 'slack' ORDER BY id LIMIT 1",
        (project["entity_id"],),
    ).fetchone()
    # enqueue() takes a trigger; an alert is an ad-hoc one: notify this entity's Slack.
    alert = {
        "id": None,
        "name": name,
        "entity_id": project["entity_id"],
        "event_type": "RUN_ALERT",
        "action_type": "NOTIFICATION",
        "action_config": json.dumps(
            {"notificationActionInput": {"title": title, "message": text, "severity": severity}}
        ),
        "integration_id": None if slack is None else slack["id"],
    }
    variables = {**run_variables(base_url, project, run), "event_type": "RUN_ALERT"}
    enqueue(
        conn,
        alert,
        variables,
        {"run": run["name"], "run_name": variables["run_name"], "title": title, "text": text},
    )
    return 1
