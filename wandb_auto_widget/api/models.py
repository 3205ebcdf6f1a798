"""Plain objects the client returns: projects and runs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


def _decode(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


@dataclass(frozen=True)
class Project:
    """A project. Pass it as an automation's ``scope``."""

    id: str
    name: str
    entity: str

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.name}"


@dataclass(frozen=True)
class ArtifactCollection:
    """An artifact collection: a sequence of versions, or a portfolio of links (a registry's).

    Pass it as the ``scope`` of an artifact automation.
    """

    id: str
    name: str
    typename__: str  # "ArtifactSequence" or "ArtifactPortfolio", as GraphQL names them

    def is_sequence(self) -> bool:
        return self.typename__ == "ArtifactSequence"


@dataclass(frozen=True)
class Artifact:
    """One artifact version."""

    id: str
    collection: str
    version_index: int
    aliases: list[str]
    tags: list[str]
    metadata: dict[str, Any]
    digest: str = ""
    size: int = 0
    entity: str = ""
    """The entity of the collection this version is read from."""
    project: str = ""
    """The project of the collection this version is read from (a registry, for a link)."""
    description: str | None = None
    type: str = ""

    @property
    def version(self) -> str:
        return f"v{self.version_index}"

    @property
    def path(self) -> str:
        """``entity/project/collection:vN``."""
        return f"{self.entity}/{self.project}/{self.collection}:{self.version}"

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> Artifact:
        sequence = node["artifactSequence"]
        seq = sequence["name"]
        project = sequence.get("project") or {}
        return cls(
            id=node["id"],
            collection=seq,
            version_index=int(node["versionIndex"]),
            aliases=[
                a["alias"]
                for a in node.get("aliases") or []
                if (a.get("artifactCollection") or {}).get("name") == seq
            ],
            tags=[t["name"] for t in node.get("tags") or []],
            metadata=_decode(node.get("metadata")),
            digest=node.get("digest") or "",
            size=int(node.get("size") or 0),
            entity=(project.get("entity") or {}).get("name", ""),
            project=project.get("name", ""),
            description=node.get("description"),
            type=(node.get("artifactType") or {}).get("name", ""),
        )

    @classmethod
    def from_membership(cls, member: dict[str, Any]) -> Artifact:
        """The artifact as a member of a collection: that collection's version and aliases."""
        node = cls.from_graphql(member["artifact"])
        collection = member["artifactCollection"]
        project = collection.get("project") or {}
        return dataclasses.replace(
            node,
            collection=collection["name"],
            version_index=int(member["versionIndex"]),
            aliases=[a["alias"] for a in member.get("aliases") or []],
            entity=(project.get("entity") or {}).get("name", node.entity),
            project=project.get("name", node.project),
        )


@dataclass(frozen=True)
class Run:
    """A run: ``name`` is its id, ``display_name`` the name shown in the UI."""

    entity: str
    project: str
    id: str
    name: str
    display_name: str | None
    state: str | None
    tags: list[str] = field(default_factory=list)
    created_at: str | None = None
    config: dict[str, Any] | None = None
    """The config values (unwrapped from W&B's ``{"value": ...}``), as ``wandb.Api`` gives them."""
    summary: dict[str, Any] | None = None
    history_keys: dict[str, Any] | None = None
    group: str | None = None
    job_type: str | None = None
    username: str | None = None
    heartbeat_at: str | None = None
    """When the server last heard from the run (its end, for a run that ended)."""
    history_line_count: int | None = None
    """How many history rows the run has logged."""

    @property
    def path(self) -> str:
        """``entity/project/run-id``."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    def last_step(self) -> int | None:
        """The last step logged, if known (loaded with :meth:`Api.run`)."""
        if not self.history_keys:
            return None
        step = self.history_keys.get("lastStep")
        return int(step) if step is not None else None

    @classmethod
    def from_graphql(cls, entity: str, project: str, node: dict[str, Any]) -> Run:
        config = node.get("config")
        summary = node.get("summaryMetrics")
        return cls(
            entity=entity,
            project=project,
            id=node["id"],
            name=node["name"],
            display_name=node.get("displayName"),
            state=node.get("state"),
            tags=list(node.get("tags") or []),
            created_at=node.get("createdAt"),
            config=None if config is None else _unwrap_config(_decode(config)),
            summary=None if summary is None else _decode(summary),
            history_keys=node.get("historyKeys"),
            heartbeat_at=node.get("heartbeatAt"),
            history_line_count=node.get("historyLineCount"),
            group=node.get("group"),
            job_type=node.get("jobType"),
            username=(node.get("user") or {}).get("username"),
        )


def _unwrap_config(raw: dict[str, Any]) -> dict[str, Any]:
    """W&B stores each config value as ``{"value": v, "desc": ...}``; like ``wandb.Api``,
    return the values, without wandb's own ``_wandb`` entry."""
    return {
        key: value["value"] if isinstance(value, dict) and "value" in value else value
        for key, value in raw.items()
        if key != "_wandb"
    }


def split_path(path: str, parts: int, shape: str | None = None) -> list[str]:
    """``"a/b/c"`` -> ``["a", "b", "c"]``, with a clear error when the shape is wrong."""
    pieces = [p for p in path.strip("/").split("/") if p]
    if len(pieces) != parts:
        shape = shape or ("entity/project" if parts == 2 else "entity/project/run-id")
        raise ValueError(f"path: {path!r} must look like {shape!r}")
    return pieces


@dataclass(frozen=True)
class Execution:
    """One firing of an automation: the event, what was sent, and how delivery went."""

    id: str
    automation_id: str | None
    automation_name: str
    event_type: str
    event: dict[str, Any]
    action_type: str
    target: str | None
    payload: str | None
    webhook_id: str
    status: str  # PENDING, FINISHED or FAILED
    attempts: int
    response_status: int | None
    error: str | None
    is_test: bool
    created_at: str
    finished_at: str | None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> Execution:
        return cls(
            id=node["id"],
            automation_id=node.get("automationID"),
            automation_name=node["automationName"],
            event_type=node["eventType"],
            event=node.get("event") or {},
            action_type=node["actionType"],
            target=node.get("target"),
            payload=node.get("payload"),
            webhook_id=node["webhookID"],
            status=node["status"],
            attempts=node["attempts"],
            response_status=node.get("responseStatus"),
            error=node.get("error"),
            is_test=bool(node.get("isTest")),
            created_at=node["createdAt"],
            finished_at=node.get("finishedAt"),
            deliveries=list(node.get("deliveries") or []),
        )


@dataclass(frozen=True)
class ArtifactEventRecord:
    """An artifact event the embedded server recorded (created, linked, alias added...)."""

    event_type: str
    created_at: str
    collection: str
    version: str | None
    alias: str | None
    tag: str | None
    aliases: list[str]
    """The version's aliases when the event happened."""

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> ArtifactEventRecord:
        return cls(
            event_type=node["eventType"],
            created_at=node["createdAt"],
            collection=(node.get("collection") or {}).get("name", ""),
            version=node.get("version"),
            alias=node.get("alias"),
            tag=node.get("tag"),
            aliases=list(node.get("aliases") or []),
        )
