"""A faithful mirror of ``wandb.automations`` (wandb 0.31): same names, DSL and wire JSON.

Example::

    from wandb_auto_widget.automations import OnRunMetric, RunEvent, SendNotification

    event = OnRunMetric(scope=project, filter=RunEvent.metric("val/loss").mean(5) > 0.5)
    automation = event >> SendNotification.from_integration(slack, title="val/loss is high")
    automation.to_graphql_input(name="val-loss-alert")  # what createFilterTrigger receives

Differences from wandb's SDK are listed in docs/automations.md.
"""

from .actions import (
    ActionType,
    AlertSeverity,
    DoNothing,
    SavedAriaAction,
    SavedDigestAction,
    SavedNoOpAction,
    SavedNotificationAction,
    SavedStopRunAction,
    SavedWebhookAction,
    SendDigest,
    SendNotification,
    SendPromptToAria,
    SendWebhook,
    StopRun,
)
from .automations import Automation, NewAutomation
from .events import (
    ArtifactEvent,
    EventType,
    OnAddArtifactAlias,
    OnAddArtifactTag,
    OnAddCollectionTag,
    OnCreateArtifact,
    OnLinkArtifact,
    OnRemoveArtifactTag,
    OnRemoveCollectionTag,
    OnRunMetric,
    OnRunStalled,
    OnRunState,
    OnSchedule,
    OnUnlinkArtifact,
    RunEvent,
    RunMetricFilter,
    RunStalledFilter,
    RunStateFilter,
    SavedEvent,
    ScheduleFilter,
)
from .extensions import MetricNonFiniteFilter, MetricPlateauFilter, extension_parts
from .filters import And, FilterExpr, Not, Or
from .integrations import Integration, SlackIntegration, WebhookIntegration
from .metric_filters import (
    Agg,
    ChangeDir,
    ChangeType,
    MetricChangeFilter,
    MetricThresholdFilter,
    MetricZScoreFilter,
)
from .read_only import ReadOnly
from .run_state import ReportedRunState, StateFilter
from .scopes import (
    ArtifactCollectionScope,
    EntityScope,
    OrgScope,
    ProjectScope,
    RegistryScope,
    ScopeType,
    TeamScope,
)

__all__ = [
    "ActionType",
    "Agg",
    "AlertSeverity",
    "And",
    "ArtifactCollectionScope",
    "ArtifactEvent",
    "Automation",
    "ChangeDir",
    "ChangeType",
    "DoNothing",
    "EntityScope",
    "EventType",
    "FilterExpr",
    "Integration",
    "MetricChangeFilter",
    "MetricNonFiniteFilter",
    "MetricPlateauFilter",
    "MetricThresholdFilter",
    "MetricZScoreFilter",
    "NewAutomation",
    "Not",
    "OnAddArtifactAlias",
    "OnAddArtifactTag",
    "OnAddCollectionTag",
    "OnCreateArtifact",
    "OnLinkArtifact",
    "OnRemoveArtifactTag",
    "OnRemoveCollectionTag",
    "OnRunMetric",
    "OnRunStalled",
    "OnRunState",
    "OnSchedule",
    "OnUnlinkArtifact",
    "Or",
    "OrgScope",
    "ProjectScope",
    "ReadOnly",
    "RegistryScope",
    "ReportedRunState",
    "RunEvent",
    "RunMetricFilter",
    "RunStalledFilter",
    "RunStateFilter",
    "SavedAriaAction",
    "SavedDigestAction",
    "SavedEvent",
    "SavedNoOpAction",
    "SavedNotificationAction",
    "SavedStopRunAction",
    "SavedWebhookAction",
    "ScheduleFilter",
    "ScopeType",
    "SendDigest",
    "SendNotification",
    "SendPromptToAria",
    "SendWebhook",
    "SlackIntegration",
    "StateFilter",
    "StopRun",
    "TeamScope",
    "WebhookIntegration",
    "extension_parts",
]
