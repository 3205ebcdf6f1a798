"""Automations written once against a module's API, built with ours and with wandb's.

Each builder takes the module (``wandb_auto_widget.automations`` or
``wandb.automations``) and returns a NewAutomation, so the same source text
produces both objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import ModuleType
from typing import Any

Builder = Callable[[ModuleType], Any]

PROJECT = {"id": "UHJvamVjdDox", "name": "proj"}
SEQUENCE = {"__typename": "ArtifactSequence", "id": "QXJ0aWZhY3RTZXF1ZW5jZTox", "name": "model"}
PORTFOLIO = {
    "__typename": "ArtifactPortfolio",
    "id": "QXJ0aWZhY3RQb3J0Zm9saW86MQ==",
    "name": "prod",
}
SLACK = {
    "__typename": "SlackIntegration",
    "id": "SW50ZWdyYXRpb246MQ==",
    "teamName": "t",
    "channelName": "#a",
}
WEBHOOK = {
    "__typename": "GenericWebhookIntegration",
    "id": "SW50ZWdyYXRpb246Mg==",
    "name": "hook",
    "urlEndpoint": "http://127.0.0.1:9/hook",
}


def project(m: ModuleType) -> Any:
    return m.ProjectScope(**PROJECT)


def collection(m: ModuleType, raw: dict[str, Any]) -> Any:
    # wandb's own scope parser only takes its objects, so build the concrete class.
    kind = (
        "_ArtifactSequenceScope"
        if raw["__typename"] == "ArtifactSequence"
        else "_ArtifactPortfolioScope"
    )
    return getattr(m.scopes, kind)(id=raw["id"], name=raw["name"])


def crashed(m: ModuleType) -> Any:
    """``ReportedRunState.CRASHED`` (public in our module, private in wandb's)."""
    states = getattr(m, "ReportedRunState", None)
    if states is None:
        from wandb.automations._run_state_filters import ReportedRunState as states
    return states.CRASHED


def metric_events() -> dict[str, Builder]:
    def on(flt: Callable[[Any], Any]) -> Builder:
        return lambda m: m.OnRunMetric(scope=project(m), filter=flt(m.RunEvent))

    return {
        "threshold-latest": on(lambda R: R.metric("loss") > 1),
        "threshold-mean": on(lambda R: R.metric("val/loss").mean(5) > 0.5),
        "threshold-max-gte": on(lambda R: R.metric("acc").max(3) >= 2),
        "threshold-min-lt": on(lambda R: R.metric("acc").min(3) < 0.5),
        "threshold-avg-lte": on(lambda R: R.metric("lr").avg(4) <= 7),
        "threshold-method": on(lambda R: R.metric("a.b").gt(1.5)),
        "change-rel-dec": on(lambda R: R.metric("acc").decreases_by(frac=0.1)),
        "change-abs-inc": on(lambda R: R.metric("loss").increases_by(diff=5)),
        "change-mean-any": on(lambda R: R.metric("loss").mean(3).changes_by(frac=0.25)),
        "change-max-abs": on(lambda R: R.metric("loss").max(10).changes_by(diff=0.5)),
        "zscore-abs": on(lambda R: R.metric("loss").zscore(10).abs() > 3),
        "zscore-inc": on(lambda R: R.metric("loss").zscore(10) > 2),
        "zscore-dec": on(lambda R: R.metric("loss").zscore(30) < -2),
        "name-and-metric": on(lambda R: R.name.contains("x") & (R.metric("loss") > 1)),
        "name-eq-and-metric": on(lambda R: (R.name == "foo") & (R.metric("loss") > 1)),
        "name-or-and-metric": on(
            lambda R: (R.name.contains("a") | R.name.contains("b")) & (R.metric("loss") > 1)
        ),
        "name-regex-and-zscore": on(
            lambda R: R.name.matches_regex("^bert-") & (R.metric("loss").zscore(5).abs() > 2)
        ),
        "name-in-and-change": on(
            lambda R: R.name.in_(["a", "b"]) & R.metric("loss").increases_by(diff=1)
        ),
        "name-not-in": on(lambda R: R.name.not_in(["a"]) & (R.metric("loss") > 1)),
        "name-ne": on(lambda R: R.name.ne("a") & (R.metric("loss") > 1)),
        "name-exists": on(lambda R: R.name.exists() & (R.metric("loss") > 1)),
    }


def state_events() -> dict[str, Builder]:
    def on(flt: Callable[[Any], Any]) -> Builder:
        return lambda m: m.OnRunState(scope=project(m), filter=flt(m.RunEvent))

    return {
        "state-in": on(lambda R: R.state.in_(["failed", "finished"])),
        "state-eq": on(lambda R: R.state.eq("running")),
        "state-and-name": on(lambda R: R.state.eq("finished") & R.name.contains("x")),
        "state-crashed": lambda m: m.OnRunState(
            scope=project(m), filter=m.RunEvent.state.eq(crashed(m))
        ),
    }


ARTIFACT_EVENTS = [
    "OnLinkArtifact",
    "OnUnlinkArtifact",
    "OnAddArtifactAlias",
    "OnAddArtifactTag",
    "OnRemoveArtifactTag",
    "OnAddCollectionTag",
    "OnRemoveCollectionTag",
]


def artifact_events() -> dict[str, Builder]:
    out: dict[str, Builder] = {
        "create-sequence": lambda m: m.OnCreateArtifact(scope=collection(m, SEQUENCE)),
        "create-portfolio": lambda m: m.OnCreateArtifact(scope=collection(m, PORTFOLIO)),
    }
    for name in ARTIFACT_EVENTS:
        out[f"{name}-project"] = lambda m, n=name: getattr(m, n)(scope=project(m))
        out[f"{name}-alias"] = lambda m, n=name: getattr(m, n)(
            scope=collection(m, SEQUENCE), filter=m.ArtifactEvent.alias.eq("prod")
        )
        out[f"{name}-tag-regex"] = lambda m, n=name: getattr(m, n)(
            scope=project(m), filter=m.ArtifactEvent.tag.matches_regex("^europe.*")
        )
    return out


def actions() -> dict[str, Builder]:
    return {
        "noop": lambda m: m.DoNothing(),
        "webhook": lambda m: m.SendWebhook(integration_id=WEBHOOK["id"]),
        "webhook-payload": lambda m: m.SendWebhook(
            integration_id=WEBHOOK["id"], request_payload={"text": "${run_name}", "n": 1}
        ),
        "slack": lambda m: m.SendNotification(
            integration_id=SLACK["id"], title="t", text="msg", level="warn"
        ),
        "slack-defaults": lambda m: m.SendNotification(integration_id=SLACK["id"]),
        "aria": lambda m: m.SendPromptToAria(prompt="  Summarize ${run_name}'s last 100 steps "),
    }


def all_cases() -> dict[str, Builder]:
    """Every event builder paired with every action builder."""
    events = {**metric_events(), **state_events(), **artifact_events()}
    cases: dict[str, Builder] = {}
    action_items = list(actions().items())
    for i, (ev_name, ev) in enumerate(events.items()):
        # Every event with a rotating action, plus every action with every event kind below.
        act_name, act = action_items[i % len(action_items)]
        cases[f"{ev_name}>>{act_name}"] = lambda m, ev=ev, act=act: ev(m) >> act(m)
    for (ev_name, ev), (act_name, act) in itertools.product(
        [
            ("threshold", metric_events()["threshold-mean"]),
            ("change", metric_events()["change-rel-dec"]),
            ("zscore", metric_events()["zscore-abs"]),
            ("state", state_events()["state-in"]),
            ("create", artifact_events()["create-sequence"]),
            ("alias", artifact_events()["OnAddArtifactAlias-alias"]),
        ],
        action_items,
    ):
        cases[f"{ev_name}>>{act_name}#all"] = lambda m, ev=ev, act=act: ev(m) >> act(m)
    return cases


def integration_for(create_input: dict[str, Any]) -> dict[str, Any] | None:
    config = create_input["triggeredActionConfig"]
    if "notificationActionInput" in config:
        return SLACK
    if "genericWebhookActionInput" in config:
        return WEBHOOK
    return None


def scope_for(create_input: dict[str, Any]) -> dict[str, Any]:
    for raw in (SEQUENCE, PORTFOLIO):
        if raw["id"] == create_input["scopeID"]:
            return raw
    return {"__typename": "Project", **PROJECT}
