"""Hand-written checks of the domain model: wire strings, reprs, supersets and bad input."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from wandb_auto_widget.automations import (
    ArtifactEvent,
    Automation,
    DoNothing,
    EventType,
    NewAutomation,
    OnAddArtifactAlias,
    OnCreateArtifact,
    OnRunMetric,
    OnRunState,
    ProjectScope,
    ReadOnly,
    RegistryScope,
    ReportedRunState,
    RunEvent,
    SendNotification,
    SendPromptToAria,
    SendWebhook,
    SlackIntegration,
)

PROJECT = ProjectScope(id="UHJvamVjdDox", name="proj")


def test_threshold_wire_string_is_exactly_wandbs() -> None:
    new = OnRunMetric(scope=PROJECT, filter=RunEvent.metric("loss").mean(5) > 10) >> DoNothing()
    data = new.to_graphql_input(name="auto-threshold", description="desc threshold")
    assert data["eventFilter"] == (
        '{"run_filter":"{\\"$and\\":[]}","run_metric_filter":{"threshold_filter":'
        '{"name":"loss","agg_op":"AVERAGE","window_size":5,"cmp_op":"$gt","threshold":10}},'
        '"metric_filter":null}'
    )
    assert data["triggeredActionConfig"] == {"noOpActionInput": {"noOp": True}}
    assert data["triggeringEventType"] == "RUN_METRIC"


def test_reprs_follow_wandb_style() -> None:
    assert repr(RunEvent.metric("loss").mean(5) > 0.5) == "'AVERAGE(loss) > 0.5'"
    assert repr(RunEvent.metric("acc").decreases_by(frac=0.1)) == "'acc decreases 10.00%'"
    assert repr(RunEvent.metric("loss").zscore(10).abs() > 3) == "\"abs(zscore('loss')) > 3\""
    assert repr(RunEvent.metric("loss").eq(1)) == "'loss == 1'"


def test_app_superset_eq_ne_comparisons() -> None:
    flt = RunEvent.metric("loss").max(3).ne(0)
    assert flt.cmp == "$ne"
    data = (OnRunMetric(scope=PROJECT, filter=flt) >> DoNothing()).to_graphql_input(name="n")
    assert '"cmp_op":"$ne"' in data["eventFilter"]
    assert RunEvent.metric("x").eq(2).cmp == "$eq"


def test_crashed_is_sent_as_failed() -> None:
    for state in ("crashed", "CRASHED", ReportedRunState.CRASHED, "failed"):
        event = OnRunState(scope=PROJECT, filter=RunEvent.state.in_([state, "finished"]))
        assert event.filter.state.states == [ReportedRunState.FAILED, ReportedRunState.FINISHED]


def test_artifact_filter_is_wrapped_and_event_types_are_inferred() -> None:
    event = OnAddArtifactAlias(scope=PROJECT, filter=ArtifactEvent.alias.matches_regex("^prod"))
    data = (event >> DoNothing()).to_graphql_input(name="n")
    assert json.loads(data["eventFilter"]) == {"$or": [{"$and": [{"alias": {"$regex": "^prod"}}]}]}
    z = OnRunMetric(scope=PROJECT, filter=RunEvent.metric("loss").zscore(10) < -2)
    assert z.event_type is EventType.RUN_METRIC_ZSCORE


def test_scopes_from_api_objects() -> None:
    assert OnRunMetric(
        scope=SimpleNamespace(id="P1", name="proj"), filter=RunEvent.metric("a") > 1
    ).scope == ProjectScope(id="P1", name="proj")
    registry = OnAddArtifactAlias(
        scope={"__typename": "Project", "id": "R", "name": "wandb-registry-model"}
    )
    assert isinstance(registry.scope, RegistryScope)


def test_from_integration_and_aliases() -> None:
    slack = SlackIntegration(id="S1", team_name="t", channel_name="#c")
    action = SendNotification.from_integration(slack, title="T", text="body", level="error")
    assert (action.message, action.severity.value) == ("body", "ERROR")
    hook = SendWebhook(integration_id="W", request_payload='{"a": "${run_name}"}')
    assert hook.request_payload == {"a": "${run_name}"}


def test_saved_automation_is_editable_and_validated() -> None:
    trigger = {
        "__typename": "Trigger",
        "id": "VHJpZ2dlcjox",
        "createdAt": "2026-11-27T05:22:22Z",
        "updatedAt": None,
        "name": "made-in-the-app",
        "description": None,
        "enabled": True,
        "scope": {"__typename": "Project", "id": "UHJvamVjdDox", "name": "proj"},
        "event": {
            "__typename": "FilterEventTriggeringCondition",
            "eventType": "RUN_METRIC",
            # The W&B app may send run_filter as an object and omit agg_op/metric_filter.
            "filter": json.dumps(
                {
                    "run_filter": {"$and": []},
                    "run_metric_filter": {
                        "threshold_filter": {
                            "name": "loss",
                            "window_size": 5,
                            "cmp_op": "$eq",
                            "threshold": 1,
                        }
                    },
                }
            ),
        },
        "action": {"__typename": "NoOpTriggeredAction", "noOp": True},
    }
    saved = Automation.from_graphql(trigger)
    assert saved.to_input_event().filter.condition.cmp == "$eq"
    saved.enabled = False
    assert saved.to_graphql_input()["enabled"] is False
    with pytest.raises(ValidationError, match="name"):
        saved.name = "x" * 256


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: RunEvent.metric("") > 1, "name"),
        (lambda: RunEvent.metric("a").mean(0) > 1, "window"),
        (lambda: RunEvent.metric("a").max(-3) > 1, "window"),
        (lambda: RunEvent.metric("a") > float("nan"), "threshold"),
        (lambda: RunEvent.metric("a").mean(3) < float("inf"), "threshold"),
        (lambda: RunEvent.metric("a").changes_by(diff=0), "positive"),
        (lambda: RunEvent.metric("a").increases_by(frac=-0.1), "positive"),
        (lambda: RunEvent.metric("a").changes_by(diff=1, frac=0.1), "exactly one"),
        (lambda: RunEvent.metric("a").changes_by(), "exactly one"),
        (lambda: RunEvent.metric("a").zscore(10) > -2, "positive"),
        (lambda: RunEvent.metric("a").zscore(10) < 2, "Negative"),
        (lambda: RunEvent.metric("a").zscore(10).abs() < -2, "absolute"),
        (lambda: RunEvent.metric("a").zscore(0) > 2, "window"),
        (lambda: OnCreateArtifact(scope=PROJECT), "scope"),
        (
            lambda: OnRunMetric(scope=PROJECT, filter={"name": "a", "cmp_op": "~", "threshold": 1}),
            "cmp",
        ),
        (lambda: NewAutomation(name="x" * 256), "name"),
        (lambda: SendWebhook(integration_id="W", request_payload="[1, 2]"), "request_payload"),
        (lambda: SendWebhook(integration_id="W", request_payload="{not json"), "request_payload"),
        (lambda: RunEvent.name.matches_regex("("), "regular expression"),
        (lambda: RunEvent.state.in_([]), "at least one"),
        (lambda: RunEvent.state.eq("killed"), "states"),
    ],
)
def test_bad_input_names_the_field(build: object, match: str) -> None:
    with pytest.raises((ValidationError, ValueError, TypeError), match=match):
        build()  # type: ignore[operator]


def test_saving_requires_name_event_and_action() -> None:
    with pytest.raises(ValueError, match="name"):
        (
            OnRunMetric(scope=PROJECT, filter=RunEvent.metric("a") > 1) >> DoNothing()
        ).to_graphql_input()
    with pytest.raises(ValueError, match="action"):
        NewAutomation(
            name="n", event=OnRunMetric(scope=PROJECT, filter=RunEvent.metric("a") > 1)
        ).to_graphql_input()


def _trigger(scope: dict[str, object], event: dict[str, object], action: dict[str, object]) -> dict:  # type: ignore[type-arg]
    return {
        "__typename": "Trigger",
        "id": "VHJpZ2dlcjo3",
        "createdAt": "2026-01-01T00:00:00",
        "updatedAt": None,
        "name": "from-wandb",
        "description": None,
        "enabled": True,
        "scope": scope,
        "event": event,
        "action": action,
    }


RUN_EVENT = {
    "__typename": "FilterEventTriggeringCondition",
    "eventType": "RUN_STATE",
    "filter": json.dumps({"run_filter": '{"$and":[]}', "run_state_filter": {"states": ["FAILED"]}}),
}


@pytest.mark.parametrize(
    ("scope", "event", "action", "kind"),
    [
        (  # a launch-queue action, which wandb models and only W&B runs
            {"__typename": "Project", "id": "UHJvamVjdDox", "name": "p"},
            RUN_EVENT,
            {
                "__typename": "QueueJobTriggeredAction",
                "queue": {"id": "q", "name": "gpu"},
                "template": '{"x": 1}',
            },
            "QueueJobTriggeredAction",
        ),
        (  # an event type newer than this package
            {"__typename": "Project", "id": "UHJvamVjdDox", "name": "p"},
            {
                "__typename": "FilterEventTriggeringCondition",
                "eventType": "RUN_SWEEP_DONE",
                "filter": "{}",
            },
            {"__typename": "NoOpTriggeredAction", "noOp": True},
            "FilterEventTriggeringCondition (RUN_SWEEP_DONE)",
        ),
        (  # a scope this package does not know
            {"__typename": "Organization", "id": "T3JnOjE=", "name": "org"},
            RUN_EVENT,
            {"__typename": "NoOpTriggeredAction", "noOp": True},
            "Organization",
        ),
    ],
)
def test_automations_with_parts_this_package_cannot_edit_still_parse(
    scope: dict[str, object], event: dict[str, object], action: dict[str, object], kind: str
) -> None:
    trigger = _trigger(scope, event, action)
    automation = Automation.from_graphql(trigger)
    assert not automation.editable
    assert [p.describe() for p in automation.read_only_parts] == [kind]
    dumped = automation.to_graphql()
    for part in ("scope", "event", "action"):
        if isinstance(getattr(automation, part), ReadOnly):
            assert dumped[part] == trigger[part]  # kept exactly as W&B sent it
    code = automation.to_code()
    assert all(line.startswith("#") for line in code.splitlines()) and kind.split()[0] in code
    with pytest.raises(ValueError, match="cannot edit"):
        automation.to_graphql_input(description="x")
    with pytest.raises(ValueError, match="W&B App"):
        automation.to_new_automation()


def test_aria_prompts_are_modelled_and_checked_as_wandb_checks_them() -> None:
    trigger = _trigger(
        {"__typename": "Entity", "id": "RW50aXR5OjE=", "name": "team", "entityType": "team"},
        RUN_EVENT,
        {"__typename": "ARIATriggeredAction", "prompt": "summarize the run"},
    )
    automation = Automation.from_graphql(trigger)
    assert automation.editable
    assert automation.to_graphql_input()["triggeredActionConfig"] == {
        "ariaActionInput": {"prompt": "summarize the run"}
    }
    assert "SendPromptToAria(prompt='summarize the run')" in automation.to_code()
    with pytest.raises(ValueError, match="prompt is empty"):
        SendPromptToAria(prompt="   ")
    with pytest.raises(ValueError, match="4001 bytes; shorten it to 4000"):
        SendPromptToAria(prompt="é" * 2000 + "x")
    assert len(SendPromptToAria(prompt="é" * 2000).prompt) == 2000


def test_entity_scoped_automations_stay_editable() -> None:
    trigger = _trigger(
        {"__typename": "Entity", "id": "RW50aXR5OjE=", "name": "team", "entityType": "team"},
        RUN_EVENT,
        {"__typename": "NoOpTriggeredAction", "noOp": True},
    )
    automation = Automation.from_graphql(trigger)
    assert automation.editable and automation.scope.name == "team"  # type: ignore[union-attr]
