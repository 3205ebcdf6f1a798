"""Events that trigger automations, and the ``RunEvent``/``ArtifactEvent`` filter DSL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from ._base import JsonEncoded, LenientStrEnum, Typename, WireModel, WireResult, ensure_json
from .actions import INPUT_ACTIONS, SAVED_ACTIONS
from .extensions import (
    MetricNonFiniteFilter,
    MetricPlateauFilter,
    ScheduleCondition,
    StalledCondition,
)
from .filters import And, FilterableField, MongoLikeFilter, wrap_mutation_filter, wrap_run_filter
from .metric_filters import (
    MetricChangeFilter,
    MetricCondition,
    MetricThresholdFilter,
    MetricVal,
    MetricZScoreFilter,
)
from .run_state import StateFilter, StateOperand
from .scopes import ArtifactCollectionScope, AutomationScope, EntityScope, ProjectScope

if TYPE_CHECKING:
    from .automations import NewAutomation


class EventType(LenientStrEnum):
    """The kind of event, as sent in ``triggeringEventType``."""

    UPDATE_ARTIFACT_ALIAS = "UPDATE_ARTIFACT_ALIAS"  # legacy: parsed, never created
    CREATE_ARTIFACT = "CREATE_ARTIFACT"
    ADD_ARTIFACT_ALIAS = "ADD_ARTIFACT_ALIAS"
    ADD_ARTIFACT_TAG = "ADD_ARTIFACT_TAG"
    REMOVE_ARTIFACT_TAG = "REMOVE_ARTIFACT_TAG"
    ADD_COLLECTION_TAG = "ADD_COLLECTION_TAG"
    REMOVE_COLLECTION_TAG = "REMOVE_COLLECTION_TAG"
    # W&B's backend still calls linking "LINK_MODEL"; the SDK's public name is LINK_ARTIFACT.
    LINK_ARTIFACT = "LINK_MODEL"
    LINK_MODEL = LINK_ARTIFACT
    UNLINK_ARTIFACT = "UNLINK_ARTIFACT"
    RUN_METRIC_THRESHOLD = "RUN_METRIC"
    RUN_METRIC = RUN_METRIC_THRESHOLD
    RUN_METRIC_CHANGE = "RUN_METRIC_CHANGE"
    RUN_METRIC_ZSCORE = "RUN_METRIC_ZSCORE"
    RUN_STATE = "RUN_STATE"
    # Extensions: run by this package's engine only (see extensions.py).
    RUN_METRIC_PLATEAU = "RUN_METRIC_PLATEAU"
    RUN_METRIC_NON_FINITE = "RUN_METRIC_NON_FINITE"
    RUN_STALLED = "RUN_STALLED"
    SCHEDULE = "SCHEDULE"


RUN_METRIC_EVENTS = (
    EventType.RUN_METRIC_THRESHOLD,
    EventType.RUN_METRIC_CHANGE,
    EventType.RUN_METRIC_ZSCORE,
    EventType.RUN_METRIC_PLATEAU,
    EventType.RUN_METRIC_NON_FINITE,
)


def _validates_as(cls: type[WireModel], value: Any) -> bool:
    # Models are matched by type: with from_attributes, a threshold filter would
    # otherwise also "validate" as a z-score filter (they share attribute names).
    if isinstance(value, WireModel):
        return isinstance(value, cls)
    return bool(cls.__pydantic_validator__.isinstance_python(value))


# ---------------------------------------------------------------------------
# Event filters (the decoded ``eventFilter`` JSON)


class _WrappedThreshold(WireModel):
    event_type: Annotated[
        Literal[EventType.RUN_METRIC_THRESHOLD], Field(exclude=True, repr=False)
    ] = EventType.RUN_METRIC_THRESHOLD
    threshold_filter: MetricThresholdFilter

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        return {"threshold_filter": value} if _validates_as(MetricThresholdFilter, value) else value


class _WrappedChange(WireModel):
    event_type: Annotated[Literal[EventType.RUN_METRIC_CHANGE], Field(exclude=True, repr=False)] = (
        EventType.RUN_METRIC_CHANGE
    )
    change_filter: MetricChangeFilter

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        return {"change_filter": value} if _validates_as(MetricChangeFilter, value) else value


class _WrappedZScore(WireModel):
    event_type: Annotated[Literal[EventType.RUN_METRIC_ZSCORE], Field(exclude=True, repr=False)] = (
        EventType.RUN_METRIC_ZSCORE
    )
    zscore_filter: MetricZScoreFilter

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        return {"zscore_filter": value} if _validates_as(MetricZScoreFilter, value) else value


class _WrappedPlateau(WireModel):
    event_type: Annotated[
        Literal[EventType.RUN_METRIC_PLATEAU], Field(exclude=True, repr=False)
    ] = EventType.RUN_METRIC_PLATEAU
    plateau_filter: MetricPlateauFilter

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        return {"plateau_filter": value} if _validates_as(MetricPlateauFilter, value) else value


class _WrappedNonFinite(WireModel):
    event_type: Annotated[
        Literal[EventType.RUN_METRIC_NON_FINITE], Field(exclude=True, repr=False)
    ] = EventType.RUN_METRIC_NON_FINITE
    non_finite_filter: MetricNonFiniteFilter

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        return (
            {"non_finite_filter": value} if _validates_as(MetricNonFiniteFilter, value) else value
        )


_CONDITIONS = (
    MetricThresholdFilter,
    MetricChangeFilter,
    MetricZScoreFilter,
    MetricPlateauFilter,
    MetricNonFiniteFilter,
)
AnyMetricCondition = MetricCondition | MetricPlateauFilter | MetricNonFiniteFilter


RunFilter = Annotated[
    JsonEncoded[MongoLikeFilter], AfterValidator(wrap_run_filter), Field(alias="run_filter")
]


class RunMetricFilter(WireModel):
    """A run filter combined with a metric condition (``OnRunMetric.filter``)."""

    run: RunFilter = And()
    """Which runs the event applies to (a ``$and`` of conditions on the run)."""
    metric: Annotated[
        _WrappedThreshold | _WrappedChange | _WrappedZScore | _WrappedPlateau | _WrappedNonFinite,
        Field(alias="run_metric_filter"),
    ]
    """The metric condition."""
    legacy_metric_filter: Annotated[
        JsonEncoded[MetricThresholdFilter] | None, Field(alias="metric_filter")
    ] = None
    """Deprecated by W&B; always sent as ``null``."""

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        for condition in _CONDITIONS:
            if _validates_as(condition, value):
                return {"metric": value}
        return value

    @property
    def condition(self) -> AnyMetricCondition:
        """The unwrapped metric condition."""
        wrapped = self.metric
        if isinstance(wrapped, _WrappedThreshold):
            return wrapped.threshold_filter
        if isinstance(wrapped, _WrappedChange):
            return wrapped.change_filter
        if isinstance(wrapped, _WrappedPlateau):
            return wrapped.plateau_filter
        if isinstance(wrapped, _WrappedNonFinite):
            return wrapped.non_finite_filter
        return wrapped.zscore_filter


class RunStateFilter(WireModel):
    """A run filter combined with a set of run states (``OnRunState.filter``)."""

    run: RunFilter = And()
    """Which runs the event applies to."""
    state: Annotated[StateFilter, Field(alias="run_state_filter")]
    """The states that trigger."""

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        return {"state": value} if _validates_as(StateFilter, value) else value


class RunStalledFilter(WireModel):
    """[extension] A run filter combined with how long a run may be silent
    (``OnRunStalled.filter``)."""

    run: RunFilter = And()
    """Which runs are watched."""
    stalled: Annotated[StalledCondition, Field(alias="run_stalled_filter")]
    """How long without history, and whether to send "resolved"."""


class ScheduleFilter(WireModel):
    """[extension] When a scheduled automation fires (``OnSchedule.filter``)."""

    model_config = ConfigDict(extra="forbid")
    schedule: ScheduleCondition
    """Cron and time zone."""


class _WrappedSavedEventFilter(WireModel):
    """Saved artifact-event filters come back wrapped as ``{"filter": "<json>"}``."""

    filter: JsonEncoded[MongoLikeFilter] = And()


def _to_saved_event(value: Any) -> Any:
    if isinstance(value, _BaseEventInput):
        saved_filter: Any = value.filter
        if isinstance(value, _BaseMutationEventInput):
            saved_filter = _WrappedSavedEventFilter(filter=value.filter)
        return SavedEvent(event_type=value.event_type, filter=saved_filter)
    return value


class SavedEvent(WireResult):
    """The triggering event of a saved automation, as W&B returns it."""

    typename__: Typename[Literal["FilterEventTriggeringCondition"]] = (
        "FilterEventTriggeringCondition"
    )
    event_type: Annotated[EventType, Field(frozen=True)]
    filter: JsonEncoded[
        RunMetricFilter
        | RunStateFilter
        | RunStalledFilter
        | ScheduleFilter
        | _WrappedSavedEventFilter
    ]
    """The condition, decoded from W&B's JSON string."""

    @model_validator(mode="before")
    @classmethod
    def _from_input(cls, value: Any) -> Any:
        return _to_saved_event(value)


