"""Artifact rows shaped as W&B's GraphQL objects: Artifact, ArtifactSequence/ArtifactPortfolio,
ArtifactAlias and ArtifactCollectionMembership, with every field the wandb SDK's
``ArtifactFragment`` and ``ArtifactMembershipFragment`` ask for."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..store import artifacts, entities
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


def _aliases(
    conn: sqlite3.Connection, artifact_id: int, viewer: str, collection_id: int | None = None
) -> list[dict[str, Any]]:
    out = []
    owners: dict[int, dict[str, Any]] = {}  # a version has several aliases per collection
    for alias, collection_row_id in artifacts.aliases_of(conn, artifact_id, collection_id):
        owner = owners.get(collection_row_id)
        if owner is None:
            row = artifacts.collection_row(conn, collection_row_id)
            assert row is not None  # aliases go with their collection (foreign key)
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
    seq = artifacts.collection_row(conn, row["sequence_id"])
    assert seq is not None  # versions go with their sequence (foreign key)
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
    index = artifacts.member_index(conn, collection_row["id"], artifact_row["id"])
    if index is None:
        return None
    return {
        "__typename": "ArtifactCollectionMembership",
        "id": encode(
            "ArtifactCollectionMembership", f"{collection_row['id']}:{artifact_row['id']}"
        ),
        "versionIndex": index,
        "createdAt": artifact_row["created_at"],
        "aliases": _aliases(conn, artifact_row["id"], viewer, collection_row["id"]),
        "artifactCollection": collection(conn, collection_row, viewer),
        "artifact": artifact(conn, artifact_row, viewer),
    }
