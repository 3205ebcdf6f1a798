"""Resolvers for artifacts: what the wandb SDK sends for ``run.log_artifact`` / ``art.wait()``
(createArtifact, createArtifactManifest, createArtifactFiles, the uploads, commitArtifact,
ArtifactByID), ``run.link_artifact`` (LinkArtifact, FetchOrgInfoFromEntity) and
``wandb.Api().artifact()`` (ArtifactMembershipByName); plus aliases and tags.

Events (created, linked, alias and tag added...) go to the engine inside the same write
transaction, so an automation fires exactly when the change is stored."""

from __future__ import annotations

import json
from typing import Any

from ariadne import MutationType, ObjectType, QueryType

from ..errors import Invalid, NotFound
from ..manifests import finalize_manifest, manifest_contents
from ..store import artifacts, entities, runs
from ..store.ids import decode, encode
from . import artifact_objects, objects
from .context import ctx, page
from .listing import select

query = QueryType()
mutation = MutationType()
project_type = ObjectType("Project")
entity_type = ObjectType("Entity")
user_type = ObjectType("User")
sequence_type = ObjectType("ArtifactSequence")
portfolio_type = ObjectType("ArtifactPortfolio")
artifact_type = ObjectType("Artifact")
membership_type = ObjectType("ArtifactCollectionMembership")
type_type = ObjectType("ArtifactType")
run_type = ObjectType("Run")
bindables = [
    run_type,
    query,
    mutation,
    project_type,
    entity_type,
    user_type,
    sequence_type,
    portfolio_type,
    artifact_type,
    membership_type,
    type_type,
]

# ---------------------------------------------------------------------------- reads


