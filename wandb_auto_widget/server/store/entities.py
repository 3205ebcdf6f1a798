"""Entities (users and teams) and projects."""

from __future__ import annotations

import re
import sqlite3

from ..errors import Invalid, NotFound
from .db import now

NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


def check_name(value: str | None, field: str) -> str:
    if not value or not NAME.match(value):
        raise Invalid(
            f"{field}: {value!r} is not a valid name; use 1-128 letters, digits, '-', '_' or '.'"
        )
    return value


def ensure_entity(conn: sqlite3.Connection, name: str, entity_type: str = "team") -> sqlite3.Row:
    check_name(name, "entityName")
    conn.execute(
        "INSERT INTO entities(name, entity_type, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO NOTHING",
        (name, entity_type, now()),
    )
    return get_entity(conn, name)


def get_entity(conn: sqlite3.Connection, name: str | None) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM entities WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"entity {name!r} not found; create it first (createTeam or upsertModel)")
    return row  # type: ignore[no-any-return]


def find_entity(conn: sqlite3.Connection, name: str | None) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM entities WHERE name = ?", (name,)).fetchone()  # type: ignore[no-any-return]


def ensure_project(
    conn: sqlite3.Connection, entity: str, name: str, description: str | None = None
) -> tuple[sqlite3.Row, bool]:
    """The project, created (with its entity) if missing; and whether it was created."""
    ent = ensure_entity(conn, entity)
    check_name(name, "name")
    cur = conn.execute(
        "INSERT INTO projects(entity_id, name, description, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(entity_id, name) DO NOTHING",
        (ent["id"], name, description, now()),
    )
    return get_project(conn, entity, name), cur.rowcount > 0


def find_project(
    conn: sqlite3.Connection, entity: str | None, name: str | None
) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT p.*, e.name AS entity_name FROM projects p JOIN entities e ON e.id = p.entity_id "
        "WHERE e.name = ? AND p.name = ?",
        (entity, name),
    ).fetchone()


def get_project(conn: sqlite3.Connection, entity: str | None, name: str | None) -> sqlite3.Row:
    row = find_project(conn, entity, name)
    if row is None:
        raise NotFound(f"project {entity}/{name} not found")
    return row


def project_by_id(conn: sqlite3.Connection, project_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT p.*, e.name AS entity_name FROM projects p JOIN entities e ON e.id = p.entity_id "
        "WHERE p.id = ?",
        (project_id,),
    ).fetchone()


def projects_of(conn: sqlite3.Connection, entity_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT p.*, e.name AS entity_name FROM projects p JOIN entities e ON e.id = p.entity_id "
        "WHERE p.entity_id = ? ORDER BY p.id",
        (entity_id,),
    ).fetchall()


def all_entities(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM entities ORDER BY id").fetchall()


def all_projects(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT p.*, e.name AS entity_name FROM projects p "
        "JOIN entities e ON e.id = p.entity_id ORDER BY p.id"
    ).fetchall()
