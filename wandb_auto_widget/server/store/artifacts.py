"""Artifacts: versions in sequences, links into registry portfolios, aliases and tags.

Each write returns the events it caused (``CREATE_ARTIFACT``, ``LINK_MODEL``,
``ADD_ARTIFACT_ALIAS``...), so that automations can react to them.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import Invalid, NotFound
from .db import now
from .entities import check_name, ensure_project, find_project
from .ids import decode


@dataclass
class ArtifactChange:
    """Something that happened to an artifact (created, linked, alias or tag added...), for
    automations to match. (Not ``automations.ArtifactEvent``, the filter fields.)"""

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


def committed_artifact(conn: sqlite3.Connection, gql_id: str) -> sqlite3.Row:
    row = get_artifact(conn, gql_id)
    if row["state"] != "COMMITTED":
        raise Invalid(
            f"artifactID: artifact {gql_id!r} is still being logged; "
            "wait for it to be committed (artifact.wait()) first"
        )
    return row


def check_alias(alias: str) -> None:
    if not alias or "/" in alias or ":" in alias:
        raise Invalid(f"alias: {alias!r} is not a valid alias (no '/' or ':')")


def set_alias(conn: sqlite3.Connection, collection_id: int, artifact_id: int, alias: str) -> bool:
    """Point ``alias`` at the artifact (an alias names one version at a time); True if new."""
    check_alias(alias)
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


def _collection_name(data: dict[str, Any]) -> str:
    # wandb-core sends artifactCollectionName; older clients (and ours) a one-element list.
    names = data.get("artifactCollectionNames") or []
    name = data.get("artifactCollectionName")
    if name and not names:
        return str(name)
    if len(names) != 1 or (name and name != names[0]):
        raise Invalid(
            "artifactCollectionName: give one collection name "
            "(or artifactCollectionNames with exactly one)"
        )
    return str(names[0])


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise Invalid("metadata: must be a JSON object string") from None
    if not isinstance(value, dict):
        raise Invalid("metadata: must be a JSON object")
    return value


def _alias_names(data: dict[str, Any]) -> list[str]:
    names = [a["alias"] if isinstance(a, dict) else a for a in data.get("aliases") or []]
    return list(dict.fromkeys(str(n) for n in names))  # once each, in order


def create_artifact(
    conn: sqlite3.Connection, data: dict[str, Any], default_entity: str
) -> tuple[sqlite3.Row, list[ArtifactChange]]:
    """W&B's ``createArtifact``: a PENDING version in a sequence (created if needed).

    It becomes a version (index, ``latest``, the requested aliases, the events) at
    :func:`commit_artifact`. With ``enableDigestDeduplication``, content already committed in
    the sequence is not logged again: that version is returned (COMMITTED), and gets the aliases.
    """
    entity = data.get("entityName") or default_entity
    project, _ = ensure_project(conn, entity, data.get("projectName") or "uncategorized")
    type_name = data.get("artifactTypeName") or ""
    check_name(type_name, "artifactTypeName")
    seq = _collection(conn, project["id"], _collection_name(data), type_name, "sequence")
    if seq["type_name"] != type_name:
        raise Invalid(
            f"artifactTypeName: artifact {seq['name']!r} already has type "
            f"{seq['type_name']!r}; log it with that type or choose another name"
        )
    metadata = _metadata(data.get("metadata"))
    aliases = _alias_names(data)
    for alias in aliases:
        check_alias(alias)
    digest = str(data.get("digest") or "")
    if data.get("enableDigestDeduplication") and digest:
        same = conn.execute(
            "SELECT * FROM artifacts WHERE sequence_id = ? AND digest = ? AND state = 'COMMITTED' "
            "ORDER BY version_index DESC LIMIT 1",
            (seq["id"], digest),
        ).fetchone()
        if same is not None:
            return same, _apply_aliases(conn, seq["id"], same["id"], aliases)
    run = None
    if data.get("runName"):
        run = conn.execute(
            "SELECT id FROM runs WHERE project_id = ? AND name = ?",
            (project["id"], data["runName"]),
        ).fetchone()
    cur = conn.execute(
        "INSERT INTO artifacts(sequence_id, digest, digest_algorithm, description, metadata, "
        "state, pending_aliases, history_step, created_by_run, created_at) "
        "VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?, ?, ?)",
        (
            seq["id"],
            digest,
            data.get("digestAlgorithm"),
            data.get("description"),
            json.dumps(metadata),
            json.dumps(aliases),
            data.get("historyStep"),
            None if run is None else run["id"],
            now(),
        ),
    )
    row = conn.execute("SELECT * FROM artifacts WHERE id = ?", (cur.lastrowid,)).fetchone()
    return row, []


def commit_artifact(
    conn: sqlite3.Connection, artifact: sqlite3.Row, size: int, file_count: int
) -> tuple[sqlite3.Row, list[ArtifactChange]]:
    """W&B's ``commitArtifact``: the PENDING artifact becomes the sequence's next version and
    takes ``latest`` and its aliases. Committing a committed artifact changes nothing."""
    if artifact["state"] == "COMMITTED":
        return artifact, []
    seq_id = artifact["sequence_id"]
    index = _add_member(conn, seq_id, artifact["id"])
    conn.execute(
        "UPDATE artifacts SET state = 'COMMITTED', version_index = ?, size = ?, file_count = ?, "
        "pending_aliases = '[]', updated_at = ? WHERE id = ?",
        (index, size, file_count, now(), artifact["id"]),
    )
    events = [ArtifactChange("CREATE_ARTIFACT", artifact["id"], seq_id)]
    aliases = ["latest", *json.loads(artifact["pending_aliases"])]
    events += _apply_aliases(conn, seq_id, artifact["id"], list(dict.fromkeys(aliases)))
    row = conn.execute("SELECT * FROM artifacts WHERE id = ?", (artifact["id"],)).fetchone()
    return row, events


def _apply_aliases(
    conn: sqlite3.Connection, collection_id: int, artifact_id: int, aliases: list[str]
) -> list[ArtifactChange]:
    return [
        ArtifactChange("ADD_ARTIFACT_ALIAS", artifact_id, collection_id, alias=alias)
        for alias in aliases
        if set_alias(conn, collection_id, artifact_id, alias)
    ]


def link_artifact(
    conn: sqlite3.Connection, data: dict[str, Any], default_entity: str
) -> tuple[sqlite3.Row, list[ArtifactChange]]:
    """Link a version into a portfolio (e.g. a registry collection), creating it if needed."""
    artifact = committed_artifact(conn, str(data.get("artifactID")))
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
        events.append(ArtifactChange("LINK_MODEL", artifact["id"], portfolio["id"]))
    # W&B points the portfolio's `latest` at the newly linked version itself.
    aliases = list(dict.fromkeys(["latest", *_alias_names(data)]))
    events += _apply_aliases(conn, portfolio["id"], artifact["id"], aliases)
    return portfolio, events


def change_aliases(
    conn: sqlite3.Connection, data: dict[str, Any], add: bool
) -> list[ArtifactChange]:
    """W&B's ``addAliases`` / ``deleteAliases``: each alias names its collection, and the
    collection's project (a registry's portfolio lives in another project than the version)."""
    artifact = committed_artifact(conn, str(data.get("artifactID")))
    own_project = conn.execute(
        "SELECT project_id FROM artifact_collections WHERE id = ?", (artifact["sequence_id"],)
    ).fetchone()[0]
    events = []
    for i, entry in enumerate(data.get("aliases") or []):
        alias = entry.get("alias") if isinstance(entry, dict) else entry
        name = entry.get("artifactCollectionName") if isinstance(entry, dict) else None
        collection_id = artifact["sequence_id"]
        if name:
            project_id = own_project
            if entry.get("projectName"):
                project = find_project(conn, entry.get("entityName"), entry["projectName"])
                if project is None:
                    raise NotFound(
                        f"aliases[{i}].projectName: project {entry.get('entityName')}/"
                        f"{entry['projectName']} not found"
                    )
                project_id = project["id"]
            found = conn.execute(
                "SELECT id FROM artifact_collections WHERE project_id = ? AND name = ?",
                (project_id, name),
            ).fetchone()
            if found is None:
                raise NotFound(f"aliases[{i}].artifactCollectionName: {name!r} not found")
            collection_id = found[0]
            if member_index(conn, collection_id, artifact["id"]) is None:
                raise Invalid(
                    f"aliases[{i}].artifactCollectionName: this version is not in {name!r}"
                )
        if add:
            if set_alias(conn, collection_id, artifact["id"], str(alias)):
                events.append(
                    ArtifactChange("ADD_ARTIFACT_ALIAS", artifact["id"], collection_id, alias=alias)
                )
        else:
            conn.execute(
                "DELETE FROM artifact_aliases "
                "WHERE collection_id = ? AND alias = ? AND artifact_id = ?",
                (collection_id, alias, artifact["id"]),
            )
    return events


def update_artifact(conn: sqlite3.Connection, data: dict[str, Any]) -> list[ArtifactChange]:
    """W&B's ``updateArtifact``: description, metadata, tags, and (W&B's older way) the
    version's aliases in its own collection. ``ttlDurationSeconds`` is accepted and ignored
    (versions never expire here)."""
    artifact = get_artifact(conn, str(data.get("artifactID")))
    if data.get("description") is not None:
        conn.execute(
            "UPDATE artifacts SET description = ? WHERE id = ?",
            (data["description"], artifact["id"]),
        )
    if data.get("metadata") is not None:
        conn.execute(
            "UPDATE artifacts SET metadata = ? WHERE id = ?",
            (json.dumps(_metadata(data["metadata"])), artifact["id"]),
        )
    events = change_tags(conn, data)
    if data.get("aliases") is not None:
        wanted = set(_alias_names(data))
        for alias in _current_aliases(conn, artifact):
            if alias not in wanted and alias != "latest":
                conn.execute(
                    "DELETE FROM artifact_aliases WHERE collection_id = ? AND alias = ?",
                    (artifact["sequence_id"], alias),
                )
        events += _apply_aliases(
            conn, artifact["sequence_id"], artifact["id"], sorted(wanted - {"latest"})
        )
    conn.execute("UPDATE artifacts SET updated_at = ? WHERE id = ?", (now(), artifact["id"]))
    return events


def _current_aliases(conn: sqlite3.Connection, artifact: sqlite3.Row) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT alias FROM artifact_aliases WHERE collection_id = ? AND artifact_id = ?",
            (artifact["sequence_id"], artifact["id"]),
        )
    ]


def change_tags(conn: sqlite3.Connection, data: dict[str, Any]) -> list[ArtifactChange]:
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
                ArtifactChange("ADD_ARTIFACT_TAG", artifact["id"], artifact["sequence_id"], tag=tag)
            )
    for entry in data.get("tagsToDelete") or []:
        tag = entry.get("tagName") if isinstance(entry, dict) else entry
        if tag in tags:
            tags.remove(tag)
            events.append(
                ArtifactChange(
                    "REMOVE_ARTIFACT_TAG", artifact["id"], artifact["sequence_id"], tag=tag
                )
            )
    conn.execute("UPDATE artifacts SET tags = ? WHERE id = ?", (json.dumps(tags), artifact["id"]))
    return events


def change_collection_tags(
    conn: sqlite3.Connection, data: dict[str, Any], add: bool, default_entity: str
) -> list[ArtifactChange]:
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
            events.append(ArtifactChange("ADD_COLLECTION_TAG", 0, row["id"], tag=tag))
        elif not add and tag in tags:
            tags.remove(tag)
            events.append(ArtifactChange("REMOVE_COLLECTION_TAG", 0, row["id"], tag=tag))
    conn.execute(
        "UPDATE artifact_collections SET tags = ? WHERE id = ?", (json.dumps(tags), row["id"])
    )
    return events


def record_use(
    conn: sqlite3.Connection, artifact: sqlite3.Row, run_id: int, used_as: str | None
) -> None:
    """W&B's ``useArtifact``: the run used this version (once per run and version)."""
    conn.execute(
        "INSERT INTO artifact_uses(run_id, artifact_id, used_as, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(run_id, artifact_id) DO NOTHING",
        (run_id, artifact["id"], used_as, now()),
    )


