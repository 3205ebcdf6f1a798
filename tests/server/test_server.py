"""The server over HTTP: storage guarantees, bad input, and state it must not lose."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import ValidationError
from wandb_auto_widget.server import Database
from wandb_auto_widget.server.store.migrations import MIGRATIONS


def post(server: LocalServer, body: object, **kwargs: object) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/graphql", json=body, auth=("api", server.api_key), timeout=30, **kwargs
    )


def test_database_is_wal_with_foreign_keys_and_migrations(db_path: Path) -> None:
    db = Database(db_path)
    conn = db.read()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
        conn.execute("DELETE FROM entities")  # readers cannot write
    with db.write() as write:
        assert write.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.schema_version == len(MIGRATIONS)
    db.close()
    assert Database(db_path).schema_version == len(MIGRATIONS)  # re-opening migrates nothing twice
    with pytest.raises(sqlite3.IntegrityError), Database(db_path).write() as write:
        write.execute("INSERT INTO projects(entity_id, name, created_at) VALUES (999, 'x', 'now')")


def test_data_survives_a_restart(db_path: Path) -> None:
    with LocalServer(db=db_path, api_key="k1") as first:
        first.api.create_project("kept")
    with LocalServer(db=db_path, api_key="k1") as second:
        assert second.api.project("kept").name == "kept"


def test_auth_is_required_basic_or_bearer(server: LocalServer) -> None:
    query = {"query": "{ viewer { entity } }"}
    assert httpx.post(f"{server.base_url}/graphql", json=query).status_code == 401
    bearer = {"Authorization": f"Bearer {server.api_key}"}
    ok = httpx.post(f"{server.base_url}/graphql", json=query, headers=bearer)
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["entity"] == "local"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"query": "{ viewer { entity "}, 400, "Syntax Error"),
        ({"query": "{ viewer { nope } }"}, 400, "nope"),
        (
            {"query": "query ($n: String!) { project(name: $n) { id } }", "variables": {"n": 5}},
            400,
            "String",
        ),
        ({"variables": {}}, 400, "query"),
    ],
)
def test_malformed_requests_get_clear_4xx(
    server: LocalServer, body: object, status: int, message: str
) -> None:
    response = post(server, body)
    assert response.status_code == status
    assert message in response.json()["errors"][0]["message"]


def test_huge_bodies_get_413(server: LocalServer) -> None:
    response = post(server, {"query": "{ viewer { entity } }", "pad": "x" * (9 * 1024 * 1024)})
    assert response.status_code == 413


def test_bad_trigger_input_names_the_field_and_writes_nothing(
    server: LocalServer, api: Api, project_name: str
) -> None:
    project = api.create_project(project_name)
    mutation = (
        "mutation ($input: CreateFilterTriggerInput!) "
        "{ createFilterTrigger(input: $input) { trigger { id } } }"
    )
    base = {
        "name": f"{project_name}-bad",
        "enabled": True,
        "scopeType": "PROJECT",
        "scopeID": project.id,
        "triggeringEventType": "RUN_METRIC",
        "eventFilter": json.dumps(
            {
                "run_filter": '{"$and": []}',
                "run_metric_filter": {
                    "threshold_filter": {
                        "name": "loss",
                        "window_size": 0,
                        "cmp_op": "$gt",
                        "threshold": 1,
                    }
                },
            }
        ),
        "triggeredActionType": "NO_OP",
        "triggeredActionConfig": {"noOpActionInput": {"noOp": True}},
    }
    cases = [
        ({}, "window"),
        ({"eventFilter": "not json"}, "eventFilter"),
        ({"scopeID": "bm9wZQ=="}, "scopeID"),
        ({"triggeredActionType": "GENERIC_WEBHOOK"}, "triggeredActionConfig"),
        ({"name": "x" * 300}, "name"),
        (
            {
                "triggeredActionType": "ARIA",
                "triggeredActionConfig": {"ariaActionInput": {"prompt": "summarize"}},
            },
            "triggeredActionType: ARIA prompts run only on W&B",
        ),
    ]
    for change, field in cases:
        response = post(server, {"query": mutation, "variables": {"input": {**base, **change}}})
        assert response.status_code < 500
        assert field in response.json()["errors"][0]["message"], (change, response.json())
    assert api.automations(name=f"{project_name}-bad") == []
    assert api.viewer()["entity"] == "local"  # still serving


def test_unknown_things(server: LocalServer, api: Api) -> None:
    assert post(
        server, {"query": '{ project(name: "nope", entityName: "nobody") { id } }'}
    ).json() == {"data": {"project": None}}
    response = post(
        server,
        {"query": 'mutation { deleteTrigger(input: {triggerID: "VHJpZ2dlcjo5OTk="}) { success } }'},
    )
    assert response.status_code == 404


def test_file_stream_rejects_bad_batches_whole(
    server: LocalServer, api: Api, project_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    api.create_project(project_name)
    run = api.init_run(f"local/{project_name}", run_id="fs")
    url = f"{server.base_url}/files/local/{project_name}/fs/file_stream"
    auth = ("api", server.api_key)

    def send(body: object) -> httpx.Response:
        return httpx.post(url, json=body, auth=auth)

    good = '{"_step": 0, "x": 1}'
    history = "wandb-history.jsonl"
    assert send({"files": {history: {"offset": 5, "content": [good]}}}).status_code == 400
    bad = send({"files": {history: {"offset": 0, "content": [good, "{not json"]}}})
    assert bad.status_code == 400 and "content[1]" in bad.json()["errors"][0]["message"]
    unknown = httpx.post(
        f"{server.base_url}/files/local/{project_name}/nope/file_stream", json={}, auth=auth
    )
    assert unknown.status_code == 404
    assert api.run(run.path).last_step is None  # nothing of the bad batch was written
    console = {"output.log": {"offset": 0, "content": ["epoch 1"]}}
    bad_exit = send({"files": console, "complete": True, "exitcode": "one"})
    assert bad_exit.status_code == 400 and "exitcode" in bad_exit.json()["errors"][0]["message"]
    internal_id = base64.b64decode(api.run(run.path).id).decode().split(":")[1]
    assert not (server.db_path.parent / "files" / internal_id / "output.log").exists()
    assert api.run(run.path).state == "running"
    assert send({"files": {history: {"offset": 0, "content": [good]}}}).status_code == 200
    assert send({"files": {history: {"offset": 0, "content": [good]}}}).status_code == 200  # replay
    assert api.history(run.path, ["x"])["x"].tolist() == [1.0]
    # Each rejection left a warning in the server's log, naming the run and the reason.
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected) == 4 and all(f"{project_name}/" in m for m in rejected)
    assert any("offset" in m for m in rejected) and any("content[1]" in m for m in rejected)


def test_secrets_never_come_back(server: LocalServer, api: Api) -> None:
    api.create_slack_integration("#secret-test", "http://127.0.0.1:9/slack-secret-url")
    api.create_webhook_integration(
        "secret-hook", "http://127.0.0.1:9/h", secret="TOPSECRET", access_token="TOKEN123"
    )
    body = post(
        server,
        {
            "query": '{ entity(name: "local") { integrations { edges { node { __typename '
            "... on SlackIntegration { id teamName channelName } "
            "... on GenericWebhookIntegration { id name urlEndpoint } } } } } }"
        },
    ).text
    assert "TOPSECRET" not in body and "TOKEN123" not in body and "slack-secret-url" not in body
    assert "secret-hook" in body


def test_stop_run_reaches_the_logger(api: Api, project_name: str) -> None:
    api.create_project(project_name)
    run = api.init_run(f"local/{project_name}", run_id="stoppable")
    assert run.log({"x": 1.0}) is False
    api.stop_run(run.path)
    assert run.log({"x": 2.0}) is True  # the file_stream answer said {"stopped": true}


def test_oversized_file_stream_gets_413(
    server: LocalServer, api: Api, project_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    api.create_project(project_name)
    api.init_run(f"local/{project_name}", run_id="big")
    line = '{"_step": 0, "pad": "' + "x" * 1_000_000 + '"}'
    response = httpx.post(
        f"{server.base_url}/files/local/{project_name}/big/file_stream",
        json={"files": {"wandb-history.jsonl": {"offset": 0, "content": [line] * 70}}},
        auth=("api", server.api_key),
        timeout=60,
    )
    assert response.status_code == 413
    assert any(f"{project_name}/big/file_stream rejected" in r.getMessage() for r in caplog.records)
    assert api.run(f"local/{project_name}/big").last_step is None


def test_upload_urls_are_signed(server: LocalServer, api: Api, project_name: str) -> None:
    api.create_project(project_name)
    api.init_run(f"local/{project_name}", run_id="files")
    created = post(
        server,
        {
            "query": 'mutation { createRunFiles(input: {entityName: "local", '
            f'projectName: "{project_name}", runName: "files", '
            'files: ["notes.txt"]}) { files { name uploadUrl } } }'
        },
    ).json()
    url = created["data"]["createRunFiles"]["files"][0]["uploadUrl"]
    assert httpx.put(url, content=b"hello").status_code == 200  # no Authorization needed
    assert httpx.put(url[:-3] + "xyz", content=b"forged").status_code == 403


def test_migration_keeps_fire_policy_state(db_path: Path) -> None:
    """Migration 6 splits the engine's state: each automation keeps whether its condition
    held and when it last fired (so an upgrade never fires twice); windows refill."""
    conn = sqlite3.connect(db_path)
    for script in MIGRATIONS[:5]:
        conn.executescript(script)
    old_state = {"last_condition": True, "last_fire_ts": 1.7e9, "prefix": [0.0, 1.0]}
    conn.executescript(
        f"""
        PRAGMA user_version=5;
        INSERT INTO entities(id, name, created_at) VALUES (1, 'local', 'now');
        INSERT INTO projects(id, entity_id, name, created_at) VALUES (1, 1, 'p', 'now');
        INSERT INTO runs(id, project_id, name, created_at, heartbeat_at)
            VALUES (1, 1, 'r', 'now', 'now');
        INSERT INTO triggers(id, entity_id, name, enabled, scope_type, scope_id, event_type,
                             event_filter, action_type, action_config, created_at)
            VALUES (1, 1, 'a', 1, 'PROJECT', 'x', 'RUN_METRIC', '{{}}', 'NO_OP', '{{}}', 'now');
        INSERT INTO evaluator_state VALUES (1, 1, 'f', '{json.dumps(old_state)}');
        """
    )
    conn.close()
    db = Database(db_path)
    state = db.read().execute("SELECT fingerprint, state FROM evaluator_state").fetchone()
    assert (state[0], json.loads(state[1])) == ("f", [True, 1.7e9])
    db.close()


def test_runs_order_like_w_and_b_with_nulls_lowest(api: Api) -> None:
    api.create_entity("ordering-team")
    path = "ordering-team/order"
    api.create_project("order", entity="ordering-team")
    for name, acc, lr in (("b", 0.5, 0.1), ("a", None, 0.3), ("c", 0.9, None)):
        run = api.init_run(
            path, run_id=name, name=name.upper(), config={} if lr is None else {"lr": lr}
        )
        if acc is not None:
            run.log({"acc": acc})

    def order(key: str) -> list[str]:
        return [r.name for r in api.runs(path, order=key)]

    assert order("+summary_metrics.acc") == ["a", "b", "c"]  # no value sorts lowest
    assert order("-summary_metrics.acc") == ["c", "b", "a"]
    assert order("+config.lr.value") == ["c", "b", "a"]
    assert order("-display_name") == ["c", "b", "a"]
    assert order("+created_at") == ["b", "a", "c"] and order("-created_at") == ["c", "a", "b"]
    assert order("-heartbeat_at")[0] == "c"
    with pytest.raises(ValidationError, match="order: '\\+size' is not an order"):
        api.runs(path, order="+size")
