"""Where an automation listens: a project, a registry, an artifact collection or an entity."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Discriminator, Field

from ._base import LenientStrEnum, Typename, WireResult
from .read_only import ReadOnly

REGISTRY_PREFIX = "wandb-registry-"


class ScopeType(LenientStrEnum):
    """The kind of scope, as sent in ``scopeType``."""

    PROJECT = "PROJECT"
    ARTIFACT_COLLECTION = "ARTIFACT_COLLECTION"
    ENTITY = "ENTITY"


class _BaseScope(WireResult):
    model_config = ConfigDict(extra="ignore")
    scope_type: Annotated[ScopeType, Field(frozen=True, exclude=True)]
    id: str
    """The GraphQL id of the scope object; sent as ``scopeID``."""
    name: str
    """The scope object's name."""


class ProjectScope(_BaseScope):
    """A project. Run events and most artifact events can listen here."""

    typename__: Typename[Literal["Project"]] = "Project"
    scope_type: Annotated[Literal[ScopeType.PROJECT], Field(exclude=True)] = ScopeType.PROJECT
    is_registry: Annotated[Literal[False], Field(exclude=True)] = False


class RegistryScope(_BaseScope):
    """A registry. W&B stores registries as projects named ``wandb-registry-<name>``."""

    typename__: Typename[Literal["Project"]] = "Project"
    scope_type: Annotated[Literal[ScopeType.PROJECT], Field(exclude=True)] = ScopeType.PROJECT
    is_registry: Annotated[Literal[True], Field(exclude=True)] = True


class _ArtifactSequenceScope(_BaseScope):
    """An artifact collection that holds versions (a sequence)."""

    typename__: Typename[Literal["ArtifactSequence"]] = "ArtifactSequence"
    scope_type: Annotated[Literal[ScopeType.ARTIFACT_COLLECTION], Field(exclude=True)] = (
        ScopeType.ARTIFACT_COLLECTION
    )


class _ArtifactPortfolioScope(_BaseScope):
    """An artifact collection that links versions (a portfolio, e.g. in a registry)."""

    typename__: Typename[Literal["ArtifactPortfolio"]] = "ArtifactPortfolio"
    scope_type: Annotated[Literal[ScopeType.ARTIFACT_COLLECTION], Field(exclude=True)] = (
        ScopeType.ARTIFACT_COLLECTION
    )


class TeamScope(_BaseScope):
    """A team entity."""

    typename__: Typename[Literal["Entity"]] = "Entity"
    scope_type: Annotated[Literal[ScopeType.ENTITY], Field(exclude=True)] = ScopeType.ENTITY
    entity_type: Literal["team"] = "team"


class OrgScope(_BaseScope):
    """An organization entity."""

    typename__: Typename[Literal["Entity"]] = "Entity"
    scope_type: Annotated[Literal[ScopeType.ENTITY], Field(exclude=True)] = ScopeType.ENTITY
    entity_type: Literal["organization"] = "organization"


_COLLECTION_SCOPES: dict[str, type[_BaseScope]] = {
    "ArtifactSequence": _ArtifactSequenceScope,
    "ArtifactPortfolio": _ArtifactPortfolioScope,
}


def parse_scope(value: Any) -> Any:
    """Turn wire JSON, our scopes, or wandb/our API objects into a concrete scope."""
    if isinstance(value, _BaseScope):
        return value
    if isinstance(value, dict):
        data = value
    elif hasattr(value, "id") and hasattr(value, "name"):
        data = {"id": value.id, "name": value.name, "__typename": _typename_of(value)}
        if data["__typename"] == "Entity":
            data["entityType"] = getattr(value, "entity_type", None) or "team"
    else:
        return value
    kind = data.get("__typename") or data.get("typename__")
    if kind == "Project":
        is_registry = str(data.get("name", "")).startswith(REGISTRY_PREFIX)
        return (RegistryScope if is_registry else ProjectScope).model_validate(data)
    if kind == "Entity":
        entity_type = str(data.get("entityType") or data.get("entity_type") or "team").lower()
        return (OrgScope if entity_type == "organization" else TeamScope).model_validate(data)
    collection = _COLLECTION_SCOPES.get(str(kind))
    return collection.model_validate(data) if collection else value


def _typename_of(obj: Any) -> str:
    """Best-effort GraphQL type of a wandb (or our) API object."""
    if hasattr(obj, "is_sequence"):
        return "ArtifactSequence" if obj.is_sequence() else "ArtifactPortfolio"
    explicit = getattr(obj, "typename__", None) or getattr(obj, "__typename", None)
    if isinstance(explicit, str):
        return explicit
    cls = type(obj).__name__
    if cls in ("Team", "Organization", "Entity"):
        return "Entity"
    return "Project"


ArtifactCollectionScope = Annotated[
    _ArtifactSequenceScope | _ArtifactPortfolioScope,
    BeforeValidator(parse_scope),
    Discriminator("typename__"),
]
"""An artifact collection (sequence or portfolio)."""

EntityScope = Annotated[
    TeamScope | OrgScope, Field(discriminator="entity_type"), BeforeValidator(parse_scope)
]
"""A team or organization."""

AutomationScope = Annotated[
    _ArtifactSequenceScope
    | _ArtifactPortfolioScope
    | ProjectScope
    | RegistryScope
    | TeamScope
    | OrgScope,
    Field(union_mode="left_to_right"),
    BeforeValidator(parse_scope),
]
"""Any scope an automation may have."""

SavedScope = Annotated[
    _ArtifactSequenceScope
    | _ArtifactPortfolioScope
    | ProjectScope
    | RegistryScope
    | TeamScope
    | OrgScope
    | ReadOnly,
    Field(union_mode="left_to_right"),
    BeforeValidator(parse_scope),
]
"""The scope of a saved automation; one this mirror does not model is kept as ReadOnly."""