# ---------------------------------------------------------------------------
# Input events


class _BaseEventInput(WireModel):
    model_config = ConfigDict(extra="forbid")
    event_type: EventType
    scope: AutomationScope
    """Where the event happens."""
    filter: JsonEncoded[Any]

    def then(self, action: Any) -> NewAutomation:
        """An automation in which this event triggers ``action``."""
        from .automations import NewAutomation

        if isinstance(action, INPUT_ACTIONS + SAVED_ACTIONS):
            return NewAutomation(event=self, action=action)
        raise TypeError(f"Expected an action such as SendWebhook, got {type(action).__name__!r}")

    def __rshift__(self, action: Any) -> NewAutomation:
        """``event >> action`` builds a :class:`NewAutomation`."""
        return self.then(action)

    def to_code(self) -> str:
        """Python source, in this package's DSL, that rebuilds this event as ``event``."""
        from ._codegen import event_source, snippet

        return snippet("event", event_source(self))


class _BaseMutationEventInput(_BaseEventInput):
    filter: Annotated[JsonEncoded[MongoLikeFilter], AfterValidator(wrap_mutation_filter)] = And()
    """Optional conditions on the artifact, e.g. ``ArtifactEvent.alias.eq("prod")``."""


class OnLinkArtifact(_BaseMutationEventInput):
    """An artifact version is linked to a collection (e.g. a registry)."""

    event_type: Literal[EventType.LINK_ARTIFACT] = EventType.LINK_ARTIFACT


