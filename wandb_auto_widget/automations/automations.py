"""Automations: an event, a scope and an action, new or saved."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from ._base import Typename, WireModel, WireResult, to_json
from .actions import InputAction, SavedAction, to_input_action
from .events import InputEvent, SavedEvent, _WrappedSavedEventFilter, to_input_event
from .read_only import ReadOnly
from .scopes import AutomationScope, SavedScope

AutomationName = Annotated[str, Field(min_length=1, max_length=255)]
_OVERRIDABLE = ("name", "description", "enabled", "event", "action")


def _action_config(action: Any) -> dict[str, Any]:
    action = to_input_action(action)
    return {action.config_key(): action.config()}


class NewAutomation(WireModel):
    """An automation that has not been saved yet; build it with ``event >> action``."""

    model_config = ConfigDict(extra="forbid", validate_default=False)
    name: AutomationName | None = None
    """A name, unique within the entity (at most 255 characters)."""
    description: str | None = None
    """An optional description."""
    enabled: bool | None = None
    """Whether it fires; ``None`` means the default, enabled."""
    event: InputEvent | None = None
    """The event that triggers it."""
    action: InputAction | None = None
    """What happens when it fires."""

    @property
    def scope(self) -> AutomationScope | None:
        """The scope of the event."""
        return self.event.scope if self.event else None

    def to_graphql_input(self, **overrides: Any) -> dict[str, Any]:
        """The ``CreateFilterTriggerInput`` for ``createFilterTrigger``, as wandb sends it.

        Keyword arguments (name, description, enabled, event, action) override fields.
        """
        unknown = set(overrides) - set(_OVERRIDABLE)
        if unknown:
            raise TypeError(f"unexpected override(s) {sorted(unknown)}; use {_OVERRIDABLE}")
        merged = self.model_copy(update={k: v for k, v in overrides.items()})
        checked = NewAutomation.model_validate(
            {name: getattr(merged, name) for name in _OVERRIDABLE}
        )
        missing = [n for n in ("name", "event", "action") if getattr(checked, n) is None]
        if missing:
            raise ValueError(f"cannot save an automation without: {', '.join(missing)}")
        assert checked.event is not None and checked.action is not None
        data: dict[str, Any] = {
            "enabled": True if checked.enabled is None else checked.enabled,
            "eventFilter": to_json(checked.event.filter),
            "name": checked.name,
            "scopeID": checked.event.scope.id,
            "scopeType": checked.event.scope.scope_type.value,
            "triggeredActionConfig": _action_config(checked.action),
            "triggeredActionType": checked.action.action_type.value,
            "triggeringEventType": checked.event.event_type.value,
        }
        if checked.description is not None:
            data["description"] = checked.description
        return data

    def to_code(self) -> str:
        """Python source, in this package's DSL, that rebuilds this object as ``automation``."""
        from ._codegen import new_automation_code

        return new_automation_code(self)


