"""Every GraphQL document our Api sends uses only shapes the wandb SDK itself sends to W&B
(fields, arguments, variable types and input fields; see wandb_documents.py), apart from a
short allow-list of our documented additions, each of which the Api sends only to a server
that advertises it.

The documents are recorded from a workload that calls every public Api method against the
embedded server in a team entity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, print_ast

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import UnsupportedError
from wandb_auto_widget.automations import OnCreateArtifact, OnRunMetric, RunEvent, SendWebhook

from .wandb_documents import Shape, input_fields, shapes, wandb_shapes

# Our additions: (shape kind, path prefix) -> why. Each is documented in
# docs/api-and-server.md and gated by a server feature in Api.
ALLOWED: dict[tuple[str, tuple[str, ...]], str] = {
    ("any", ("Mutation", "createSlackIntegration")): "Slack by incoming-webhook URL (ours)",
    ("any", ("Mutation", "testTrigger")): "test-fire an automation (ours)",
    ("any", ("Mutation", "insertSecret")): "store a webhook secret (ours; W&B: in its App)",
    ("any", ("Query", "entity", "automationExecutions")): "execution history (ours)",
    ("any", ("Query", "project", "artifactEvents")): "artifact event history (ours)",
    ("any", ("Query", "artifactCollection", "artifactEvents")): "artifact event history (ours)",
    # The StopRun extension action, read only where EXTENSION_RULES is advertised.
    ("any", ("Mutation", "createFilterTrigger", "trigger", "triggeredAction", "stopRun")): "",
    ("any", ("Mutation", "updateFilterTrigger", "trigger", "triggeredAction", "stopRun")): "",
    ("any", ("Query", "entity", "triggers", "edges", "node", "triggeredAction", "stopRun")): "",
}
# ... and the digest action's fields, under the same three paths.
for _root in (
    ("Mutation", "createFilterTrigger", "trigger", "triggeredAction"),
    ("Mutation", "updateFilterTrigger", "trigger", "triggeredAction"),
    ("Query", "entity", "triggers", "edges", "node", "triggeredAction"),
):
    for _field in ("metrics", "include", "skipIfEmpty"):
        ALLOWED[("any", (*_root, _field))] = "SendDigest (EXTENSION_RULES)"

Sent = list[tuple[str, dict[str, Any]]]


def _allowed(shape: Shape) -> bool:
    path = shape[1]
    return any(path[: len(prefix)] == prefix for (_, prefix) in ALLOWED)


def _workload(api: Api, server: LocalServer, receiver_url: str) -> None:
    api.viewer()
    api.features()
    api.create_entity("research")
    project = api.create_project("docs", entity="research")
    api.project("docs", entity="research")
    api.projects("research")
    api.registries("research")
    run = api.init_run("research/docs", run_id="r1", name="one", config={"lr": 0.1}, tags=["a"])
    run.log([{"loss": 1.0 / (i + 1)} for i in range(20)])
    run.finish()
    api.runs("research/docs", {"config.lr": 0.1}, order="-summary_metrics.loss")
    api.run("research/docs/r1")
    api.metric_keys("research/docs")
    api.history("research/docs/r1", ["loss"])
    api.histories(["research/docs/r1"], ["loss"])
    api.set_run_state("research/docs/r1", "finished")
    api.stop_run("research/docs/r1")
    slack = api.create_slack_integration("#docs", receiver_url, entity="research")
    hook = api.create_webhook_integration("docs-hook", receiver_url, entity="research", secret="s")
    api.integrations("research")
    api.slack_integrations("research")
    api.webhook_integrations("research")
    created = api.create_automation(
        OnRunMetric(scope=project, filter=RunEvent.metric("loss") > 5)
        >> SendWebhook.from_integration(hook),
        name="docs-automation",
    )
    api.automations("research")
    api.automation("docs-automation", entity="research")
    api.update_automation(created, description="edited")
    api.test_automation(created)
    api.automation_history(created, entity="research")
    art = api.log_artifact("research/docs", "model", "model", aliases=["best"], metadata={"a": 1})
    api.create_project("wandb-registry-model", entity="research")
    api.link_artifact(art, "research/wandb-registry-model/final", aliases=["prod"])
    api.add_artifact_alias(art, "candidate")
    api.add_artifact_tag(art, "reviewed")
    api.artifact("research/docs/model:best")
    collections = api.artifact_collections("research/docs")
    api.create_automation(
        OnCreateArtifact(scope=collections[0]) >> SendWebhook.from_integration(hook),
        name="docs-artifact",
    )
    api.delete_automation(api.automation("docs-artifact", entity="research"))
    api.delete_automation(created)
    api.artifact_events("research/docs")
    api.artifact_events(collections[0])
    assert slack.channel_name == "#docs"
    # W&B's way to read history (no bulk endpoint), as against W&B.
    api._features = frozenset(api.features() - {"HISTORY_COLUMNS"})
    api.history("research/docs/r1", ["loss"])
    api.histories(["research/docs/r1"], ["loss"])


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    recorded: Sent = []

    def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/graphql"):
            body = json.loads(request.content)
            recorded.append((body["query"], body.get("variables") or {}))

    db = tmp_path_factory.mktemp("documents") / "docs.db"
    with LocalServer(db=Path(db)) as server:
        api = server.api
        api._transport.client.event_hooks["request"].append(record)
        _workload(api, server, "http://127.0.0.1:9/hook")
        yield recorded


def test_every_document_uses_only_shapes_wandb_sends(sent: Sent) -> None:
    known = wandb_shapes()
    assert len(known) > 1000  # the extraction found wandb's documents
    unknown: dict[str, set[Shape]] = {}
    for query, _ in sent:
        extra = {s for s in shapes(parse(query)) if s not in known and not _allowed(s)}
        if extra:
            unknown.setdefault(query.split("(")[0].split("{")[0].strip(), set()).update(extra)
    assert unknown == {}, "\n".join(
        f"{op}: {sorted(map(str, found))}" for op, found in sorted(unknown.items())
    )


def _check_input(
    value: Any, type_name: str, where: str, path: tuple[str, ...], arg: str
) -> list[str]:
    """Input-object keys wandb never sends in this place: from wandb's generated input types,
    or (for wandb-core's) from the object literals its documents spell out."""
    known = wandb_shapes()
    fields = input_fields().get(type_name)
    problems = []
    for key, item in value.items():
        nested_type = None
        if fields is not None:
            if key not in fields:
                problems.append(f"{where}.{key} (not a field of wandb's {type_name})")
                continue
            nested_type = fields[key]
        elif ("arg", path, f"{arg}.{key}") not in known:
            problems.append(f"{where}.{key} (wandb never sends it in {'.'.join(path)})")
            continue
        for element in item if isinstance(item, list) else [item]:
            if isinstance(element, dict) and nested_type is not None:
                problems += _check_input(element, nested_type, f"{where}.{key}", path, arg)
    return problems


def test_every_input_object_uses_only_fields_wandb_sends(sent: Sent) -> None:
    problems = []
    checked = set()
    for query, variables in sent:
        document = parse(query)
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        types = {
            v.variable.name.value: print_ast(v.type).strip("!")
            for v in operation.variable_definitions or ()
        }
        uses = {
            (s[1], s[2], s[3].strip("!"))
            for s in shapes(document)
            if s[0] == "var" and s[3] and s[3].strip("!").endswith("Input")
        }
        for name, value in variables.items():
            if not isinstance(value, dict) or not types.get(name, "").endswith("Input"):
                continue
            for path, arg, type_name in uses:
                if type_name == types[name] and not _allowed(("var", path)):
                    problems += _check_input(value, type_name, f"${name}", path, arg)
                    checked.add(type_name)
    assert problems == [], "\n".join(sorted(set(problems)))
    assert {"AddAliasesInput", "CreateArtifactInput", "UpsertModelInput"} <= checked, checked


def test_the_input_check_catches_a_field_wandb_never_sends() -> None:
    path = ("Mutation", "addAliases")
    bogus = {"aliases": [{"alias": "a", "artifactCollectionName": "c", "color": "red"}]}
    assert _check_input(bogus, "AddAliasesInput", "$input", path, "input") == [
        "$input.aliases.color (not a field of wandb's ArtifactCollectionAliasInput)"
    ]


def test_the_workload_sent_every_kind_of_document(sent: Sent) -> None:
    names = {q.split("(")[0].split("{")[0].split()[-1] for q, _ in sent if q.split()}
    assert len(sent) > 40 and len(names) >= 25, sorted(names)


def test_additions_need_their_server_feature(tmp_path: Path) -> None:
    """Against a server without our features (W&B), each addition is a clear error that
    names the feature, sent nowhere."""
    with LocalServer(db=tmp_path / "plain.db") as server:
        api = Api(base_url=server.base_url, api_key=server.api_key)
        api._features = frozenset()  # what W&B advertises of ours: nothing
        calls = {
            "SLACK_WEBHOOK_INTEGRATIONS": lambda: api.create_slack_integration("#c", "http://x"),
            "AUTOMATION_EXECUTIONS": lambda: api.automation_history("local"),
            "AUTOMATION_TEST_FIRE": lambda: api.test_automation(_fake_automation()),
            "SECRETS_API": lambda: api.create_webhook_integration("h", "http://x", secret="s"),
            "ARTIFACT_EVENT_HISTORY": lambda: api.artifact_events("local/p"),
        }
        for feature, call in calls.items():
            with pytest.raises(UnsupportedError, match=feature):
                call()


def _fake_automation() -> Any:
    from wandb_auto_widget.automations import Automation

    return Automation.model_construct(id="QXV0b21hdGlvbjox", name="x")
