"""What an automation does when it fires: notify Slack, call a webhook, prompt W&B's ARIA
assistant, or nothing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from ._base import (
    JsonEncoded,
    LenientStrEnum,
    Typename,
    WireModel,
    WireResult,
    upper_if_str,
    use_default_if_none,
)
from .integrations import SlackIntegration, WebhookIntegration
from .read_only import ReadOnly


class ActionType(LenientStrEnum):
    """The kind of action, as sent in ``triggeredActionType``."""

    NO_OP = "NO_OP"
    QUEUE_JOB = "QUEUE_JOB"
    GENERIC_WEBHOOK = "GENERIC_WEBHOOK"
    NOTIFICATION = "NOTIFICATION"
    ARIA = "ARIA"
    PUSH_NOTIFICATION = "PUSH_NOTIFICATION"
    STOP_RUN = "STOP_RUN"  # extension: run by this package's engine only
    DIGEST = "DIGEST"  # extension: run by this package's engine only


CONFIG_KEYS: dict[str, str] = {
    ActionType.NOTIFICATION.value: "notificationActionInput",
    ActionType.GENERIC_WEBHOOK.value: "genericWebhookActionInput",
    ActionType.NO_OP.value: "noOpActionInput",
    ActionType.ARIA.value: "ariaActionInput",
    ActionType.STOP_RUN.value: "stopRunActionInput",
    ActionType.DIGEST.value: "digestActionInput",
}
"""The key of each action's part of ``triggeredActionConfig``: the one spelling, used by the
wire format here and by the server that reads it."""


class AlertSeverity(LenientStrEnum):
    """Severity of a Slack notification."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


Payload = JsonEncoded[dict[str, Any]]
"""A webhook payload: a JSON object, possibly with ``${variable}`` templates."""


# ---------------------------------------------------------------------------
# Input actions: what you build to create or update an automation.


class _InputAction(WireModel):
    model_config = ConfigDict(extra="forbid")

    def config_key(self) -> str:
        """The key of this action inside ``triggeredActionConfig``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """This action's part of ``triggeredActionConfig``, as W&B expects it."""
        return self.model_dump(exclude={"action_type"}, exclude_none=True)

    def to_code(self) -> str:
        """Python source, in this package's DSL, that rebuilds this action as ``action``."""
        from ._codegen import action_source, snippet

        return snippet("action", action_source(self))


class SendNotification(_InputAction):
    """Post a notification to a Slack integration."""

    action_type: Literal[ActionType.NOTIFICATION] = Field(
        default=ActionType.NOTIFICATION, frozen=True
    )
    integration_id: Annotated[str, Field(alias="integrationID", min_length=1)]
    """The id of the Slack integration to post to."""
    title: Annotated[str, BeforeValidator(use_default_if_none)] = ""
    """The notification's title."""
    message: Annotated[
        str, BeforeValidator(use_default_if_none), Field(validation_alias="text")
    ] = ""
    """The notification's body (``text`` is accepted too, as in ``wandb.alert``)."""
    severity: Annotated[
        AlertSeverity,
        BeforeValidator(use_default_if_none),
        BeforeValidator(upper_if_str),
        Field(validation_alias="level"),
    ] = AlertSeverity.INFO
    """INFO, WARN or ERROR (``level`` is accepted too, as in ``wandb.alert``)."""

    @classmethod
    def from_integration(
        cls,
        integration: SlackIntegration,
        *,
        title: str = "",
        text: str = "",
        level: AlertSeverity | str = AlertSeverity.INFO,
    ) -> SendNotification:
        """Notify the given Slack integration."""
        return cls.model_validate(
            {"integration_id": integration.id, "title": title, "message": text, "severity": level}
        )

    def config_key(self) -> str:
        return CONFIG_KEYS[self.action_type.value]


