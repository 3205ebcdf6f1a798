"""``Api``: a W&B GraphQL client shaped like ``wandb.Api``, for W&B and the embedded server."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from .._jsontext import dumps
from ..automations import Automation, NewAutomation, SlackIntegration, WebhookIntegration
from ..automations.extensions import FEATURE as EXTENSION_FEATURE
from ..automations.extensions import extension_parts
from ..automations.integrations import IntegrationAdapter
from . import queries
from .async_history import fetch_histories
from .errors import NotFoundError, UnsupportedError, ValidationError
from .history import (
    Columns,
    bulk_jobs,
    bulk_request,
    page_specs,
    parse_bulk_columns,
    spec_json,
    to_columns,
)
from .models import (
    Artifact,
    ArtifactCollection,
    ArtifactEventRecord,
    Execution,
    Project,
    Run,
    split_path,
)
from .settings import resolve_api_key, resolve_base_url
from .transport import Transport, raise_for

Progress = Callable[[int, int], None]
EMPTY_MANIFEST_DIGEST = hashlib.md5(b"wandb-artifact-manifest-v1\n").hexdigest()
"""W&B's digest of a manifest with no files (wandb's ArtifactManifestV1.digest)."""


class Api:
    """A client for W&B's GraphQL API (W&B cloud, W&B Server, or the embedded server).

    Settings resolve as wandb's do: arguments, then ``WANDB_BASE_URL`` / ``WANDB_API_KEY``,
    then ``~/.netrc``, then ``https://api.wandb.ai``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        max_retries: int = 4,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        api_key = resolve_api_key(api_key, self.base_url)
        self.has_credentials = api_key is not None
        self._transport = Transport(
            self.base_url, api_key, timeout=timeout, max_retries=max_retries
        )
        self._default_entity: str | None = None
        self._features: frozenset[str] | None = None

    def __repr__(self) -> str:  # never show the key
        return f"Api(base_url={self.base_url!r})"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _gql(self, query: str, **variables: Any) -> dict[str, Any]:
        return self._transport.graphql(query, variables)

    def _nodes(self, query: str, path: str, **variables: Any) -> Iterator[dict[str, Any]]:
        """Every node of the paginated connection at ``path`` (``"entity.projects"``, or a
        root connection such as ``"models"``), page by page; NotFoundError when its owner is
        null (no such entity or project)."""
        owner, _, field = path.rpartition(".")
        cursor = None
        while True:
            data = self._gql(query, cursor=cursor, **variables)
            found = data.get(owner) if owner else data
            if found is None:
                what = (
                    f"project {variables['entity']}/{variables['project']}"
                    if "project" in variables
                    else f"entity {variables['entity']!r}"
                )
                raise NotFoundError(f"{what} not found")
            connection = found[field]
            edges = connection["edges"]
            for edge in edges:
                yield edge["node"]
            if not connection["pageInfo"]["hasNextPage"] or not edges:
                return
            cursor = connection["pageInfo"].get("endCursor") or edges[-1].get("cursor")

    # ------------------------------------------------------------------ identity

    @property
    def default_entity(self) -> str:
        """The entity of the user the API key belongs to."""
        if self._default_entity is None:
            viewer = self._gql(queries.VIEWER).get("viewer")
            if not viewer or not viewer.get("entity"):
                raise NotFoundError("the server does not know a user for this API key")
            self._default_entity = str(viewer["entity"])
        return self._default_entity

    def features(self) -> frozenset[str]:
        """The server's enabled feature flags (cached; empty if the server has none)."""
        if self._features is None:
            try:
                info = self._gql(queries.SERVER_FEATURES).get("serverInfo") or {}
            except ValidationError:
                info = {}
            self._features = frozenset(
                f["name"] for f in info.get("features") or [] if f.get("isEnabled")
            )
        return self._features

    def _require(self, feature: str, what: str) -> None:
        """UnsupportedError, before anything is sent, when the server lacks ``feature``."""
        if feature not in self.features():
            raise UnsupportedError(
                f"{what} needs the server feature {feature}, which {self.base_url} does not "
                "offer: it is an addition of the embedded server (wandb-auto-widget server)"
            )

    def viewer(self) -> dict[str, Any]:
        """The current user (``id``, ``entity``, ``username``)."""
        return dict(self._gql(queries.VIEWER).get("viewer") or {})

    # ------------------------------------------------------------------ projects, runs

    def project(self, name: str, entity: str | None = None) -> Project:
        """A project; raises NotFoundError if it does not exist."""
        entity = entity or self.default_entity
        found = self._gql(queries.PROJECT, name=name, entity=entity).get("project")
        if not found:
            raise NotFoundError(f"project {entity}/{name} not found")
        return Project(id=found["id"], name=found["name"], entity=found["entityName"])

    def projects(self, entity: str | None = None) -> list[Project]:
        """The entity's projects (registries included; see :meth:`registries`)."""
        entity = entity or self.default_entity
        return [
            Project(id=node["id"], name=node["name"], entity=node["entityName"])
            for node in self._nodes(queries.ENTITY_PROJECTS, "models", entity=entity, perPage=100)
        ]

    def metric_keys(self, path: str, *, max_runs: int = 20) -> list[str]:
        """Numeric history keys logged in ``entity/project``, from its most recent runs."""
        keys: set[str] = set()
        for run in self.runs(path, per_page=max_runs)[:max_runs]:
            history_keys = self.run(run.path).history_keys or {}
            for name, info in (history_keys.get("keys") or {}).items():
                counts = info.get("typeCounts") or []
                if not name.startswith("_") and any(c.get("type") == "number" for c in counts):
                    keys.add(name)
        return sorted(keys)

    def runs(
        self,
        path: str,
        filters: dict[str, Any] | None = None,
        *,
        order: str = "-created_at",
        per_page: int = 100,
    ) -> list[Run]:
        """Runs of ``entity/project`` matching Mongo-style ``filters``, newest first by default."""
        return list(self.iter_runs(path, filters, order=order, per_page=per_page))

    def iter_runs(
        self,
        path: str,
        filters: dict[str, Any] | None = None,
        *,
        order: str = "-created_at",
        per_page: int = 100,
    ) -> Iterator[Run]:
        """:meth:`runs`, a page at a time: stop iterating and no further page is fetched."""
        entity, project = split_path(path, 2)
        for node in self._nodes(
            queries.RUNS,
            "project.runs",
            entity=entity,
            project=project,
            perPage=per_page,
            order=order,
            filters=json.dumps(filters or {}),
        ):
            yield Run.from_graphql(entity, project, node)

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far (retries included): for budgets and benchmarks."""
        return self._transport.sent

    def run(self, path: str) -> Run:
        """A run by ``entity/project/run-id``, with config, summary and history keys."""
        entity, project, name = split_path(path, 3, "entity/project/run-id")
        data = self._gql(queries.RUN, entity=entity, project=project, name=name).get("project")
        if not data or not data.get("run"):
            raise NotFoundError(f"run {path} not found")
        return Run.from_graphql(entity, project, data["run"])

    # ------------------------------------------------------------------ history

    def history(
        self,
        run: Run | str,
        keys: Sequence[str],
        *,
        min_step: int | None = None,
        max_step: int | None = None,
        page_size: int = 10_000,
    ) -> Columns:
        """Full-resolution history of ``keys`` as columns (``_step``, ``_timestamp``, each key).

        Only rows that have every key are returned. ``max_step`` is inclusive.
        """
        path = run if isinstance(run, str) else run.path
        if "HISTORY_COLUMNS" in self.features():
            # The embedded server's bulk endpoint: raw arrays, no per-row JSON.
            entity, project, name = split_path(path, 3, "entity/project/run-id")
            found = self._bulk_columns(f"{entity}/{project}", [name], keys, min_step, max_step)
            if found.get(name) is None:
                raise NotFoundError(f"run {path} not found")
            return found[name]  # type: ignore[return-value]
        full = run if isinstance(run, Run) and run.history_keys is not None else self.run(path)
        last = full.last_step
        if last is None:
            return to_columns(keys, [])
        first = 0 if min_step is None else min_step
        last = last if max_step is None else min(last, max_step)
        pages = []
        for spec in page_specs(keys, first, last, page_size):
            data = self._gql(
                queries.HISTORY_PAGE,
                entity=full.entity,
                project=full.project,
                run=full.name,
                spec=spec_json(spec),
            )
            pages.append(data["project"]["run"]["sampledHistory"][0])
        return to_columns(keys, pages)

    def histories(
        self,
        runs: Iterable[Run | str],
        keys: Sequence[str],
        *,
        min_step: int | None = None,
        max_step: int | None = None,
        concurrency: int = 4,
        on_progress: Progress | None = None,
        cancel: threading.Event | None = None,
        batch_runs: int = 25,
    ) -> dict[str, Columns]:
        """:meth:`history` for many runs, keyed by run path, ``concurrency`` requests at a time.

        On the embedded server, runs of one project travel ``batch_runs`` to a request.
        ``on_progress(done, total)`` is called as runs complete. Setting ``cancel`` stops
        fetching work that has not started; the result then holds what finished.
        """
        paths = [self._checked_path(p) for p in iter_paths(runs)]
        jobs = (
            bulk_jobs(paths, batch_runs)
            if "HISTORY_COLUMNS" in self.features()
            else [("", [path]) for path in paths]
        )

        def fetch(job: tuple[str, list[str]]) -> dict[str, Columns]:
            project_path, names = job
            if not project_path:  # one run, paged through sampledHistory
                return {
                    names[0]: self.history(names[0], keys, min_step=min_step, max_step=max_step)
                }
            found = self._bulk_columns(project_path, names, keys, min_step, max_step)
            return {f"{project_path}/{name}": c for name, c in found.items() if c is not None}

        def fetch_unless_cancelled(job: tuple[str, list[str]]) -> dict[str, Columns] | None:
            return None if cancel is not None and cancel.is_set() else fetch(job)

        results: dict[str, Columns] = {}
        done = 0
        if jobs and jobs[0][0]:
            # Bulk fetches from the embedded server are CPU-bound on this machine: more
            # threads than cores only contend for the GIL.
            concurrency = min(concurrency, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            futures = {pool.submit(fetch_unless_cancelled, job): job for job in jobs}
            for future in as_completed(futures):
                found = future.result()
                if found is not None:
                    results.update(found)
                done += len(futures[future][1])
                if on_progress is not None:
                    on_progress(done, len(paths))
        return results

    def _bulk_columns(
        self,
        project_path: str,
        names: list[str],
        keys: Sequence[str],
        min_step: int | None,
        max_step: int | None,
    ) -> dict[str, Columns | None]:
        body = bulk_request(project_path, names, keys, min_step, max_step)
        response = self._transport.post("/history/columns", body)
        if response.status_code != 200:
            raise_for(response)
        return parse_bulk_columns(response.content)

    @staticmethod
    def _checked_path(path: str) -> str:
        split_path(path, 3, "entity/project/run-id")
        return path

    async def ahistories(
        self,
        runs: Iterable[Run | str],
        keys: Sequence[str],
        *,
        min_step: int | None = None,
        max_step: int | None = None,
        concurrency: int = 8,
        on_progress: Progress | None = None,
        batch_runs: int = 25,
    ) -> dict[str, Columns]:
        """The async twin of :meth:`histories`, on ``httpx.AsyncClient``: the same requests,
        retries and errors. Cancel the task to stop it."""
        paths = [self._checked_path(p) for p in iter_paths(runs)]
        bulk = "HISTORY_COLUMNS" in self.features()
        async with self._transport.async_twin() as transport:
            return await fetch_histories(
                transport,
                paths,
                keys,
                bulk=bulk,
                window=(min_step, max_step),
                concurrency=concurrency,
                batch_runs=batch_runs,
                on_progress=on_progress,
            )

    # ------------------------------------------------------------------ integrations

    def integrations(
        self, entity: str | None = None
    ) -> list[SlackIntegration | WebhookIntegration]:
        """The entity's Slack and webhook integrations."""
        entity = entity or self.default_entity
        return [
            IntegrationAdapter.validate_python(node)
            for node in self._nodes(
                queries.INTEGRATIONS, "entity.integrations", entity=entity, perPage=50
            )
            if node["__typename"] in ("SlackIntegration", "GenericWebhookIntegration")
        ]

    def slack_integrations(self, entity: str | None = None) -> list[SlackIntegration]:
        return [i for i in self.integrations(entity) if isinstance(i, SlackIntegration)]

    def webhook_integrations(self, entity: str | None = None) -> list[WebhookIntegration]:
        return [i for i in self.integrations(entity) if isinstance(i, WebhookIntegration)]

    # ------------------------------------------------------------------ automations

    def _triggers(self, document: str) -> str:
        """A document that reads triggers, with the extension actions where they exist."""
        if EXTENSION_FEATURE in self.features():
            return queries.with_extension_actions(document)
        return document

    def _check_extensions(self, obj: NewAutomation | Automation) -> None:
        """UnsupportedError, before anything is sent, for an extension the server cannot run."""
        parts = extension_parts(obj)
        if parts and EXTENSION_FEATURE not in self.features():
            raise UnsupportedError(
                f"{' and '.join(parts)} of this automation only run on this package's engine, "
                f"and {self.base_url} does not offer it (W&B cannot run them): save it to a "
                "wandb-auto-widget server instead, or use W&B's own rules"
            )

    def automations(
        self, entity: str | None = None, *, name: str | None = None
    ) -> list[Automation]:
        """The entity's automations, optionally only the one called ``name``."""
        entity = entity or self.default_entity
        filters = json.dumps({"name": name}) if name else None
        document = self._triggers(queries.AUTOMATIONS)
        return [
            Automation.from_graphql(node)
            for node in self._nodes(
                document, "scope.triggers", entity=entity, perPage=50, filters=filters
            )
        ]

    def automation(self, name: str, *, entity: str | None = None) -> Automation:
        """The automation called ``name``; NotFoundError if there is none."""
        found = self.automations(entity, name=name)
        if not found:
            raise NotFoundError(f"no automation named {name!r}")
        if len(found) > 1:
            raise ValidationError(f"several automations are named {name!r}; pass entity=")
        return found[0]

    def create_automation(self, obj: NewAutomation, **overrides: Any) -> Automation:
        """Save a new automation; ConflictError if the name is taken. An automation with an
        extension rule (plateau, non-finite, stalled, StopRun) needs a server that runs them:
        UnsupportedError otherwise, naming the parts."""
        self._check_extensions(obj)
        document = self._triggers(queries.CREATE_AUTOMATION)
        data = self._gql(document, input=obj.to_graphql_input(**overrides))
        return Automation.from_graphql(data["result"]["trigger"])

    def update_automation(self, obj: Automation, **overrides: Any) -> Automation:
        """Save changes to an automation (a full replacement); NotFoundError if it is gone."""
        self._check_extensions(obj)
        document = self._triggers(queries.UPDATE_AUTOMATION)
        data = self._gql(document, input=obj.to_graphql_input(**overrides))
        return Automation.from_graphql(data["result"]["trigger"])

    def delete_automation(self, obj: Automation | str) -> None:
        """Delete an automation, given it or its id."""
        gql_id = obj if isinstance(obj, str) else obj.id
        result = self._gql(queries.DELETE_AUTOMATION, id=gql_id).get("result") or {}
        if not result.get("success"):
            raise ValidationError(f"the server did not delete automation {gql_id!r}")

    def automation_history(
        self,
        automation_or_entity: Automation | str | None = None,
        *,
        entity: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[Execution]:
        """Recent executions, newest first: of one automation (in ``entity``, by default
        yours), or of all of an entity's automations. ``status`` is PENDING, FINISHED or FAILED.
        """
        self._require("AUTOMATION_EXECUTIONS", "automation_history()")
        automation_id = None
        if isinstance(automation_or_entity, Automation):
            automation_id = automation_or_entity.id
        elif automation_or_entity is not None:
            entity = automation_or_entity
        entity = entity or self.default_entity
        nodes = self._nodes(
            queries.AUTOMATION_EXECUTIONS,
            "entity.automationExecutions",
            entity=entity,
            automation=automation_id,
            status=status,
            first=min(100, limit),
        )
        return [Execution.from_graphql(node) for node in itertools.islice(nodes, limit)]

    def test_automation(
        self, automation: Automation, sample: dict[str, Any] | None = None
    ) -> Execution:
        """Send ``automation``'s action once, now, with a sample event (``sample`` overrides
        template variables such as ``run_name`` or ``metric_value``). Marked as a test."""
        self._require("AUTOMATION_TEST_FIRE", "test_automation()")
        data = self._gql(
            queries.TEST_AUTOMATION, id=automation.id, sample=json.dumps(sample) if sample else None
        )
        return Execution.from_graphql(data["testTrigger"]["execution"])

    # ------------------------------------------------------------------ ingestion (local use)

    def create_entity(self, name: str) -> None:
        """Create a team entity (the embedded server; on W&B use the web app)."""
        self._gql(queries.CREATE_TEAM, name=name)

    def create_project(self, name: str, entity: str | None = None) -> Project:
        """Create a project, or return it if it exists (W&B's ``upsertModel``)."""
        found = self._gql(
            queries.UPSERT_MODEL, input={"name": name, "entityName": entity or self.default_entity}
        )
        model = found["upsertModel"]["project"]
        return Project(id=model["id"], name=model["name"], entity=model["entityName"])

    def init_run(
        self,
        path: str,
        *,
        name: str | None = None,
        run_id: str | None = None,
        config: dict[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        group: str | None = None,
        job_type: str | None = None,
    ) -> LoggedRun:
        """Start (or resume) a run in ``entity/project``; log to it with the returned object."""
        entity, project = split_path(path, 2)
        wrapped = (
            None if config is None else json.dumps({k: {"value": v} for k, v in config.items()})
        )
        data = self._gql(
            queries.UPSERT_BUCKET,
            name=run_id,
            project=project,
            entity=entity,
            displayName=name,
            config=wrapped,
            tags=list(tags) if tags is not None else None,
            groupName=group,
            jobType=job_type,
        )["upsertBucket"]["bucket"]
        last_step = (data.get("historyKeys") or {}).get("lastStep")
        return LoggedRun(
            self,
            entity=data["project"]["entity"]["name"],
            project=data["project"]["name"],
            name=data["name"],
            offset=int(data.get("historyLineCount") or 0),
            last_step=-1 if last_step is None else int(last_step),
        )

    def set_run_state(self, path: str, state: str) -> None:
        """Set a run's state directly (e.g. ``"crashed"`` or ``"killed"``)."""
        entity, project, name = split_path(path, 3, "entity/project/run-id")
        self._gql(queries.UPSERT_BUCKET, name=name, project=project, entity=entity, state=state)

    def stop_run(self, path: str) -> None:
        """Ask a running run to stop, as W&B's Stop button (and ``wandb.Api().run(path).stop()``)
        does: the run's next file_stream answer says ``{"stopped": true}``, and the wandb SDK
        on the training machine stops the run."""
        self._gql(queries.STOP_RUN, id=self.run(path).id)

    def file_stream(
        self, entity: str, project: str, run: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """POST to W&B's file_stream endpoint for a run."""
        response = self._transport.post(f"/files/{entity}/{project}/{run}/file_stream", body)
        return raise_for(response)

    def create_slack_integration(
        self,
        channel: str,
        webhook_url: str,
        *,
        entity: str | None = None,
        team_name: str | None = None,
    ) -> SlackIntegration:
        """Add a Slack channel by its incoming-webhook URL (stored write-only). On W&B, connect
        Slack in the App (team settings) instead: W&B adds Slack through OAuth."""
        self._require("SLACK_WEBHOOK_INTEGRATIONS", "create_slack_integration()")
        data = self._gql(
            queries.CREATE_SLACK,
            input={
                "entityName": entity or self.default_entity,
                "channelName": channel,
                "webhookUrl": webhook_url,
                "teamName": team_name,
            },
        )
        return SlackIntegration.model_validate(data["createSlackIntegration"]["integration"])

    def create_webhook_integration(
        self,
        name: str,
        url: str,
        *,
        entity: str | None = None,
        secret: str | None = None,
        access_token: str | None = None,
        secret_ref: str | None = None,
        access_token_ref: str | None = None,
    ) -> WebhookIntegration:
        """Add a webhook endpoint. Its secret signs requests; its access token is sent as
        Bearer. Both are stored as secrets of the entity and can never be read back.

        On W&B, create the secrets in the App (team settings, "Team secrets") and pass their
        names as ``secret_ref=`` / ``access_token_ref=``, as wandb does. The embedded server
        also takes the values (``secret=``, ``access_token=``) and stores them itself.
        """
        entity = entity or self.default_entity
        refs = {
            field: ref
            for field, ref in (("secretRef", secret_ref), ("accessTokenRef", access_token_ref))
            if ref
        }
        slug = "".join(c if c.isalnum() else "_" for c in name).upper()
        for field, value, suffix in (
            ("secretRef", secret, "SECRET"),
            ("accessTokenRef", access_token, "TOKEN"),
        ):
            if value:
                self._require("SECRETS_API", "a webhook secret given by value")
                secret_name = f"{slug}_{suffix}"
                self._gql(queries.INSERT_SECRET, entity=entity, name=secret_name, value=value)
                refs[field] = secret_name
        data = self._gql(
            queries.CREATE_WEBHOOK,
            input={"entityName": entity, "name": name, "urlEndpoint": url, **refs},
        )
        return WebhookIntegration.model_validate(
            data["createGenericWebhookIntegration"]["integration"]
        )

    # ------------------------------------------------------------------ artifacts

    def artifact_collections(self, path: str) -> list[ArtifactCollection]:
        """The artifact collections of ``entity/project`` (a registry is a project too)."""
        entity, project = split_path(path, 2)
        return [
            ArtifactCollection(node["id"], node["name"], node["__typename"])
            for node in self._nodes(
                queries.ARTIFACT_COLLECTIONS,
                "project.artifactCollections",
                entity=entity,
                project=project,
            )
        ]

    def artifact(self, path: str) -> Artifact:
        """One version by ``entity/project/collection:alias`` or ``...:vN`` (``:latest`` if
        neither); for a registry, ``entity/wandb-registry-<name>/collection:alias``."""
        entity, project, name = split_path(path, 3, "entity/project/collection:alias")
        data = self._gql(queries.ARTIFACT_MEMBERSHIP, entity=entity, project=project, name=name)
        member = (data.get("project") or {}).get("artifactCollectionMembership")
        if member is None:
            raise NotFoundError(f"path: artifact {path!r} not found")
        return Artifact.from_membership(member)

    def artifact_events(
        self, scope: Project | ArtifactCollection | str
    ) -> list[ArtifactEventRecord]:
        """The artifact events recorded in a project (``Project`` or ``"entity/project"``) or
        one collection, oldest first, for backtesting artifact automations (the embedded
        server records them; W&B does not expose such a history)."""
        self._require("ARTIFACT_EVENT_HISTORY", "artifact_events()")
        if isinstance(scope, ArtifactCollection):
            nodes = self._nodes(
                queries.COLLECTION_ARTIFACT_EVENTS, "artifactCollection.artifactEvents", id=scope.id
            )
        else:
            path = scope.path if isinstance(scope, Project) else scope
            entity, project = split_path(path, 2)
            nodes = self._nodes(
                queries.PROJECT_ARTIFACT_EVENTS,
                "project.artifactEvents",
                entity=entity,
                project=project,
            )
        return [ArtifactEventRecord.from_graphql(node) for node in nodes]

    def registries(self, entity: str | None = None) -> list[Project]:
        """The entity's registries (projects named ``wandb-registry-<name>``)."""
        return [p for p in self.projects(entity) if p.name.startswith("wandb-registry-")]

    def log_artifact(
        self,
        path: str,
        name: str,
        type: str,
        *,
        aliases: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        digest: str | None = None,
    ) -> Artifact:
        """Log a new version of artifact ``name`` (metadata only, no files) in
        ``entity/project``; it gets ``latest`` and ``aliases``.

        As W&B does, the version is created PENDING, then committed; automations on
        "artifact created" fire at the commit.
        """
        entity, project = split_path(path, 2)
        pending = self._gql(
            queries.CREATE_ARTIFACT,
            input={
                "entityName": entity,
                "projectName": project,
                "artifactTypeName": type,
                "artifactCollectionNames": [name],
                "digest": digest or EMPTY_MANIFEST_DIGEST,
                "digestAlgorithm": "MANIFEST_MD5",
                "metadata": json.dumps(metadata or {}),
                "aliases": [{"artifactCollectionName": name, "alias": a} for a in aliases],
            },
        )["createArtifact"]["artifact"]
        self._gql(queries.COMMIT_ARTIFACT, artifactID=pending["id"])
        return self._artifact_by_id(pending["id"])

    def _artifact_by_id(self, gql_id: str) -> Artifact:
        found = self._gql(queries.ARTIFACT_BY_ID, id=gql_id).get("artifact")
        if found is None:
            raise NotFoundError(f"artifact {gql_id!r} not found")
        return Artifact.from_graphql(found)

    def link_artifact(
        self, artifact: Artifact, target: str, *, aliases: Sequence[str] = ()
    ) -> ArtifactCollection:
        """Link a version into ``entity/project/collection``.

        For a registry: ``"<entity>/wandb-registry-model/<collection>"``.
        """
        entity, project, collection = split_path(target, 3, "entity/project/collection")
        data = self._gql(
            queries.LINK_ARTIFACT,
            input={
                "artifactID": artifact.id,
                "artifactPortfolioName": collection,
                "entityName": entity,
                "projectName": project,
                "aliases": [{"artifactCollectionName": collection, "alias": a} for a in aliases],
            },
        )["result"]["artifactMembership"]["artifactCollection"]
        # wandb's link selects no id; the collection's id comes from where wandb reads it.
        found = self._gql(
            queries.COLLECTION_BY_NAME,
            entity=entity,
            project=project,
            type=artifact.type,
            name=data["name"],
        )
        linked = ((found.get("project") or {}).get("artifactType") or {}).get("artifactCollection")
        if linked is None:
            raise NotFoundError(f"target: the linked collection {target!r} was not found")
        return ArtifactCollection(linked["id"], linked["name"], linked["__typename"])

    def add_artifact_alias(self, artifact: Artifact, alias: str) -> None:
        """Point ``alias`` at this version in the collection it was read from (moving it from
        another version if needed)."""
        self._gql(
            queries.ADD_ALIASES,
            input={
                "artifactID": artifact.id,
                "aliases": [
                    {
                        "entityName": artifact.entity,
                        "projectName": artifact.project,
                        "artifactCollectionName": artifact.collection,
                        "alias": alias,
                    }
                ],
            },
        )

    def add_artifact_tag(self, artifact: Artifact, tag: str) -> None:
        """Tag this version."""
        self._gql(
            queries.UPDATE_ARTIFACT,
            input={"artifactID": artifact.id, "tagsToAdd": [{"tagName": tag}]},
        )


class LoggedRun:
    """A run being logged through file_stream, as the wandb SDK logs."""

    def __init__(
        self, api: Api, *, entity: str, project: str, name: str, offset: int, last_step: int = -1
    ) -> None:
        self.api, self.entity, self.project, self.name = api, entity, project, name
        self._offset = offset
        self._step = last_step  # a resumed run continues after its last logged step
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    def last_step(self) -> int:
        """The last step logged (-1 before the first)."""
        return self._step

    def log(self, rows: dict[str, Any] | Sequence[dict[str, Any]], step: int | None = None) -> bool:
        """Append one row or a batch; fills in ``_step`` and ``_timestamp`` when missing.

        Returns True if the server asked the run to stop.
        """
        batch = [rows] if isinstance(rows, dict) else list(rows)
        lines = []
        with self._lock:
            for i, row in enumerate(batch):
                row = dict(row)
                if step is not None and i == 0:
                    row.setdefault("_step", step)
                if "_step" not in row:
                    row["_step"] = self._step + 1
                row.setdefault("_timestamp", time.time())
                self._step = max(self._step, int(row["_step"]))
                # As wandb writes them: numpy values as numbers, NaN and inf as bare tokens.
                lines.append(dumps(row))
            body = {"files": {"wandb-history.jsonl": {"offset": self._offset, "content": lines}}}
            response = self.api.file_stream(self.entity, self.project, self.name, body)
            self._offset += len(lines)
        return bool(response.get("stopped"))

    def finish(self, exit_code: int = 0) -> None:
        """Mark the run finished (exit code 0) or failed (anything else)."""
        self.api.file_stream(
            self.entity, self.project, self.name, {"complete": True, "exitcode": exit_code}
        )


def iter_paths(runs: Iterable[Run | str]) -> Iterator[str]:
    for run in runs:
        yield run if isinstance(run, str) else run.path
