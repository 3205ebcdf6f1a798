"""Shared fixtures: a real LocalServer on loopback over a real SQLite file."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from wandb_auto_widget import Api, LocalServer

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    db = tmp_path_factory.mktemp("server") / "local.db"
    with LocalServer(db=db) as running:
        yield running


@pytest.fixture(scope="session")
def api(server: LocalServer) -> Iterator[Api]:
    with server.api as client:
        yield client


@pytest.fixture
def project_name() -> str:
    """A fresh project name per test, so tests sharing the server don't collide."""
    return f"proj-{next(_names)}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """Tests talk only to loopback: any other address fails the connecting test at once."""
    import ipaddress
    import socket

    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise OSError(f"test tried to connect to {host}; tests may only use loopback")
        original(self, address)  # type: ignore[arg-type]

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]
