"""The public names of each package, pinned: adding or removing one is a deliberate change
(update this list and the docs together), never a side effect of a refactor."""

from __future__ import annotations

import importlib
import inspect

import pytest
import wandb.automations

PUBLIC = {
    "wandb_auto_widget": {"Api", "AutomationBuilder", "LocalServer", "__version__"},
    "wandb_auto_widget.api": {
        "Api",
        "ApiError",
        "Artifact",
        "ArtifactCollection",
        "ArtifactEventRecord",
        "AuthenticationError",
        "ConflictError",
        "Execution",
        "LoggedRun",
        "NotFoundError",
        "Project",
        "Run",
        "TransportError",
        "UnsupportedError",
        "ValidationError",
    },
    "wandb_auto_widget.preview": {
        "WANDB_COOLDOWN_S",
        "Evaluation",
        "Fire",
        "FirePolicy",
        "Rule",
        "RunEvaluation",
        "StreamEvaluator",
        "artifact_event_fields",
        "check_run_filter",
        "evaluate",
        "matches_run_filter",
        "rule_from",
        "run_filter_fields",
        "state_change_fires",
        "triggering_state",
    },
    "wandb_auto_widget.widget": {
        "AutomationBuilder",
        "Backtest",
        "Connection",
        "RunBacktest",
        "connect",
    },
    "wandb_auto_widget.server": {"Database", "LocalServer", "create_app", "default_db_path"},
    "wandb_auto_widget.demo": {"ENTITY", "PROJECT", "Delivery", "Faults", "Receiver", "seed"},
}

# Ours beyond wandb.automations' own __all__: names wandb exports from submodules (Agg,
# the filter operators, the saved types), ReadOnly, which keeps what this package
# does not model, and the extensions only our engine runs (docs/automations.md).
EXTENSIONS = {
    "MetricNonFiniteFilter",
    "MetricPlateauFilter",
    "OnRunStalled",
    "OnSchedule",
    "RunStalledFilter",
    "SavedDigestAction",
    "SavedStopRunAction",
    "ScheduleFilter",
    "SendDigest",
    "StopRun",
    "extension_parts",
}
AUTOMATIONS_EXTRA = EXTENSIONS | {
    "Agg",
    "AlertSeverity",
    "And",
    "ChangeDir",
    "ChangeType",
    "FilterExpr",
    "Not",
    "Or",
    "ReadOnly",
    "ReportedRunState",
    "RunMetricFilter",
    "SavedEvent",
    "SavedAriaAction",
    "SavedNoOpAction",
    "SavedNotificationAction",
    "SavedWebhookAction",
    "StateFilter",
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names_are_pinned_and_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        value = getattr(module, name)  # every name resolves (AutomationBuilder lazily)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"


def test_automations_exports_exactly_wandbs_names_plus_documented_extras() -> None:
    import wandb_auto_widget.automations as ours

    assert set(ours.__all__) == set(wandb.automations.__all__) | AUTOMATIONS_EXTRA
    for name in wandb.automations.__all__:
        theirs = getattr(wandb.automations, name)
        if inspect.isclass(theirs):
            assert inspect.isclass(getattr(ours, name)), name
