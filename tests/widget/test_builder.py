"""AutomationBuilder through its traits and messages, without a kernel, on a real LocalServer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.automations import (
    ArtifactEvent,
    OnAddArtifactAlias,
    OnRunMetric,
    OnRunState,
    RunEvent,
    SendWebhook,
)
from wandb_auto_widget.widget import AutomationBuilder
from wandb_auto_widget.widget.spec import build, from_automation


@pytest.fixture(scope="module")
def workspace(server: LocalServer) -> dict[str, Any]:
    api = server.api
    project = api.create_project("widget-proj")
    run = api.init_run("local/widget-proj", run_id="w1", name="bert-1")
    run.log([{"val/loss": 1.0 / (i + 1), "acc": i / 10} for i in range(20)])
    slack = api.create_slack_integration("#widget", "http://127.0.0.1:9/slack-hook-url-secret")
    hook = api.create_webhook_integration(
        "widget-hook",
        "http://127.0.0.1:9/w",
        secret="WEBHOOK-SECRET-1",
        access_token="TOKEN-SECRET-2",
    )
    return {"project": project, "slack": slack, "hook": hook}


def frontend_update(widget: AutomationBuilder, **state: Any) -> None:
    """What the browser sends when the user edits the form."""
    widget._handle_msg(
        {
            "content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
            "buffers": [],
        }
    )


def invoke(widget: AutomationBuilder, name: str, msg: Any = None) -> dict[str, Any]:
    """What the view's call(name) sends (anywidget's command protocol); returns the
    command's response."""
    sent: list[Any] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    widget._handle_msg(
        {
            "content": {
                "data": {
                    "method": "custom",
                    "content": {
                        "kind": "anywidget-command",
                        "id": "1",
                        "name": name,
                        "msg": msg or {},
                    },
                }
            },
            "buffers": [],
        }
    )
    assert sent and sent[0]["kind"] == "anywidget-command-response"
    return dict(sent[0]["response"])


def test_defaults_and_options(server: LocalServer, workspace: dict[str, Any]) -> None:
    widget = AutomationBuilder(api=server.api, project="widget-proj")
    assert widget.spec["scope_name"] == "widget-proj" and widget.spec["event_type"] == "RUN_METRIC"
    assert widget.spec["window"] == 5 and widget.spec["integration_id"]  # W&B's default window
    assert set(widget.options["metrics"]) == {"val/loss", "acc"}
    assert {i["kind"] for i in widget.options["integrations"]} == {"slack", "webhook"}
    assert widget.errors == {
        "metric": "Choose or type the metric to watch, e.g. val/loss",
        "name": "Give the automation a name",
    }
    assert widget.code == ""


def test_form_to_automation_and_save(server: LocalServer, workspace: dict[str, Any]) -> None:
    widget = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(
        widget,
        spec={**widget.spec, "metric": "val/loss", "name": "widget-val-loss", "threshold": 0.25},
    )
    assert widget.errors == {}
    automation = widget.automation
    assert repr(automation.event.filter.condition) == "'AVERAGE(val/loss) > 0.25'"  # type: ignore[union-attr]
    assert "RunEvent.metric('val/loss').mean(5) > 0.25" in widget.code
    response = invoke(widget, "_save")
    assert response["ok"] and response["state"] == "saved"
    saved = server.api.automation("widget-val-loss")
    assert saved.id == widget.status["id"] == widget.editing_id

    # Editing: the next save updates the same automation.
    frontend_update(widget, spec={**widget.spec, "threshold": 0.75})
    assert invoke(widget, "_save")["ok"]
    updated = server.api.automation("widget-val-loss")
    assert updated.id == saved.id
    assert updated.event.filter.condition.threshold == 0.75  # type: ignore[union-attr]


def test_errors_are_keyed_by_field_and_block_saving(
    server: LocalServer, workspace: dict[str, Any]
) -> None:
    widget = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(
        widget,
        spec={**widget.spec, "metric": "loss", "name": "bad", "window": 0, "threshold": "abc"},
    )
    assert widget.errors == {"threshold": "Enter a number"}
    frontend_update(widget, spec={**widget.spec, "threshold": 1})
    assert "window" in widget.errors
    frontend_update(
        widget,
        spec={
            **widget.spec,
            "window": 3,
            "action_type": "GENERIC_WEBHOOK",
            "integration_id": workspace["hook"].id,
            "payload": "[1, 2]",
        },
    )
    assert widget.errors == {
        "payload": 'The payload must be a JSON object, e.g. {"text": "${run_name}"}'
    }
    response = invoke(widget, "_save")
    assert not response["ok"] and widget.status["state"] == "error"
    with pytest.raises(ValueError, match="payload"):
        _ = widget.automation


