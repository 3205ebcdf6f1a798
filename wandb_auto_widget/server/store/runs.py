"""Runs: created and updated with W&B's ``upsertBucket``, listed with Mongo-style filters."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..._jsontext import JSONTextError, dumps, loads
from ...automations.filters import parse_filter
from ...preview import check_run_filter, matches_run_filter, run_filter_fields
from ...preview.values import lookup
from ..errors import Invalid, NotFound, invalid
from .db import now
from .entities import check_name, ensure_project, find_project
from .ids import decode

# States a client may set directly; finished/failed normally come from file_stream's exitcode.
RUN_STATES = ("running", "finished", "failed", "crashed", "killed", "pending", "preempted")


def _config_text(config: Any) -> str:
    if config is None:
        return "{}"
    return _json_object_text(config, "config", '{"lr": {"value": 0.1}}')


def _json_object_text(value: Any, field: str, example: str = '{"acc": 0.9}') -> str:
    """A JSON object given as a JSON string (or already decoded), as stored text."""
    parsed = value
    if isinstance(value, str):
        try:
            parsed = loads(value)
        except JSONTextError:
            parsed = None
    if not isinstance(parsed, dict):
        raise Invalid(f"{field}: must be a JSON object string, e.g. '{example}'")
    return dumps(parsed)


def upsert_run(
    conn: sqlite3.Connection, data: dict[str, Any], default_entity: str
) -> tuple[sqlite3.Row, bool]:
    """Create or update a run from ``UpsertBucketInput`` fields; return (run, inserted)."""
    entity = data.get("entityName") or default_entity
    project_name = data.get("modelName") or "uncategorized"
    run_id_field = data.get("id")
    if run_id_field:
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
        if data.get("summaryMetrics") is not None:  # wandb.Api's run.summary.update()
            updates["summary"] = _json_object_text(data["summaryMetrics"], "summaryMetrics")
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


def run_fields(run: sqlite3.Row, username: str) -> dict[str, Any]:
    """The fields run filters can test (preview.run_filter_fields, the one mapping)."""
    config = {
        key: value["value"] if isinstance(value, dict) and "value" in value else value
        for key, value in loads(run["config"]).items()
        if key != "_wandb"
    }
    return run_filter_fields(
        name=run["name"],
        display_name=run["display_name"],
        state=run["state"],
        tags=json.loads(run["tags"]),
        config=config,
        summary=loads(run["summary"]),
        group=run["group_name"],
        job_type=run["job_type"],
        created_at=run["created_at"],
        username=username,
    )


ORDER_KEYS = (
    "created_at",
    "heartbeat_at",
    "display_name",
    "name",
    "state",
    "summary_metrics.<key>",
    "config.<key>.value",
)


def _order_key(order: str) -> tuple[bool, Any]:
    """``order`` (W&B's ``"-created_at"``, ``"+summary_metrics.acc"``...) as (descending,
    a function from a run row to its sort key); Invalid for a key W&B's runs cannot sort by.

    Null placement is MySQL's, as on W&B: a run without the value sorts before every run
    with one in ascending order, after them in descending order. Numbers sort before strings.
    """
    descending = order.startswith("-")
    field = order.lstrip("+-").strip()
    if field in ("created_at", "createdAt"):
        return descending, lambda row: (1, row["created_at"])
    if field in ("heartbeat_at", "heartbeatAt"):
        return descending, lambda row: (1, row["heartbeat_at"])
    if field in ("display_name", "displayName"):
        return descending, lambda row: (1, row["display_name"] or "")
    if field in ("name", "state"):
        return descending, lambda row: (1, row[field])
    if field.startswith("summary_metrics.") and len(field) > len("summary_metrics."):
        key = field.removeprefix("summary_metrics.")
        return descending, lambda row: _sortable(lookup(loads(row["summary"]), key))
    if field.startswith("config.") and field.endswith(".value") and len(field) > 13:
        key = field.removeprefix("config.").removesuffix(".value")
        return descending, lambda row: _sortable(_config_value(loads(row["config"]), key))
    raise Invalid(
        f"order: {order!r} is not an order runs can be listed in; use '+' or '-' followed by "
        f"one of {', '.join(ORDER_KEYS)}"
    )


def _config_value(config: dict[str, Any], key: str) -> Any:
    head, _, rest = key.partition(".")
    if key in config:
        head, rest = key, ""
    wrapped = config.get(head)
    value = wrapped.get("value") if isinstance(wrapped, dict) and "value" in wrapped else wrapped
    return lookup({"v": value}, f"v.{rest}") if rest else value


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None or (isinstance(value, float) and value != value):
        return (0, 0)
    if isinstance(value, (int, float)):  # booleans too, as 0 and 1
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, dumps(value))


def list_runs(
    conn: sqlite3.Connection,
    project_id: int,
    filters: Any,
    order: str | None,
    username: str = "",
) -> list[sqlite3.Row]:
    """All runs of a project that match ``filters`` (a Mongo-style dict or JSON string), in
    ``order`` (default ``-created_at``: newest first)."""
    if isinstance(filters, str):
        try:
            filters = loads(filters) if filters else {}
        except JSONTextError:
            raise Invalid(
                'filters: must be a JSON object, e.g. \'{"state": "finished"}\''
            ) from None
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filters: must be a JSON object")
    if order is not None and not isinstance(order, str):
        raise Invalid("order: must be a string such as '-created_at'")
    descending, key = _order_key(order or "-created_at")
    rows: list[sqlite3.Row] = conn.execute(
        "SELECT * FROM runs WHERE project_id = ? ORDER BY id", (project_id,)
    ).fetchall()
    if filters:
        try:
            expr = parse_filter(filters)
            check_run_filter(expr)  # reject unsupported operators even with no runs
            rows = [row for row in rows if matches_run_filter(expr, run_fields(row, username))]
        except ValueError as exc:
            raise invalid("filters", exc) from None
    # Ties keep creation order, reversed with the rest when descending.
    return sorted(rows, key=lambda row: (key(row), row["id"]), reverse=descending)


def get_run_by_id(conn: sqlite3.Connection, gql_id: str) -> sqlite3.Row | None:
    """A run by its GraphQL id (``Run:<n>``, base64), as W&B's mutations name runs."""
    _, number = decode(gql_id, "Run", field="id")
    return conn.execute("SELECT * FROM runs WHERE id = ?", (number,)).fetchone()  # type: ignore[no-any-return]


