"""Artifacts: versions in sequences, links into registry portfolios, aliases and tags.

Each write returns the events it caused (``CREATE_ARTIFACT``, ``LINK_MODEL``,
``ADD_ARTIFACT_ALIAS``...), so that automations can react to them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import Invalid, NotFound
from .db import now
from .entities import check_name, ensure_project, find_project
from .ids import decode, encode

REGISTRY_PREFIX = "wandb-registry-"


@dataclass
class ArtifactEvent:
    """Something that happened to an artifact, for automations to match."""

    event_type: str
    artifact_id: int
    collection_id: int
    alias: str | None = None
    tag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _collection(
    conn: sqlite3.Connection, project_id: int, name: str, type_name: str, kind: str
) -> sqlite3.Row:
    check_name(name, "artifactCollectionName")
    conn.execute(
        "INSERT INTO artifact_collections(project_id, name, type_name, kind, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(project_id, name) DO NOTHING",
        (project_id, name, type_name, kind, now()),
    )
    row = conn.execute(
        "SELECT * FROM artifact_collections WHERE project_id = ? AND name = ?", (project_id, name)
    ).fetchone()
    if row["kind"] != kind:
        raise Invalid(f"artifactCollectionName: {name!r} is a {row['kind']}, not a {kind}")
    return row  # type: ignore[no-any-return]


def member_index(conn: sqlite3.Connection, collection_id: int, artifact_id: int) -> int | None:
    """The version index of an artifact within a collection, if it is a member."""
    row = conn.execute(
        "SELECT version_index FROM artifact_memberships "
        "WHERE collection_id = ? AND artifact_id = ?",
        (collection_id, artifact_id),
    ).fetchone()
    return None if row is None else int(row[0])


def _add_member(conn: sqlite3.Connection, collection_id: int, artifact_id: int) -> int:
    """Add the artifact to the collection as its next version; return the version index."""
    index = int(
        conn.execute(
            "SELECT COALESCE(MAX(version_index), -1) + 1 FROM artifact_memberships "
            "WHERE collection_id = ?",
            (collection_id,),
        ).fetchone()[0]
    )
    conn.execute(
        "INSERT INTO artifact_memberships(collection_id, artifact_id, version_index) "
        "VALUES (?, ?, ?)",
        (collection_id, artifact_id, index),
    )
    return index


def get_artifact(conn: sqlite3.Connection, gql_id: str, field: str = "artifactID") -> sqlite3.Row:
    _, number = decode(gql_id, "Artifact", field=field)
    row = conn.execute("SELECT * FROM artifacts WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(f"{field}: artifact {gql_id!r} not found")
    return row  # type: ignore[no-any-return]


def set_alias(conn: sqlite3.Connection, collection_id: int, artifact_id: int, alias: str) -> bool:
    """Point ``alias`` at the artifact (an alias names one version at a time); True if new."""
    if not alias or "/" in alias or ":" in alias:
        raise Invalid(f"alias: {alias!r} is not a valid alias (no '/' or ':')")
    current = conn.execute(
        "SELECT artifact_id FROM artifact_aliases WHERE collection_id = ? AND alias = ?",
        (collection_id, alias),
    ).fetchone()
    if current is not None and current[0] == artifact_id:
        return False
    conn.execute(
        "INSERT INTO artifact_aliases(collection_id, alias, artifact_id) VALUES (?, ?, ?) "
        "ON CONFLICT(collection_id, alias) DO UPDATE SET artifact_id = excluded.artifact_id",
        (collection_id, alias, artifact_id),
    )
    return True


def create_artifact(
    conn: sqlite3.Connection, data: dict[str, Any], default_entity: str
) -> tuple[sqlite3.Row, list[ArtifactEvent]]:
    """A new version in a sequence (created if needed), with ``latest`` and any aliases."""
    entity = data.get("entityName") or default_entity
    project, _ = ensure_project(conn, entity, data.get("projectName") or "uncategorized")
    names = data.get("artifactCollectionNames") or []
    if len(names) != 1:
        raise Invalid("artifactCollectionNames: give exactly one collection name")
    type_name = data.get("artifactTypeName") or ""
    check_name(type_name, "artifactTypeName")
    seq = _collection(conn, project["id"], names[0], type_name, "sequence")
    metadata = data.get("metadata") or "{}"
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            raise Invalid("metadata: must be a JSON object string") from None
    if not isinstance(metadata, dict):
        raise Invalid("metadata: must be a JSON object")
    # A version's index in its sequence is its membership index there.
    cur = conn.execute(
        "INSERT INTO artifacts(sequence_id, version_index, digest, metadata, created_at) "
        "SELECT ?, COALESCE(MAX(version_index), -1) + 1, ?, ?, ? FROM artifacts "
        "WHERE sequence_id = ?",
        (seq["id"], str(data.get("digest") or ""), json.dumps(metadata), now(), seq["id"]),
    )
    artifact_id = int(cur.lastrowid or 0)
    _add_member(conn, seq["id"], artifact_id)
    events = [ArtifactEvent("CREATE_ARTIFACT", artifact_id, seq["id"])]
    for alias in [
        "latest",
        *[a["alias"] if isinstance(a, dict) else a for a in data.get("aliases") or []],
    ]:
        if set_alias(conn, seq["id"], artifact_id, alias):
            events.append(ArtifactEvent("ADD_ARTIFACT_ALIAS", artifact_id, seq["id"], alias=alias))
    return conn.execute("SELECT * FROM artifacts WHERE id = ?", (artifact_id,)).fetchone(), events


def link_artifact(
    conn: sqlite3.Connection, data: dict[str, Any], default_entity: str
) -> tuple[sqlite3.Row, list[ArtifactEvent]]:
    """Link a version into a portfolio (e.g. a registry collection), creating it if needed."""
    artifact = get_artifact(conn, str(data.get("artifactID")))
    entity = data.get("entityName") or default_entity
    project, _ = ensure_project(conn, entity, data.get("projectName") or "model-registry")
    type_name = conn.execute(
        "SELECT type_name FROM artifact_collections WHERE id = ?", (artifact["sequence_id"],)
    ).fetchone()[0]
    portfolio = _collection(
        conn, project["id"], str(data.get("artifactPortfolioName") or ""), type_name, "portfolio"
    )
    events = []
    if member_index(conn, portfolio["id"], artifact["id"]) is None:
        _add_member(conn, portfolio["id"], artifact["id"])
        events.append(ArtifactEvent("LINK_MODEL", artifact["id"], portfolio["id"]))
    for alias in ["latest", *(data.get("aliases") or [])]:
        alias = alias["alias"] if isinstance(alias, dict) else alias
        if set_alias(conn, portfolio["id"], artifact["id"], alias):
            events.append(
                ArtifactEvent("ADD_ARTIFACT_ALIAS", artifact["id"], portfolio["id"], alias=alias)
            )
    return portfolio, events


def change_aliases(
    conn: sqlite3.Connection, data: dict[str, Any], add: bool
) -> list[ArtifactEvent]:
    artifact = get_artifact(conn, str(data.get("artifactID")))
    events = []
    for entry in data.get("aliases") or []:
        alias = entry.get("alias") if isinstance(entry, dict) else entry
        name = entry.get("artifactCollectionName") if isinstance(entry, dict) else None
        collection_id = artifact["sequence_id"]
        if name:
            seq_project = conn.execute(
                "SELECT project_id FROM artifact_collections WHERE id = ?", (collection_id,)
            ).fetchone()[0]
            found = conn.execute(
                "SELECT id FROM artifact_collections WHERE project_id = ? AND name = ?",
                (seq_project, name),
            ).fetchone()
            if found is None:
                raise NotFound(f"aliases.artifactCollectionName: {name!r} not found")
            collection_id = found[0]
        if add:
            if set_alias(conn, collection_id, artifact["id"], str(alias)):
                events.append(
                    ArtifactEvent("ADD_ARTIFACT_ALIAS", artifact["id"], collection_id, alias=alias)
                )
        else:
            conn.execute(
                "DELETE FROM artifact_aliases "
                "WHERE collection_id = ? AND alias = ? AND artifact_id = ?",
                (collection_id, alias, artifact["id"]),
            )
    return events


def change_tags(conn: sqlite3.Connection, data: dict[str, Any]) -> list[ArtifactEvent]:
    """W&B's ``updateArtifact`` with ``tagsToAdd`` / ``tagsToDelete``."""
    artifact = get_artifact(conn, str(data.get("artifactID")))
    tags = json.loads(artifact["tags"])
    events = []
    for entry in data.get("tagsToAdd") or []:
        tag = entry.get("tagName") if isinstance(entry, dict) else entry
        check_name(tag, "tagsToAdd.tagName")
        if tag not in tags:
            tags.append(tag)
            events.append(
                ArtifactEvent("ADD_ARTIFACT_TAG", artifact["id"], artifact["sequence_id"], tag=tag)
            )
    for entry in data.get("tagsToDelete") or []:
        tag = entry.get("tagName") if isinstance(entry, dict) else entry
        if tag in tags:
            tags.remove(tag)
            events.append(
                ArtifactEvent(
                    "REMOVE_ARTIFACT_TAG", artifact["id"], artifact["sequence_id"], tag=tag
                )
            )
    conn.execute("UPDATE artifacts SET tags = ? WHERE id = ?", (json.dumps(tags), artifact["id"]))
    return events


