"""The watcher against a stand-in for W&B: a second embedded server with our additions off,
so that only W&B's documents work against it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.automations import (
    OnRunMetric,
    OnRunStalled,
    RunEvent,
    SendWebhook,
    StopRun,
)
from wandb_auto_widget.demo.receiver import Receiver
from wandb_auto_widget.preview import evaluate
from wandb_auto_widget.server.watcher import Watcher
from wandb_auto_widget.widget import AutomationBuilder

from .test_wandb_sdk import run_script


class Throttle:
    """An HTTP proxy in front of the stand-in that answers 429 (Retry-After: 1) to the first
    ``refuse`` requests, and records when each request came."""

    def __init__(self, target: str, refuse: int) -> None:
        self.refuse, self.times, self.statuses = refuse, [], []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.times.append(time.monotonic())
                if proxy.refuse > 0:
                    proxy.refuse -= 1
                    proxy.statuses.append(429)
                    self.send_response(429)
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.post(target + self.path, content=body, headers=headers)
                proxy.statuses.append(answer.status_code)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(db=tmp_path / "wandb.db", wandb_only=True) as server:
        server.api.create_entity("research")
        server.api.create_project("bert", entity="research")
        yield server


def test_the_watcher_runs_rules_on_w_and_b_runs(standin: LocalServer, tmp_path: Path) -> None:
    throttle = Throttle(standin.base_url, refuse=3)
    remote = Api(base_url=throttle.url, api_key=standin.api_key)
    assert "HISTORY_COLUMNS" not in remote.features()  # it speaks to it as to W&B
    with LocalServer(db=tmp_path / "local.db", tick_seconds=3600) as local, Receiver() as hook:
        local.api.create_entity("research")
        project = local.api.create_project("bert", entity="research")
        stop = local.api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").plateau(patience=4))
            >> StopRun(),
            name="stop-on-plateau",
        )
        webhook = local.api.create_webhook_integration("pager", hook.url, entity="research")
        stalled = local.api.create_automation(
            OnRunStalled(scope=project, after=timedelta(seconds=2), resolved=True)
            >> SendWebhook.from_integration(webhook, payload={"state": "${stall_state}"}),
            name="stalled",
        )
        losses = [3.0, 2.0, 1.5, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2]
        training = standin.api.init_run("research/bert", run_id="a", name="bert-a")
        training.log([{"loss": v} for v in losses[:6]])
        idle = [
            standin.api.init_run("research/bert", run_id=f"old-{i}", name=f"old-{i}")
            for i in range(5)
        ]
        for run in idle:
            run.log({"loss": 1.0})
            run.finish()
        watcher = Watcher(remote, local, ["research/bert"], interval=0.2)
        (first,) = watcher.poll()
        assert throttle.statuses[:3] == [429, 429, 429]
        assert throttle.times[3] - throttle.times[2] >= 0.95  # Retry-After: 1 honoured
        assert first.runs_synced == 6 and first.stops == 0
        training.log([{"loss": v} for v in losses[6:]])
        (second,) = watcher.poll()
        assert second.runs_listed <= 6 and second.stops == 1
        # The plateau fired where it fires on the run's own history...
        history = standin.api.history("research/bert/a", ["loss"])
        rows = [
            {"_step": int(s), "_timestamp": 0.0, "loss": float(v)}
            for s, v in zip(history["_step"], history["loss"], strict=True)
        ]
        expected = evaluate(RunEvent.metric("loss").plateau(patience=4), {"a": rows})
        (fired,) = local.api.automation_history(stop, entity="research")
        assert fired.event["step"] == expected["a"].fire_steps[0] == 8
        # ... and W&B was asked to stop the run, with W&B's stopRun: the SDK stops there.
        assert training.log({"loss": 1.2}) is True
        # Silent for longer than `after` on the local clock: reported, then resolved.
        time.sleep(2.5)
        assert local.engine is not None and local.engine.tick() == 1
        training.log({"loss": 1.1})
        watcher.poll()
        states = sorted(d.json["state"] for d in hook.wait_for(2))
        assert states == ["resolved", "stalled"]
        # A restart (a new Watcher on the same database) neither re-fires nor re-syncs.
        again = Watcher(remote, local, ["research/bert"])
        (third,) = again.poll()
        assert third.rows == 0 and third.stops == 0
        assert len(local.api.automation_history(stop, entity="research")) == 1
        assert len(local.api.automation_history(stalled, entity="research")) == 2
    throttle.close()


def test_polls_cost_what_the_active_runs_cost(standin: LocalServer, tmp_path: Path) -> None:
    remote = Api(base_url=standin.base_url, api_key=standin.api_key)
    for i in range(30):
        run = standin.api.init_run("research/bert", run_id=f"r{i}")
        run.log({"loss": 1.0})
        if i >= 2:
            run.finish()
    active = [standin.api.init_run("research/bert", run_id=f"r{i}") for i in range(2)]
    time.sleep(1.1)  # heartbeats have whole seconds: the idle runs' are now older
    for run in active:
        run.log({"loss": 0.7})
    with LocalServer(db=tmp_path / "local.db", tick_seconds=3600) as local:
        watcher = Watcher(remote, local, ["research/bert"])
        watcher.poll()  # the first poll mirrors everything
        time.sleep(1.1)
        for run in active:
            run.log({"loss": 0.5})
        (steady,) = watcher.poll()
    assert steady.runs_synced == 2
    assert steady.runs_listed < 30  # it stops at the first run not heard from since
    assert steady.requests <= 2 + 2 * 2  # a page of runs, then per active run: run, history


def test_a_wandb_script_is_stopped_through_the_watcher_which_survives_kill_9(
    standin: LocalServer, tmp_path: Path
) -> None:
    """A real wandb training script logs into the stand-in; the watcher (its own process)
    fires a plateau rule, W&B's stop reaches the script, and after kill -9 and a restart
    nothing fires twice."""
    db = tmp_path / "watch.db"
    env = {**os.environ, "WANDB_API_KEY": standin.api_key}

    def start() -> tuple[subprocess.Popen[str], Api]:
        process = subprocess.Popen(
            [sys.executable, "-m", "wandb_auto_widget.cli", "watch", "research/bert",
             "--remote-url", standin.base_url, "--db", str(db), "--port", "0",
             "--interval", "1", "--tick", "1", "--api-key", "watch-local-key"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("WANDB_BASE_URL=")
        return process, Api(base_url=url, api_key="watch-local-key")

    watcher, local = start()
    try:
        local.create_entity("research")
        project = local.create_project("bert", entity="research")
        rule = local.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").plateau(patience=5))
            >> StopRun(),
            name="stop-on-plateau",
        )
        done = run_script(
            standin,
            tmp_path,
            """
            import time
            run = wandb.init(entity="research", project="bert", id="p1", settings=settings)
            step, start = 0, time.time()
            try:
                while time.time() - start < 150:
                    run.log({"loss": max(0.5, 2.0 - 0.1 * step)})  # flat from step 15
                    step += 1
                    time.sleep(0.1)
                print("NOT STOPPED")
            except KeyboardInterrupt:
                print(f"STOPPED at {time.time()} after step {step - 1}")
            run.finish()
            """,
        )
        stopped = re.search(r"STOPPED at ([\d.]+)", done.stdout)
        assert stopped, done.stdout[-2000:]
        (fired,) = local.automation_history(rule, entity="research")
        assert fired.event["step"] == 21  # 15 is the first 0.5; then six values without improving
        fired_at = datetime.fromisoformat(fired.created_at.replace("Z", "+00:00")).timestamp()
        print(
            f"watcher (poll interval 1 s): step {fired.event['step']} logged to firing "
            f"{fired_at - fired.event['timestamp']:.1f} s, to the run stopped "
            f"{float(stopped.group(1)) - fired.event['timestamp']:.1f} s"
        )
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=30)
        watcher, local = start()
        time.sleep(3)  # a few polls after the restart
        assert len(local.automation_history(rule, entity="research")) == 1
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


def test_a_watcher_starts_from_the_builder(standin: LocalServer, tmp_path: Path) -> None:
    remote = Api(base_url=standin.base_url, api_key=standin.api_key)
    builder = AutomationBuilder(api=remote, entity="research", project="bert")
    watcher = builder.watch(interval=0.2, db=tmp_path / "watch.db")
    try:
        assert (
            watcher.projects == ["research/bert"] and watcher.local.db_path == tmp_path / "watch.db"
        )
        # The watcher's server takes the extension rules W&B refuses, scoped by project name.
        local = watcher.local.api
        (project,) = local.projects("research")  # there at once: rules can be saved
        local.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").plateau(patience=2))
            >> StopRun(),
            name="stop-on-plateau",
        )
        run = standin.api.init_run("research/bert", run_id="w1", name="watched")
        run.log([{"loss": v} for v in (1.0, 0.5, 0.5, 0.5, 0.5)])
        # Followed in the background: mirrored, the rule fired, and W&B was asked to stop.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not local.automation_history("research"):
            time.sleep(0.2)
        fired = local.automation_history("research")
        assert [(e.automation_name, e.event["step"]) for e in fired] == [("stop-on-plateau", 4)]
        while time.monotonic() < deadline and not run.log({"loss": 0.5}):
            time.sleep(0.2)  # the stop is sent by the poll after the firing
        assert run.log({"loss": 0.5}) is True  # W&B (the stand-in) tells the SDK to stop
        # A builder on an embedded server needs no watcher: it runs the rules itself.
        with pytest.raises(ValueError, match="runs the extension rules itself"):
            AutomationBuilder(api=local, entity="research", project="bert").watch()
    finally:
        watcher.stop()
        watcher.local.stop()