def request_stop(conn: sqlite3.Connection, run: sqlite3.Row) -> None:
    conn.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (run["id"],))


def delete_run(conn: sqlite3.Connection, run: sqlite3.Row, *, delete_artifacts: bool) -> None:
    """Delete a run; its history, keys, windows and evaluator state go with it (foreign keys
    cascade). Its artifact versions stay (without their creator) unless ``delete_artifacts``."""
    if delete_artifacts:
        conn.execute("DELETE FROM artifacts WHERE created_by_run = ?", (run["id"],))
    conn.execute("DELETE FROM runs WHERE id = ?", (run["id"],))


def state_before_upsert(conn: sqlite3.Connection, data: dict[str, Any], viewer: str) -> str | None:
    """The state of the run an ``upsertBucket`` names, before it changes (None if new)."""
    if data.get("id"):
        found = get_run_by_id(conn, data["id"])
    else:
        project = find_project(conn, data.get("entityName") or viewer, data.get("modelName"))
        found = None if project is None else get_run(conn, project["id"], data.get("name") or "")
    return None if found is None else str(found["state"])


def set_summary(conn: sqlite3.Connection, run_id: int, summary_text: str) -> None:
    conn.execute("UPDATE runs SET summary = ? WHERE id = ?", (summary_text, run_id))


def heartbeat(
    conn: sqlite3.Connection, run: sqlite3.Row, *, exit_code: int | None = None, finish: bool
) -> sqlite3.Row:
    """A sign of life from a run (file_stream); with ``finish``, the run is over: finished,
    or failed with a non-zero exit code. Returns the run as it now is."""
    if finish:
        conn.execute(
            "UPDATE runs SET heartbeat_at = ?, state = ?, exit_code = ? WHERE id = ?",
            (now(), "finished" if not exit_code else "failed", exit_code, run["id"]),
        )
    else:
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (now(), run["id"]))
    updated: sqlite3.Row = conn.execute("SELECT * FROM runs WHERE id = ?", (run["id"],)).fetchone()
    return updated


def alive_in(
    conn: sqlite3.Connection, project_ids: list[int], start: str, end: str
) -> list[sqlite3.Row]:
    """Runs of these projects that existed during ``[start, end)`` (ISO times): created
    before its end, and running or last heard of after its start; with their project."""
    marks = ",".join("?" * len(project_ids))
    return conn.execute(
        f"SELECT r.*, p.name AS project_name FROM runs r JOIN projects p ON p.id = r.project_id "
        f"WHERE r.project_id IN ({marks}) AND r.created_at < ? "
        "AND (r.state = 'running' OR r.heartbeat_at >= ?) ORDER BY r.created_at, r.id",
        (*project_ids, end, start),
    ).fetchall()
