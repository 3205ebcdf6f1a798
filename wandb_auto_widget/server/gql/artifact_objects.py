"""Artifact rows shaped as W&B's GraphQL objects: Artifact, ArtifactSequence/ArtifactPortfolio,
ArtifactAlias and ArtifactCollectionMembership, with every field the wandb SDK's
``ArtifactFragment`` and ``ArtifactMembershipFragment`` ask for."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from ..store import entities
from ..store.ids import encode
from . import objects

NO_TTL = -1  # W&B's "never expires"; the SDK requires an integer here


def _project(conn: sqlite3.Connection, project_id: int, viewer: str) -> dict[str, Any] | None:
    row = entities.project_by_id(conn, project_id)
    return None if row is None else objects.project(row, viewer)


def collection(conn: sqlite3.Connection, row: sqlite3.Row, viewer: str) -> dict[str, Any]:
    kind = "ArtifactSequence" if row["kind"] == "sequence" else "ArtifactPortfolio"
    return {
        "__typename": kind,
        "id": encode(kind, row["id"]),
        "name": row["name"],
        "description": row["description"],
        "createdAt": row["created_at"],
        "updatedAt": row["created_at"],
        "project": _project(conn, row["project_id"], viewer),
        "_row": row,
    }


def _collection_row(conn: sqlite3.Connection, collection_id: int) -> sqlite3.Row:
    row: sqlite3.Row = conn.execute(
        "SELECT * FROM artifact_collections WHERE id = ?", (collection_id,)
    ).fetchone()
    return row


def _aliases(
    conn: sqlite3.Connection, artifact_id: int, viewer: str, collection_id: int | None = None
) -> list[dict[str, Any]]:
    where = "" if collection_id is None else " AND aa.collection_id = ?"
    params = (artifact_id,) if collection_id is None else (artifact_id, collection_id)
    out = []
    owners: dict[int, dict[str, Any]] = {}  # a version has several aliases per collection
    for alias, collection_row_id in conn.execute(
        "SELECT aa.alias, aa.collection_id FROM artifact_aliases aa "
        f"WHERE aa.artifact_id = ?{where} ORDER BY aa.collection_id, aa.alias",
        params,
    ):
        owner = owners.get(collection_row_id)
        if owner is None:
            row = _collection_row(conn, collection_row_id)
            owner = owners[collection_row_id] = collection(conn, row, viewer)
        out.append(
            {
                "__typename": "ArtifactAlias",
                "id": encode("ArtifactAlias", f"{collection_row_id}:{alias}"),
                "alias": alias,
                "artifactCollectionName": owner["name"],
                "artifactCollection": owner,
            }
        )
    return out


def artifact(conn: sqlite3.Connection, row: sqlite3.Row, viewer: str) -> dict[str, Any]:
    seq = _collection_row(conn, row["sequence_id"])
    return {
        "__typename": "Artifact",
        "id": encode("Artifact", row["id"]),
        "digest": row["digest"],
        "digestAlgorithm": row["digest_algorithm"] or "MANIFEST_MD5",
        "versionIndex": row["version_index"],
        "state": row["state"],
        "description": row["description"],
        "metadata": row["metadata"],
        "tags": [
            {"__typename": "Tag", "id": encode("Tag", t), "name": t}
            for t in json.loads(row["tags"])
        ],
        "aliases": _aliases(conn, row["id"], viewer),
        "artifactType": {"__typename": "ArtifactType", "name": seq["type_name"]},
        "artifactSequence": collection(conn, seq, viewer),
        "ttlDurationSeconds": NO_TTL,
        "ttlIsInherited": True,
        "historyStep": row["history_step"],
        "size": row["size"],
        "fileCount": row["file_count"],
        "commitHash": None,
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "_row": row,
    }


def membership(
    conn: sqlite3.Connection, collection_row: sqlite3.Row, artifact_row: sqlite3.Row, viewer: str
) -> dict[str, Any] | None:
    """The artifact as a member of a collection (its version index and aliases there)."""
    found = conn.execute(
        "SELECT version_index FROM artifact_memberships "
        "WHERE collection_id = ? AND artifact_id = ?",
        (collection_row["id"], artifact_row["id"]),
    ).fetchone()
    if found is None:
        return None
    return {
        "__typename": "ArtifactCollectionMembership",
        "id": encode(
            "ArtifactCollectionMembership", f"{collection_row['id']}:{artifact_row['id']}"
        ),
        "versionIndex": found[0],
        "createdAt": artifact_row["created_at"],
        "aliases": _aliases(conn, artifact_row["id"], viewer, collection_row["id"]),
        "artifactCollection": collection(conn, collection_row, viewer),
        "artifact": artifact(conn, artifact_row, viewer),
    }


_VERSION = re.compile(r"^v(\d+)$")


def find_member(
    conn: sqlite3.Connection, project_id: int, name: str
) -> tuple[sqlite3.Row, sqlite3.Row] | None:
    """``collection:alias`` or ``collection:vN`` (``:latest`` if no version) in a project:
    the collection row and the artifact row, or None."""
    collection_name, _, version = name.partition(":")
    version = version or "latest"
    coll = conn.execute(
        "SELECT * FROM artifact_collections WHERE project_id = ? AND name = ?",
        (project_id, collection_name),
    ).fetchone()
    if coll is None:
        return None
    if match := _VERSION.match(version):
        found = conn.execute(
            "SELECT artifact_id FROM artifact_memberships "
            "WHERE collection_id = ? AND version_index = ?",
            (coll["id"], int(match.group(1))),
        ).fetchone()
    else:
        found = conn.execute(
            "SELECT artifact_id FROM artifact_aliases WHERE collection_id = ? AND alias = ?",
            (coll["id"], version),
        ).fetchone()
    if found is None:
        return None
    art = conn.execute("SELECT * FROM artifacts WHERE id = ?", (found[0],)).fetchone()
    return coll, art
