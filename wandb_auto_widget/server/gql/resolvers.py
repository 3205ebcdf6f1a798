"""Resolvers for schema.graphql. Reads use the thread's read connection; each mutation is
one write transaction, so a failed mutation leaves nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
from ariadne import (
    InterfaceType,
    MutationType,
    ObjectType,
    QueryType,
    ScalarType,
    UnionType,
    make_executable_schema,
)
from graphql import GraphQLError, GraphQLSchema

from ..._jsontext import INT64_MAX, INT64_MIN, loads
from ..errors import Invalid, NotFound
from ..run_files import RunFile, list_run_files
from ..store import entities, executions, history, integrations, runs, triggers
from ..store.ids import decode, encode
from . import artifact_resolvers, objects
from .context import ctx, page

query = QueryType()
mutation = MutationType()
user_type = ObjectType("User")
entity_type = ObjectType("Entity")
project_type = ObjectType("Project")
run_type = ObjectType("Run")
file_type = ObjectType("File")

# ---------------------------------------------------------------------------- scalars

json_string = ScalarType("JSONString")


@json_string.serializer
def _serialize_json_string(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@json_string.value_parser
def _parse_json_string(value: Any) -> Any:
    return value  # resolvers decode (and report errors against their own field names)


int64 = ScalarType("Int64")


@int64.value_parser
def _parse_int64(value: Any) -> int:
    """W&B's 64-bit integers (steps, sizes): whole numbers SQLite can hold, nothing else."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not INT64_MIN <= value <= INT64_MAX
        or value != int(value)
    ):
        # A GraphQLError, so that it is reported as the client's mistake, not as a bug.
        raise GraphQLError(f"Int64 must be a whole number from {INT64_MIN} to {INT64_MAX}")
    return int(value)


def _by_typename(obj: Any, *_: Any) -> str | None:
    return obj.get("__typename") if isinstance(obj, dict) else None


unions = [
    UnionType(name, _by_typename)
    for name in ("TriggerScope", "TriggeringCondition", "TriggeredAction")
]
interfaces = [InterfaceType(name, _by_typename) for name in ("Integration", "ArtifactCollection")]

# ---------------------------------------------------------------------------- queries


@query.field("viewer")
def _viewer(_: Any, info: Any) -> dict[str, Any]:
    return objects.user(ctx(info).viewer)


@query.field("serverInfo")
def _server_info(_: Any, info: Any) -> dict[str, Any]:
    return {
        "features": [{"name": n, "isEnabled": True} for n in ctx(info).features],
        "latestLocalVersionInfo": None,
    }


@query.field("project")
def _project(
    _: Any, info: Any, name: str | None = None, entityName: str | None = None
) -> dict[str, Any] | None:
    c = ctx(info)
    # W&B's schema lets name be null (the SDK's ArtifactType query declares it so): no project.
    row = None if name is None else entities.find_project(c.db.read(), entityName or c.viewer, name)
    return None if row is None else objects.project(row, c.viewer)


@query.field("model")
def _model(
    _: Any, info: Any, name: str | None = None, entityName: str | None = None
) -> dict[str, Any] | None:
    c = ctx(info)
    row = entities.find_project(c.db.read(), entityName or c.viewer, name)
    return None if row is None else objects.project(row, c.viewer)


@query.field("entity")
def _entity(_: Any, info: Any, name: str) -> dict[str, Any] | None:
    row = entities.find_entity(ctx(info).db.read(), name)
    return None if row is None else objects.entity(row)