# ---------------------------------------------------------------------------- listings


def artifact_types(conn: sqlite3.Connection, project_id: int) -> list[sqlite3.Row]:
    """The artifact types used in a project, each with when it was first used."""
    return conn.execute(
        "SELECT type_name, MIN(created_at) AS created_at FROM artifact_collections "
        "WHERE project_id = ? GROUP BY type_name ORDER BY MIN(id)",
        (project_id,),
    ).fetchall()


def collections_of(
    conn: sqlite3.Connection, project_id: int, type_name: str | None = None
) -> list[sqlite3.Row]:
    """A project's collections (of one type, if given), in creation order."""
    if type_name is None:
        return conn.execute(
            "SELECT * FROM artifact_collections WHERE project_id = ? ORDER BY id", (project_id,)
        ).fetchall()
    return conn.execute(
        "SELECT * FROM artifact_collections WHERE project_id = ? AND type_name = ? ORDER BY id",
        (project_id, type_name),
    ).fetchall()


def collection_versions(conn: sqlite3.Connection, collection_id: int) -> list[sqlite3.Row]:
    """The committed versions in a collection, with their index there (``member_index``)."""
    return conn.execute(
        "SELECT a.*, m.version_index AS member_index FROM artifact_memberships m "
        "JOIN artifacts a ON a.id = m.artifact_id "
        "WHERE m.collection_id = ? AND a.state = 'COMMITTED' ORDER BY m.version_index",
        (collection_id,),
    ).fetchall()