class OnUnlinkArtifact(_BaseMutationEventInput):
    """An artifact version is unlinked from a collection."""

    event_type: Literal[EventType.UNLINK_ARTIFACT] = EventType.UNLINK_ARTIFACT


class OnAddArtifactAlias(_BaseMutationEventInput):
    """An alias is added to an artifact version."""

    event_type: Literal[EventType.ADD_ARTIFACT_ALIAS] = EventType.ADD_ARTIFACT_ALIAS


class OnAddArtifactTag(_BaseMutationEventInput):
    """A tag is added to an artifact version."""

    event_type: Literal[EventType.ADD_ARTIFACT_TAG] = EventType.ADD_ARTIFACT_TAG


class OnRemoveArtifactTag(_BaseMutationEventInput):
    """A tag is removed from an artifact version."""

    event_type: Literal[EventType.REMOVE_ARTIFACT_TAG] = EventType.REMOVE_ARTIFACT_TAG


class OnAddCollectionTag(_BaseMutationEventInput):
    """A tag is added to an artifact collection."""

    event_type: Literal[EventType.ADD_COLLECTION_TAG] = EventType.ADD_COLLECTION_TAG


class OnRemoveCollectionTag(_BaseMutationEventInput):
    """A tag is removed from an artifact collection."""

    event_type: Literal[EventType.REMOVE_COLLECTION_TAG] = EventType.REMOVE_COLLECTION_TAG


class OnCreateArtifact(_BaseMutationEventInput):
    """A new artifact version is created. The scope must be an artifact collection."""

    event_type: Literal[EventType.CREATE_ARTIFACT] = EventType.CREATE_ARTIFACT
    scope: ArtifactCollectionScope
    """The artifact collection (W&B rejects a project scope for this event)."""


