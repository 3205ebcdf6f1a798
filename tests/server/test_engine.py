"""The engine on a real LocalServer, delivering to a local receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.automations import (
    ArtifactEvent,
    DoNothing,
    OnAddArtifactAlias,
    OnAddCollectionTag,
    OnRemoveCollectionTag,
    OnRunMetric,
    OnRunState,
    RunEvent,
    SendNotification,
    SendWebhook,
)
from wandb_auto_widget.demo.receiver import Faults, Receiver
from wandb_auto_widget.preview import evaluate
from wandb_auto_widget.server.engine import RetryPolicy

FAST = RetryPolicy(base_delay_s=0.05, max_delay_s=0.5, max_attempts=6, timeout_s=2)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(db=tmp_path / "engine.db", retry=FAST) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def wait_status(
    api: Api, automation: object, statuses: set[str], count: int, timeout: float = 20
) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.automation_history(automation, limit=1000)  # type: ignore[arg-type]
        if len(found) >= count and all(e.status in statuses for e in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"executions did not settle: {[(e.status, e.error) for e in found]}")


def test_metric_automation_fires_signed_and_recorded(
    local: LocalServer, receiver: Receiver
) -> None:
    api = local.api
    project = api.create_project("p")
    hook = api.create_webhook_integration(
        "hook", receiver.url, secret="s3cr3t", access_token="tok-1"
    )
    payload = {
        "run": "${run_name}",
        "value": "${metric_value}",
        "step": "${step}",
        "url": "${run_url}",
        "who": "${entity_name}/${project_name}",
        "type": "${event_type}",
    }
    automation = api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("loss").mean(3) > 0.5)
        >> SendWebhook.from_integration(hook, payload=payload),
        name="loss-high",
    )
    run = api.init_run("local/p", run_id="r1", name="bert-1")
    run.log([{"loss": 0.1}, {"loss": 0.2}, {"loss": 2.0}, {"loss": 3.0}, {"loss": 4.0}])
    (delivery,) = receiver.wait_for(1)
    # mean(0.1, 0.2, 2.0) = 0.77 > 0.5: it fires at step 2, with the raw value logged there.
    assert delivery.json == {
        "run": "bert-1",
        "value": "2.0",
        "step": "2",
        "url": f"{local.base_url}/local/p/runs/r1",
        "who": "local/p",
        "type": "RUN_METRIC",
    }
    h = delivery.headers
    assert h["content-type"] == "application/json" and h["authorization"] == "Bearer tok-1"
    # W&B's signature, checked the way a receiver would.
    expected = base64.b64encode(
        hmac.new(b"s3cr3t", delivery.body, hashlib.sha256).digest()
    ).decode()
    assert hmac.compare_digest(h["x-wandb-signature"], expected)
    # Standard Webhooks: HMAC over "id.timestamp.body".
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + delivery.body
    standard = base64.b64encode(hmac.new(b"s3cr3t", signed, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == f"v1,{standard}"
    assert abs(int(h["webhook-timestamp"]) - time.time()) < 60
    (execution,) = wait_status(api, automation, {"FINISHED"}, 1)
    assert execution.response_status == 200 and execution.webhook_id == h["webhook-id"]
    assert execution.event["step"] == 2 and execution.event["run"] == "r1"
    assert json.loads(execution.payload or "{}") == delivery.json
    assert [d["responseStatus"] for d in execution.deliveries] == [200]
    # At most once per run per 24 h: more high values do not fire again.
    run.log([{"loss": 5.0}] * 5)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1


def test_engine_fires_exactly_what_the_preview_shows(local: LocalServer) -> None:
    api = local.api
    project = api.create_project("p")
    flt = RunEvent.metric("acc").zscore(8).abs() > 1.5
    automation = api.create_automation(
        OnRunMetric(scope=project, filter=flt) >> DoNothing(), name="z"
    )
    values = [0.5 + 0.01 * (i % 7) + (3.0 if i in (40, 90, 91) else 0.0) for i in range(150)]
    rows = [{"_step": i, "_timestamp": 1.7e9 + i * 1800.0, "acc": v} for i, v in enumerate(values)]
    run = api.init_run("local/p", run_id="z1")
    for start in range(0, 150, 17):  # ragged batches: state must carry across them
        run.log(rows[start : start + 17])
    fired = sorted(e.event["step"] for e in api.automation_history(automation, limit=100))
    assert fired == evaluate(flt, {"z1": rows})["z1"].fire_steps
    assert fired  # the case is not trivial


def test_automations_sharing_a_metric_each_fire_what_their_preview_shows(
    local: LocalServer,
) -> None:
    """The engine shares windows per metric and series per window shape; every automation
    must still fire exactly what its own preview shows."""
    api = local.api
    project = api.create_project("p")
    acc = RunEvent.metric("acc")
    filters = [
        acc.mean(3) > 0.54,
        acc.mean(3) > 0.9,  # same series as the one above, another threshold
        acc.mean(3) <= 0.52,
        acc.max(5) >= 3.0,
        acc.min(4) < 0.505,
        acc.mean(10).increases_by(frac=0.5),
        acc.mean(4).changes_by(diff=0.5),
        acc.zscore(8).abs() > 1.5,
        RunEvent.metric("loss").mean(2) > 0.5,
    ]
    automations = [
        api.create_automation(OnRunMetric(scope=project, filter=f) >> DoNothing(), name=f"m{i}")
        for i, f in enumerate(filters)
    ]
    values = [0.5 + 0.01 * (i % 7) + (3.0 if i in (40, 90, 91) else 0.0) for i in range(150)]
    rows = [
        {"_step": i, "_timestamp": 1.7e9 + i * 1800.0, "acc": v, "loss": 1.0 - i / 150}
        for i, v in enumerate(values)
    ]
    run = api.init_run("local/p", run_id="shared")
    for start in range(0, 150, 23):
        run.log(rows[start : start + 23])
    for flt, automation in zip(filters, automations, strict=True):
        fired = sorted(e.event["step"] for e in api.automation_history(automation, limit=200))
        assert fired == evaluate(flt, {"shared": rows})["shared"].fire_steps, flt
    # An automation created mid-run reads the metric's windows as the preview does: its first
    # window already holds the four values logged before it existed.
    late = api.create_automation(
        OnRunMetric(scope=project, filter=acc.mean(5) > 0.1) >> DoNothing(), name="late"
    )
    # A window longer than any kept for the metric (loss kept 2 values for mean(2)) fills
    # from what was kept plus the next values: its first window, at step 151, is steps 148-151.
    longer = api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("loss").mean(4) > -1) >> DoNothing(),
        name="longer",
    )
    for step in (150, 151):
        run.log({"_step": step, "_timestamp": 1.7e9 + step * 1800.0, "acc": 0.5, "loss": 0.0})
    assert [e.event["step"] for e in api.automation_history(late)] == [150]
    assert [e.event["step"] for e in api.automation_history(longer)] == [151]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    flt = RunEvent.metric("loss").mean(4) > 1
    with LocalServer(db=db, api_key="k", retry=FAST) as first:
        api = first.api
        project = api.create_project("p")
        automation = api.create_automation(
            OnRunMetric(scope=project, filter=flt) >> DoNothing(), name="m"
        )
        run = api.init_run("local/p", run_id="r")
        run.log([{"loss": 2.0}] * 3)  # the window is not full yet
        assert api.automation_history(automation) == []
    with LocalServer(db=db, api_key="k", retry=FAST) as second:
        api = second.api
        run = api.init_run("local/p", run_id="r")
        run.log({"loss": 2.0})  # the 4th value completes the window kept across the restart
        assert [e.event["step"] for e in api.automation_history(automation)] == [3]
    with LocalServer(db=db, api_key="k", retry=FAST) as third:
        run = third.api.init_run("local/p", run_id="r")
        run.log([{"loss": 2.0}] * 3)  # still within 24 h: no second fire after restarting
        assert len(third.api.automation_history(automation)) == 1


def test_disabled_never_fires_and_edits_apply_at_once(local: LocalServer) -> None:
    api = local.api
    project = api.create_project("p")
    automation = api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("x") > 10) >> DoNothing(),
        name="x",
        enabled=False,
    )
    run = api.init_run("local/p", run_id="r")
    run.log({"x": 100.0})
    assert api.automation_history(automation) == []
    automation.enabled = True
    automation = api.update_automation(automation)
    run.log({"x": 100.0})
    assert len(api.automation_history(automation)) == 1
    other = api.init_run("local/p", run_id="r2")
    automation = api.update_automation(
        automation, event=OnRunMetric(scope=project, filter=RunEvent.metric("x") > 1000)
    )
    other.log({"x": 100.0})
    assert len(api.automation_history(automation)) == 1  # the edited threshold applies


def test_windows_never_span_rows_logged_while_disabled(local: LocalServer) -> None:
    api = local.api
    project = api.create_project("p")
    flt = RunEvent.metric("x").mean(3) > 10
    automation = api.create_automation(
        OnRunMetric(scope=project, filter=flt) >> DoNothing(), name="gap"
    )
    run = api.init_run("local/p", run_id="r")
    rows = [{"_step": i, "_timestamp": 1.7e9 + i, "x": x} for i, x in enumerate([20.0, 20.0])]
    run.log(rows)
    automation.enabled = False
    automation = api.update_automation(automation)
    quiet = [{"_step": i, "_timestamp": 1.7e9 + i, "x": 0.0} for i in range(2, 7)]
    run.log(quiet)
    automation.enabled = True
    automation = api.update_automation(automation)
    last = {"_step": 7, "_timestamp": 1.7e9 + 7, "x": 20.0}
    run.log(last)
    # The preview reads mean(0, 0, 20) at step 7: the condition does not hold there. Windows
    # kept from before the pause would have read mean(20, 20, 20) and fired.
    preview = evaluate(flt, {"r": [*rows, *quiet, last]}, policy="every")["r"]
    assert 7 not in preview.condition_steps
    assert api.automation_history(automation) == []


def test_run_state_and_artifact_events(local: LocalServer, receiver: Receiver) -> None:
    api = local.api
    project = api.create_project("p")
    hook = api.create_webhook_integration("hook", receiver.url)
    failed = api.create_automation(
        OnRunState(
            scope=project, filter=RunEvent.name.contains("bert") & RunEvent.state.eq("failed")
        )
        >> SendWebhook.from_integration(
            hook, payload={"state": "${run_state}", "run": "${run_name}"}
        ),
        name="failed",
    )
    api.init_run("local/p", run_id="a", name="bert-a").finish(exit_code=1)
    api.init_run("local/p", run_id="b", name="bert-b")
    api.set_run_state("local/p/b", "crashed")  # crashed counts as failed
    api.init_run("local/p", run_id="c", name="bert-c")
    api.set_run_state("local/p/c", "killed")  # killed never fires
    api.init_run("local/p", run_id="d", name="gpt-d").finish(exit_code=1)  # filtered out by name
    states = sorted((d.json["run"], d.json["state"]) for d in receiver.wait_for(2))
    assert states == [("bert-a", "failed"), ("bert-b", "crashed")]
    assert len(api.automation_history(failed)) == 2

    alias = api.create_automation(
        OnAddArtifactAlias(scope=project, filter=ArtifactEvent.alias.matches_regex("^prod"))
        >> SendWebhook.from_integration(
            hook,
            payload={
                "alias": "${alias}",
                "version": "${artifact_version_string}",
                "acc": "${artifact_metadata.acc}",
            },
        ),
        name="alias",
    )
    v0 = api.log_artifact("local/p", "model", "model", metadata={"acc": 0.93})
    api.add_artifact_alias(v0, "staging")
    api.add_artifact_alias(v0, "production")
    deliveries = receiver.wait_for(3)
    assert deliveries[-1].json == {
        "alias": "production",
        "version": "local/p/model:v0",
        "acc": "0.93",
    }
    assert len(api.automation_history(alias)) == 1


def test_collection_tag_events(local: LocalServer) -> None:
    """Adding and removing a collection's tags (W&B's own mutations) fire their automations."""
    api = local.api
    project = api.create_project("p")
    api.log_artifact("local/p", "model", "model")
    added = api.create_automation(OnAddCollectionTag(scope=project) >> DoNothing(), name="added")
    removed = api.create_automation(
        OnRemoveCollectionTag(scope=project) >> DoNothing(), name="removed"
    )

    def assign(mutation: str, tag: str) -> None:
        document = (
            f"mutation($input: ArtifactCollectionTagAssignmentsInput!) "
            f"{{ {mutation}(input: $input) {{ success }} }}"
        )
        variables = {
            "input": {
                "entityName": "local",
                "projectName": "p",
                "artifactCollectionName": "model",
                "tags": [{"tagName": tag}],
            }
        }
        response = httpx.post(
            f"{local.base_url}/graphql",
            auth=("api", local.api_key),
            json={"query": document, "variables": variables},
        )
        assert response.json()["data"][mutation]["success"] is True, response.text

    assign("createArtifactCollectionTagAssignments", "vision")
    assign("createArtifactCollectionTagAssignments", "europe")
    assign("deleteArtifactCollectionTagAssignments", "vision")
    assert len(wait_status(api, added, {"FINISHED"}, 2)) == 2
    assert len(wait_status(api, removed, {"FINISHED"}, 1)) == 1


def test_retry_after_final_4xx_and_410(local: LocalServer) -> None:
    api = local.api
    project = api.create_project("p")
    with Receiver(Faults(fixed_status=503, retry_after="0.3")) as flaky:
        hook = api.create_webhook_integration("flaky", flaky.url)
        automation = api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("a") > 0)
            >> SendWebhook.from_integration(hook),
            name="flaky",
        )
        api.init_run("local/p", run_id="r1").log({"a": 1.0})
        got = flaky.wait_for(2, successful=False)
        flaky.faults.fixed_status = None
        flaky.wait_for(1)
        assert got[1].at - got[0].at >= 0.29  # Retry-After honoured
        assert (
            len({d.headers["webhook-id"] for d in flaky.deliveries}) == 1
        )  # the same id on retries
        (execution,) = wait_status(api, automation, {"FINISHED"}, 1)
        assert execution.attempts == len(flaky.deliveries) >= 3
    with Receiver(Faults(fixed_status=400)) as rejecting:
        hook = api.create_webhook_integration("rejecting", rejecting.url)
        automation = api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("b") > 0)
            >> SendWebhook.from_integration(hook),
            name="rejecting",
        )
        api.init_run("local/p", run_id="r2").log({"b": 1.0})
        (execution,) = wait_status(api, automation, {"FAILED"}, 1)
        assert execution.attempts == 1 and execution.response_status == 400
    with Receiver(Faults(fixed_status=410)) as gone:
        hook = api.create_webhook_integration("gone", gone.url)
        automation = api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("c") > 0)
            >> SendWebhook.from_integration(hook),
            name="gone",
        )
        api.init_run("local/p", run_id="r3").log({"c": 1.0})
        wait_status(api, automation, {"FAILED"}, 1)
        api.init_run("local/p", run_id="r4").log({"c": 1.0})
        second = wait_status(api, automation, {"FAILED"}, 2)
        assert "disabled" in (second[0].error or "") and len(gone.deliveries) == 1


def test_payload_injection_stays_valid_json(local: LocalServer, receiver: Receiver) -> None:
    api = local.api
    project = api.create_project("p")
    hook = api.create_webhook_integration("hook", receiver.url)
    api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("m") > 0)
        >> SendWebhook.from_integration(
            hook, payload={"text": "run ${run_name} at ${step}", "n": 1}
        ),
        name="inject",
    )
    evil = 'x", "admin": true, "y": "\\n}{'
    api.init_run("local/p", run_id="evil", name=evil).log({"m": 1.0})
    (delivery,) = receiver.wait_for(1)
    assert delivery.json == {"text": f"run {evil} at 0", "n": 1}


def test_slack_block_kit_and_test_fire(local: LocalServer, receiver: Receiver) -> None:
    api = local.api
    project = api.create_project("p")
    slack = api.create_slack_integration("#alerts", receiver.url)
    automation = api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("val/loss").mean(2) > 1)
        >> SendNotification.from_integration(
            slack, title="val/loss high", text="check ${run_name}", level="WARN"
        ),
        name="slack",
    )
    api.init_run("local/p", run_id="s1", name="bert").log([{"val/loss": 2.0}, {"val/loss": 3.0}])
    message = receiver.wait_for(1)[0].json
    assert message["blocks"][0]["text"]["text"] == "val/loss high"
    assert message["blocks"][1]["text"]["text"] == "check bert"
    assert "*val/loss* = `3.0` at step 1 of run *bert*" in message["blocks"][2]["text"]["text"]
    assert "WARN" in message["blocks"][3]["elements"][0]["text"] and "/local/p/runs/s1" in message[
        "text"
    ] + json.dumps(message)
    tested = api.test_automation(automation, sample={"run_name": "sample-run-7"})
    assert tested.is_test and tested.status == "FINISHED" and tested.response_status == 200
    assert receiver.wait_for(2)[1].json["blocks"][1]["text"]["text"] == "check sample-run-7"
