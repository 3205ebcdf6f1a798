"""The quickstart notebook runs top to bottom against the demo setup (seeded server,
receiver), with no error in any cell."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from wandb_auto_widget import LocalServer
from wandb_auto_widget.demo import DemoReceiver, seed

ROOT = Path(__file__).resolve().parents[2]


def test_demo_seed_is_idempotent(tmp_path: Path) -> None:
    with DemoReceiver(echo=False) as receiver, LocalServer(db=tmp_path / "d.db") as server:
        first = seed(server.api, receiver.url, scale=0.05)
        runs = server.api.runs("local/demo-sweep")
        again = seed(server.api, receiver.url, scale=0.05)
        assert first == again and len(server.api.runs("local/demo-sweep")) == len(runs) == 30
        states = sorted({r.state for r in runs})
        assert states == ["crashed", "failed", "finished"]
        assert len(server.api.artifact_collections("local/demo-sweep")) == 1
        assert [r.name for r in server.api.registries()] == ["wandb-registry-model"]


def test_quickstart_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with DemoReceiver(echo=False) as receiver, LocalServer(db=tmp_path / "demo.db") as server:
        seed(server.api, receiver.url, scale=0.1)
        for key, value in {
            "WANDB_BASE_URL": server.base_url,
            "WANDB_API_KEY": server.api_key,
            "DEMO_RECEIVER_URL": receiver.url,
            "WANDB_SILENT": "true",
            "WANDB_ERROR_REPORTING": "false",
            "WANDB_DISABLE_GIT": "true",
            "WANDB_DISABLE_CODE": "true",
            "WANDB_DIR": str(tmp_path),
            "WANDB_CONFIG_DIR": str(tmp_path / "config"),
            "WANDB_CACHE_DIR": str(tmp_path / "cache"),
            "WANDB_DATA_DIR": str(tmp_path / "data"),
        }.items():
            monkeypatch.setenv(key, value)
        notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
        client = NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(ROOT / "notebooks")}},
        )
        client.execute()  # raises CellExecutionError on the first failing cell
        outputs = "".join(
            o.get("text", "")
            for cell in notebook.cells
            if cell.cell_type == "code"
            for o in cell.outputs
        )
        assert "would have fired" in outputs and "FINISHED" in outputs
        assert any(d["path"] == "/slack" for d in receiver.received)
    assert os.environ.get("WANDB_BASE_URL") == server.base_url  # monkeypatch still in force here
