"""The extension rules in the builder: the form builds them and reads them back, marks them
for servers that cannot run them, explains a plateau, and previews all three."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.automations import (
    OnRunMetric,
    OnRunStalled,
    RunEvent,
    StopRun,
)
from wandb_auto_widget.preview import evaluate
from wandb_auto_widget.widget import AutomationBuilder
from wandb_auto_widget.widget import spec as spec_module


@pytest.fixture(scope="module")
def project(server: LocalServer) -> Any:
    api = server.api
    project = api.create_project("ext-widget")
    for r in range(3):
        run = api.init_run("local/ext-widget", run_id=f"e{r}", name=f"train-{r}")
        losses = [max(0.2 + 0.1 * r, 2.0 - 0.05 * s) for s in range(120)]
        if r == 1:
            losses[70] = math.nan
        run.log(
            [
                # A 2-hour silence after step 60 in every run.
                {"_step": s, "_timestamp": 1.7e9 + s * 10 + (7200 if s > 60 else 0), "loss": v}
                for s, v in enumerate(losses)
            ]
        )
        if r < 2:
            run.finish()
    return project


def _builder(server: LocalServer, **spec: Any) -> AutomationBuilder:
    widget = AutomationBuilder(api=server.api, project="ext-widget")
    widget.spec = {**widget.spec, "name": "x", "metric": "loss", **spec}
    return widget


def test_form_and_code_agree_both_ways(server: LocalServer, project: Any) -> None:
    widget = _builder(server)
    for automation in [
        OnRunMetric(scope=project, filter=RunEvent.metric("loss").mean(3).plateau(patience=7))
        >> StopRun(),
        OnRunMetric(scope=project, filter=RunEvent.metric("loss").non_finite()) >> StopRun(),
        OnRunStalled(
            scope=project,
            after=timedelta(minutes=30),
            resolved=True,
            runs=RunEvent.name.contains("train"),
        )
        >> StopRun(),
    ]:
        named = automation.model_copy(update={"name": "x"})
        widget.automation = named
        assert widget.errors == {}
        # form -> object gives back what went in, byte for byte on the wire
        assert widget.automation.to_graphql_input() == named.to_graphql_input()


def test_plateau_is_explained_and_bad_fields_are_named(server: LocalServer, project: Any) -> None:
    widget = _builder(server, event_type="RUN_METRIC_PLATEAU", patience=10, action_type="NO_OP")
    widget.spec = {**widget.spec, "scope_id": project.id, "scope_name": project.name}
    assert widget.options["explanation"] == (
        "fires when 11 logged values in a row fail to beat the best (lowest) by 0.01%"
    )
    widget.spec = {**widget.spec, "patience": -1, "plateau_threshold": 2}
    assert "patience" in widget.errors
    widget.spec = {**widget.spec, "patience": 3}
    assert "relative threshold" in widget.errors["plateau_threshold"]


def test_extensions_are_marked_for_a_server_without_them(server: LocalServer, project: Any) -> None:
    local = _builder(server, event_type="RUN_METRIC_PLATEAU", action_type="STOP_RUN")
    assert local.options["extensions"] is True
    assert local.options["where"] == "Runs on the embedded server's engine, where it is saved."
    w_and_b = Api(base_url=server.base_url, api_key=server.api_key)
    w_and_b._features = frozenset()
    widget = AutomationBuilder(api=w_and_b, project="ext-widget")
    assert widget.options["extensions"] is False
    assert {"RUN_METRIC_PLATEAU", "RUN_STALLED", "STOP_RUN"} <= spec_module.EXTENSION_CHOICES
    # The builder says where each rule will run: W&B's own kinds on W&B, the others on a
    # watcher's server.
    widget.spec = {**widget.spec, "name": "x", "metric": "loss", "threshold": 1}
    widget.spec = {**widget.spec, "action_type": "NO_OP"}
    assert widget.options["where"] == "Saved to W&B, which runs it.", widget.errors
    widget.spec = {**widget.spec, "event_type": "RUN_METRIC_PLATEAU", "action_type": "STOP_RUN"}
    where = widget.options["where"]
    assert where.startswith("W&B cannot run the RUN_METRIC_PLATEAU event and the STOP_RUN action")
    assert "wandb-auto-widget watch ENTITY/PROJECT" in where


def test_plateau_preview_draws_the_state_machine_and_sweeps_patience(
    server: LocalServer, project: Any
) -> None:
    widget = _builder(server, event_type="RUN_METRIC_PLATEAU", patience=10, action_type="NO_OP")
    widget.spec = {**widget.spec, "scope_id": project.id, "scope_name": project.name}
    evaluation = widget.preview(policy="every")
    assert evaluation is not None
    view = widget.preview_view
    expected = evaluate(
        RunEvent.metric("loss").plateau(patience=10),
        server.api.histories([f"local/ext-widget/e{r}" for r in range(3)], ["loss"]),
        policy="every",
    )
    assert view["fire_count"] == expected.fire_count > 0
    assert view["sweep_parameter"] == "patience"
    assert view["sweep_current"]["threshold"] == 10
    assert view["sweep_current"]["fires"] == expected.fire_count
    fires = [p["fires"] for p in view["sweep"]]
    assert fires == sorted(fires, reverse=True)  # more patience, fewer fires
    labels = [o["label"] for o in view["runs"][0]["overlays"]]
    assert labels == ["best so far", "must beat", "values without improvement"]


def test_non_finite_preview_fires_at_the_nan(server: LocalServer, project: Any) -> None:
    widget = _builder(server, event_type="RUN_METRIC_NON_FINITE", action_type="NO_OP")
    widget.spec = {**widget.spec, "scope_id": project.id, "scope_name": project.name}
    widget.preview()
    view = widget.preview_view
    assert [(f["run_name"], f["step"], f["value"]) for f in view["fires"]] == [
        ("train-1", 70, "nan")
    ]


def test_stalled_preview_finds_past_silences_and_runs_stalled_now(
    server: LocalServer, project: Any
) -> None:
    widget = _builder(server, event_type="RUN_STALLED", stalled_minutes=60, action_type="NO_OP")
    widget.spec = {**widget.spec, "scope_id": project.id, "scope_name": project.name}
    widget.preview()
    view = widget.preview_view
    assert view["kind"] == "stalled"
    states = sorted((m["run_name"], m["state"].split(":")[0]) for m in view["matches"])
    past = [m for m in states if m[1].startswith("silent")]
    assert len(past) == 3  # the 2-hour gap, once per run
    # train-2 is still running and its last row is long ago (2023): stalled now.
    assert ("train-2", "stalled now") in states
    assert time.time() > 1.7e9


def test_schedule_form_round_trip_and_next_times(server: LocalServer, project: Any) -> None:
    from wandb_auto_widget.automations import OnSchedule, SendDigest

    hook = server.api.create_webhook_integration("digest-hook", "http://127.0.0.1:9/d")
    digest = OnSchedule(scope=project, cron="0 9 * * 1-5", timezone="Europe/Berlin") >> (
        SendDigest.from_integration(hook, metrics=["loss", "acc"], skip_if_empty=False)
    )
    named = digest.model_copy(update={"name": "x"})
    widget = _builder(server)
    widget.automation = named
    assert widget.errors == {}
    assert widget.automation.to_graphql_input() == named.to_graphql_input()
    assert widget.options["explanation"].startswith("Next: ")
    assert widget.options["explanation"].endswith("(Europe/Berlin)")
    widget.spec = {**widget.spec, "cron": "0 9 * *"}
    assert "five of standard cron" in widget.errors["cron"]


def test_digest_preview_says_what_the_engine_sends(server: LocalServer, project: Any) -> None:
    """The preview's digest of a period is the engine's digest of that period, byte for byte."""
    from datetime import datetime

    from wandb_auto_widget.automations import OnSchedule, SendDigest
    from wandb_auto_widget.demo.receiver import Receiver
    from wandb_auto_widget.widget.preview import _compose

    api = server.api
    with Receiver() as receiver:
        hook = api.create_webhook_integration("digest-receiver", receiver.url)
        saved = api.create_automation(
            OnSchedule(scope=project, cron="0 9 * * *")
            >> SendDigest.from_integration(hook, metrics=["loss"], skip_if_empty=False),
            name="digest-under-test",
        )
        api.test_automation(saved)  # the engine's digest of the last 24 h, sent now
        sent = receiver.wait_for(1)[0].json
    period = sent["period"]
    start, end = (
        datetime.fromisoformat(period[k].replace("Z", "+00:00")).timestamp()
        for k in ("start", "end")
    )
    new = saved.to_new_automation()
    assert isinstance(new.event, OnSchedule) and isinstance(new.action, SendDigest)
    previewed, to_slack = _compose(api, new, new.event, new.action, "local", 100, start, end)
    assert not to_slack
    assert previewed == sent
    assert {r["name"] for r in sent["runs"]["started"]} >= {"train-0", "train-1", "train-2"}
    assert time.time() > start
