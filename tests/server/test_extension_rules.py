"""The extension rules on the embedded server: plateau and non-finite fire where the preview
says, StopRun answers the very batch that fired, stalled runs on a clock the test controls."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import UnsupportedError
from wandb_auto_widget.automations import (
    DoNothing,
    OnRunMetric,
    OnRunStalled,
    RunEvent,
    SendWebhook,
    StopRun,
)
from wandb_auto_widget.demo.receiver import Receiver
from wandb_auto_widget.preview import evaluate


class Clock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def local(tmp_path: Path, clock: Clock) -> Iterator[LocalServer]:
    # The ticker is slowed right down: the test calls engine.tick() itself.
    with LocalServer(db=tmp_path / "ext.db", tick_seconds=3600, clock=clock) as server:
        yield server


def _history(api: Api, run_path: str) -> dict[str, list[dict[str, float]]]:
    columns = api.history(run_path, ["loss"])
    rows = [
        {"_step": int(s), "_timestamp": float(t), "loss": float(v)}
        for s, t, v in zip(columns["_step"], columns["_timestamp"], columns["loss"], strict=True)
    ]
    return {run_path: rows}


def test_plateau_and_non_finite_fire_where_the_preview_says(local: LocalServer) -> None:
    api = local.api
    project = api.create_project("plateau")
    plateau = RunEvent.metric("loss").mean(3).plateau(patience=4, threshold=0.01)
    automations = [
        api.create_automation(
            OnRunMetric(scope=project, filter=condition) >> DoNothing(), name=name
        )
        for name, condition in [
            ("plateau", plateau),
            ("raw-plateau", RunEvent.metric("loss").plateau(patience=2, mode="min")),
            ("diverged", RunEvent.metric("loss").non_finite()),
        ]
    ]
    rng = np.random.default_rng(3)
    losses = list(2 * np.exp(-np.arange(60) / 10) + rng.normal(0, 0.01, 60))
    losses[45] = math.nan
    losses[50] = math.inf
    run = api.init_run("local/plateau", run_id="r")
    for start in range(0, 60, 7):  # several batches: the engine carries state between them
        run.log([{"loss": v} for v in losses[start : start + 7]])
    history = _history(api, run.path)
    for automation in automations:
        expected = evaluate(automation.to_input_event(), history)[run.path].fire_steps
        fired = [e.event["step"] for e in reversed(api.automation_history(automation))]
        assert fired == expected, automation.name
    diverged = api.automation_history(automations[2])
    # The first non-finite value (then the 24 h policy): logged as W&B spells it.
    assert [(e.event["step"], e.event["value"]) for e in diverged] == [(45, "NaN")]


def test_stop_run_answers_the_batch_that_fired(local: LocalServer) -> None:
    api = local.api
    project = api.create_project("stop")
    api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("loss").non_finite()) >> StopRun(),
        name="stop-on-nan",
    )
    api.init_run("local/stop", run_id="r")
    url = f"{local.base_url}/files/local/stop/r/file_stream"

    def send(lines: list[str], offset: int) -> dict[str, object]:
        body = {"files": {"wandb-history.jsonl": {"offset": offset, "content": lines}}}
        response = httpx.post(url, json=body, auth=("api", local.api_key))
        assert response.status_code == 200
        return dict(response.json())

    assert "stopped" not in send(['{"_step": 0, "loss": 1.0}'], 0)
    assert send(['{"_step": 1, "loss": NaN}'], 1) == {"stopped": True}
    assert send([], 2) == {"stopped": True}  # and every answer after it
    (execution,) = api.automation_history(api.automation("stop-on-nan"))
    assert execution.status == "FINISHED" and execution.event["step"] == 1


def test_stalled_runs_on_a_controlled_clock(local: LocalServer, clock: Clock) -> None:
    api = local.api
    assert local.engine is not None
    api.create_entity("research")  # a team entity, not the default one
    project = api.create_project("long-jobs", entity="research")
    with Receiver() as receiver:
        hook = api.create_webhook_integration("pager", receiver.url, entity="research")
        api.create_automation(
            OnRunStalled(
                scope=project,
                after=timedelta(minutes=15),
                resolved=True,
                runs=RunEvent.name.contains("train"),
            )
            >> SendWebhook.from_integration(
                hook, payload={"state": "${stall_state}", "key": "${stall_id}"}
            ),
            name="stalled",
        )
        run = api.init_run("research/long-jobs", run_id="a", name="train-a")
        other = api.init_run("research/long-jobs", run_id="b", name="eval-b")  # filtered out
        done = api.init_run("research/long-jobs", run_id="c", name="train-c")
        run.log({"loss": 1.0})
        other.log({"loss": 1.0})
        done.log({"loss": 1.0})
        done.finish()  # finished runs are not stalled
        clock.now += 14 * 60
        assert local.engine.tick() == 0  # not yet
        clock.now += 61
        assert local.engine.tick() == 1
        clock.now += 3600
        assert local.engine.tick() == 0  # once per silence
        run.log({"loss": 0.9})  # logs again: resolved, at once
        # Delivered concurrently: matched by content, not by arrival order.
        by_state = {d.json["state"]: d.json for d in receiver.wait_for(2)}
        stalled, resolved = by_state["stalled"], by_state["resolved"]
        assert stalled["key"] == resolved["key"]
        clock.now += 16 * 60  # a new silence is a new stall
        assert local.engine.tick() == 1
        keys = [d.json["key"] for d in receiver.wait_for(3) if d.json["state"] == "stalled"]
        assert len(keys) == 2 and keys[0] != keys[1]


def test_w_and_b_is_told_which_part_it_cannot_run(local: LocalServer) -> None:
    api = Api(base_url=local.base_url, api_key=local.api_key)
    api._features = frozenset()  # a W&B server: none of our features
    project = local.api.create_project("gated")
    with pytest.raises(
        UnsupportedError,
        match=r"RUN_METRIC_PLATEAU event of this automation only run on this package.s engine",
    ):
        api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").plateau()) >> DoNothing(),
            name="x",
        )
    with pytest.raises(UnsupportedError, match="the STOP_RUN action"):
        api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss") > 1) >> StopRun(),
            name="y",
        )
    assert local.api.automations() == []  # nothing was sent


def test_the_server_names_a_bad_extension_field(local: LocalServer) -> None:
    project = local.api.create_project("bad")
    body = {
        "query": "mutation($input: CreateFilterTriggerInput!) "
        "{ createFilterTrigger(input: $input) { trigger { id } } }",
        "variables": {
            "input": {
                "name": "bad",
                "scopeType": "PROJECT",
                "scopeID": project.id,
                "triggeringEventType": "RUN_METRIC_PLATEAU",
                "eventFilter": '{"run_filter": "{\\"$and\\": []}", "run_metric_filter": '
                '{"plateau_filter": {"name": "loss", "patience": -1}}}',
                "triggeredActionType": "NO_OP",
                "triggeredActionConfig": {"noOpActionInput": {"noOp": True}},
            }
        },
    }
    response = httpx.post(f"{local.base_url}/graphql", json=body, auth=("api", local.api_key))
    assert response.status_code < 500
    message = response.json()["errors"][0]["message"]
    assert "eventFilter" in message and "patience" in message
