"""The builder in marimo, which has anywidget's model.send but not its experimental commands:
build, backtest and save, every round trip over the same messages as in Jupyter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from wandb_auto_widget import LocalServer

from .conftest import _free_port

NOTEBOOK = """
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    from wandb_auto_widget import AutomationBuilder

    builder = mo.ui.anywidget(AutomationBuilder(project="marimo-proj"))
    builder
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture(scope="module")
def marimo_project(server: LocalServer) -> LocalServer:
    api = server.api
    api.create_project("marimo-proj")
    rng = np.random.default_rng(9)
    for r in range(3):
        run = api.init_run("local/marimo-proj", run_id=f"m{r}", name=f"mar-{r}")
        loss = 1.0 + 0.1 * rng.standard_normal(500) + (np.linspace(0, 2, 500) if r == 1 else 0)
        run.log([{"val/loss": float(v)} for v in loss])
    api.create_slack_integration("#marimo", "http://127.0.0.1:9/marimo")
    return server


def test_build_backtest_and_save_in_marimo(
    browser: Browser, marimo_project: LocalServer, tmp_path: Path
) -> None:
    notebook = tmp_path / "builder.py"
    notebook.write_text(textwrap.dedent(NOTEBOOK))
    port = _free_port()
    env = {
        **os.environ,
        "WANDB_BASE_URL": marimo_project.base_url,
        "WANDB_API_KEY": marimo_project.api_key,
        "MARIMO_SKIP_UPDATE_CHECK": "1",
        "HOME": str(tmp_path),
    }
    serve = ["run", str(notebook), "--headless", "--no-token", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "marimo", *serve, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "marimo.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    page = browser.new_page(viewport={"width": 1100, "height": 1800})
    try:
        page.goto(url)
        expect(page.get_by_test_id("builder")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("connection")).to_contain_text("Connected to")
        page.get_by_test_id("metric-name").fill("val/loss")
        page.get_by_test_id("threshold").fill("2")
        page.get_by_test_id("name").fill("marimo-rising")
        expect(page.get_by_test_id("summary")).to_contain_text("is above 2")
        # Backtest: a command and progress over model.send.
        page.get_by_test_id("preview").click()
        summary = page.get_by_test_id("preview-summary")
        expect(summary).to_contain_text("would have fired", timeout=60_000)
        expect(page.get_by_test_id("overview-run")).to_have_count(3)
        expect(page.locator("[data-testid=overview-run].wab-fired")).to_have_count(1)
        # Save: the same command protocol; the status comes back through the traits.
        expect(page.get_by_test_id("save")).to_be_enabled()
        page.get_by_test_id("save").click()
        expect(page.get_by_test_id("status")).to_contain_text(
            "Saved 'marimo-rising'", timeout=30_000
        )
        saved = marimo_project.api.automation("marimo-rising")
        assert repr(saved.event.filter.condition) == "'AVERAGE(val/loss) > 2'"  # type: ignore[union-attr]
        expect(page.get_by_test_id("save")).to_have_text("Update automation")
        assert re.search(r"id \S+", page.get_by_test_id("status").inner_text())
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)
