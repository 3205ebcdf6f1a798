"""``wandb-auto-widget``: the command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    from .server import LocalServer, default_db_path

    server = LocalServer(
        db=Path(args.db) if args.db else default_db_path(),
        api_key=args.api_key,
        host=args.host,
        port=args.port,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    print(f"WANDB_BASE_URL={server.base_url}", flush=True)
    print(f"WANDB_API_KEY={server.api_key}", flush=True)
    print(f"database: {server.db_path}", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wandb-auto-widget")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("server", help="run the embedded W&B-compatible server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    serve.add_argument("--db", help="SQLite file (default: in the user data directory)")
    serve.add_argument("--api-key", help="the key clients must send (default: a random one)")
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