def collection_aliases(conn: sqlite3.Connection, collection_id: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT alias FROM artifact_aliases WHERE collection_id = ? ORDER BY alias",
            (collection_id,),
        )
    ]


def record_event(
    conn: sqlite3.Connection, event: ArtifactChange, version: str | None, aliases: list[str]
) -> None:
    """Keep an artifact event, with the version's aliases at the time, for previews."""
    conn.execute(
        "INSERT INTO artifact_events(event_type, collection_id, artifact_id, version, alias, "
        "tag, aliases, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.event_type,
            event.collection_id,
            event.artifact_id or None,
            version,
            event.alias,
            event.tag,
            json.dumps(aliases),
            now(),
        ),
    )


def events_of(
    conn: sqlite3.Connection, *, project_id: int | None = None, collection_id: int | None = None
) -> list[sqlite3.Row]:
    """Recorded artifact events of a project's collections, or of one collection, oldest
    first, each with its collection's name and kind."""
    where, param = (
        ("c.project_id = ?", project_id)
        if collection_id is None
        else ("e.collection_id = ?", collection_id)
    )
    return conn.execute(
        "SELECT e.*, c.name AS collection_name, c.kind AS collection_kind "
        "FROM artifact_events e JOIN artifact_collections c ON c.id = e.collection_id "
        f"WHERE {where} ORDER BY e.id",
        (param,),
    ).fetchall()


