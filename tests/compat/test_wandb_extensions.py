"""The extension rules end to end, with real wandb training scripts (subprocesses) logging to
the embedded server: a plateau stops the run by itself, a NaN loss fires at its exact step,
a silent run is reported stalled and then resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from wandb_auto_widget import LocalServer
from wandb_auto_widget.automations import (
    OnRunMetric,
    OnRunStalled,
    RunEvent,
    SendNotification,
    SendWebhook,
    StopRun,
)
from wandb_auto_widget.demo.receiver import Receiver
from wandb_auto_widget.preview import evaluate

from .test_wandb_sdk import run_script

TICK_S = 1.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(db=tmp_path / "ext.db", tick_seconds=TICK_S) as running:
        yield running


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_a_plateau_stops_the_run_by_itself(server: LocalServer, tmp_path: Path) -> None:
    api = server.api
    project = api.create_project("ext")
    plateau = RunEvent.metric("val/loss").plateau(patience=10)
    with Receiver() as receiver:
        slack = api.create_slack_integration("#training", receiver.url)
        api.create_automation(
            OnRunMetric(scope=project, filter=plateau)
            >> SendNotification.from_integration(slack, title="val/loss has plateaued"),
            name="plateau-slack",
        )
        stop = api.create_automation(
            OnRunMetric(scope=project, filter=plateau) >> StopRun(), name="plateau-stop"
        )
        done = run_script(
            server,
            tmp_path,
            """
            import time
            run = wandb.init(entity="local", project="ext", id="plateau", settings=settings)
            step, start = 0, time.time()
            try:
                while time.time() - start < 150:
                    run.log({"val/loss": max(0.5, 2.0 - 0.05 * step)})  # flat from step 30
                    step += 1
                    time.sleep(0.1)
                print("NOT STOPPED")
            except KeyboardInterrupt:
                print(f"STOPPED at {time.time()} after step {step - 1}")
            run.finish()
            """,
        )
        message = receiver.wait_for(1)[0].json
    stopped = re.search(r"STOPPED at ([\d.]+)", done.stdout)
    assert stopped, done.stdout[-2000:]
    (execution,) = api.automation_history(stop)
    rows = [
        {"_step": i, "_timestamp": 0.0, "val/loss": max(0.5, 2.0 - 0.05 * i)} for i in range(60)
    ]
    assert execution.event["step"] == evaluate(plateau, {"r": rows})["r"].fire_steps[0] == 41
    assert "val/loss has plateaued" in message["text"] and "step 41" in message["text"]
    # From logging the step that plateaued to the script being interrupted: wandb sends
    # history every few seconds and checks for a stop every 15 s.
    latency = float(stopped.group(1)) - execution.event["timestamp"]
    print(f"stop latency: {latency:.1f} s")
    assert 0 < latency < 45
    assert api.run("local/ext/plateau").state in ("finished", "failed")


def test_a_nan_loss_fires_at_its_step(server: LocalServer, tmp_path: Path) -> None:
    api = server.api
    project = api.create_project("nan")
    with Receiver() as receiver:
        hook = api.create_webhook_integration("hook", receiver.url)
        api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").non_finite())
            >> SendWebhook.from_integration(
                hook, payload={"step": "${step}", "value": "${metric_value}"}
            ),
            name="diverged",
        )
        run_script(
            server,
            tmp_path,
            """
            run = wandb.init(entity="local", project="nan", id="diverges", settings=settings)
            for step in range(20):
                run.log({"loss": float("nan") if step == 12 else 1.0 / (step + 1)})
            run.finish()
            """,
        )
        (delivery,) = receiver.wait_for(1)
    assert delivery.json == {"step": "12", "value": "nan"}
    history = api.history("local/nan/diverges", ["loss"])
    rows = [
        {"_step": int(s), "_timestamp": float(t), "loss": float(v)}
        for s, t, v in zip(history["_step"], history["_timestamp"], history["loss"], strict=True)
    ]
    found = evaluate(RunEvent.metric("loss").non_finite(), {"r": rows})
    assert found["r"].fire_steps == [12]  # the preview keeps the NaN the SDK logged


def test_a_silent_run_is_reported_stalled_then_resolved(
    server: LocalServer, tmp_path: Path
) -> None:
    api = server.api
    project = api.create_project("silent")
    after = timedelta(seconds=5)
    with Receiver() as receiver:
        hook = api.create_webhook_integration("pager", receiver.url)
        stalled = api.create_automation(
            OnRunStalled(scope=project, after=after, resolved=True)
            >> SendWebhook.from_integration(hook, payload={"state": "${stall_state}"}),
            name="stalled",
        )
        run_script(
            server,
            tmp_path,
            """
            import time
            run = wandb.init(entity="local", project="silent", id="hangs", settings=settings)
            run.log({"loss": 1.0})
            time.sleep(25)  # a hung data loader: the process lives, nothing is logged
            run.log({"loss": 0.9})
            run.finish()
            """,
        )
        receiver.wait_for(2)
    executions = api.automation_history(stalled)
    states = [e.event["state"] for e in reversed(executions)]
    # The 25 s silence, and any wait for wandb's first upload longer than `after` (a run
    # that has logged nothing yet is silent too): each stall is followed by its resolution.
    assert states[-2:] == ["stalled", "resolved"]
    assert states == ["stalled", "resolved"] * (len(states) // 2)
    for reported in (e for e in executions if e.event["state"] == "stalled"):
        # Seen within after + one tick of the last history row (the server's clock, whole
        # seconds on both sides, hence the extra second).
        late = _epoch(reported.created_at) - _epoch(reported.event["last_history_at"])
        print(f"stall reported {late:.0f} s after the last history row (after 5 s, tick 1 s)")
        assert after.total_seconds() - 1 <= late <= after.total_seconds() + TICK_S + 1
