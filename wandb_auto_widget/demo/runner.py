"""``make demo``: a seeded local server, a receiver, and JupyterLab on the quickstart."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..server import LocalServer
from .data import seed
from .receiver import DemoReceiver

SERVER_PORT, RECEIVER_PORT, LAB_PORT = 8765, 8766, 8888
API_KEY = "demo-" + "0" * 35  # fixed, so the notebook works across restarts; loopback only


def run(root: Path, *, lab: bool = True) -> int:
    """Serve the demo until Ctrl-C (or SIGTERM); everything stops cleanly."""
    data = root / ".demo"
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with (
        DemoReceiver(port=RECEIVER_PORT) as receiver,
        LocalServer(db=data / "demo.db", api_key=API_KEY, port=SERVER_PORT) as server,
    ):
        print(f"local W&B server: {server.base_url} (data in {data})", flush=True)
        print("preparing the demo workspace (seeded on the first run, reused after)...", flush=True)
        seed(server.api, receiver.url)
        print(f"webhook receiver: {receiver.url} (deliveries are printed here)", flush=True)
        env = {
            **os.environ,
            "WANDB_BASE_URL": server.base_url,
            "WANDB_API_KEY": API_KEY,
            "DEMO_RECEIVER_URL": receiver.url,
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
                f"--ServerApp.root_dir={root}",
            ]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.append("--allow-root")
            process = subprocess.Popen(
                args, env=env, stdout=subprocess.DEVNULL, stderr=(data / "jupyter.log").open("w")
            )
            print(
                f"\nopen http://127.0.0.1:{LAB_PORT}/lab/tree/notebooks/quickstart.ipynb?token={token}\n"
                "(Ctrl-C stops everything)",
                flush=True,
            )
        try:
            while not stop.wait(0.5):
                if process is not None and process.poll() is not None:
                    print("JupyterLab exited; see .demo/jupyter.log", flush=True)
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