class SendWebhook(_InputAction):
    """POST a JSON payload to a webhook integration."""

    action_type: Literal[ActionType.GENERIC_WEBHOOK] = Field(
        default=ActionType.GENERIC_WEBHOOK, frozen=True
    )
    integration_id: Annotated[str, Field(alias="integrationID", min_length=1)]
    """The id of the webhook integration to call."""
    request_payload: Annotated[Payload | None, Field(alias="requestPayload")] = None
    """The JSON object to send; ``${variables}`` are filled in when it fires."""

    @classmethod
    def from_integration(
        cls, integration: WebhookIntegration, *, payload: dict[str, Any] | str | None = None
    ) -> SendWebhook:
        """Call the given webhook integration with ``payload``."""
        return cls(integration_id=integration.id, request_payload=payload)

    def config_key(self) -> str:
        return CONFIG_KEYS[self.action_type.value]


class DoNothing(_InputAction):
    """Record the firing and do nothing else; useful for testing an event."""

    model_config = ConfigDict(frozen=True)
    action_type: Literal[ActionType.NO_OP] = Field(default=ActionType.NO_OP, frozen=True)
    no_op: Annotated[
        bool, BeforeValidator(use_default_if_none), Field(alias="noOp", repr=False)
    ] = True

    def config_key(self) -> str:
        return CONFIG_KEYS[self.action_type.value]


MAX_ARIA_PROMPT_BYTES = 4000
"""W&B's limit on an ARIA prompt (UTF-8 bytes, after stripping surrounding whitespace)."""


def _aria_prompt(value: str) -> str:
    prompt = value.strip()
    if not prompt:
        raise ValueError("the ARIA prompt is empty; write what ARIA should do when this fires")
    size = len(prompt.encode("utf-8"))
    if size > MAX_ARIA_PROMPT_BYTES:
        raise ValueError(
            f"the ARIA prompt is {size} bytes; shorten it to {MAX_ARIA_PROMPT_BYTES} at most"
        )
    return prompt


class SendPromptToAria(_InputAction):
    """Send a prompt to W&B's ARIA assistant (runs on W&B only; the embedded server refuses it)."""

    action_type: Literal[ActionType.ARIA] = Field(default=ActionType.ARIA, frozen=True)
    prompt: Annotated[str, AfterValidator(_aria_prompt)]
    """What ARIA is asked when the automation fires (at most 4,000 UTF-8 bytes)."""

    def config_key(self) -> str:
        return CONFIG_KEYS[self.action_type.value]


class StopRun(_InputAction):
    """[extension: embedded engine only] Stop the run that fired the event.

    The embedded server answers the run's next ``file_stream`` request with
    ``{"stopped": true}``; the wandb SDK then stops the run from its side (it interrupts
    the training script's main thread, as ``wandb.Api().run(path).stop()`` does), within
    its polling interval. Works with any run event.
    """

    model_config = ConfigDict(frozen=True)
    action_type: Literal[ActionType.STOP_RUN] = Field(default=ActionType.STOP_RUN, frozen=True)
    stop_run: Annotated[
        bool, BeforeValidator(use_default_if_none), Field(alias="stopRun", repr=False)
    ] = True

    def config_key(self) -> str:
        return CONFIG_KEYS[self.action_type.value]


class SendDigest(_InputAction):
    """[extension: embedded engine only] Send a digest of the scope's runs, metrics and
    automations for the period since the previous one, to Slack or a webhook. Use with
    ``OnSchedule``; what it says is documented in docs/automations.md."""

    action_type: Literal[ActionType.DIGEST] = Field(default=ActionType.DIGEST, frozen=True)
    integration_id: Annotated[str, Field(alias="integrationID", min_length=1)]
    """The Slack or webhook integration to send to."""
    metrics: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=20)] = []
    """Metrics to report for each run active in the period (last, best, change)."""
    include: Annotated[list[Literal["runs", "metrics", "automations"]], Field(min_length=1)] = [
        "runs",
        "metrics",
        "automations",
    ]
    """Which parts to include."""
    skip_if_empty: Annotated[bool, Field(alias="skipIfEmpty")] = True
    """Send nothing when nothing happened in the period."""

    @classmethod
    def from_integration(
        cls,
        integration: SlackIntegration | WebhookIntegration,
        *,
        metrics: list[str] | None = None,
        include: list[str] | None = None,
        skip_if_empty: bool = True,
    ) -> SendDigest:
        """A digest to the given Slack channel or webhook."""
        data: dict[str, Any] = {"integration_id": integration.id, "skip_if_empty": skip_if_empty}
        if metrics is not None:
            data["metrics"] = metrics
        if include is not None:
            data["include"] = include
        return cls.model_validate(data)

    def config_key(self) -> str:
        return CONFIG_KEYS[self.action_type.value]