@query.field("artifact")
def _artifact_by_id(_: Any, info: Any, id: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    try:
        row = artifacts.get_artifact(conn, id, field="id")
    except NotFound:
        return None
    return artifact_objects.artifact(conn, row, c.viewer)


def _collection_page(
    info: Any,
    rows: list[Any],
    first: int | None,
    after: str | None,
    filters: Any,
    order: str | None,
) -> dict[str, Any]:
    """Collections, filtered and ordered as W&B's ``artifactCollections`` (by default the
    newest first), as a connection with ``totalCount``."""
    c = ctx(info)
    conn = c.db.read()
    chosen = select(
        rows,
        lambda r: {
            "name": r["name"],
            "description": r["description"],
            "tags": json.loads(r["tags"]),
            "type": r["type_name"],
        },
        filters,
        order,
        {"id": lambda r: r["id"], "name": lambda r: r["name"], "createdAt": _created},
        "-id",
    )
    shaped = page(chosen, first, after, lambda r: artifact_objects.collection(conn, r, c.viewer))
    return {**shaped, "totalCount": len(chosen)}


def _created(row: Any) -> tuple[str, int]:
    return (row["created_at"], row["id"])


@project_type.field("artifactCollections")
def _collections(
    obj: dict[str, Any],
    info: Any,
    first: int | None = None,
    after: str | None = None,
    filters: Any = None,
    order: str | None = None,
) -> dict[str, Any]:
    rows = artifacts.collections_of(ctx(info).db.read(), obj["_row"]["id"])
    return _collection_page(info, rows, first, after, filters, order)


def _artifact_type_object(project_id: int, name: str, created: str) -> dict[str, Any]:
    return {
        "__typename": "ArtifactType",
        "id": encode("ArtifactType", f"{project_id}:{name}"),
        "name": name,
        "description": None,
        "createdAt": created,
        "_project_id": project_id,
    }


@project_type.field("artifactTypes")
def _artifact_types(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    project_id = obj["_row"]["id"]
    rows = artifacts.artifact_types(ctx(info).db.read(), project_id)
    return page(
        rows,
        first,
        after,
        lambda r: _artifact_type_object(project_id, r["type_name"], r["created_at"]),
    )


@type_type.field("artifactCollections")
def _type_collections(
    obj: dict[str, Any],
    info: Any,
    first: int | None = None,
    after: str | None = None,
    filters: Any = None,
    order: str | None = None,
) -> dict[str, Any]:
    conn = ctx(info).db.read()
    rows = artifacts.collections_of(conn, obj["_project_id"], obj["name"])
    return _collection_page(info, rows, first, after, filters, order)


@type_type.field("artifactCollection")
def _type_collection(obj: dict[str, Any], info: Any, name: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    rows = artifacts.collections_of(conn, obj["_project_id"], obj["name"])
    row = next((r for r in rows if r["name"] == name), None)
    return None if row is None else artifact_objects.collection(conn, row, c.viewer)


@sequence_type.field("tags")
@portfolio_type.field("tags")
def _collection_tags_connection(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    names = json.loads(obj["_row"]["tags"])
    shaped = page(
        names, first, after, lambda t: {"__typename": "Tag", "id": encode("Tag", t), "name": t}
    )
    return {**shaped, "totalCount": len(names)}


@sequence_type.field("aliases")
@portfolio_type.field("aliases")
def _collection_aliases(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    collection_id = obj["_row"]["id"]
    names = artifacts.collection_aliases(ctx(info).db.read(), collection_id)
    return page(
        names,
        first,
        after,
        lambda alias: {
            "__typename": "ArtifactAlias",
            "id": encode("ArtifactAlias", f"{collection_id}:{alias}"),
            "alias": alias,
            "artifactCollectionName": obj["name"],
            "artifactCollection": obj,
        },
    )


@sequence_type.field("artifacts")
@portfolio_type.field("artifacts")
def _collection_artifacts(
    obj: dict[str, Any],
    info: Any,
    first: int | None = None,
    after: str | None = None,
    order: str | None = None,
    filters: Any = None,
) -> dict[str, Any]:
    c = ctx(info)
    conn = c.db.read()
    rows = artifacts.collection_versions(conn, obj["_row"]["id"])
    chosen = select(
        rows,
        lambda r: {
            "state": r["state"],
            "versionIndex": r["member_index"],
            "digest": r["digest"],
            "tags": json.loads(r["tags"]),
            "createdAt": r["created_at"],
        },
        filters,
        order,
        {
            "versionIndex": lambda r: r["member_index"],
            "createdAt": lambda r: (r["created_at"], r["member_index"]),
        },
        "-versionIndex",
    )

    shaped = page(
        chosen,
        first,
        after,
        lambda row: artifact_objects.artifact(conn, row, c.viewer),
        lambda row: {"version": f"v{row['member_index']}"},
    )
    return {**shaped, "totalCount": len(chosen)}


def _event_page(info: Any, rows: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    c = ctx(info)
    conn = c.db.read()
    collections: dict[int, dict[str, Any]] = {}

    def node(row: Any) -> dict[str, Any]:
        owner = collections.get(row["collection_id"])
        if owner is None:
            collection = artifacts.collection_row(conn, row["collection_id"])
            assert collection is not None  # events go with their collection (foreign key)
            owner = collections[row["collection_id"]] = artifact_objects.collection(
                conn, collection, c.viewer
            )
        return {
            "id": encode("ArtifactEventRecord", row["id"]),
            "eventType": row["event_type"],
            "createdAt": row["created_at"],
            "collection": owner,
            "version": row["version"],
            "alias": row["alias"],
            "tag": row["tag"],
            "aliases": json.loads(row["aliases"]),
        }

    return {**page(rows, first, after, node), "totalCount": len(rows)}


@project_type.field("artifactEvents")
def _project_events(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    rows = artifacts.events_of(ctx(info).db.read(), project_id=obj["_row"]["id"])
    return _event_page(info, rows, first, after)


@sequence_type.field("artifactEvents")
@portfolio_type.field("artifactEvents")
def _collection_events(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    rows = artifacts.events_of(ctx(info).db.read(), collection_id=obj["_row"]["id"])
    return _event_page(info, rows, first, after)


@query.field("artifactCollection")
def _collection_by_id(_: Any, info: Any, id: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    try:
        _, number = decode(id, "ArtifactSequence", "ArtifactPortfolio", "ArtifactCollection")
    except Invalid:
        return None
    row = artifacts.collection_row(conn, number)
    return None if row is None else artifact_objects.collection(conn, row, c.viewer)


@sequence_type.field("defaultArtifactType")
@portfolio_type.field("defaultArtifactType")
def _default_type(obj: dict[str, Any], info: Any) -> dict[str, Any]:
    row = obj["_row"]
    return _artifact_type_object(row["project_id"], row["type_name"], row["created_at"])


@project_type.field("artifact")
def _project_artifact(obj: dict[str, Any], info: Any, name: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    found = artifacts.find_member(conn, obj["_row"]["id"], name)
    return None if found is None else artifact_objects.artifact(conn, found[1], c.viewer)


@project_type.field("artifactCollectionMembership")
def _membership(obj: dict[str, Any], info: Any, name: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    found = artifacts.find_member(conn, obj["_row"]["id"], name)
    return None if found is None else artifact_objects.membership(conn, *found, c.viewer)


@project_type.field("artifactType")
def _artifact_type(obj: dict[str, Any], info: Any, name: str) -> dict[str, Any] | None:
    project_id = obj["_row"]["id"]
    found = artifacts.artifact_types(ctx(info).db.read(), project_id)
    row = next((r for r in found if r["type_name"] == name), None)
    return None if row is None else _artifact_type_object(project_id, name, row["created_at"])


@project_type.field("artifactCollection")
def _project_collection(obj: dict[str, Any], info: Any, name: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    row = artifacts.collection_by_name(conn, obj["_row"]["id"], name)
    return None if row is None else artifact_objects.collection(conn, row, c.viewer)


@sequence_type.field("artifactMembership")
@portfolio_type.field("artifactMembership")
def _collection_member(obj: dict[str, Any], info: Any, aliasName: str) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    row = obj["_row"]
    found = artifacts.find_member(conn, row["project_id"], f"{row['name']}:{aliasName}")
    return None if found is None else artifact_objects.membership(conn, *found, c.viewer)


@artifact_type.field("currentManifest")
def _current_manifest(obj: dict[str, Any], info: Any) -> dict[str, Any] | None:
    uploads = ctx(info).uploads
    path = uploads.manifest_path(obj["_row"]["id"])
    if obj["state"] != "COMMITTED" or not path.exists():
        return None
    return {
        "id": encode("ArtifactManifest", obj["_row"]["id"]),
        "file": {
            "id": encode("File", f"manifest:{obj['_row']['id']}"),
            "name": "wandb_manifest.json",
            "directUrl": uploads.download_url(path),
        },
    }


@membership_type.field("files")
def _member_files(
    obj: dict[str, Any],
    info: Any,
    after: str | None = None,
    first: int | None = None,
    names: list[str] | None = None,
) -> dict[str, Any]:
    uploads = ctx(info).uploads
    contents = manifest_contents(uploads, obj["artifact"]["_row"]["id"])
    listed = [
        (name, entry)
        for name, entry in contents.items()
        if entry.get("ref") is None and (names is None or name in names)
    ]

    def node(item: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        name, entry = item
        path = uploads.object_path(str(entry.get("digest")), f"manifest.contents[{name!r}]")
        url = uploads.download_url(path)
        return {
            "__typename": "File",
            "id": encode("File", path.name),
            "name": name,
            "displayName": name,
            "url": url,
            "directUrl": url,
            "sizeBytes": entry.get("size"),
            "storagePath": str(path.relative_to(uploads.directory)),
            "digest": entry.get("digest"),
            "md5": entry.get("digest"),
            "mimetype": None,
            "updatedAt": obj["artifact"]["updatedAt"],
        }

    return {**page(listed, first, after, node), "totalCount": len(listed)}


@sequence_type.field("latestArtifact")
def _latest(obj: dict[str, Any], info: Any) -> dict[str, Any] | None:
    c = ctx(info)
    conn = c.db.read()
    row = artifacts.latest_in(conn, obj["_row"]["id"])
    return None if row is None else artifact_objects.artifact(conn, row, c.viewer)


def _organization(entity: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": encode("Organization", entity["_row"]["id"]),
        "name": entity["name"],
        "orgEntity": entity,
    }


@entity_type.field("organization")
def _entity_organization(obj: dict[str, Any], _: Any) -> dict[str, Any]:
    return _organization(obj)


@entity_type.field("user")
def _entity_user(_: Any, info: Any) -> dict[str, Any]:
    return objects.user(ctx(info).viewer)


@user_type.field("organizations")
def _organizations(_: Any, info: Any) -> list[dict[str, Any]]:
    # The single local user belongs to every entity, and each entity is its own
    # organization: a registry path may name any of them ("research/wandb-registry-x/...").
    conn = ctx(info).db.read()
    return [_organization(objects.entity(row)) for row in entities.all_entities(conn)]


def _artifact_page(
    info: Any, rows: list[Any], first: int | None, after: str | None
) -> dict[str, Any]:
    c = ctx(info)
    conn = c.db.read()

    def shaped(row: Any) -> dict[str, Any]:
        return artifact_objects.artifact(conn, row, c.viewer)

    return {**page(rows, first, after, shaped), "totalCount": len(rows)}


@run_type.field("outputArtifacts")
def _output_artifacts(
    obj: dict[str, Any], info: Any, after: str | None = None, first: int | None = None
) -> dict[str, Any]:
    rows = artifacts.logged_by(ctx(info).db.read(), obj["_row"]["id"])
    return _artifact_page(info, rows, first, after)


@run_type.field("inputArtifacts")
def _input_artifacts(
    obj: dict[str, Any], info: Any, after: str | None = None, first: int | None = None
) -> dict[str, Any]:
    rows = artifacts.used_by(ctx(info).db.read(), obj["_row"]["id"])
    return _artifact_page(info, rows, first, after)


# ---------------------------------------------------------------------------- logging


@mutation.field("createArtifact")
def _create_artifact(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        row, events = artifacts.create_artifact(conn, input, c.viewer)
        c.engine.on_artifact_events(conn, events)
        return {"artifact": artifact_objects.artifact(conn, row, c.viewer)}


def _pending(conn: Any, gql_id: str, field: str) -> Any:
    row = artifacts.get_artifact(conn, gql_id, field=field)
    if row["state"] != "PENDING":
        raise Invalid(f"{field}: artifact {gql_id!r} is already committed; log a new version")
    return row


@mutation.field("createArtifactManifest")
def _create_manifest(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    row = _pending(c.db.read(), input["artifactID"], "artifactID")
    # A FULL manifest lists every file; wandb-core also names the previous version as its
    # baseArtifactID then, which only matters for the PATCH / INCREMENTAL kinds.
    if input.get("type") not in (None, "FULL"):
        raise Invalid(
            "type: only FULL manifests are supported here; log the whole artifact "
            "(no incremental or patch versions)"
        )
    # wandb-core asks twice: first for an id (digest ""), then for an upload URL.
    url = c.uploads.manifest_url(row["id"], input["digest"]) if input["digest"] else None
    return {
        "artifactManifest": {
            "id": encode("ArtifactManifest", row["id"]),
            "file": {
                "id": encode("File", f"manifest:{row['id']}"),
                "name": input["name"],
                "uploadUrl": url,
                "uploadHeaders": [],
            },
        }
    }


@mutation.field("createArtifactFiles")
def _create_files(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    conn = c.db.read()
    shaped: dict[str, dict[str, Any]] = {}
    edges = []
    for i, spec in enumerate(input["artifactFiles"]):
        field = f"artifactFiles[{i}]"
        if spec["artifactID"] not in shaped:
            row = _pending(conn, spec["artifactID"], f"{field}.artifactID")
            shaped[spec["artifactID"]] = artifact_objects.artifact(conn, row, c.viewer)
        path = c.uploads.object_path(spec["md5"], f"{field}.md5")
        edges.append(
            {
                "node": {
                    "id": encode("File", path.name),
                    "name": spec["name"],
                    "storagePath": str(path.relative_to(c.uploads.directory)),
                    "uploadUrl": c.uploads.object_url(spec["md5"]),
                    "uploadHeaders": [],
                    "uploadMultipartUrls": None,
                    "artifact": shaped[spec["artifactID"]],
                }
            }
        )
    no_more = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None}
    return {
        "files": {
            "edges": edges,
            "totalCount": len(edges),
            "pageInfo": {**no_more, "endCursor": None},
        }
    }


@mutation.field("commitArtifact")
def _commit_artifact(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        row = artifacts.get_artifact(conn, input["artifactID"])
        totals = finalize_manifest(c.uploads, row["id"])
        row, events = artifacts.commit_artifact(conn, row, totals.size, totals.file_count)
        c.engine.on_artifact_events(conn, events)
        return {"artifact": artifact_objects.artifact(conn, row, c.viewer)}


@mutation.field("useArtifact")
def _use_artifact(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        project = entities.get_project(conn, input["entityName"], input["projectName"])
        run = runs.get_run(conn, project["id"], input["runName"])
        if run is None:
            raise NotFound(f"runName: run {input['runName']!r} not found; start it first")
        artifact = artifacts.committed_artifact(conn, input["artifactID"])
        artifacts.record_use(conn, artifact, run["id"], input.get("usedAs"))
        return {"artifact": artifact_objects.artifact(conn, artifact, c.viewer)}


# ---------------------------------------------------------------------------- links, aliases, tags


@mutation.field("linkArtifact")
def _link_artifact(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        portfolio, events = artifacts.link_artifact(conn, input, c.viewer)
        c.engine.on_artifact_events(conn, events)
        artifact = artifacts.get_artifact(conn, input["artifactID"])
        member = artifact_objects.membership(conn, portfolio, artifact, c.viewer)
        assert member is not None  # link_artifact just made it a member
        return {
            "versionIndex": member["versionIndex"],
            "artifactCollection": artifact_objects.collection(conn, portfolio, c.viewer),
            "artifactMembership": member,
        }


@mutation.field("addAliases")
def _add_aliases(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        c.engine.on_artifact_events(conn, artifacts.change_aliases(conn, input, add=True))
    return {"success": True}


@mutation.field("deleteAliases")
def _delete_aliases(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        artifacts.change_aliases(conn, input, add=False)
    return {"success": True}


@mutation.field("updateArtifact")
def _update_artifact(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        c.engine.on_artifact_events(conn, artifacts.update_artifact(conn, input))
        row = artifacts.get_artifact(conn, input["artifactID"])
        return {"artifact": artifact_objects.artifact(conn, row, c.viewer)}


def _collection_tags(info: Any, input: dict[str, Any], add: bool) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        c.engine.on_artifact_events(
            conn, artifacts.change_collection_tags(conn, input, add, c.viewer)
        )
    return {"tags": [{"name": t["tagName"]} for t in input["tags"]], "success": True}


@mutation.field("createArtifactCollectionTagAssignments")
def _add_collection_tags(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    return _collection_tags(info, input, add=True)


@mutation.field("deleteArtifactCollectionTagAssignments")
def _delete_collection_tags(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    return _collection_tags(info, input, add=False)
