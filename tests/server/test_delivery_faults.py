"""1,000 firings, a receiver that fails 30% of requests, and a kill -9 of the server
midway: every firing is delivered at least once, always under the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from wandb_auto_widget import Api
from wandb_auto_widget.automations import OnCreateArtifact, SendWebhook
from wandb_auto_widget.demo.receiver import Faults, Receiver

FIRINGS = 1000


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[str], Api]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wandb_auto_widget.cli",
            "server",
            "--port",
            "0",
            "--db",
            str(db),
            "--api-key",
            "fault-key",
            "--retry-base-delay",
            "0.02",
            "--max-attempts",
            "30",
            "--delivery-timeout",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().removeprefix("WANDB_BASE_URL=")
    assert url.startswith("http://127.0.0.1:"), url
    return process, Api(base_url=url, api_key="fault-key", max_retries=0)


def test_no_firing_is_lost(tmp_path: Path) -> None:
    db, log = tmp_path / "faults.db", tmp_path / "server.log"
    # A slowish receiver, so that the outbox has a backlog when the server is killed.
    with Receiver(Faults(fail_ratio=0.3, seed=3, delay_s=0.02)) as receiver:
        process, api = start_server(db, log)
        try:
            api.create_project("p")
            hook = api.create_webhook_integration("hook", receiver.url, secret="k")
            api.log_artifact(
                "local/p", "model", "model"
            )  # creates the collection (no automation yet)
            collection = api.artifact_collections("local/p")[0]
            api.create_automation(
                OnCreateArtifact(scope=collection)
                >> SendWebhook.from_integration(
                    hook, payload={"version": "${artifact_version_string}"}
                ),
                name="every-version",
            )
            for _ in range(FIRINGS // 2):
                api.log_artifact("local/p", "model", "model")
            # Mid-stream: deliveries are pending and in flight. No warning, no cleanup.
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            process, api = start_server(db, log)
            backlog = len(api.automation_history(status="PENDING", limit=FIRINGS))
            assert backlog > 0  # the kill really interrupted delivery
            for _ in range(FIRINGS - FIRINGS // 2):
                api.log_artifact("local/p", "model", "model")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = api.automation_history(status="PENDING", limit=FIRINGS)
                if not pending:
                    break
                time.sleep(0.25)
            executions = api.automation_history(limit=FIRINGS + 10)
        finally:
            process.terminate()
            process.wait(timeout=30)

    assert len(executions) == FIRINGS
    assert {e.status for e in executions} == {"FINISHED"}, [
        e.error for e in executions if e.status != "FINISHED"
    ][:5]
    by_id: dict[str, list[bytes]] = defaultdict(list)
    delivered: set[str] = set()
    for delivery in receiver.deliveries:
        by_id[delivery.headers["webhook-id"]].append(delivery.body)
        if delivery.status == 200:
            delivered.add(delivery.headers["webhook-id"])
    # Every firing reached the receiver, and every retry of a firing carried its one id.
    assert delivered == {e.webhook_id for e in executions}
    assert all(len(set(bodies)) == 1 for bodies in by_id.values())
    versions = {e.event["artifact"] for e in executions}
    assert len(versions) == FIRINGS  # one firing per created version, none doubled
    failures = sum(1 for d in receiver.deliveries if d.status != 200)
    assert failures > 200  # the receiver really did fail about 30% of attempts