class Automation(WireResult):
    """A saved automation, as read back from W&B. Fields can be edited, then saved."""

    typename__: Typename[Literal["Trigger"]] = "Trigger"
    id: str
    """The automation's GraphQL id."""
    created_at: Annotated[datetime, Field(repr=False, frozen=True, alias="createdAt")]
    updated_at: Annotated[datetime | None, Field(repr=False, frozen=True, alias="updatedAt")] = None
    name: AutomationName
    description: str | None = None
    enabled: bool = True
    # Whatever W&B returns parses: parts this mirror does not model become ReadOnly.
    scope: SavedScope
    event: Annotated[SavedEvent | ReadOnly, Field(union_mode="left_to_right")]
    action: SavedAction

    @classmethod
    def from_graphql(cls, trigger: dict[str, Any]) -> Automation:
        """Parse a ``Trigger`` object from a GraphQL response (W&B's or ours)."""
        return cls.model_validate(trigger)

    @property
    def read_only_parts(self) -> list[ReadOnly]:
        """The parts this package cannot edit (a launch-queue or ARIA action, a newer kind
        of event or scope); empty for an automation it can edit."""
        return [p for p in (self.scope, self.event, self.action) if isinstance(p, ReadOnly)]

    @property
    def editable(self) -> bool:
        """Whether this package can edit (and re-create) this automation."""
        return not self.read_only_parts

    def _require_editable(self) -> None:
        if self.read_only_parts:
            kinds = ", ".join(p.describe() for p in self.read_only_parts)
            raise ValueError(
                f"automation {self.name!r} uses {kinds}, which this package cannot edit; "
                "edit it in the W&B App"
            )

    def to_graphql(self) -> dict[str, Any]:
        """This automation as a GraphQL ``Trigger`` object (``TriggerFields``)."""
        return self.model_dump()

    def to_input_event(self) -> Any:
        """The editable input event (``OnRunMetric`` etc.) behind this automation."""
        self._require_editable()
        assert not isinstance(self.event, ReadOnly)
        return to_input_event(self.event, self.scope)

    def to_new_automation(self) -> NewAutomation:
        """A copy that could be saved as a new automation."""
        self._require_editable()
        return NewAutomation(
            name=self.name,
            description=self.description,
            enabled=self.enabled,
            event=self.to_input_event(),
            action=to_input_action(self.action),
        )

    def to_graphql_input(self, **overrides: Any) -> dict[str, Any]:
        """The ``UpdateFilterTriggerInput`` for ``updateFilterTrigger``: a full replacement."""
        unknown = set(overrides) - {*_OVERRIDABLE, "scope"}
        if unknown:
            raise TypeError(f"unexpected override(s) {sorted(unknown)}")
        merged = self.model_copy()
        for key, value in overrides.items():
            setattr(merged, key, value)  # validate_assignment checks each one
        merged._require_editable()
        assert not isinstance(merged.event, ReadOnly) and not isinstance(merged.scope, ReadOnly)
        assert not isinstance(merged.action, ReadOnly)
        saved = merged.event.filter
        event_filter = saved.filter if isinstance(saved, _WrappedSavedEventFilter) else saved
        data: dict[str, Any] = {
            "enabled": merged.enabled,
            "eventFilter": to_json(event_filter),
            "id": merged.id,
            "name": merged.name,
            "scopeID": merged.scope.id,
            "scopeType": merged.scope.scope_type.value,
            "triggeredActionConfig": _action_config(merged.action),
            "triggeredActionType": merged.action.action_type.value,
            "triggeringEventType": merged.event.event_type.value,
        }
        if merged.description is not None:
            data["description"] = merged.description
        return data

    def to_code(self) -> str:
        """Python source, in this package's DSL, that rebuilds this object as ``automation``.

        For an automation with read-only parts, a comment that shows it as W&B returned it.
        """
        from ._codegen import automation_code, read_only_code

        return read_only_code(self) if self.read_only_parts else automation_code(self)


def saved_trigger(
    create_input: dict[str, Any],
    *,
    id: str,
    created_at: datetime,
    scope: dict[str, Any],
    integration: dict[str, Any] | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """The GraphQL ``Trigger`` that W&B returns for a saved ``CreateFilterTriggerInput``.

    ``scope`` and ``integration`` are the GraphQL objects (with ``__typename``) that
    the input's ``scopeID`` and ``integrationID`` refer to.
    """
    event_type = create_input["triggeringEventType"]
    event_filter = create_input["eventFilter"]
    if not str(event_type).startswith("RUN_"):
        # W&B wraps saved artifact-event filters once more: {"filter": "<input json>"}.
        event_filter = to_json({"filter": event_filter})
    action_type = create_input["triggeredActionType"]
    config = next(iter(create_input["triggeredActionConfig"].values()))
    action: dict[str, Any]
    if action_type == "NOTIFICATION":
        action = {
            "__typename": "NotificationTriggeredAction",
            "integration": integration,
            "title": config.get("title"),
            "message": config.get("message"),
            "severity": config.get("severity"),
        }
    elif action_type == "GENERIC_WEBHOOK":
        action = {
            "__typename": "GenericWebhookTriggeredAction",
            "integration": integration,
            "requestPayload": config.get("requestPayload"),
        }
    elif action_type == "ARIA":
        action = {"__typename": "ARIATriggeredAction", "prompt": config.get("prompt")}
    elif action_type == "STOP_RUN":
        action = {"__typename": "StopRunTriggeredAction", "stopRun": True}
    elif action_type == "DIGEST":
        action = {
            "__typename": "DigestTriggeredAction",
            "integration": integration,
            "metrics": config.get("metrics", []),
            "include": config.get("include", ["runs", "metrics", "automations"]),
            "skipIfEmpty": config.get("skipIfEmpty", True),
        }
    else:
        action = {"__typename": "NoOpTriggeredAction", "noOp": True}
    return {
        "__typename": "Trigger",
        "id": id,
        "createdAt": created_at.isoformat(),
        "updatedAt": updated_at.isoformat() if updated_at else None,
        "name": create_input["name"],
        "description": create_input.get("description"),
        "enabled": create_input.get("enabled", True),
        "scope": scope,
        "event": {
            "__typename": "FilterEventTriggeringCondition",
            "eventType": event_type,
            "filter": event_filter,
        },
        "action": action,
    }