def change_collection_tags(
    conn: sqlite3.Connection, data: dict[str, Any], add: bool, default_entity: str
) -> list[ArtifactEvent]:
    project = find_project(conn, data.get("entityName") or default_entity, data.get("projectName"))
    if project is None:
        raise NotFound(f"project {data.get('entityName')}/{data.get('projectName')} not found")
    row = conn.execute(
        "SELECT * FROM artifact_collections WHERE project_id = ? AND name = ?",
        (project["id"], data.get("artifactCollectionName")),
    ).fetchone()
    if row is None:
        raise NotFound(f"artifactCollectionName: {data.get('artifactCollectionName')!r} not found")
    tags = json.loads(row["tags"])
    events = []
    for entry in data.get("tags") or []:
        tag = entry.get("tagName") if isinstance(entry, dict) else entry
        check_name(tag, "tags.tagName")
        if add and tag not in tags:
            tags.append(tag)
            events.append(ArtifactEvent("ADD_COLLECTION_TAG", 0, row["id"], tag=tag))
        elif not add and tag in tags:
            tags.remove(tag)
            events.append(ArtifactEvent("REMOVE_COLLECTION_TAG", 0, row["id"], tag=tag))
    conn.execute(
        "UPDATE artifact_collections SET tags = ? WHERE id = ?", (json.dumps(tags), row["id"])
    )
    return events


