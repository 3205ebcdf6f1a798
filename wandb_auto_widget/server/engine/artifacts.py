"""Artifact automations: each artifact event (created, linked, alias or tag added...) is
recorded, for previews, and fires the automations scoped to its collection or its project
whose filter matches it (``preview.artifact_event_fields``, as the preview matches)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ...preview import artifact_event_fields, matches_run_filter
from ..store import artifacts, triggers
from ..store.artifacts import ArtifactChange
from ..store.ids import encode
from .context import EngineSettings, project_scope
from .outbox import enqueue


def on_artifact_events(
    conn: sqlite3.Connection, settings: EngineSettings, events: list[ArtifactChange]
) -> int:
    fired = 0
    for change in events:
        collection = artifacts.collection_with_owner(conn, change.collection_id)
        artifact = artifacts.artifact_row(conn, change.artifact_id) if change.artifact_id else None
        version = _version(conn, collection, artifact)
        aliases = [a for a, _ in artifacts.aliases_of(conn, change.artifact_id, collection["id"])]
        artifacts.record_event(conn, change, version, aliases)  # for previews, fired on or not
        fields = artifact_event_fields(change.alias, change.tag, aliases)
        variables = _variables(change, collection, artifact, version)
        details = {
            "artifact": variables.get("artifact_version_string"),
            "alias": change.alias,
            "tag": change.tag,
            "collection": collection["name"],
        }
        for (scope_type, scope_id), scope in _scopes(collection).items():
            for trigger in triggers.scoped_triggers(conn, change.event_type, scope_type, scope_id):
                if matches_run_filter(settings.event(trigger, scope).filter, fields):
                    enqueue(conn, trigger, variables, details)
                    fired += 1
    return fired


def _version(conn: sqlite3.Connection, collection: Any, artifact: Any) -> str | None:
    """``vN`` of the version in this collection (a linked version has its own index there)."""
    if artifact is None:
        return None
    index = artifacts.member_index(conn, collection["id"], artifact["id"])
    return f"v{artifact['version_index'] if index is None else index}"


def _scopes(collection: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """The scopes an event in this collection happens in: the collection, and its project."""
    kind = "ArtifactSequence" if collection["kind"] == "sequence" else "ArtifactPortfolio"
    return {
        ("ARTIFACT_COLLECTION", encode(kind, collection["id"])): {
            "__typename": kind,
            "id": encode(kind, collection["id"]),
            "name": collection["name"],
        },
        ("PROJECT", encode("Project", collection["project_id"])): project_scope(
            collection["project_id"], collection["project_name"]
        ),
    }


def _variables(
    change: ArtifactChange, collection: Any, artifact: Any, version: str | None
) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "event_type": change.event_type,
        "event_author": collection["entity_name"],
        "entity_name": collection["entity_name"],
        "project_name": collection["project_name"],
        "artifact_collection_name": collection["name"],
        "alias": change.alias or "",
        "tag": change.tag or "",
    }
    if artifact is not None:
        path = f"{collection['entity_name']}/{collection['project_name']}/{collection['name']}"
        variables["artifact_version"] = f"wandb-artifact://_id/{encode('Artifact', artifact['id'])}"
        variables["artifact_version_string"] = f"{path}:{version}"
        for key, value in json.loads(artifact["metadata"]).items():
            variables[f"artifact_metadata.{key}"] = value
    return variables