@query.field("models")
def _models(
    _: Any,
    info: Any,
    entityName: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    c = ctx(info)
    conn = c.db.read()
    ent = entities.get_entity(conn, entityName or c.viewer)
    return page(
        entities.projects_of(conn, ent["id"]), first, after, lambda r: objects.project(r, c.viewer)
    )


@user_type.field("teams")
def _teams(_: Any, info: Any, first: int | None = None) -> dict[str, Any]:
    rows = entities.all_entities(ctx(info).db.read())
    return {"edges": [{"node": objects.entity(r)} for r in rows[: first or None]]}


@user_type.field("projects")
def _user_projects(
    _: Any, info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    c = ctx(info)
    rows = entities.all_projects(c.db.read())
    return page(rows, first, after, lambda r: objects.project(r, c.viewer))


@entity_type.field("integrations")
def _integrations(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    rows = integrations.integrations_of(ctx(info).db.read(), obj["_row"]["id"])
    return page(rows, first, after, integrations.integration_json)


@entity_type.field("triggers")
def _entity_triggers(
    obj: dict[str, Any],
    info: Any,
    first: int | None = None,
    after: str | None = None,
    order: str | None = None,
    filters: Any = None,
) -> dict[str, Any]:
    conn = ctx(info).db.read()
    rows = triggers.of_entity(conn, obj["_row"]["id"], filters)
    return page(rows, first, after, lambda r: objects.trigger(conn, r))


@entity_type.field("automationExecutions")
def _executions(
    obj: dict[str, Any],
    info: Any,
    automationID: str | None = None,
    status: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    conn = ctx(info).db.read()
    trigger = (
        None if automationID is None else decode(automationID, "Trigger", field="automationID")[1]
    )
    if status is not None and status not in ("PENDING", "FINISHED", "FAILED"):
        raise Invalid("status: must be PENDING, FINISHED or FAILED")
    rows = executions.executions_of(conn, obj["_row"]["id"], trigger, status)
    return page(rows, first, after, lambda r: objects.execution(conn, r))


@entity_type.field("projects")
def _entity_projects(
    obj: dict[str, Any], info: Any, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    c = ctx(info)
    return page(
        entities.projects_of(c.db.read(), obj["_row"]["id"]),
        first,
        after,
        lambda r: objects.project(r, c.viewer),
    )


@project_type.field("entity")
def _project_entity(obj: dict[str, Any], info: Any) -> dict[str, Any]:
    return objects.entity(entities.get_entity(ctx(info).db.read(), obj["entityName"]))


@project_type.field("runCount")
def _run_count(obj: dict[str, Any], info: Any, filters: Any = None) -> int:
    c = ctx(info)
    return len(runs.list_runs(c.db.read(), obj["_row"]["id"], filters, None, c.viewer))


@project_type.field("runs")
def _runs(
    obj: dict[str, Any],
    info: Any,
    filters: Any = None,
    after: str | None = None,
    first: int | None = None,
    order: str | None = None,
) -> dict[str, Any]:
    c = ctx(info)
    rows = runs.list_runs(c.db.read(), obj["_row"]["id"], filters, order, c.viewer)
    return page(rows, first, after, objects.run)


@project_type.field("run")
def _run(obj: dict[str, Any], info: Any, name: str) -> dict[str, Any] | None:
    row = runs.get_run(ctx(info).db.read(), obj["_row"]["id"], name)
    return None if row is None else objects.run(row)


@project_type.field("bucket")
def _bucket(
    obj: dict[str, Any], info: Any, name: str, missingOk: bool = False
) -> dict[str, Any] | None:
    row = runs.get_run(ctx(info).db.read(), obj["_row"]["id"], name)
    return None if row is None else objects.run(row)


@project_type.field("triggers")
def _project_triggers(obj: dict[str, Any], info: Any) -> list[dict[str, Any]]:
    conn = ctx(info).db.read()
    return [objects.trigger(conn, r) for r in triggers.of_project(conn, obj["_row"]["id"])]


@run_type.field("user")
def _run_user(_: Any, info: Any) -> dict[str, Any]:
    return objects.user(ctx(info).viewer)


@run_type.field("historyKeys")
def _history_keys(obj: dict[str, Any], info: Any) -> Any:
    return history.history_keys(ctx(info).db.read(), obj["_row"])


@run_type.field("sampledHistory")
def _sampled_history(obj: dict[str, Any], info: Any, specs: list[Any]) -> list[Any]:
    return objects.sampled_history(ctx(info).db.read(), obj["_row"], specs)


@run_type.field("history")
def _history(
    obj: dict[str, Any],
    info: Any,
    samples: int | None = None,
    minStep: int | None = None,
    maxStep: int | None = None,
) -> list[str]:
    return history.full_rows(ctx(info).db.read(), obj["_row"]["id"], minStep, maxStep, samples)


@run_type.field("historyTail")
def _history_tail(obj: dict[str, Any], info: Any) -> str:
    # A JSON list of the last history rows (each a JSON string): wandb-core resumes after them.
    last = history.full_rows(ctx(info).db.read(), obj["_row"]["id"], None, None, None)[-1:]
    return orjson.dumps(last).decode()


@run_type.field("eventsTail")
def _events_tail(*_: Any) -> str:
    return "[]"


@run_type.field("wandbConfig")
def _wandb_config(obj: dict[str, Any], info: Any, keys: list[str] | None = None) -> str:
    wandb_part = loads(obj["config"]).get("_wandb", {})
    value = wandb_part.get("value", wandb_part) if isinstance(wandb_part, dict) else {}
    return orjson.dumps({k: v for k, v in value.items() if keys is None or k in keys}).decode()


def _run_folder(obj: dict[str, Any], info: Any) -> Path:
    return _folder_of(ctx(info), obj["_row"]["id"])


@run_type.field("fileCount")
def _file_count(obj: dict[str, Any], info: Any) -> int:
    return len(list_run_files(_run_folder(obj, info)))


@run_type.field("files")
def _files(
    obj: dict[str, Any],
    info: Any,
    names: list[str | None] | None = None,
    after: str | None = None,
    first: int | None = None,
    pattern: str | None = None,
) -> dict[str, Any]:
    c = ctx(info)
    run_id = obj["_row"]["id"]
    found = list_run_files(
        _run_folder(obj, info), [n for n in names or [] if n is not None], pattern
    )

    def node(file: RunFile) -> dict[str, Any]:
        url = c.uploads.download_url(file.path)
        return {
            "id": encode("File", f"{run_id}/{file.name}"),
            "name": file.name,
            "displayName": file.name.rsplit("/", 1)[-1],
            "url": url,
            "directUrl": url,
            "sizeBytes": file.size,
            "md5": file.md5,
            "digest": file.md5,
            "mimetype": file.mimetype,
            "updatedAt": file.updated_at,
            "_run_id": run_id,
        }

    return {**page(found, first, after, node), "totalCount": len(found)}


@file_type.field("url")
def _file_url(obj: dict[str, Any], info: Any, upload: bool | None = None) -> str | None:
    """A run file's download URL, or with ``upload: true`` a URL to replace it (as W&B's)."""
    if upload and "_run_id" in obj:
        return ctx(info).uploads.run_file_urls(obj["_run_id"], [obj["name"]])[0]
    url: str | None = obj.get("url")
    return url


@run_type.field("parquetHistory")
def _parquet_history(*_: Any, **__: Any) -> dict[str, Any]:
    # No parquet export: an empty answer makes wandb-core page through sampledHistory.
    return {"parquetUrls": [], "liveData": []}


# ---------------------------------------------------------------------------- mutations


@mutation.field("createFilterTrigger")
def _create_trigger(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        row = triggers.create(conn, input)
        return {"trigger": objects.trigger(conn, row)}


@mutation.field("updateFilterTrigger")
def _update_trigger(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        row = triggers.update(conn, input)
        return {"trigger": objects.trigger(conn, row)}


@mutation.field("deleteTrigger")
def _delete_trigger(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        triggers.delete(conn, input["triggerID"])
    return {"success": True}


@mutation.field("upsertModel")
def _upsert_model(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    if not input.get("name"):
        raise Invalid("name: the project name is required")
    with c.db.write() as conn:
        row, inserted = entities.ensure_project(
            conn, input.get("entityName") or c.viewer, input["name"], input.get("description")
        )
        shaped = objects.project(row, c.viewer)
    return {"model": shaped, "project": shaped, "inserted": inserted}


@mutation.field("upsertBucket")
def _upsert_bucket(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        before = runs.state_before_upsert(conn, input, c.viewer)
        row, inserted = runs.upsert_run(conn, input, c.viewer)
        project = entities.project_by_id(conn, row["project_id"])
        assert project is not None
        if input.get("state") is not None:
            c.engine.on_run_state(conn, project, row, before, row["state"])
    assert project is not None
    # The client adopts the project and entity names it gets back here.
    bucket = {**objects.run(row), "project": objects.project(project, c.viewer)}
    return {"bucket": bucket, "inserted": inserted}


@mutation.field("createTeam")
def _create_team(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        return {"entity": objects.entity(entities.ensure_entity(conn, input["teamName"]))}


@mutation.field("insertSecret")
def _insert_secret(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        integrations.insert_secret(
            conn, input["entityName"], input["secretName"], input["secretValue"]
        )
    return {"success": True}


@mutation.field("createGenericWebhookIntegration")
def _create_webhook(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        return {
            "integration": integrations.integration_json(integrations.create_webhook(conn, input))
        }


@mutation.field("createSlackIntegration")
def _create_slack(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        return {
            "integration": integrations.integration_json(integrations.create_slack(conn, input))
        }


@mutation.field("deleteIntegration")
def _delete_integration(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    with ctx(info).db.write() as conn:
        integrations.delete_integration(conn, input["id"])
    return {"success": True}


@mutation.field("testTrigger")
def _test_trigger(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    _, number = decode(input["triggerID"], "Trigger", field="triggerID")
    trigger = triggers.get(c.db.read(), number)
    try:
        sample = loads(input["sample"]) if input.get("sample") else {}
    except ValueError:
        sample = None
    if not isinstance(sample, dict):
        raise Invalid('sample: must be a JSON object of template variables, e.g. {"step": 3}')
    execution_id = c.engine.test_fire(trigger, sample)
    conn = c.db.read()
    row = executions.get(conn, execution_id)
    assert row is not None  # test_fire just recorded it
    return {"execution": objects.execution(conn, row)}


@mutation.field("createRunFiles")
def _create_run_files(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    conn = c.db.read()
    project = entities.find_project(conn, input["entityName"] or c.viewer, input["projectName"])
    run = None if project is None else runs.get_run(conn, project["id"], input["runName"])
    if run is None:
        raise NotFound(
            f"run {input['entityName']}/{input['projectName']}/{input['runName']} not found"
        )
    return {
        "runID": encode("Run", run["id"]),
        "uploadHeaders": [],
        "files": [
            {"name": name, "uploadUrl": url}
            for name, url in zip(
                input["files"], c.uploads.run_file_urls(run["id"], input["files"]), strict=True
            )
        ],
    }


@mutation.field("notifyScriptableRunAlert")
def _notify_alert(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    c = ctx(info)
    with c.db.write() as conn:
        project = entities.find_project(conn, input["entityName"] or c.viewer, input["projectName"])
        run = None if project is None else runs.get_run(conn, project["id"], input["runName"])
        if run is None or project is None:
            raise NotFound(
                f"run {input['entityName']}/{input['projectName']}/{input['runName']} not found"
            )
        c.engine.on_alert(
            conn,
            project,
            run,
            input["title"],
            input["text"],
            input.get("severity") or "INFO",
            input.get("waitDuration"),
        )
    return {"success": True}


def _run_by_input(conn: Any, data: dict[str, Any], viewer: str) -> Any:
    """The run an input names: W&B's ``id``, or (ours) entity, project and run names."""
    if data.get("id"):
        run = runs.get_run_by_id(conn, data["id"])
        if run is None:
            raise NotFound(f"id: run {data['id']!r} not found")
        return run
    if not data.get("projectName") or not data.get("runName"):
        raise Invalid("id: the run's id is required (or projectName and runName)")
    project = entities.get_project(conn, data.get("entityName") or viewer, data["projectName"])
    run = runs.get_run(conn, project["id"], data["runName"])
    if run is None:
        raise NotFound(f"runName: run {data['runName']!r} not found")
    return run


@mutation.field("stopRun")
def _stop_run(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """The run's next file_stream answer says ``{"stopped": true}``; the SDK then stops."""
    c = ctx(info)
    with c.db.write() as conn:
        runs.request_stop(conn, _run_by_input(conn, input, c.viewer))
    return {"success": True}


@mutation.field("deleteRun")
def _delete_run(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """The run, its history, files and automation state; with ``deleteArtifacts``, also the
    artifact versions it logged."""
    c = ctx(info)
    with c.db.write() as conn:
        run = _run_by_input(conn, {"id": input["id"]}, c.viewer)
        runs.delete_run(conn, run, delete_artifacts=bool(input.get("deleteArtifacts")))
    shutil.rmtree(_folder_of(c, run["id"]), ignore_errors=True)  # after the commit
    return {"clientMutationId": input.get("clientMutationId")}


def _folder_of(c: Any, run_id: int) -> Path:
    return Path(c.uploads.directory) / str(run_id)


def build_schema() -> GraphQLSchema:
    sdl = (Path(__file__).parent.parent / "schema.graphql").read_text()
    return make_executable_schema(
        sdl,
        query,
        mutation,
        user_type,
        entity_type,
        project_type,
        run_type,
        file_type,
        json_string,
        int64,
        *artifact_resolvers.bindables,
        *unions,
        *interfaces,
    )
