"""An ordinary training script and an ordinary analysis script, unchanged wandb 0.31, against
the embedded server in a team entity. Every step asserts what it stored, in the scripts
(through wandb) and here (through our Api and the database)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from wandb_auto_widget import LocalServer
from wandb_auto_widget.api import NotFoundError

from .test_wandb_sdk import run_script

TRAIN = """
import numpy as np
home = os.environ["HOME"]
run = wandb.init(entity="research", project="everyday", id="train-1", name="baseline",
                 config={"lr": 0.01, "layers": 3, "optimizer": {"name": "adam"}},
                 tags=["baseline", "cnn"], group="sweep-1", job_type="train",
                 notes="first try", settings=settings)
run.define_metric("val/acc", summary="max")
for step in range(50):
    run.log({"loss": 1.0 / (step + 1), "val/acc": step / 50})
run.log({
    "sample": wandb.Image(np.zeros((8, 8, 3), dtype=np.uint8), caption="zeros"),
    "preds": wandb.Table(columns=["x", "y"], data=[[1, 2], [3, 4]]),
    "weights": wandb.Histogram(np.arange(10)),
})
run.summary["best_epoch"] = 7
with open(os.path.join(home, "ckpt.pt"), "wb") as f:
    f.write(b"checkpoint-bytes")
wandb.save(os.path.join(home, "ckpt.pt"), base_path=home, policy="now")

os.makedirs(os.path.join(home, "dataset", "split"), exist_ok=True)
for name, content in (("train.csv", b"a,b\\n1,2\\n"), ("split/test.csv", b"a,b\\n3,4\\n")):
    with open(os.path.join(home, "dataset", name), "wb") as f:
        f.write(content)
with open(os.path.join(home, "readme.txt"), "wb") as f:
    f.write(b"dataset card")
art = wandb.Artifact("dataset", "dataset", description="toy data", metadata={"rows": 2})
art.add_dir(os.path.join(home, "dataset"))
art.add_file(os.path.join(home, "readme.txt"))
run.log_artifact(art, aliases=["first"])
art.wait()
assert art.version == "v0", art.version
with open(os.path.join(home, "dataset", "train.csv"), "ab") as f:
    f.write(b"5,6\\n")
art2 = wandb.Artifact("dataset", "dataset", metadata={"rows": 3})
art2.add_dir(os.path.join(home, "dataset"))
run.log_artifact(art2)
art2.wait()
assert art2.version == "v1", art2.version
run.link_artifact(art2, "wandb-registry-dataset/toy", aliases=["staging"])
weights = wandb.Artifact("weights", "model")
weights.add_file(os.path.join(home, "ckpt.pt"))
run.log_artifact(weights)
weights.wait()
run.alert(title="trained", text="baseline done", level="INFO")
run.finish(exit_code=0)

broken = wandb.init(entity="research", project="everyday", id="train-2", name="lr-too-high",
                    config={"lr": 1.0, "layers": 3}, tags=["cnn"], group="sweep-1",
                    settings=settings)
for step in range(5):
    broken.log({"loss": 10.0 * (step + 1), "val/acc": 0.01})
broken.finish(exit_code=1)
"""

RESUME = """
resumed = wandb.init(entity="research", project="everyday", id="train-1", resume="must",
                     settings=settings)
assert resumed.config["lr"] == 0.01
resumed.log({"loss": 0.001, "val/acc": 0.99})
resumed.finish()
"""

ANALYZE = """
home = os.environ["HOME"]
api = wandb.Api()
path = "research/everyday"

# Filters and orders.
names = sorted(r.id for r in api.runs(path))
assert names == ["train-1", "train-2"], names
low = [r.id for r in api.runs(path, filters={"config.lr": 0.01})]
assert low == ["train-1"], low
failed = [r.id for r in api.runs(path, filters={"state": "failed"})]
assert failed == ["train-2"], failed
tagged = sorted(r.id for r in api.runs(path, filters={"tags": {"$in": ["baseline"]}}))
assert tagged == ["train-1"], tagged
by_acc = [r.id for r in api.runs(path, order="-summary_metrics.val/acc")]
assert by_acc == ["train-1", "train-2"], by_acc
by_acc_up = [r.id for r in api.runs(path, order="+summary_metrics.val/acc")]
assert by_acc_up == ["train-2", "train-1"], by_acc_up
by_lr = [r.id for r in api.runs(path, order="+config.lr.value")]
assert by_lr == ["train-1", "train-2"], by_lr
by_name = [r.name for r in api.runs(path, order="-display_name")]
assert by_name == ["lr-too-high", "baseline"], by_name
try:
    api.runs(path, order="+no_such_field")[0]
except Exception as exc:
    assert "order" in str(exc), exc
else:
    raise AssertionError("an unsupported order key must be an error")

run = api.run(path + "/train-1")
assert run.state == "finished" and run.group == "sweep-1" and run.job_type == "train"
assert run.notes == "first try" and sorted(run.tags) == ["baseline", "cnn"]
assert run.config["optimizer"] == {"name": "adam"}
assert run.summary["best_epoch"] == 7 and run.summary["val/acc"] == 0.99
history = run.history(keys=["loss"], pandas=False)
assert len(history) == 51 and history[-1]["loss"] == 0.001, history[-3:]
scanned = [row["loss"] for row in run.scan_history(keys=["loss"])]
assert len(scanned) == 51 and scanned[0] == 1.0

# Files: listing, download, restore.
files = {f.name: f for f in run.files()}
assert "ckpt.pt" in files and files["ckpt.pt"].size == len(b"checkpoint-bytes"), list(files)
assert any(name.startswith("media/images/") for name in files), list(files)
assert len(run.files()) == len(files)
got = run.file("ckpt.pt").download(root=os.path.join(home, "dl"), replace=True)
assert open(got.name, "rb").read() == b"checkpoint-bytes"
restored = wandb.restore("ckpt.pt", run_path=path + "/train-1", root=os.path.join(home, "r"))
assert open(restored.name, "rb").read() == b"checkpoint-bytes"

