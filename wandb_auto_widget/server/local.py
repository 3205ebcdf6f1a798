"""``LocalServer``: the embedded server in a background thread, for notebooks and tests."""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import uvicorn

from .app import create_app
from .engine import Engine, RetryPolicy
from .store.db import Database

if TYPE_CHECKING:
    from ..api import Api

DEFAULT_ENTITY = "local"
log = logging.getLogger("wandb_auto_widget.server")


def wandb_key_problem(key: str) -> str | None:
    """Why the wandb SDK would refuse ``key``, or None. wandb's rule (``check_api_key``):
    after the first ``-``, at least 40 letters, digits or underscores."""
    secret = key.split("-", 1)[-1]
    if not re.fullmatch(r"[\w-]+", secret):
        return "the part after the first '-' may only hold letters, digits and '_'"
    if len(secret) < 40:
        return f"the part after the first '-' must have 40+ characters, has {len(secret)}"
    return None


def default_db_path() -> Path:
    """The persistent default database under the user's data directory."""
    import platformdirs

    return Path(platformdirs.user_data_dir("wandb-auto-widget")) / "local.db"


class LocalServer:
    """A W&B-compatible server on loopback, backed by a SQLite file.

    ``db=None`` uses a fresh temporary file; pass a path to keep data. ``api_key=None``
    generates a random key. ``tick_seconds`` is how often the engine checks for stalled
    runs, on ``clock`` (epoch seconds; tests pass one they control). ``wandb_only`` makes it
    a stand-in for W&B: only W&B's features are advertised, and our additions refuse. Use as
    a context manager,
    or call :meth:`start` and :meth:`stop`::

        with LocalServer() as server:
            api = server.api            # an Api connected to it
            print(server.base_url)      # e.g. http://127.0.0.1:50123
    """

    def __init__(
        self,
        db: str | Path | None = None,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        entity: str = DEFAULT_ENTITY,
        retry: RetryPolicy | None = None,
        tick_seconds: float = 15.0,
        clock: Callable[[], float] = time.time,
        wandb_only: bool = False,
    ) -> None:
        if db is None:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="wandb-auto-widget-")
            db = Path(self._tmp.name) / "local.db"
        self.db_path = Path(db)
        self.api_key = api_key or secrets.token_hex(20)
        if problem := wandb_key_problem(self.api_key):
            log.warning("the wandb SDK will refuse this server's API key: %s", problem)
        self.entity = entity
        self._retry = retry
        self._tick_seconds = tick_seconds
        self._clock = clock
        self._wandb_only = wandb_only
        self.engine: Engine | None = None
        """The running server's engine (None when stopped): ``engine.tick()`` checks for
        stalled runs now."""
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._db: Database | None = None
        self._api: Api | None = None
        self.base_url = ""

    def start(self) -> LocalServer:
        """Start serving; returns once the server accepts connections."""
        self._db = Database(self.db_path)
        engine = self.engine = Engine(
            self._db, self._retry, clock=self._clock, tick_s=self._tick_seconds
        )
        app = create_app(self._db, self.api_key, self.entity, engine, wandb_only=self._wandb_only)
        # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="wandb-auto-widget-server",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local server failed to start; see the log above")
            time.sleep(0.01)
        self.base_url = f"http://{self._host}:{port}"
        app.state.set_base_url(self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, and close the database and the Api."""
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
        if self._db is not None:
            self._db.close()
        self._server = self._thread = self._db = self.engine = None

    @property
    def database(self) -> Database:
        """The running server's database (for components that run beside it, such as the
        watcher)."""
        if self._db is None:
            raise RuntimeError("the server is not running; call start() first")
        return self._db

    @property
    def api(self) -> Api:
        """An :class:`~wandb_auto_widget.Api` connected to this server (one, made on first use
        and closed by :meth:`stop`)."""
        if self._api is None:
            from ..api import Api

            self._api = Api(base_url=self.base_url, api_key=self.api_key)
        return self._api

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
