"""Real JupyterLab / Notebook 7 servers and Debian chromium, driven by Playwright.

Never ``playwright install``: the browser is the system's /usr/bin/chromium (``make test``
installs it when missing).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from wandb_auto_widget import LocalServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(
            "Debian chromium is missing: run `make test` (it installs it), "
            "or apt-get install chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


class Jupyter:
    """A jupyter lab/notebook subprocess on a free loopback port."""

    def __init__(self, app: str, root: Path, server: LocalServer, dark: bool = False) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = root
        settings = root / ".settings"
        (settings / "@jupyterlab/apputils-extension").mkdir(parents=True, exist_ok=True)
        # No news toast over the widget; optionally the dark theme.
        (settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        (settings / "@jupyterlab/apputils-extension/themes.jupyterlab-settings").write_text(
            json.dumps({"theme": "JupyterLab Dark" if dark else "JupyterLab Light"})
        )
        env = {
            **os.environ,
            "WANDB_BASE_URL": server.base_url,
            "WANDB_API_KEY": server.api_key,
            "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTER_CONFIG_DIR": str(root / ".config"),
        }
        expose = "LabApp" if app == "lab" else "JupyterNotebookApp"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                app,
                "--no-browser",
                f"--port={self.port}",
                "--port-retries=0",
                "--ServerApp.ip=127.0.0.1",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={root}",
                f"--{expose}.expose_app_in_browser=True",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(root / "jupyter.log").open("w"),
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/status", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(
            f"jupyter {app} did not start:\n{(root / 'jupyter.log').read_text()[-3000:]}"
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_notebook(page: Page, url: str) -> None:
    """Open a notebook, wait for its kernel, run every cell."""
    page.goto(url)
    page.wait_for_function(
        "window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel?.status"
        " === 'idle'",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


@contextmanager
def builder_in_lab(
    browser: Browser, server: LocalServer, root: Path, name: str, code: str, height: int = 1800
) -> Iterator[Page]:
    """A notebook ``name`` whose one cell is ``code`` (ending with a builder), run in
    JupyterLab on ``server``; yields the page once the builder is shown, and closes both."""
    write_notebook(root / name, [code])
    jupyter = Jupyter("lab", root, server)
    page = browser.new_page(viewport={"width": 1100, "height": height})
    try:
        run_notebook(page, f"{jupyter.url}/lab/tree/{name}")
        expect(page.get_by_test_id("builder")).to_be_visible(timeout=60_000)
        yield page
    finally:
        page.close()
        jupyter.stop()
