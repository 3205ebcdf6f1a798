"""Our Api against a real LocalServer: settings, typed errors, retries, history fetching."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    TransportError,
    ValidationError,
)
from wandb_auto_widget.automations import DoNothing, OnRunMetric, RunEvent


def test_settings_resolve_like_wandb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert Api().base_url == "https://api.wandb.ai"
    assert not Api().has_credentials
    (tmp_path / "netrc").write_text("machine 127.0.0.1\n  login user\n  password from-netrc\n")
    (tmp_path / "netrc").chmod(0o600)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:1/")
    api = Api()
    assert api.base_url == "http://127.0.0.1:1" and api.has_credentials
    assert "from-netrc" not in repr(api)


def test_typed_errors(server: LocalServer, api: Api, project_name: str) -> None:
    with pytest.raises(AuthenticationError):
        Api(base_url=server.base_url, api_key="wrong").project("x")
    with pytest.raises(NotFoundError):
        api.project("does-not-exist")
    with pytest.raises(NotFoundError, match="project nobody/x not found"):
        api.runs("nobody/x")
    with pytest.raises(NotFoundError, match="entity 'nobody' not found"):
        api.automations("nobody")
    project = api.create_project(project_name)
    new = OnRunMetric(scope=project, filter=RunEvent.metric("loss") > 1) >> DoNothing()
    saved = api.create_automation(new, name=f"{project_name}-auto")
    with pytest.raises(ConflictError):
        api.create_automation(new, name=f"{project_name}-auto")
    api.delete_automation(saved)
    with pytest.raises(NotFoundError):
        api.update_automation(saved)
    with pytest.raises(ValidationError, match="name"):
        api.init_run(f"local/{project_name}", run_id="bad name with spaces")


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 with Retry-After the first ``failures`` times, then a valid viewer."""

    failures = 2
    seen: list[float] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Flaky.seen.append(time.monotonic())
        if len(_Flaky.seen) <= _Flaky.failures:
            self.send_response(503)
            self.send_header("Retry-After", "0.2")
            self.end_headers()
            return
        body = b'{"data": {"viewer": {"id": "1", "entity": "e", "username": "u"}}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_retries_honour_retry_after(flaky: str) -> None:
    api = Api(base_url=flaky, api_key="k", max_retries=3)
    assert api.default_entity == "e"
    gaps = np.diff(_Flaky.seen)
    assert len(_Flaky.seen) == 3 and all(gap >= 0.19 for gap in gaps)


def test_gives_up_with_a_transport_error(flaky: str) -> None:
    _Flaky.failures = 10
    try:
        with pytest.raises(TransportError, match="after 2 attempts"):
            Api(base_url=flaky, api_key="k", max_retries=1).viewer()
    finally:
        _Flaky.failures = 2


def test_unreachable_server_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        Api(base_url="http://127.0.0.1:9", api_key="k", max_retries=0, timeout=2).viewer()


@pytest.fixture
def logged(api: Api, project_name: str) -> list[str]:
    api.create_project(project_name)
    paths = []
    for r in range(5):
        run = api.init_run(f"local/{project_name}", run_id=f"r{r}", name=f"run-{r}")
        # Skip every 7th step for the metric, and log a string once: only rows with the key count.
        rows = [
            {"_step": s, "loss": float(r * 1000 + s)} if s % 7 else {"_step": s, "other": "x"}
            for s in range(1200)
        ]
        run.log(rows)
        paths.append(run.path)
    return paths


def test_history_is_full_resolution_and_paged(api: Api, logged: list[str]) -> None:
    columns = api.history(logged[1], ["loss"], page_size=250)
    expected = [s for s in range(1200) if s % 7]
    assert columns["_step"].tolist() == expected
    assert columns["loss"].tolist() == [1000.0 + s for s in expected]
    window = api.history(logged[1], ["loss"], min_step=100, max_step=110)
    assert window["_step"].tolist() == [s for s in range(100, 111) if s % 7]


def test_histories_concurrent_with_progress_and_cancel(api: Api, logged: list[str]) -> None:
    progress: list[tuple[int, int]] = []
    result = api.histories(
        logged, ["loss"], concurrency=3, on_progress=lambda d, t: progress.append((d, t))
    )
    assert sorted(result) == sorted(logged)
    assert progress[-1] == (5, 5)
    cancel = threading.Event()
    cancel.set()
    assert api.histories(logged, ["loss"], cancel=cancel) == {}


