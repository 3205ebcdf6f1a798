"""``connect()``: W&B when credentials exist, else the embedded server (a persistent default)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..api import Api
from ..api.settings import DEFAULT_BASE_URL

_local_lock = threading.Lock()
_local_server = None


@dataclass(frozen=True)
class Connection:
    """An Api and a line that tells the user where it points."""

    api: Api
    label: str


def connect(api: Api | None = None) -> Connection:
    """An Api for the builder: the given one, W&B if credentials are configured, or else an
    embedded server on a database under the user's data directory (started once per process)."""
    if api is not None:
        return Connection(api, f"Connected to {api.base_url}")
    candidate = Api()
    if candidate.has_credentials:
        where = "W&B" if candidate.base_url == DEFAULT_BASE_URL else "the W&B server at"
        return Connection(candidate, f"Connected to {where} {candidate.base_url}")
    candidate.close()
    global _local_server
    with _local_lock:
        if _local_server is None:
            from ..server import LocalServer, default_db_path

            _local_server = LocalServer(db=default_db_path()).start()
        server = _local_server
    return Connection(
        server.api,
        f"No W&B credentials found: using the local server at {server.base_url} "
        f"(data in {server.db_path})",
    )
