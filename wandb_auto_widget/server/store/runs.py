"""Runs: created and updated with W&B's ``upsertBucket``, listed with Mongo-style filters."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..._jsontext import JSONTextError, dumps, loads
from ...automations.filters import parse_filter
from ...preview import check_run_filter, matches_run_filter
from ..errors import Invalid, NotFound, invalid
from .db import now
from .entities import check_name, ensure_project

# States a client may set directly; finished/failed normally come from file_stream's exitcode.
RUN_STATES = ("running", "finished", "failed", "crashed", "killed", "pending", "preempted")


def _config_text(config: Any) -> str:
    if config is None:
        return "{}"
    if isinstance(config, str):
        try:
            parsed = loads(config)
        except JSONTextError:
            raise Invalid(
                'config: must be a JSON object string, e.g. \'{"lr": {"value": 0.1}}\''
            ) from None
    else:
        parsed = config
    if not isinstance(parsed, dict):
        raise Invalid("config: must be a JSON object")
    return dumps(parsed)


def upsert_run(
    conn: sqlite3.Connection, data: dict[str, Any], default_entity: str
) -> tuple[sqlite3.Row, bool]:
    """Create or update a run from ``UpsertBucketInput`` fields; return (run, inserted)."""
    entity = data.get("entityName") or default_entity
    project_name = data.get("modelName") or "uncategorized"
    run_id_field = data.get("id")
    if run_id_field:
        from .ids import decode

        _, number = decode(run_id_field, "Run", field="id")
        existing = conn.execute("SELECT * FROM runs WHERE id = ?", (number,)).fetchone()
        if existing is None:
            raise NotFound(f"run id {run_id_field!r} not found")
        project_id, name = existing["project_id"], existing["name"]
    else:
        project, _ = ensure_project(conn, entity, project_name)
        project_id = project["id"]
        name = data.get("name") or _new_run_name(conn)
        check_name(name, "name")
        existing = conn.execute(
            "SELECT * FROM runs WHERE project_id = ? AND name = ?", (project_id, name)
        ).fetchone()
    state = data.get("state")
    if state is not None and state not in RUN_STATES:
        raise Invalid(f"state: {state!r} is not a run state; use one of {', '.join(RUN_STATES)}")
    tags = data.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise Invalid("tags: must be a list of strings")
    stamp = now()
    if existing is None:
        conn.execute(
            "INSERT INTO runs(project_id, name, display_name, state, config, tags, group_name, "
            "job_type, notes, description, created_at, heartbeat_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project_id,
                name,
                data.get("displayName") or name,
                state or "running",
                _config_text(data.get("config")),
                json.dumps(tags or []),
                data.get("groupName"),
                data.get("jobType"),
                data.get("notes"),
                data.get("description"),
                stamp,
                stamp,
            ),
        )
        inserted = True
    else:
        updates: dict[str, Any] = {"heartbeat_at": stamp}
        for field, column in (
            ("displayName", "display_name"),
            ("groupName", "group_name"),
            ("jobType", "job_type"),
            ("notes", "notes"),
            ("description", "description"),
            ("state", "state"),
        ):
            if data.get(field) is not None:
                updates[column] = data[field]
        if data.get("config") is not None:
            updates["config"] = _config_text(data["config"])
        if tags is not None:
            updates["tags"] = json.dumps(tags)
        assignments = ", ".join(f"{column} = ?" for column in updates)
        conn.execute(
            f"UPDATE runs SET {assignments} WHERE id = ?", (*updates.values(), existing["id"])
        )
        inserted = False
    run = conn.execute(
        "SELECT * FROM runs WHERE project_id = ? AND name = ?", (project_id, name)
    ).fetchone()
    return run, inserted


def _new_run_name(conn: sqlite3.Connection) -> str:
    import secrets

    return secrets.token_hex(4)


def get_run(conn: sqlite3.Connection, project_id: int, name: str) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM runs WHERE project_id = ? AND name = ?", (project_id, name)
    ).fetchone()


def run_fields(run: sqlite3.Row) -> dict[str, Any]:
    """The fields run filters can test, under W&B's names (both spellings)."""
    config = loads(run["config"])
    fields: dict[str, Any] = {
        "name": run["name"],
        "display_name": run["display_name"],
        "displayName": run["display_name"],
        "state": run["state"],
        "tags": json.loads(run["tags"]),
        "group": run["group_name"],
        "jobType": run["job_type"],
        "createdAt": run["created_at"],
        "created_at": run["created_at"],
    }
    for key, value in config.items():
        fields[f"config.{key}"] = value.get("value") if isinstance(value, dict) else value
        if isinstance(value, dict) and "value" in value:
            fields[f"config.{key}.value"] = value["value"]
    for key, value in loads(run["summary"]).items():
        fields[f"summary_metrics.{key}"] = value
    return fields


def list_runs(
    conn: sqlite3.Connection, project_id: int, filters: Any, order: str | None
) -> list[sqlite3.Row]:
    """All runs of a project that match ``filters`` (a Mongo-style dict or JSON string)."""
    if isinstance(filters, str):
        try:
            filters = loads(filters) if filters else {}
        except JSONTextError:
            raise Invalid(
                'filters: must be a JSON object, e.g. \'{"state": "finished"}\''
            ) from None
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filters: must be a JSON object")
    descending = (order or "+created_at").startswith("-")
    rows = conn.execute(
        f"SELECT * FROM runs WHERE project_id = ? ORDER BY id {'DESC' if descending else 'ASC'}",
        (project_id,),
    ).fetchall()
    if not filters:
        return rows
    try:
        expr = parse_filter(filters)
        check_run_filter(expr)  # reject unsupported operators even with no runs
        return [row for row in rows if matches_run_filter(expr, run_fields(row))]
    except ValueError as exc:
        raise invalid("filters", exc) from None