# Artifacts: types, collections, versions, files, entries.
types = [t.name for t in api.artifact_types(path)]
assert "dataset" in types, types
collections = [c.name for c in api.artifact_type("dataset", path).collections()]
assert collections == ["dataset"], collections
collections = [c.name for c in api.artifact_collections(path, "dataset")]
assert collections == ["dataset"], collections
collection = api.artifact_collection("dataset", path + "/dataset")
assert collection.name == "dataset" and collection.type == "dataset"
versions = sorted(a.version for a in api.artifacts("dataset", path + "/dataset"))
assert versions == ["v0", "v1"], versions
versions = sorted(a.version for a in api.artifact_versions("dataset", path + "/dataset"))
assert versions == ["v0", "v1"], versions
first = api.artifact(path + "/dataset:first")
assert first.version == "v0" and first.metadata == {"rows": 2}, (first.version, first.metadata)
assert first.description == "toy data", first.description
listed = sorted(f.name for f in first.files())
assert listed == ["readme.txt", "split/test.csv", "train.csv"], listed
card = first.get_entry("readme.txt").download(root=os.path.join(home, "entry"))
assert open(card, "rb").read() == b"dataset card"
latest = api.artifact(path + "/dataset:latest")
assert latest.version == "v1" and latest.metadata == {"rows": 3}, (latest.version, latest.metadata)
whole = latest.download(root=os.path.join(home, "whole"))
assert open(os.path.join(whole, "train.csv"), "rb").read() == b"a,b\\n1,2\\n5,6\\n"
assert open(os.path.join(whole, "split", "test.csv"), "rb").read() == b"a,b\\n3,4\\n"
linked = api.artifact("research/wandb-registry-dataset/toy:staging")
assert linked.version == "v0" and "staging" in linked.aliases, linked.aliases

# Aliases and metadata edited through save().
latest.aliases.append("prod")
latest.metadata["checked"] = True
latest.description = "toy data, checked"
latest.save()
again = api.artifact(path + "/dataset:prod")
assert again.version == "v1" and again.metadata == {"rows": 3, "checked": True}
assert again.description == "toy data, checked"
again.aliases.remove("prod")
again.save()
assert "prod" not in api.artifact(path + "/dataset:v1").aliases

# run.stop (what the App's Stop button does) and run.update, run.delete.
api.run(path + "/train-1").stop()
other = api.run(path + "/train-2")
other.tags.append("bad-lr")
other.summary["note"] = "diverged"
other.update()
api.flush()  # wandb.Api caches what it read
other = api.run(path + "/train-2")
assert "bad-lr" in other.tags and other.summary["note"] == "diverged"
other.delete()
api.flush()
assert [r.id for r in api.runs(path)] == ["train-1"]
"""

SINGLE_FILE = """
api = wandb.Api()
art = api.artifact("research/everyday/dataset:v0")
path = art.get_entry("train.csv").download(root=os.path.join(os.environ["HOME"], "one"))
assert open(path, "rb").read() == b"a,b\\n1,2\\n"
run = wandb.init(entity="research", project="everyday", id="eval-1", settings=settings)
used = run.use_artifact("research/everyday/weights:latest")
path = used.file(root=os.path.join(os.environ["HOME"], "used"))
assert open(path, "rb").read() == b"checkpoint-bytes", path
run.finish()
"""


@pytest.fixture
def team_server(tmp_path: Path) -> LocalServer:
    with LocalServer(db=tmp_path / "everyday.db") as server:
        server.api.create_entity("research")
        yield server  # type: ignore[misc]


def test_an_ordinary_training_and_analysis_session(
    team_server: LocalServer, tmp_path: Path
) -> None:
    api = team_server.api
    api.create_slack_integration("#ml", "http://127.0.0.1:9/slack", entity="research")
    trainer = tmp_path / "trainer"
    trainer.mkdir()
    run_script(team_server, trainer, TRAIN)
    run_script(team_server, trainer, RESUME)  # the next day, a new process
    # What the server stored, read through our Api.
    run = api.run("research/everyday/train-1")
    assert run.state == "finished" and run.last_step == 51
    assert run.config is not None and run.config["lr"] == 0.01
    assert sorted(run.tags) == ["baseline", "cnn"], run.tags
    loss = api.history(run, ["loss"])["loss"].tolist()
    assert len(loss) == 51 and loss[-1] == 0.001 and math.isclose(loss[0], 1.0)
    assert api.run("research/everyday/train-2").state == "failed"
    assert [a.version for a in (api.artifact("research/everyday/dataset:v1"),)] == ["v1"]
    # A second machine, with an empty wandb cache, reads it all back.
    analyst = tmp_path / "analyst"
    analyst.mkdir()
    run_script(team_server, analyst, ANALYZE)
    assert [r.name for r in api.runs("research/everyday")] == ["train-1"]
    with pytest.raises(NotFoundError):
        api.run("research/everyday/train-2")
    kept = team_server.db_path.parent
    with sqlite3.connect(kept / "everyday.db") as conn:
        (stop,) = conn.execute("SELECT stop_requested FROM runs WHERE name = 'train-1'").fetchone()
    assert stop == 1
    v1 = api.artifact("research/everyday/dataset:v1")
    assert v1.metadata == {"rows": 3, "checked": True} and "prod" not in v1.aliases
    third = tmp_path / "third"
    third.mkdir()
    run_script(team_server, third, SINGLE_FILE)