def in_own_loop(coroutine: Any) -> Any:
    # Its own thread and loop: Playwright's browser fixture keeps a loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk endpoint", "sampledHistory pages"])
def test_async_twin_matches(server: LocalServer, logged: list[str], bulk: bool) -> None:
    api = Api(base_url=server.base_url, api_key=server.api_key)  # its own, to narrow
    if not bulk:
        api._features = frozenset()
    sync = api.histories(logged, ["loss"], min_step=10)
    progress: list[tuple[int, int]] = []
    async_result = in_own_loop(
        api.ahistories(
            logged, ["loss"], min_step=10, concurrency=2, on_progress=lambda *p: progress.append(p)
        )
    )
    assert {k: v["loss"].tolist() for k, v in async_result.items()} == {
        k: v["loss"].tolist() for k, v in sync.items()
    }
    assert progress[-1] == (5, 5) and all(s >= 10 for v in sync.values() for s in v["_step"])


def test_async_twin_retries_and_fails_as_the_sync_client_does(flaky: str) -> None:
    """5xx after every retry is a TransportError from both clients, not a ValidationError."""
    _Flaky.failures = 10
    try:
        api = Api(base_url=flaky, api_key="k", max_retries=1)
        api._features = frozenset()
        with pytest.raises(TransportError, match="after 2 attempts: HTTP 503"):
            in_own_loop(api.ahistories(["e/p/r"], ["loss"]))
        with pytest.raises(TransportError, match="after 2 attempts: HTTP 503"):
            api.histories(["e/p/r"], ["loss"])
    finally:
        _Flaky.failures = 2


def test_async_twin_can_be_cancelled(flaky: str) -> None:
    _Flaky.failures = 10  # every attempt waits out a Retry-After
    try:
        api = Api(base_url=flaky, api_key="k", max_retries=20)
        api._features = frozenset()

        async def cancel_soon() -> str:
            task = asyncio.create_task(api.ahistories(["e/p/r"], ["loss"]))
            await asyncio.sleep(0.3)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"
            return "finished"

        started = time.monotonic()
        assert in_own_loop(cancel_soon()) == "cancelled"
        assert time.monotonic() - started < 2
    finally:
        _Flaky.failures = 2


def test_foreign_errors_become_transport_errors() -> None:
    with pytest.raises(TransportError, match="UnsupportedProtocol"):
        Api(base_url="ftp://127.0.0.1:9", api_key="k", max_retries=3).viewer()


def test_numpy_values_log_as_numbers(api: Api, project_name: str) -> None:
    api.create_project(project_name)
    run = api.init_run(f"local/{project_name}", run_id="np")
    run.log({"_step": np.int64(0), "loss": np.float32(0.5), "acc": np.float64(0.25)})
    columns = api.history(run.path, ["loss", "acc"])
    assert (columns["loss"].tolist(), columns["acc"].tolist()) == ([0.5], [0.25])


def test_logging_resumes_at_the_servers_offset(api: Api, project_name: str) -> None:
    api.create_project(project_name)
    first = api.init_run(f"local/{project_name}", run_id="resumable")
    first.log([{"x": 1.0}, {"x": 2.0}])
    again = api.init_run(f"local/{project_name}", run_id="resumable")
    again.log({"_step": 5, "x": 3.0})
    assert api.history(again.path, ["x"])["x"].tolist() == [1.0, 2.0, 3.0]


def test_listings_follow_every_page(api: Api, project_name: str) -> None:
    """Connections longer than one page come back whole, each item once."""
    entity = f"{project_name}-team"
    api.create_entity(entity)
    project = api.create_project(project_name, entity=entity)
    for i in range(5):
        api.init_run(f"{entity}/{project_name}", run_id=f"r{i}").finish()
    runs = [run.name for run in api.runs(f"{entity}/{project_name}", per_page=2)]
    assert sorted(runs) == [f"r{i}" for i in range(5)]  # all of them, none twice

    new = OnRunMetric(scope=project, filter=RunEvent.metric("loss") > 1) >> DoNothing()
    names = {f"auto-{i:02d}" for i in range(53)}  # the client asks for 50 per page
    for name in sorted(names):
        api.create_automation(new, name=name)
    listed = [automation.name for automation in api.automations(entity)]
    assert sorted(listed) == sorted(names)
    assert api.automations(entity, name="auto-07")[0].name == "auto-07"