def collection_json(row: sqlite3.Row) -> dict[str, Any]:
    kind = "ArtifactSequence" if row["kind"] == "sequence" else "ArtifactPortfolio"
    return {
        "__typename": kind,
        "id": encode(kind, row["id"]),
        "name": row["name"],
        "description": row["description"],
        "createdAt": row["created_at"],
        "tags": json.loads(row["tags"]),
    }


def artifact_json(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    seq = conn.execute(
        "SELECT * FROM artifact_collections WHERE id = ?", (row["sequence_id"],)
    ).fetchone()
    aliases = [
        {"alias": a, "artifactCollectionName": name}
        for a, name in conn.execute(
            "SELECT aa.alias, c.name FROM artifact_aliases aa JOIN artifact_collections c "
            "ON c.id = aa.collection_id WHERE aa.artifact_id = ? ORDER BY aa.alias",
            (row["id"],),
        )
    ]
    return {
        "id": encode("Artifact", row["id"]),
        "digest": row["digest"],
        "versionIndex": row["version_index"],
        "state": row["state"],
        "metadata": row["metadata"],
        "tags": [{"name": t} for t in json.loads(row["tags"])],
        "aliases": aliases,
        "createdAt": row["created_at"],
        "artifactSequence": collection_json(seq),
    }