class _BaseRunEventInput(_BaseEventInput):
    scope: Annotated[ProjectScope | EntityScope, Field(union_mode="left_to_right")]
    """The project (or team/org) whose runs are watched."""

    @model_validator(mode="before")
    @classmethod
    def _parse_scope(cls, data: Any) -> Any:
        from .scopes import parse_scope

        if isinstance(data, dict) and "scope" in data:
            return {**data, "scope": parse_scope(data["scope"])}
        return data


class OnRunMetric(_BaseRunEventInput):
    """A run metric meets a condition, e.g. ``RunEvent.metric("loss").mean(5) > 0.5``."""

    event_type: Literal[
        EventType.RUN_METRIC_THRESHOLD,
        EventType.RUN_METRIC_CHANGE,
        EventType.RUN_METRIC_ZSCORE,
        EventType.RUN_METRIC_PLATEAU,
        EventType.RUN_METRIC_NON_FINITE,
    ]
    filter: JsonEncoded[RunMetricFilter]
    """The run filter and metric condition."""

    @model_validator(mode="before")
    @classmethod
    def _infer_event_type(cls, data: Any) -> Any:
        # The event type is implied by which metric condition the filter holds.
        if isinstance(data, dict) and "filter" in data:
            given = data["filter"]
            if isinstance(given, (RunMetricFilter, *_CONDITIONS)):
                # Typed objects are wrapped as they are: a bare condition's JSON can be
                # ambiguous (non_finite's {"name"} also reads as a z-score with defaults).
                parsed = RunMetricFilter.model_validate(given)
            else:
                parsed = RunMetricFilter.model_validate_json(ensure_json(given))
            return {**data, "filter": parsed, "event_type": parsed.metric.event_type}
        return data


class OnRunState(_BaseRunEventInput):
    """A run changes state, e.g. ``RunEvent.state.eq("failed")``."""

    event_type: Literal[EventType.RUN_STATE] = EventType.RUN_STATE
    filter: JsonEncoded[RunStateFilter]
    """The run filter and the states that trigger."""


class OnRunStalled(_BaseRunEventInput):
    """[extension: embedded engine only] A running run logs no history for ``after``.

    ``OnRunStalled(scope=project, after=timedelta(minutes=15), resolved=True)``; ``runs=``
    takes a run filter such as ``RunEvent.name.contains("sweep")``. Fires once per stall;
    with ``resolved=True`` a second message says when the run logs again. A run that still
    sends system metrics but logs nothing (a hung data loader, a deadlock) is stalled.
    """

    event_type: Literal[EventType.RUN_STALLED] = EventType.RUN_STALLED
    filter: JsonEncoded[RunStalledFilter]
    """The run filter and the stall condition."""

    def __init__(
        self,
        *,
        scope: Any,
        after: timedelta | float | None = None,
        resolved: bool = False,
        runs: Any = None,
        filter: Any = None,
        **data: Any,
    ) -> None:
        if after is not None:
            if filter is not None:
                raise ValueError("give either filter= or after= (with runs= and resolved=)")
            seconds = after.total_seconds() if isinstance(after, timedelta) else after
            condition = {"after_seconds": seconds, "notify_resolved": resolved}
            filter = {"run": runs or And(), "stalled": condition}
        super().__init__(scope=scope, filter=filter, **data)

    @property
    def after(self) -> timedelta:
        """How long a running run may go without logging history."""
        return timedelta(seconds=self.filter.stalled.after_seconds)