# ---------------------------------------------------------------------------
# Saved actions: what W&B returns for a saved automation.


class _IntegrationRef(WireResult):
    """An integration known only by id (input actions carry nothing more)."""

    model_config = ConfigDict(extra="ignore")
    id: str


class _SlackRef(_IntegrationRef):
    typename__: Typename[Literal["SlackIntegration"]] = "SlackIntegration"
    team_name: str | None = None
    channel_name: str | None = None


class _WebhookRef(_IntegrationRef):
    typename__: Typename[Literal["GenericWebhookIntegration"]] = "GenericWebhookIntegration"
    name: str | None = None
    url_endpoint: str | None = None


class SavedNotificationAction(WireResult):
    """A saved Slack notification action."""

    typename__: Typename[Literal["NotificationTriggeredAction"]] = "NotificationTriggeredAction"
    action_type: Annotated[Literal[ActionType.NOTIFICATION], Field(exclude=True)] = (
        ActionType.NOTIFICATION
    )
    integration: _SlackRef
    title: str | None = None
    message: str | None = None
    severity: AlertSeverity | None = None


class SavedWebhookAction(WireResult):
    """A saved webhook action."""

    typename__: Typename[Literal["GenericWebhookTriggeredAction"]] = "GenericWebhookTriggeredAction"
    action_type: Annotated[Literal[ActionType.GENERIC_WEBHOOK], Field(exclude=True)] = (
        ActionType.GENERIC_WEBHOOK
    )
    integration: _WebhookRef
    request_payload: Payload | None = None


class SavedNoOpAction(WireResult):
    """A saved no-op action."""

    typename__: Typename[Literal["NoOpTriggeredAction"]] = "NoOpTriggeredAction"
    action_type: Annotated[Literal[ActionType.NO_OP], Field(exclude=True)] = ActionType.NO_OP
    no_op: Annotated[bool, BeforeValidator(use_default_if_none), Field(repr=False)] = True


class SavedAriaAction(WireResult):
    """A saved ARIA prompt action."""

    typename__: Typename[Literal["ARIATriggeredAction"]] = "ARIATriggeredAction"
    action_type: Annotated[Literal[ActionType.ARIA], Field(exclude=True)] = ActionType.ARIA
    prompt: str


class SavedStopRunAction(WireResult):
    """[extension] A saved stop-run action."""

    typename__: Typename[Literal["StopRunTriggeredAction"]] = "StopRunTriggeredAction"
    action_type: Annotated[Literal[ActionType.STOP_RUN], Field(exclude=True)] = ActionType.STOP_RUN
    stop_run: Annotated[bool, BeforeValidator(use_default_if_none), Field(repr=False)] = True


class _AnyIntegrationRef(_IntegrationRef):
    typename__: Typename[str] = ""
    team_name: str | None = None
    channel_name: str | None = None
    name: str | None = None
    url_endpoint: str | None = None


class SavedDigestAction(WireResult):
    """[extension] A saved digest action."""

    typename__: Typename[Literal["DigestTriggeredAction"]] = "DigestTriggeredAction"
    action_type: Annotated[Literal[ActionType.DIGEST], Field(exclude=True)] = ActionType.DIGEST
    integration: _AnyIntegrationRef
    metrics: list[str] = []
    include: list[str] = ["runs", "metrics", "automations"]
    skip_if_empty: bool = True


