"""A webhook receiver on loopback that records deliveries and can fail on purpose."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    fail_ratio: float = 0.0  # this share of requests gets ``fail_status``
    fail_status: int = 503
    retry_after: str | None = None
    delay_s: float = 0.0
    fixed_status: int | None = None  # every request gets this status
    seed: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class Receiver:
    """``with Receiver() as r: ... r.url, r.deliveries``."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                b = receiver.behaviour
                if b.delay_s:
                    time.sleep(b.delay_s)
                with receiver._lock:
                    failing = b.fixed_status is None and b.rng.random() < b.fail_ratio
                status = b.fixed_status or (b.fail_status if failing else 200)
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status,
                            time.monotonic(),
                        )
                    )
                self.send_response(status)
                if status != 200 and b.retry_after is not None:
                    self.send_header("Retry-After", b.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ok(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.status == 200]

    def wait_for(
        self, count: int, timeout: float = 20.0, *, successful: bool = True
    ) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.ok() if successful else list(self.deliveries)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} deliveries, got {len(self.ok())} ok of {len(self.deliveries)}"
        )