def test_duplicate_name_shows_a_clear_message_and_keeps_the_form(
    server: LocalServer, workspace: dict[str, Any]
) -> None:
    spec = {"metric": "acc", "name": "widget-dup"}
    first = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(first, spec={**first.spec, **spec})
    assert invoke(first, "_save")["ok"]
    second = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(second, spec={**second.spec, **spec})
    before = dict(second.spec)
    response = invoke(second, "_save")
    assert not response["ok"] and "exists" in second.status["message"]
    assert second.spec == before


def test_code_and_form_round_trip(workspace: dict[str, Any]) -> None:
    project, hook = workspace["project"], workspace["hook"]
    cases = [
        OnRunMetric(
            scope=project,
            filter=RunEvent.name.contains("bert") & RunEvent.metric("acc").decreases_by(frac=0.1),
        )
        >> SendWebhook.from_integration(hook, payload={"text": "${run_name}"}),
        OnRunMetric(scope=project, filter=RunEvent.metric("loss").zscore(10).abs() > 3)
        >> SendWebhook.from_integration(hook),
        OnRunState(
            scope=project,
            filter=RunEvent.name.matches_regex("^gpt") & RunEvent.state.in_(["failed", "finished"]),
        )
        >> SendWebhook.from_integration(hook),
        OnAddArtifactAlias(scope=project, filter=ArtifactEvent.alias.matches_regex("^prod"))
        >> SendWebhook.from_integration(hook),
    ]
    for new in cases:
        new.name = "round-trip"
        rebuilt, errors = build(from_automation(new))
        assert errors == {} and rebuilt is not None
        assert rebuilt.to_graphql_input() == new.to_graphql_input()


def test_assigning_an_automation_fills_the_form(
    server: LocalServer, workspace: dict[str, Any]
) -> None:
    widget = AutomationBuilder(api=server.api, project="widget-proj")
    new = OnRunMetric(
        scope=workspace["project"], filter=RunEvent.metric("acc").max(3) <= 0.2
    ) >> SendWebhook.from_integration(workspace["hook"])
    new.name = "assigned"
    widget.automation = new
    assert (
        widget.spec["metric"] == "acc"
        and widget.spec["agg"] == "MAX"
        and widget.spec["cmp"] == "$lte"
    )
    assert widget.automation.to_graphql_input() == new.to_graphql_input()
    saved = server.api.create_automation(new)
    run = server.api.init_run("local/widget-proj", run_id="w-exec")
    run.log([{"acc": 0.1}] * 3)  # max(acc over 3) <= 0.2 fires once
    editor = AutomationBuilder(api=server.api, automation=saved)
    assert editor.editing_id == saved.id and editor.spec["name"] == "assigned"
    assert [e["event"]["step"] for e in editor.executions] == [2]
    assert editor.executions[0]["status"] in ("PENDING", "FINISHED", "FAILED")


def test_no_secret_reaches_widget_state(server: LocalServer, workspace: dict[str, Any]) -> None:
    widget = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(
        widget,
        spec={
            **widget.spec,
            "metric": "acc",
            "name": "secret-check",
            "action_type": "GENERIC_WEBHOOK",
            "integration_id": workspace["hook"].id,
        },
    )
    invoke(widget, "_save")
    state = json.dumps(widget.get_state(), default=str)
    for secret in (server.api_key, "WEBHOOK-SECRET-1", "TOKEN-SECRET-2", "slack-hook-url-secret"):
        assert secret not in state


def test_without_credentials_it_uses_the_local_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    import wandb_auto_widget.widget.connection as connection

    monkeypatch.setattr(connection, "_local_server", None)
    widget = AutomationBuilder()
    try:
        assert "local server" in widget.connection and "local.db" in widget.connection
        assert isinstance(widget.api, Api)
    finally:
        assert connection._local_server is not None
        connection._local_server.stop()