def collection_row(conn: sqlite3.Connection, collection_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM artifact_collections WHERE id = ?", (collection_id,)
    ).fetchone()


_VERSION = re.compile(r"^v(\d+)$")


def find_member(
    conn: sqlite3.Connection, project_id: int, name: str
) -> tuple[sqlite3.Row, sqlite3.Row] | None:
    """``collection:alias`` or ``collection:vN`` (``:latest`` if no version) in a project:
    the collection row and the artifact row, or None."""
    collection_name, _, version = name.partition(":")
    version = version or "latest"
    coll = collection_by_name(conn, project_id, collection_name)
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


def collection_by_name(conn: sqlite3.Connection, project_id: int, name: str) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM artifact_collections WHERE project_id = ? AND name = ?", (project_id, name)
    ).fetchone()


def aliases_of(
    conn: sqlite3.Connection, artifact_id: int, collection_id: int | None = None
) -> list[tuple[str, int]]:
    """(alias, collection id) of a version, in every collection or in one."""
    where = "" if collection_id is None else " AND collection_id = ?"
    params = (artifact_id,) if collection_id is None else (artifact_id, collection_id)
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT alias, collection_id FROM artifact_aliases "
            f"WHERE artifact_id = ?{where} ORDER BY collection_id, alias",
            params,
        )
    ]


def latest_in(conn: sqlite3.Connection, collection_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT a.* FROM artifact_aliases aa JOIN artifacts a ON a.id = aa.artifact_id "
        "WHERE aa.collection_id = ? AND aa.alias = 'latest'",
        (collection_id,),
    ).fetchone()


def logged_by(conn: sqlite3.Connection, run_id: int) -> list[sqlite3.Row]:
    """The committed versions a run logged, in order."""
    return conn.execute(
        "SELECT * FROM artifacts WHERE created_by_run = ? AND state = 'COMMITTED' ORDER BY id",
        (run_id,),
    ).fetchall()


def used_by(conn: sqlite3.Connection, run_id: int) -> list[sqlite3.Row]:
    """The versions a run used (``useArtifact``), in order."""
    return conn.execute(
        "SELECT a.* FROM artifact_uses u JOIN artifacts a ON a.id = u.artifact_id "
        "WHERE u.run_id = ? ORDER BY u.created_at, a.id",
        (run_id,),
    ).fetchall()


def artifact_row(conn: sqlite3.Connection, artifact_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM artifacts WHERE id = ?", (artifact_id,)
    ).fetchone()


def collection_with_owner(conn: sqlite3.Connection, collection_id: int) -> sqlite3.Row:
    """A collection, with its project's name and its entity's id and name."""
    row: sqlite3.Row = conn.execute(
        "SELECT c.*, p.name AS project_name, p.entity_id, e.name AS entity_name "
        "FROM artifact_collections c JOIN projects p ON p.id = c.project_id "
        "JOIN entities e ON e.id = p.entity_id WHERE c.id = ?",
        (collection_id,),
    ).fetchone()
    return row
