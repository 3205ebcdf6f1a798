"""Pydantic base classes and helpers shared by the domain model.

The configuration mirrors the one wandb's generated GraphQL types use, so that
``model_dump()`` produces W&B's wire JSON (camelCase aliases, JSON mode) and
``model_validate()`` accepts both wire JSON and Python field names.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Annotated, Any, TypeVar

import pydantic_core
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Json, PlainSerializer
from pydantic.alias_generators import to_camel

T = TypeVar("T")


def to_json(value: Any) -> str:
    """Serialize to compact JSON exactly the way wandb's SDK does."""
    return pydantic_core.to_json(value, by_alias=True, round_trip=True).decode("utf-8")


def ensure_json(value: Any) -> Any:
    """Accept already-decoded values where a JSON string is expected."""
    return value if isinstance(value, (str, bytes)) else to_json(value)


JsonEncoded = Annotated[Json[T], BeforeValidator(ensure_json), PlainSerializer(to_json)]
"""A field that is a JSON *string* on the wire but a structured value in Python."""


def use_default_if_none(value: Any) -> Any:
    """A before-validator that turns ``None`` into the field's default."""
    if value is None:
        raise pydantic_core.PydanticUseDefault
    return value


def upper_if_str(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def require_finite(value: float) -> float:
    """Reject NaN and infinities, which wandb would silently send as ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}; use a real threshold")
    return value


class LenientStrEnum(str, Enum):
    """A string enum whose lookups ignore case, as wandb's do."""

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            wanted = value.strip().lower()
            return next((member for member in cls if member.value.lower() == wanted), None)
        return None


class WireModel(BaseModel):
    """Base for every domain model: dumps wire JSON, validates names or aliases."""

    model_config = ConfigDict(
        populate_by_name=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        validate_assignment=True,
        use_attribute_docstrings=True,
        from_attributes=True,
        validate_default=True,
        protected_namespaces=(),
    )

    def model_dump(self, *, mode: str = "json", **kwargs: Any) -> dict[str, Any]:
        kwargs = {"by_alias": True, "round_trip": True, **kwargs}
        return super().model_dump(mode=mode, **kwargs)

    def model_dump_json(self, *, indent: int | None = None, **kwargs: Any) -> str:
        kwargs = {"by_alias": True, "round_trip": True, **kwargs}
        return super().model_dump_json(indent=indent, **kwargs)


class WireResult(WireModel):
    """Base for objects read back from GraphQL responses (camelCase keys)."""

    model_config = ConfigDict(alias_generator=to_camel)


Typename = Annotated[T, Field(alias="__typename", frozen=True, repr=False)]
"""The ``__typename`` field of a GraphQL object: ``Typename[Literal["Project"]]``."""