def test_switching_the_action_never_saves_an_integration_of_the_other_kind(
    server: LocalServer, workspace: dict[str, Any]
) -> None:
    widget = AutomationBuilder(api=server.api, project="widget-proj")
    slack_ids = {i.id for i in server.api.slack_integrations()}
    assert widget.spec["integration_id"] in slack_ids  # a new automation starts with Slack
    # The view clears the integration when the action changes; a stale one (a client that
    # does not) is still caught, shown on the integration field, and never saved.
    frontend_update(
        widget,
        spec={**widget.spec, "metric": "acc", "name": "switch", "action_type": "GENERIC_WEBHOOK"},
    )
    assert widget.errors == {"integration": "Choose a webhook"} and widget.code == ""
    response = invoke(widget, "_save")
    assert not response["ok"] and server.api.automations(name="switch") == []
    frontend_update(widget, spec={**widget.spec, "integration_id": workspace["hook"].id})
    assert widget.errors == {} and invoke(widget, "_save")["ok"]


def test_a_server_error_is_shown_at_its_field_until_the_form_changes(
    server: LocalServer, workspace: dict[str, Any]
) -> None:
    first = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(first, spec={**first.spec, "metric": "acc", "name": "taken-name"})
    assert invoke(first, "_save")["ok"]
    second = AutomationBuilder(api=server.api, project="widget-proj")
    frontend_update(second, spec={**second.spec, "metric": "acc", "name": "taken-name"})
    assert not invoke(second, "_save")["ok"]
    assert "same name" in second.errors["name"] and second.status["state"] == "error"
    frontend_update(second, spec={**second.spec, "name": "taken-name-2"})
    assert "name" not in second.errors and second.status["state"] == "idle"


def test_saved_automations_are_listed_and_open_for_editing(
    server: LocalServer, workspace: dict[str, Any]
) -> None:
    """Those with parts this package cannot edit (W&B's launch-queue actions, here) are
    listed as such and not loaded. W&B cannot run here, so its listing is stood in for."""
    from wandb_auto_widget.automations import Automation

    api = server.api
    saved = api.create_automation(
        OnRunMetric(scope=workspace["project"], filter=RunEvent.metric("acc") > 2)
        >> SendWebhook.from_integration(workspace["hook"]),
        name="listed",
    )
    queue_job = Automation.from_graphql(
        {
            **saved.to_graphql(),
            "id": "VHJpZ2dlcjo5OTk=",
            "name": "launch-on-fail",
            "action": {"__typename": "QueueJobTriggeredAction", "queue": None, "template": "{}"},
        }
    )

    aria = Automation.from_graphql(
        {
            **saved.to_graphql(),
            "id": "VHJpZ2dlcjo5OTg=",
            "name": "ask-aria",
            "action": {"__typename": "ARIATriggeredAction", "prompt": "why did it diverge?"},
        }
    )

    class WithWandbOnly(Api):
        def automations(self, entity: str | None = None, *, name: str | None = None) -> Any:
            return [*super().automations(entity, name=name), queue_job, aria]

    widget = AutomationBuilder(
        api=WithWandbOnly(base_url=server.base_url, api_key=server.api_key), project="widget-proj"
    )
    listed = {a["name"]: a for a in widget.options["automations"]}
    assert listed["listed"]["editable"] and not listed["launch-on-fail"]["editable"]
    assert "QueueJobTriggeredAction" in listed["launch-on-fail"]["note"]
    # ARIA prompts are modelled (code can edit them) but the form has no fields for them.
    assert not listed["ask-aria"]["editable"] and "ARIA prompt" in listed["ask-aria"]["note"]
    with pytest.raises(ValueError, match="ARIA prompt, which the form does not edit"):
        widget.automation = aria
    assert invoke(widget, "_open", {"id": saved.id})["ok"]
    assert widget.editing_id == saved.id and widget.spec["name"] == "listed"
    refused = invoke(widget, "_open", {"id": queue_job.id})
    assert not refused["ok"] and "Not editable here" in refused["message"]
    assert widget.editing_id == saved.id  # the form kept what it had
    assert invoke(widget, "_open", {"id": ""})["ok"] and widget.editing_id == ""
