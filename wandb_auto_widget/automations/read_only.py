"""Parts of saved automations this mirror does not model, kept exactly as W&B sent them.

W&B has actions (launch queue jobs, ARIA prompts), scopes and event types that wandb's SDK
either models without letting you create them, or that are newer than this package. Listing
an entity's automations must not fail because one of them uses such a part: it parses into
a :class:`ReadOnly`, which serializes back to the same JSON, and the automation holding it
can be listed and printed but not edited or re-created here.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict, model_serializer, model_validator

from ._base import WireModel


class ReadOnly(WireModel):
    """An action, event or scope of a saved automation that this package cannot edit."""

    model_config = ConfigDict(frozen=True)
    typename: str
    """Its GraphQL type (``QueueJobTriggeredAction``...), or ``"unknown"``."""
    raw: dict[str, Any]
    """The object as W&B returned it."""

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, value: Any) -> Any:
        if isinstance(value, dict) and "raw" not in value:
            return {"typename": str(value.get("__typename") or "unknown"), "raw": value}
        return value

    @model_serializer(mode="plain")
    def _as_sent(self) -> dict[str, Any]:
        return self.raw

    def describe(self) -> str:
        """One line for messages: the type, and the event type if it has one."""
        event_type = self.raw.get("eventType")
        return f"{self.typename} ({event_type})" if event_type else self.typename

    def __repr__(self) -> str:
        return f"ReadOnly({self.describe()})"

    def as_comment(self) -> str:
        return "\n".join(f"# {line}" for line in json.dumps(self.raw, indent=2).splitlines())