class OnSchedule(_BaseEventInput):
    """[extension: embedded engine only] Fires on a schedule, for digests:
    ``OnSchedule(scope=project, cron="0 9 * * *", timezone="Europe/Berlin")``.

    Standard five-field cron in an IANA time zone. After downtime a missed firing happens
    once, covering the whole gap; daylight saving neither skips nor doubles one.
    """

    event_type: Literal[EventType.SCHEDULE] = EventType.SCHEDULE
    scope: Annotated[ProjectScope | EntityScope, Field(union_mode="left_to_right")]
    """The project (or team/org) the digest is about."""
    filter: JsonEncoded[ScheduleFilter]
    """The schedule."""

    def __init__(
        self,
        *,
        scope: Any,
        cron: str | None = None,
        timezone: str = "UTC",
        filter: Any = None,
        **data: Any,
    ) -> None:
        if cron is not None:
            if filter is not None:
                raise ValueError("give either filter= or cron= (with timezone=)")
            filter = {"schedule": {"cron": cron, "timezone": timezone}}
        super().__init__(scope=scope, filter=filter, **data)

    @model_validator(mode="before")
    @classmethod
    def _parse_scope(cls, data: Any) -> Any:
        from .scopes import parse_scope

        if isinstance(data, dict) and "scope" in data:
            return {**data, "scope": parse_scope(data["scope"])}
        return data

    @property
    def cron(self) -> str:
        return self.filter.schedule.cron

    @property
    def timezone(self) -> str:
        return self.filter.schedule.timezone

    def next_times(self, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` firing times (see :class:`~.extensions.ScheduleCondition`)."""
        return self.filter.schedule.next_times(count, after)

    def previous_times(self, count: int = 2, before: datetime | None = None) -> list[datetime]:
        """The last ``count`` firing times before ``before``, newest first."""
        return self.filter.schedule.previous_times(count, before)


InputEvent = Annotated[
    OnLinkArtifact
    | OnUnlinkArtifact
    | OnAddArtifactAlias
    | OnAddArtifactTag
    | OnRemoveArtifactTag
    | OnAddCollectionTag
    | OnRemoveCollectionTag
    | OnCreateArtifact
    | OnRunMetric
    | OnRunState
    | OnRunStalled
    | OnSchedule,
    Field(discriminator="event_type"),
]
EVENT_CLASSES: dict[EventType, type[_BaseEventInput]] = {
    EventType.LINK_ARTIFACT: OnLinkArtifact,
    EventType.UNLINK_ARTIFACT: OnUnlinkArtifact,
    EventType.ADD_ARTIFACT_ALIAS: OnAddArtifactAlias,
    EventType.ADD_ARTIFACT_TAG: OnAddArtifactTag,
    EventType.REMOVE_ARTIFACT_TAG: OnRemoveArtifactTag,
    EventType.ADD_COLLECTION_TAG: OnAddCollectionTag,
    EventType.REMOVE_COLLECTION_TAG: OnRemoveCollectionTag,
    EventType.CREATE_ARTIFACT: OnCreateArtifact,
    EventType.RUN_METRIC_THRESHOLD: OnRunMetric,
    EventType.RUN_METRIC_CHANGE: OnRunMetric,
    EventType.RUN_METRIC_ZSCORE: OnRunMetric,
    EventType.RUN_STATE: OnRunState,
    EventType.RUN_METRIC_PLATEAU: OnRunMetric,
    EventType.RUN_METRIC_NON_FINITE: OnRunMetric,
    EventType.RUN_STALLED: OnRunStalled,
    EventType.SCHEDULE: OnSchedule,
}


def to_input_event(event: SavedEvent, scope: Any) -> _BaseEventInput:
    """Rebuild the input event of a saved automation (for editing it)."""
    cls = EVENT_CLASSES.get(event.event_type)
    if cls is None:
        raise ValueError(f"{event.event_type.value} events cannot be edited or re-created")
    saved = event.filter
    raw = saved.filter if isinstance(saved, _WrappedSavedEventFilter) else saved
    return cls.model_validate({"scope": scope, "filter": raw})


class RunEvent:
    """Build run filters: ``RunEvent.metric(...)``, ``RunEvent.name``, ``RunEvent.state``."""

    # W&B filters run *names* on the display_name field.
    name = FilterableField(server_name="display_name")
    state = StateOperand()

    @staticmethod
    def metric(name: str) -> MetricVal:
        """A metric condition on ``name``, e.g. ``RunEvent.metric("loss").mean(5) > 0.5``."""
        return MetricVal(name=name)


class ArtifactEvent:
    """Build artifact filters: ``ArtifactEvent.alias.eq("prod")``, ``ArtifactEvent.tag``."""

    alias = FilterableField()
    tag = FilterableField()
