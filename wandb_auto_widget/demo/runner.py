"""``make demo``: a seeded local server, a receiver, and JupyterLab on the quickstart.

Everything the demo writes lives in its workspace (``.demo/`` by default): the database, the
logs, and copies of the notebooks and the example script, which JupyterLab serves from
there. The checkout stays clean however the notebooks are run or saved.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..server import LocalServer
from .data import ENTITY, seed
from .receiver import Receiver

SERVER_PORT, RECEIVER_PORT, LAB_PORT = 8765, 8766, 8888
# Fixed, so that notebooks and shells keep working across restarts (loopback only). The
# wandb SDK requires 40+ characters after the first "-" of a key, and so does this one.
API_KEY = "local-demo" + "0" * 36


def prepare_workspace(root: Path, workspace: Path) -> None:
    """Copy the notebooks and the example script into the workspace. A copy the user has
    not touched since it was made is refreshed when the checkout's version is newer."""
    for folder in ("notebooks", "examples"):
        for source in sorted((root / folder).glob("*")):
            if source.suffix not in (".ipynb", ".py"):
                continue
            target = workspace / folder / source.name
            if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def run(root: Path, *, workspace: Path | None = None, lab: bool = True) -> int:
    """Serve the demo until Ctrl-C (or SIGTERM); everything stops cleanly."""
    data = workspace or root / ".demo"
    data.mkdir(parents=True, exist_ok=True)
    prepare_workspace(root, data)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with (
        Receiver(port=RECEIVER_PORT, echo=True) as receiver,
        LocalServer(db=data / "demo.db", api_key=API_KEY, port=SERVER_PORT) as server,
    ):
        print(f"local W&B server: {server.base_url} (data in {data})", flush=True)
        print("preparing the demo workspace (seeded on the first run, reused after)...", flush=True)
        seed(server.api, receiver.base_url)
        print(f"webhook receiver: {receiver.base_url} (deliveries are printed here)", flush=True)
        print(
            "\nTo log from a shell (e.g. python examples/train.py), first run:\n"
            f"export WANDB_BASE_URL={server.base_url} WANDB_API_KEY={API_KEY} "
            f"DEMO_RECEIVER_URL={receiver.base_url}\n",
            flush=True,
        )
        env = {
            **os.environ,
            "WANDB_BASE_URL": server.base_url,
            "WANDB_API_KEY": API_KEY,
            "WANDB_ENTITY": ENTITY,
            "DEMO_RECEIVER_URL": receiver.base_url,
        }
        process = None
        if lab:
            token = secrets.token_hex(16)
            args = [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                f"--port={LAB_PORT}",
                "--port-retries=0",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={data}",
            ]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.append("--allow-root")
            process = subprocess.Popen(
                args, env=env, stdout=subprocess.DEVNULL, stderr=(data / "jupyter.log").open("w")
            )
            print(
                f"open http://127.0.0.1:{LAB_PORT}/lab/tree/notebooks/quickstart.ipynb?token={token}\n"
                "(Ctrl-C stops everything)",
                flush=True,
            )
        else:
            print("ready (no JupyterLab; Ctrl-C stops everything)", flush=True)
        try:
            while not stop.wait(0.5):
                if process is not None and process.poll() is not None:
                    print(f"JupyterLab exited; see {data / 'jupyter.log'}", flush=True)
                    return 1
        finally:
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            print("stopped", flush=True)
    return 0
