"""Automations (W&B's triggers): validated with the domain model, stored, read back as W&B does."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from ...automations import (
    DoNothing,
    EventType,
    SendDigest,
    SendNotification,
    SendWebhook,
    StopRun,
)
from ...automations.actions import CONFIG_KEYS
from ...automations.automations import saved_trigger
from ...automations.events import EVENT_CLASSES
from ...preview import check_run_filter
from ..errors import Conflict, Invalid, NotFound, invalid
from .db import now
from .entities import project_by_id
from .ids import decode, encode
from .integrations import get_integration, integration_json

# The actions this server runs. ARIA prompts are answered by W&B's hosted assistant, which
# has no local counterpart, so they are refused rather than stored and never run.
_ACTION_KEYS = {kind: key for kind, key in CONFIG_KEYS.items() if kind != "ARIA"}
_RUN_EVENTS = frozenset(
    {
        EventType.RUN_METRIC,
        EventType.RUN_METRIC_CHANGE,
        EventType.RUN_METRIC_ZSCORE,
        EventType.RUN_STATE,
        EventType.RUN_METRIC_PLATEAU,
        EventType.RUN_METRIC_NON_FINITE,
        EventType.RUN_STALLED,
    }
)
_INTEGRATION_KIND = {
    "NOTIFICATION": ("slack",),
    "GENERIC_WEBHOOK": ("webhook",),
    "DIGEST": ("slack", "webhook"),
}
_ACTION_CLASSES: dict[str, Any] = {
    "NOTIFICATION": SendNotification,
    "GENERIC_WEBHOOK": SendWebhook,
    "NO_OP": DoNothing,
    "STOP_RUN": StopRun,
    "DIGEST": SendDigest,
}


def scope_json(
    conn: sqlite3.Connection, scope_type: str, scope_id: str
) -> tuple[dict[str, Any], int]:
    """The GraphQL scope object for a trigger, and the id of the entity that owns it."""
    if scope_type == "PROJECT":
        _, number = decode(scope_id, "Project", field="scopeID")
        project = project_by_id(conn, number)
        if project is None:
            raise NotFound(f"scopeID: project {scope_id!r} not found")
        return {"__typename": "Project", "id": scope_id, "name": project["name"]}, project[
            "entity_id"
        ]
    if scope_type == "ARTIFACT_COLLECTION":
        _, number = decode(
            scope_id, "ArtifactSequence", "ArtifactPortfolio", "ArtifactCollection", field="scopeID"
        )
        row = conn.execute(
            "SELECT c.*, p.entity_id FROM artifact_collections c "
            "JOIN projects p ON p.id = c.project_id WHERE c.id = ?",
            (number,),
        ).fetchone()
        if row is None:
            raise NotFound(f"scopeID: artifact collection {scope_id!r} not found")
        typename = "ArtifactSequence" if row["kind"] == "sequence" else "ArtifactPortfolio"
        return {"__typename": typename, "id": scope_id, "name": row["name"]}, row["entity_id"]
    if scope_type == "ENTITY":
        _, number = decode(scope_id, "Entity", field="scopeID")
        row = conn.execute("SELECT * FROM entities WHERE id = ?", (number,)).fetchone()
        if row is None:
            raise NotFound(f"scopeID: entity {scope_id!r} not found")
        return (
            {
                "__typename": "Entity",
                "id": scope_id,
                "name": row["name"],
                "entityType": row["entity_type"],
            },
            row["id"],
        )
    raise Invalid(f"scopeType: {scope_type!r} must be PROJECT, ARTIFACT_COLLECTION or ENTITY")


def _validated(conn: sqlite3.Connection, data: dict[str, Any]) -> dict[str, Any]:
    """Check a Create/UpdateFilterTriggerInput; return what to store."""
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise Invalid("name: required, 1 to 255 characters")
    action_type = data.get("triggeredActionType")
    if action_type == "ARIA":
        raise Invalid(
            "triggeredActionType: ARIA prompts run only on W&B (its hosted assistant answers "
            "them); on this server use NOTIFICATION, GENERIC_WEBHOOK or NO_OP"
        )
    key = _ACTION_KEYS.get(str(action_type))
    if key is None:
        raise Invalid(
            f"triggeredActionType: {action_type!r} must be one of {', '.join(_ACTION_KEYS)}"
        )
    config = data.get("triggeredActionConfig") or {}
    if not isinstance(config, dict) or set(config) != {key} or not isinstance(config[key], dict):
        raise Invalid(
            f"triggeredActionConfig: a {action_type} action needs exactly {{{key!r}: ...}}"
        )
    scope, entity_id = scope_json(conn, str(data.get("scopeType")), str(data.get("scopeID")))
    integration = None
    if action_type in _INTEGRATION_KIND:
        row = get_integration(
            conn,
            str(config[key].get("integrationID")),
            field=f"triggeredActionConfig.{key}.integrationID",
        )
        kinds = _INTEGRATION_KIND[action_type]
        if row["kind"] not in kinds or row["entity_id"] != entity_id:
            raise Invalid(
                f"triggeredActionConfig.{key}.integrationID: not a "
                f"{' or '.join(kinds)} integration of this automation's entity"
            )
        integration = integration_json(row)
    enabled = True if data.get("enabled") is None else bool(data["enabled"])
    _check_event(str(data.get("triggeringEventType")), scope, data.get("eventFilter"))
    try:
        _ACTION_CLASSES[str(action_type)].model_validate(config[key])
    except ValidationError as exc:
        raise invalid(f"triggeredActionConfig.{key}", exc) from None
    return {
        "entity_id": entity_id,
        "name": name,
        "description": data.get("description"),
        "enabled": 1 if enabled else 0,
        "scope_type": data["scopeType"],
        "scope_id": data["scopeID"],
        "event_type": data["triggeringEventType"],
        "event_filter": data["eventFilter"],
        "action_type": action_type,
        "action_config": json.dumps(config),
        "integration_id": None if integration is None else decode(integration["id"])[1],
    }


def _check_event(event_type: str, scope: dict[str, Any], event_filter: Any) -> None:
    """Validate the event exactly as the domain model would build it."""
    try:
        kind = EventType(event_type)
    except ValueError:
        raise Invalid(f"triggeringEventType: {event_type!r} is not an event type") from None
    cls = EVENT_CLASSES.get(kind)
    if cls is None:
        raise Invalid(f"triggeringEventType: {event_type} cannot be used for new automations")
    if not isinstance(event_filter, str):
        raise Invalid("eventFilter: must be a JSON string")
    try:
        event = cls.model_validate({"scope": scope, "filter": event_filter})
    except ValidationError as exc:
        raise invalid("eventFilter", exc) from None
    # What the engine will evaluate while ingesting must be evaluable: checked now.
    run_filter = getattr(event.filter, "run", None) if kind in _RUN_EVENTS else event.filter
    try:
        if kind is not EventType.SCHEDULE:  # a schedule watches no runs
            check_run_filter(run_filter)
    except ValueError as exc:
        raise invalid("eventFilter", exc) from None
    if event.event_type is not kind:
        raise Invalid(
            f"triggeringEventType: {event_type} does not match the eventFilter, "
            f"which describes a {event.event_type.value} event"
        )


def create(conn: sqlite3.Connection, data: dict[str, Any]) -> sqlite3.Row:
    values = _validated(conn, data)
    values["created_at"] = now()
    columns = ", ".join(values)
    try:
        cur = conn.execute(
            f"INSERT INTO triggers({columns}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
    except sqlite3.IntegrityError:
        raise Conflict(
            f"Automation {data['name']!r} exists. Unable to create another with the same name."
        ) from None
    return get(conn, cur.lastrowid or 0)


def update(conn: sqlite3.Connection, data: dict[str, Any]) -> sqlite3.Row:
    _, number = decode(str(data.get("id")), "Trigger", field="id")
    get(conn, number)
    values = _validated(conn, data)
    values["updated_at"] = now()
    try:
        conn.execute(
            f"UPDATE triggers SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?",
            (*values.values(), number),
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"name: another automation is already named {data['name']!r}") from None
    return get(conn, number)


def delete(conn: sqlite3.Connection, gql_id: str) -> None:
    _, number = decode(gql_id, "Trigger", field="triggerID")
    if conn.execute("DELETE FROM triggers WHERE id = ?", (number,)).rowcount == 0:
        raise NotFound(f"triggerID: automation {gql_id!r} not found")


def get(conn: sqlite3.Connection, number: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM triggers WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(f"Automation {encode('Trigger', number)!r} not found. Unable to edit it.")
    return row  # type: ignore[no-any-return]


def of_entity(conn: sqlite3.Connection, entity_id: int, filters: Any = None) -> list[sqlite3.Row]:
    if isinstance(filters, str):
        try:
            filters = orjson.loads(filters)
        except orjson.JSONDecodeError:
            raise Invalid(
                'filters: must be a JSON object such as \'{"name": "my-automation"}\''
            ) from None
    rows = conn.execute(
        "SELECT * FROM triggers WHERE entity_id = ? ORDER BY id", (entity_id,)
    ).fetchall()
    if isinstance(filters, dict) and "name" in filters:
        rows = [r for r in rows if r["name"] == filters["name"]]
    return rows


def of_project(conn: sqlite3.Connection, project_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM triggers WHERE scope_type = 'PROJECT' AND scope_id = ? ORDER BY id",
        (encode("Project", project_id),),
    ).fetchall()


def trigger_json(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """The GraphQL ``Trigger`` object, as W&B returns it."""
    scope, _ = scope_json(conn, row["scope_type"], row["scope_id"])
    integration = None
    if row["integration_id"] is not None:
        found = conn.execute(
            "SELECT * FROM integrations WHERE id = ?", (row["integration_id"],)
        ).fetchone()
        integration = integration_json(found)
    create_input = {
        "name": row["name"],
        "description": row["description"],
        "enabled": bool(row["enabled"]),
        "eventFilter": row["event_filter"],
        "triggeredActionConfig": json.loads(row["action_config"]),
        "triggeredActionType": row["action_type"],
        "triggeringEventType": row["event_type"],
    }
    return saved_trigger(
        create_input,
        id=encode("Trigger", row["id"]),
        created_at=_parse_time(row["created_at"]),
        updated_at=_parse_time(row["updated_at"]) if row["updated_at"] else None,
        scope=scope,
        integration=integration,
    )


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_scope_triggers(
    conn: sqlite3.Connection, project: sqlite3.Row, event_types: tuple[str, ...]
) -> list[sqlite3.Row]:
    """Enabled automations of these event types that watch a project's runs: scoped to the
    project, or to its entity."""
    placeholders = ",".join("?" * len(event_types))
    return conn.execute(
        f"SELECT * FROM triggers WHERE enabled = 1 AND event_type IN ({placeholders}) "
        "AND ((scope_type = 'PROJECT' AND scope_id = ?) "
        "OR (scope_type = 'ENTITY' AND scope_id = ?)) ORDER BY id",
        (*event_types, encode("Project", project["id"]), encode("Entity", project["entity_id"])),
    ).fetchall()


def scoped_triggers(
    conn: sqlite3.Connection, event_type: str, scope_type: str, scope_id: str
) -> list[sqlite3.Row]:
    """Enabled automations of one event type on one scope."""
    return conn.execute(
        "SELECT * FROM triggers WHERE enabled = 1 AND event_type = ? AND scope_type = ? "
        "AND scope_id = ? ORDER BY id",
        (event_type, scope_type, scope_id),
    ).fetchall()


def enabled_of_type(conn: sqlite3.Connection, event_type: str) -> list[sqlite3.Row]:
    """Enabled automations of one event type, whatever their scope."""
    return conn.execute(
        "SELECT * FROM triggers WHERE enabled = 1 AND event_type = ? ORDER BY id", (event_type,)
    ).fetchall()
