"""Unchanged wandb 0.31 scripts log into a LocalServer; both clients read the data back,
and automations fire on it."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import wandb

from wandb_auto_widget import LocalServer
from wandb_auto_widget.automations import (
    ArtifactEvent,
    OnAddArtifactAlias,
    OnCreateArtifact,
    OnLinkArtifact,
    OnRunMetric,
    OnRunState,
    RunEvent,
    SendWebhook,
)
from wandb_auto_widget.demo.receiver import Receiver
from wandb_auto_widget.preview import evaluate

from ..wandb_env import wandb_env

ROOT = Path(__file__).resolve().parents[2]
HEADER = """
import os, wandb
settings = wandb.Settings(x_disable_stats=True, x_disable_meta=True, x_disable_machine_info=True,
                          x_stats_coreweave_metadata_base_url=os.environ["WANDB_BASE_URL"])
"""


def run_script(
    server: LocalServer, home: Path, body: str, *args: str
) -> subprocess.CompletedProcess[str]:
    script = home / "script.py"
    script.write_text(HEADER + textwrap.dedent(body))
    # Not WANDB_SERVICE: wandb.Api() in this test process may have started a wandb-core
    # service; each script must start its own, with its own logs.
    env = {
        **{k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"},
        **wandb_env(server.base_url, server.api_key, home),
        "HOME": str(home),
    }
    done = subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        cwd=home,  # anything the script writes by relative path stays in the test's folder
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sdk_complaints(home) == []
    return done


def sdk_complaints(home: Path) -> list[str]:
    """Warnings and errors in wandb's own logs (the SDK runs silently here, so its terminal
    shows nothing): a request the server answered wrongly shows up in these."""
    # wandb-core logs JSON lines ("level":"ERROR"); the Python side "<date> <time> ERROR ...".
    markers = ('"level":"WARN', '"level":"ERROR', " WARNING ", " ERROR ")
    # About the client's own settings, not the server: WANDB_DISABLE_CODE turns jobs off.
    expected = ("job builder disabled",)
    return [
        f"{log.name}: {line[:300]}"
        for log in (home / "wandb").rglob("debug*.log")
        for line in log.read_text(errors="replace").splitlines()
        if any(marker in line for marker in markers) and not any(e in line for e in expected)
    ]


@pytest.fixture
def sdk_server(tmp_path: Path) -> LocalServer:
    with LocalServer(db=tmp_path / "sdk.db") as server:
        yield server  # type: ignore[misc]


def test_init_log_finish_and_automations(sdk_server: LocalServer, tmp_path: Path) -> None:
    api = sdk_server.api
    with Receiver() as receiver:
        project = api.create_project("sdk")
        hook = api.create_webhook_integration("hook", receiver.url)
        api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").mean(5) < 0.01)
            >> SendWebhook.from_integration(
                hook, payload={"run": "${run_name}", "step": "${step}"}
            ),
            name="converged",
        )
        api.create_automation(
            OnRunState(scope=project, filter=RunEvent.state.eq("failed"))
            >> SendWebhook.from_integration(hook, payload={"failed": "${run_name}"}),
            name="failed",
        )
        run_script(
            sdk_server,
            tmp_path,
            """
            run = wandb.init(entity="local", project="sdk", name="ok", id="ok-run",
                             config={"lr": 0.1},
                             tags=["a"], settings=settings)
            for i in range(1000):
                run.log({"loss": 1 / (i + 1), "acc": i / 1000})
            print("hello from the run")
            run.finish(exit_code=0)
            bad = wandb.init(entity="local", project="sdk", name="bad", id="bad-run",
                             settings=settings)
            bad.log({"loss": 1.0})
            bad.finish(exit_code=1)
        """,
        )
        deliveries = receiver.wait_for(2)
    assert sorted(d.json.get("run", d.json.get("failed")) for d in deliveries) == ["bad", "ok"]
    converged = next(d.json for d in deliveries if "step" in d.json)
    rows = [{"_step": i, "_timestamp": 0.0, "loss": 1 / (i + 1)} for i in range(1000)]
    first = evaluate(RunEvent.metric("loss").mean(5) < 0.01, {"r": rows}, policy="every")
    assert converged["step"] == str(first["r"].condition_steps[0])  # what the preview shows
    ours = api.run("local/sdk/ok-run")
    assert (
        ours.state == "finished"
        and ours.summary is not None
        and ours.summary["loss"] == pytest.approx(0.001)
    )
    assert api.history(ours, ["loss"])["_step"].tolist() == list(range(1000))
    assert api.run("local/sdk/bad-run").state == "failed"
    output = sdk_server.db_path.parent / "files"
    assert any(p.name == "requirements.txt" for p in output.rglob("*"))
    theirs = wandb.Api(overrides={"base_url": sdk_server.base_url}, api_key=sdk_server.api_key)
    run = theirs.run("local/sdk/ok-run")
    assert run.state == "finished" and run.summary["acc"] == pytest.approx(0.999)
    assert len(list(run.scan_history(keys=["loss"]))) == 1000


def test_resume_continues_history(sdk_server: LocalServer, tmp_path: Path) -> None:
    body = """
        run = wandb.init(entity="local", project="sdk", id="resumed", resume="allow",
                         settings=settings)
        for i in range(10):
            run.log({"x": float(i)})
        run.finish()
    """
    run_script(sdk_server, tmp_path, body)
    run_script(sdk_server, tmp_path, body)
    columns = sdk_server.api.history("local/sdk/resumed", ["x"])
    assert columns["_step"].tolist() == list(range(20))


def test_log_and_link_artifacts(sdk_server: LocalServer, tmp_path: Path) -> None:
    api = sdk_server.api
    with Receiver() as receiver:
        api.create_project("sdk")
        registry = api.create_project("wandb-registry-model")
        hook = api.create_webhook_integration("hook", receiver.url)
        api.log_artifact("local/sdk", "model", "model")  # v0, so that the collection exists
        api.create_automation(
            OnCreateArtifact(scope=api.artifact_collections("local/sdk")[0])
            >> SendWebhook.from_integration(
                hook,
                payload={
                    "created": "${artifact_version_string}",
                    "acc": "${artifact_metadata.acc}",
                },
            ),
            name="created",
        )
        api.create_automation(
            OnLinkArtifact(scope=registry)
            >> SendWebhook.from_integration(hook, payload={"linked": "${artifact_version_string}"}),
            name="linked",
        )
        api.create_automation(
            OnAddArtifactAlias(scope=registry, filter=ArtifactEvent.alias.matches_regex("^prod$"))
            >> SendWebhook.from_integration(hook, payload={"alias": "${alias}"}),
            name="promoted",
        )
        run_script(
            sdk_server,
            tmp_path,
            """
            run = wandb.init(entity="local", project="sdk", id="trainer", settings=settings)
            def log_model(content, acc, aliases):
                path = os.path.join(os.environ["HOME"], "model.bin")
                with open(path, "wb") as f:
                    f.write(content)
                art = wandb.Artifact("model", "model", metadata={"acc": acc})
                art.add_file(path)
                run.log_artifact(art, aliases=aliases)
                art.wait()
                return art
            log_model(b"weights-1", 0.8, ["best"])
            final = log_model(b"weights-2" * 1000, 0.9, ["candidate"])
            same = log_model(b"weights-2" * 1000, 0.9, ["rerun"])  # same content: no new version
            assert same.version == final.version == "v2", (same.version, final.version)
            linked = run.link_artifact(final, "wandb-registry-model/classifier", aliases=["prod"])
            assert linked.version == "v0", linked.version
            run.finish()
            """,
        )
        deliveries = receiver.wait_for(4)
        time.sleep(0.3)  # nothing more may arrive
        assert len(receiver.deliveries) == 4
    got = sorted(json.dumps(d.json, sort_keys=True) for d in deliveries)
    assert got == sorted(
        json.dumps(x, sort_keys=True)
        for x in [
            {"created": "local/sdk/model:v1", "acc": "0.8"},
            {"created": "local/sdk/model:v2", "acc": "0.9"},
            {"linked": "local/wandb-registry-model/classifier:v0"},
            {"alias": "prod"},
        ]
    )
    # Our Api and the real wandb.Api read back the same versions and aliases.
    best, latest = api.artifact("local/sdk/model:best"), api.artifact("local/sdk/model:latest")
    assert (best.version, best.metadata, best.size) == ("v1", {"acc": 0.8}, 9)
    assert (latest.version, sorted(latest.aliases)) == ("v2", ["candidate", "latest", "rerun"])
    promoted = api.artifact("local/wandb-registry-model/classifier:prod")
    assert promoted.id == latest.id and sorted(promoted.aliases) == ["latest", "prod"]
    theirs = wandb.Api(overrides={"base_url": sdk_server.base_url}, api_key=sdk_server.api_key)
    art = theirs.artifact("local/sdk/model:v2")
    assert (art.type, art.size, art.file_count, art.metadata) == ("model", 9000, 1, {"acc": 0.9})
    assert sorted(art.aliases) == ["candidate", "latest", "rerun"]
    assert theirs.artifact("local/sdk/model:best").version == "v1"
    assert sorted(theirs.artifact("local/wandb-registry-model/classifier:v0").aliases) == [
        "latest",
        "prod",
    ]
    stored = sdk_server.db_path.parent / "files" / "artifacts" / "objects"
    contents = sorted(p.read_bytes() for p in stored.iterdir())
    assert contents == [b"weights-1", b"weights-2" * 1000]  # each content stored once
    # Another machine (an empty wandb cache) downloads what was logged, two ways.
    reader = tmp_path / "reader"
    reader.mkdir()
    run_script(
        sdk_server,
        reader,
        """
        api = wandb.Api()
        home = os.environ["HOME"]
        listed = [(f.name, f.size) for f in api.artifact("local/sdk/model:v2").files()]
        assert listed == [("model.bin", 9000)], listed
        best = api.artifact("local/sdk/model:best").download(root=os.path.join(home, "best"))
        assert open(os.path.join(best, "model.bin"), "rb").read() == b"weights-1"
        run = wandb.init(entity="local", project="sdk", id="evaluator", settings=settings)
        prod = run.use_artifact("local/wandb-registry-model/classifier:prod").download(
            root=os.path.join(home, "prod")
        )
        assert open(os.path.join(prod, "model.bin"), "rb").read() == b"weights-2" * 1000
        run.finish()
        """,
    )
    # Lineage: what each run logged and used.
    logged = [a.version for a in theirs.run("local/sdk/trainer").logged_artifacts()]
    assert logged == ["v1", "v2"]  # the deduplicated third log added no version
    used = theirs.run("local/sdk/evaluator").used_artifacts()
    assert [a.id for a in used] == [latest.id]


def test_alert_reaches_slack_and_is_throttled(sdk_server: LocalServer, tmp_path: Path) -> None:
    api = sdk_server.api
    with Receiver() as receiver:
        api.create_slack_integration("#alerts", receiver.url)
        run_script(
            sdk_server,
            tmp_path,
            """
            run = wandb.init(entity="local", project="sdk", id="alerting", settings=settings)
            run.alert(title="loss is nan", text="check the learning rate", level="ERROR")
            run.alert(title="loss is nan", text="again", level="ERROR")  # within wait_duration
            run.alert(title="done", text="finished", wait_duration=1)
            run.finish()
        """,
        )
        messages = receiver.wait_for(2)
    titles = sorted(m.json["blocks"][0]["text"]["text"] for m in messages)
    assert titles == ["done", "loss is nan"]
    history = api.automation_history(limit=10)
    assert {e.automation_name for e in history} == {"alert: loss is nan", "alert: done"}


def test_example_training_script(sdk_server: LocalServer, tmp_path: Path) -> None:
    script = (ROOT / "examples" / "train.py").read_text()
    (tmp_path / "train.py").write_text(script)
    run_script(
        sdk_server,
        tmp_path,
        "exec(open(__file__.replace('script.py', 'train.py')).read())",
        "--project",
        "demo",
        "--steps",
        "60",
        "--name",
        "example",
        "--diverge-at",
        "40",
    )
    runs = sdk_server.api.runs("local/demo")
    assert [r.display_name for r in runs] == ["example"] and runs[0].state == "finished"
    val = sdk_server.api.history(runs[0], ["val/loss"])["val/loss"]
    assert len(val) == 60 and val[-1] > val[39]  # it diverges after step 40


def test_nan_and_inf_are_stored_and_read_back(sdk_server: LocalServer, tmp_path: Path) -> None:
    """A diverging loss is what an automation exists to catch: the run must not be lost."""
    run_script(
        sdk_server,
        tmp_path,
        """
        run = wandb.init(entity="local", project="sdk", id="diverged", settings=settings)
        run.log({"loss": 1.0})
        run.log({"loss": float("nan")})
        run.log({"loss": float("inf")})
        run.log({"loss": float("-inf")})
        run.finish()
        """,
    )
    api = sdk_server.api
    ours = api.run("local/sdk/diverged")
    assert ours.state == "finished"
    got = api.history(ours, ["loss"])["loss"].tolist()
    assert got[0] == 1.0 and math.isnan(got[1]) and got[2:] == [math.inf, -math.inf]
    theirs = wandb.Api(overrides={"base_url": sdk_server.base_url}, api_key=sdk_server.api_key)
    run = theirs.run("local/sdk/diverged")
    assert run.state == "finished"
    assert run.summary["loss"] == -math.inf
    full = run.history(pandas=False)  # whole rows, as logged
    assert [r["loss"] for r in full][2:] == [math.inf, -math.inf] and math.isnan(full[1]["loss"])
    # By key, W&B's JSON spells them as strings (wandb's make_safe_for_json); our Api reads
    # those back as floats on any server.
    by_key = [r["loss"] for r in run.history(keys=["loss"], pandas=False)]
    assert by_key == [1.0, "NaN", "Infinity", "-Infinity"]
