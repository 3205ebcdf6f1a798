"""The demo as users run it: ``wandb-auto-widget demo`` with its real key, ports and entity,
then the quickstart notebook top to bottom (the live firing from ``examples/train.py``
included), with the environment the demo prints. The checkout stays clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from wandb_auto_widget import LocalServer
from wandb_auto_widget.demo import Receiver, seed
from wandb_auto_widget.demo.runner import API_KEY, RECEIVER_PORT, SERVER_PORT
from wandb_auto_widget.server.local import wandb_key_problem

from ..wandb_env import wandb_env

ROOT = Path(__file__).resolve().parents[2]


def test_demo_seed_is_idempotent(tmp_path: Path) -> None:
    with Receiver() as receiver, LocalServer(db=tmp_path / "d.db") as server:
        first = seed(server.api, receiver.base_url, scale=0.05)
        runs = server.api.runs("local/demo-sweep")
        again = seed(server.api, receiver.base_url, scale=0.05)
        assert first == again and len(server.api.runs("local/demo-sweep")) == len(runs) == 30
        states = sorted({r.state for r in runs})
        assert states == ["crashed", "failed", "finished"]
        assert len(server.api.artifact_collections("local/demo-sweep")) == 1
        assert [r.name for r in server.api.registries()] == ["wandb-registry-model"]


def test_the_demo_key_is_one_wandb_accepts() -> None:
    assert wandb_key_problem(API_KEY) is None
    assert wandb_key_problem("demo-" + "0" * 35) == (
        "the part after the first '-' must have 40+ characters, has 35"
    )


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """``wandb-auto-widget demo --no-lab`` in a workspace of its own; yields the variables
    its printed export line sets, and the workspace."""
    workspace = tmp_path / "workspace"
    command = ["demo", "--root", str(ROOT), "--workspace", str(workspace), "--no-lab"]
    process = subprocess.Popen(
        [sys.executable, "-m", "wandb_auto_widget.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    for line in process.stdout:
        printed.append(line)
        if line.startswith("ready") or process.poll() is not None:
            break
    export = next((line for line in printed if line.startswith("export ")), "")
    assert export, "".join(printed)
    variables = dict(re.findall(r"(\w+)=(\S+)", export))
    try:
        yield variables, workspace
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_quickstart_runs_with_the_demos_real_settings(
    demo: tuple[dict[str, str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables, workspace = demo
    assert variables == {
        "WANDB_BASE_URL": f"http://127.0.0.1:{SERVER_PORT}",
        "WANDB_API_KEY": API_KEY,
        "DEMO_RECEIVER_URL": f"http://127.0.0.1:{RECEIVER_PORT}",
    }
    before = _git_status()
    for key, value in {
        **wandb_env(variables["WANDB_BASE_URL"], variables["WANDB_API_KEY"], tmp_path),
        **variables,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WANDB_SERVICE", raising=False)
    notebooks = workspace / "notebooks"
    notebook = nbformat.read(notebooks / "quickstart.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebooks)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = "".join(
        o.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert "would have fired" in outputs and "FINISHED" in outputs and "live-demo" in outputs
    assert (workspace / "examples" / "train.py").exists()
    assert _git_status() == before  # nothing written into the checkout
    assert os.environ["WANDB_API_KEY"] == API_KEY
