"""``wandb-auto-widget``: the command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    from .server import LocalServer, default_db_path
    from .server.engine import RetryPolicy

    server = LocalServer(
        db=Path(args.db) if args.db else default_db_path(),
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        retry=RetryPolicy(
            base_delay_s=args.retry_base_delay,
            max_attempts=args.max_attempts,
            timeout_s=args.delivery_timeout,
        ),
        tick_seconds=args.tick,
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


def _history(args: argparse.Namespace) -> int:
    from .api import Api

    api = Api(base_url=args.base_url, api_key=args.api_key)
    target = api.automation(args.automation, entity=args.entity) if args.automation else None
    executions = api.automation_history(
        target or args.entity, entity=args.entity, status=args.status, limit=args.limit
    )
    if not executions:
        print("no executions")
        return 0
    print(f"{'time (UTC)':20} {'status':9} {'automation':24} {'event':20} {'tries':>5}  result")
    for e in executions:
        what = e.event.get("run_name") or e.event.get("artifact") or ""
        result = f"HTTP {e.response_status}" if e.response_status else (e.error or "")
        if e.status == "FAILED" and e.error:
            result = e.error
        test = " (test)" if e.is_test else ""
        print(
            f"{e.created_at[:19]:20} {e.status:9} {e.automation_name[:24]:24} "
            f"{(e.event_type + ' ' + str(what))[:20]:20} {e.attempts:>5}  {result[:60]}{test}"
        )
    return 0


def _watch(args: argparse.Namespace) -> int:
    from .api import Api
    from .server import LocalServer, default_db_path
    from .server.watcher import Watcher

    remote = Api(base_url=args.remote_url, api_key=args.remote_key)
    if not remote.has_credentials:
        print(
            "no W&B API key: set WANDB_API_KEY, run `wandb login`, or pass --remote-key",
            file=sys.stderr,
        )
        return 2
    local = LocalServer(
        db=Path(args.db) if args.db else default_db_path(),
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        tick_seconds=args.tick,
    )
    watcher = Watcher(
        remote, local, list(args.projects), interval=args.interval, budget=args.budget
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: watcher.stop())
    local.start()
    # Where the rules live: point the builder or Api here to add plateau, stalled... rules.
    print(f"WANDB_BASE_URL={local.base_url}", flush=True)
    print(f"WANDB_API_KEY={local.api_key}", flush=True)
    print(f"watching {', '.join(args.projects)} on {remote.base_url}", file=sys.stderr, flush=True)
    try:
        watcher.run()
    finally:
        local.stop()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo.runner import run

    workspace = Path(args.workspace).resolve() if args.workspace else None
    return run(Path(args.root).resolve(), workspace=workspace, lab=not args.no_lab)


def _project_path(value: str) -> str:
    parts = value.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"{value!r}: write ENTITY/PROJECT, e.g. my-team/bert")
    return "/".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wandb-auto-widget")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("server", help="run the embedded W&B-compatible server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    serve.add_argument("--db", help="SQLite file (default: in the user data directory)")
    serve.add_argument("--api-key", help="the key clients must send (default: a random one)")
    serve.add_argument(
        "--retry-base-delay",
        type=float,
        default=1.0,
        help="first retry delay of a failed delivery, in seconds (doubles each time)",
    )
    serve.add_argument(
        "--max-attempts", type=int, default=8, help="delivery attempts before FAILED"
    )
    serve.add_argument("--delivery-timeout", type=float, default=10.0, help="seconds per attempt")
    serve.add_argument(
        "--tick",
        type=float,
        default=15.0,
        help="seconds between checks for stalled runs (a stall is seen within after + tick)",
    )
    serve.set_defaults(run=_serve)
    watch = commands.add_parser(
        "watch", help="run the extension rules on W&B projects (docs/watch.md)"
    )
    watch.add_argument("projects", nargs="+", metavar="ENTITY/PROJECT", type=_project_path)
    watch.add_argument("--remote-url", help="W&B (default: WANDB_BASE_URL, else W&B cloud)")
    watch.add_argument("--remote-key", help="W&B API key (default: WANDB_API_KEY or ~/.netrc)")
    watch.add_argument("--interval", type=float, default=30.0, help="seconds between polls")
    watch.add_argument("--budget", type=int, default=120, help="most requests per minute to W&B")
    watch.add_argument("--db", help="where rules and state live (default: the user data dir)")
    watch.add_argument("--host", default="127.0.0.1", help="the local server's address")
    watch.add_argument("--port", type=int, default=8765, help="the local server's port")
    watch.add_argument("--api-key", help="the local server's key (default: a random one)")
    watch.add_argument("--tick", type=float, default=15.0, help="seconds between clock checks")
    watch.set_defaults(run=_watch)
    history = commands.add_parser("history", help="show what automations did (newest first)")
    history.add_argument("--base-url", help="server (default: WANDB_BASE_URL)")
    history.add_argument("--api-key", help="key (default: WANDB_API_KEY or ~/.netrc)")
    history.add_argument("--entity", help="entity (default: yours)")
    history.add_argument("--automation", help="only this automation, by name")
    history.add_argument("--status", choices=["PENDING", "FINISHED", "FAILED"])
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(run=_history)
    demo = commands.add_parser(
        "demo", help="seeded local server + receiver + JupyterLab quickstart"
    )
    demo.add_argument("--root", default=".", help="the repository (holds notebooks/ and examples/)")
    demo.add_argument(
        "--workspace", help="where the demo keeps its data and notebooks (default: ROOT/.demo)"
    )
    demo.add_argument("--no-lab", action="store_true", help="serve the data only, no JupyterLab")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
