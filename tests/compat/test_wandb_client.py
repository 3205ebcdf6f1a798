"""The real wandb 0.31.0 client, and our Api, drive the same suite against one LocalServer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import wandb
import wandb.automations as wandb_automations

import wandb_auto_widget.automations as our_automations
from wandb_auto_widget import Api, LocalServer

from ..wandb_env import wandb_env as sdk_env

ENTITY = "local"


@pytest.fixture(scope="module")
def wandb_env(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point wandb at the local server, with all its files in a temporary home."""
    home = tmp_path_factory.mktemp("wandb-home")
    env = {
        **sdk_env(server.base_url, server.api_key, home),
        "WANDB__GRAPHQL_RETRY_MAX": "1",  # fail fast instead of retrying for 19 s
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class Client:
    """The calls the suite makes, spelled for wandb.Api or for our Api."""

    def __init__(self, kind: str, server: LocalServer) -> None:
        self.kind = kind
        self.api: Any = wandb.Api() if kind == "wandb" else server.api
        self.dsl: ModuleType = wandb_automations if kind == "wandb" else our_automations

    def project(self, name: str) -> Any:
        return self.api.project(name, entity=ENTITY)

    def slack(self) -> Any:
        found = self.api.slack_integrations(entity=ENTITY)
        return next(i for i in found if i.channel_name == "#alerts")

    def webhook(self) -> Any:
        found = self.api.webhook_integrations(entity=ENTITY)
        return next(i for i in found if i.name == "compat-hook")

    def collection_scope(self, collection: Any) -> Any:
        if self.kind == "wandb":  # wandb's scope parser takes only its own objects
            return wandb_automations.scopes._ArtifactSequenceScope(
                id=collection.id, name=collection.name
            )
        return collection


@pytest.fixture(scope="module")
def workspace(server: LocalServer) -> dict[str, Any]:
    """Seeded once through our Api: a project with a run, integrations and an artifact."""
    api = server.api
    api.create_project("compat")
    api.create_slack_integration("#alerts", "http://127.0.0.1:9/slack")
    api.create_webhook_integration("compat-hook", "http://127.0.0.1:9/hook", secret="not-shown")
    run = api.init_run(f"{ENTITY}/compat", run_id="run1", name="bert-1", config={"lr": 0.1})
    run.log([{"loss": 10.0 / (i + 1), "acc": i / 10} for i in range(2500)])
    run.finish(0)
    api.log_artifact(f"{ENTITY}/compat", "model", "model")
    return {"collection": api.artifact_collections(f"{ENTITY}/compat")[0]}


@pytest.fixture(params=["wandb", "ours"])
def client(
    request: pytest.FixtureRequest, server: LocalServer, wandb_env: None, workspace: dict[str, Any]
) -> Client:
    return Client(request.param, server)


def events(c: Client, workspace: dict[str, Any]) -> dict[str, Any]:
    R, m = c.dsl.RunEvent, c.dsl
    scope = c.project("compat")
    return {
        "threshold": m.OnRunMetric(scope=scope, filter=R.metric("loss").mean(5) > 10),
        "change": m.OnRunMetric(scope=scope, filter=R.metric("acc").decreases_by(frac=0.1)),
        "zscore": m.OnRunMetric(scope=scope, filter=R.metric("loss").zscore(10).abs() > 3),
        "run-state": m.OnRunState(scope=scope, filter=R.state.in_(["failed", "finished"])),
        "name+metric": m.OnRunMetric(
            scope=scope, filter=R.name.contains("bert") & (R.metric("loss") > 1)
        ),
        "artifact-create": m.OnCreateArtifact(scope=c.collection_scope(workspace["collection"])),
        "artifact-alias": m.OnAddArtifactAlias(
            scope=scope, filter=m.ArtifactEvent.alias.matches_regex("^prod")
        ),
    }


def actions(c: Client) -> dict[str, Any]:
    m = c.dsl
    return {
        "webhook": m.SendWebhook.from_integration(c.webhook(), payload={"run": "${run_name}"}),
        "slack": m.SendNotification.from_integration(c.slack(), title="t", text="m", level="WARN"),
        "noop": m.DoNothing(),
    }


def test_project_and_integrations(client: Client) -> None:
    project = client.project("compat")
    assert project.name == "compat" and project.id
    assert client.slack().channel_name == "#alerts"
    webhook = client.webhook()
    assert webhook.name == "compat-hook" and webhook.url_endpoint == "http://127.0.0.1:9/hook"


def test_create_every_event_with_every_action(client: Client, workspace: dict[str, Any]) -> None:
    created = []
    for event_name, event in events(client, workspace).items():
        for action_name, action in actions(client).items():
            name = f"{client.kind}-{event_name}-{action_name}"
            saved = client.api.create_automation(event >> action, name=name, description="compat")
            assert saved.name == name and saved.event.event_type == event.event_type
            created.append(name)
    listed = {a.name for a in client.api.automations(entity=ENTITY)}
    assert set(created) <= listed
    assert client.api.automation(name=created[0], entity=ENTITY).description == "compat"


def test_update_delete_and_duplicates(client: Client, workspace: dict[str, Any]) -> None:
    event = events(client, workspace)["threshold"]
    name = f"{client.kind}-lifecycle"
    saved = client.api.create_automation(event >> client.dsl.DoNothing(), name=name)
    with pytest.raises(Exception, match="exists"):
        client.api.create_automation(event >> client.dsl.DoNothing(), name=name)
    saved.enabled = False
    saved.description = "updated description"
    updated = client.api.update_automation(saved)
    assert (updated.enabled, updated.description) == (False, "updated description")
    assert client.api.automation(name=name, entity=ENTITY).enabled is False
    client.api.delete_automation(updated)
    assert name not in {a.name for a in client.api.automations(entity=ENTITY)}


def test_runs_history_and_summary(client: Client) -> None:
    if client.kind == "wandb":
        runs = list(client.api.runs(f"{ENTITY}/compat"))
        assert [r.id for r in runs] and runs[0].state == "finished"
        run = client.api.run(f"{ENTITY}/compat/run1")
        assert run.summary["loss"] == pytest.approx(10.0 / 2500)
        frame = run.history(keys=["loss"], samples=100)
        assert len(frame) == 100  # sampled, as W&B samples
        scanned = list(run.scan_history(keys=["loss"]))
        assert len(scanned) == 2500 and scanned[-1]["loss"] == pytest.approx(10.0 / 2500)
        return
    api: Api = client.api
    runs = api.runs(f"{ENTITY}/compat")
    assert [r.name for r in runs] == ["run1"] and runs[0].state == "finished"
    run = api.run(f"{ENTITY}/compat/run1")
    assert run.summary is not None and run.summary["loss"] == pytest.approx(10.0 / 2500)
    columns = api.history(run, ["loss"], page_size=1000)  # three pages, full resolution
    assert columns["_step"].tolist() == list(range(2500))
    assert columns["loss"][-1] == pytest.approx(10.0 / 2500)


def test_history_is_identical_through_both_clients(
    server: LocalServer, wandb_env: None, workspace: dict[str, Any]
) -> None:
    theirs = [
        row["acc"] for row in wandb.Api().run(f"{ENTITY}/compat/run1").scan_history(keys=["acc"])
    ]
    ours = server.api.history(f"{ENTITY}/compat/run1", ["acc"])["acc"].tolist()
    assert ours == pytest.approx(theirs) and len(ours) == 2500


def test_wandb_sees_a_wrong_key_as_an_auth_error(
    server: LocalServer, wandb_env: None, tmp_path: Path
) -> None:
    with pytest.raises(Exception, match=r"(?i)credentials|auth|401"):
        wandb.Api(api_key="x" * 40)