def to_saved_action(value: Any) -> Any:
    """Accept an input action where a saved action is expected."""
    if isinstance(value, SendNotification):
        return SavedNotificationAction(
            integration=_SlackRef(id=value.integration_id),
            title=value.title,
            message=value.message,
            severity=value.severity,
        )
    if isinstance(value, SendWebhook):
        return SavedWebhookAction(
            integration=_WebhookRef(id=value.integration_id), request_payload=value.request_payload
        )
    if isinstance(value, DoNothing):
        return SavedNoOpAction()
    if isinstance(value, SendPromptToAria):
        return SavedAriaAction(prompt=value.prompt)
    if isinstance(value, StopRun):
        return SavedStopRunAction()
    if isinstance(value, SendDigest):
        return SavedDigestAction(
            integration=_AnyIntegrationRef(id=value.integration_id),
            metrics=value.metrics,
            include=list(value.include),
            skip_if_empty=value.skip_if_empty,
        )
    return value


def to_input_action(value: Any) -> Any:
    """Accept a saved action where an input action is expected."""
    if isinstance(value, SavedNotificationAction):
        return SendNotification(
            integration_id=value.integration.id,
            title=value.title or "",
            message=value.message or "",
            severity=value.severity or AlertSeverity.INFO,
        )
    if isinstance(value, SavedWebhookAction):
        return SendWebhook(
            integration_id=value.integration.id, request_payload=value.request_payload
        )
    if isinstance(value, SavedNoOpAction):
        return DoNothing()
    if isinstance(value, SavedAriaAction):
        return SendPromptToAria(prompt=value.prompt)
    if isinstance(value, SavedStopRunAction):
        return StopRun()
    if isinstance(value, SavedDigestAction):
        return SendDigest(
            integration_id=value.integration.id,
            metrics=value.metrics,
            include=value.include,
            skip_if_empty=value.skip_if_empty,
        )
    return value


_SAVED_TAGS = frozenset(
    {
        "NotificationTriggeredAction",
        "GenericWebhookTriggeredAction",
        "NoOpTriggeredAction",
        "ARIATriggeredAction",
        "StopRunTriggeredAction",
        "DigestTriggeredAction",
    }
)


def _saved_action_tag(value: Any) -> str:
    """The saved action's GraphQL type, or "read-only" for any other W&B returns."""
    found = (
        value.get("__typename") or value.get("typename__")
        if isinstance(value, dict)
        else getattr(value, "typename__", None)
    )
    return str(found) if found in _SAVED_TAGS else "read-only"


SavedAction = Annotated[
    Annotated[SavedNotificationAction, Tag("NotificationTriggeredAction")]
    | Annotated[SavedWebhookAction, Tag("GenericWebhookTriggeredAction")]
    | Annotated[SavedNoOpAction, Tag("NoOpTriggeredAction")]
    | Annotated[SavedAriaAction, Tag("ARIATriggeredAction")]
    | Annotated[SavedStopRunAction, Tag("StopRunTriggeredAction")]
    | Annotated[SavedDigestAction, Tag("DigestTriggeredAction")]
    | Annotated[ReadOnly, Tag("read-only")],
    Discriminator(_saved_action_tag),
    BeforeValidator(to_saved_action),
]
"""A saved action; one this mirror does not model (a launch-queue job, a push
notification...) is kept as :class:`ReadOnly`."""
InputAction = Annotated[
    SendNotification | SendWebhook | DoNothing | SendPromptToAria | StopRun | SendDigest,
    BeforeValidator(to_input_action),
    Field(discriminator="action_type"),
]
INPUT_ACTIONS = (SendNotification, SendWebhook, DoNothing, SendPromptToAria, StopRun, SendDigest)
SAVED_ACTIONS = (
    SavedNotificationAction,
    SavedWebhookAction,
    SavedNoOpAction,
    SavedAriaAction,
    SavedStopRunAction,
    SavedDigestAction,
)
