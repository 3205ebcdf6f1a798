"""A webhook receiver on loopback: the demo's Slack and webhook destination, and the one the
tests and benchmarks deliver to.

It records every POST, can print it, serves the latest ones as JSON (``GET /deliveries``, which
the quickstart notebook reads), and can fail on purpose (:class:`Faults`) so retries, backoff and
``Retry-After`` can be watched without a real endpoint.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One POST as it arrived, and the status it was answered with."""

    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int
    at: float  # time.monotonic() on arrival
    clock: str  # wall-clock HH:MM:SS, for people

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def summary(self) -> dict[str, Any]:
        """The JSON shape ``GET /deliveries`` serves."""
        try:
            payload: Any = json.loads(self.body)
        except ValueError:
            payload = self.body.decode(errors="replace")
        return {
            "at": self.clock,
            "path": self.path,
            "status": self.status,
            "webhook_id": self.headers.get("webhook-id"),
            "payload": payload,
        }


@dataclass
class Faults:
    """How the receiver misbehaves: a share of failures, a fixed status, a delay."""

    fail_ratio: float = 0.0  # this share of requests gets ``fail_status``
    fail_status: int = 503
    retry_after: str | None = None  # sent with every non-200 answer
    delay_s: float = 0.0  # before answering
    fixed_status: int | None = None  # every request gets this status
    seed: int = 7
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def status(self) -> int:
        if self.fixed_status is not None:
            return self.fixed_status
        return self.fail_status if self.rng.random() < self.fail_ratio else 200


class Receiver:
    """``with Receiver() as r: ... r.url, r.deliveries, r.wait_for(2)``."""

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        echo: bool = False,
    ) -> None:
        self.faults = faults or Faults()
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler(echo))
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self.url = f"{self.base_url}/hook"

    def _handler(self, echo: bool) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                faults = receiver.faults
                if faults.delay_s:
                    time.sleep(faults.delay_s)
                with receiver._lock:
                    status = faults.status()
                    delivery = Delivery(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        status,
                        time.monotonic(),
                        time.strftime("%H:%M:%S"),
                    )
                    receiver.deliveries.append(delivery)
                if echo:
                    text = json.dumps(delivery.summary()["payload"])[:300]
                    print(f"[receiver] {delivery.clock} {self.path} {text}", flush=True)
                self.send_response(status)
                if status != 200 and faults.retry_after is not None:
                    self.send_header("Retry-After", faults.retry_after)
                self.send_header("Content-Length", "2")
                try:
                    self.end_headers()
                    self.wfile.write(b"ok")
                except ConnectionError:
                    pass  # the sender gave up waiting (a delivery timeout): nothing to answer

            def do_GET(self) -> None:
                with receiver._lock:
                    latest = receiver.deliveries[-100:]
                data = json.dumps([d.summary() for d in latest]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass  # deliveries are echoed above when asked; access logs are noise

        return Handler

    def __enter__(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ok(self) -> list[Delivery]:
        """The deliveries answered 200."""
        with self._lock:
            return [d for d in self.deliveries if d.status == 200]

    def wait_for(
        self, count: int, timeout: float = 20.0, *, successful: bool = True
    ) -> list[Delivery]:
        """Block until ``count`` deliveries (answered 200, unless ``successful=False``) arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                got = [d for d in self.deliveries if d.status == 200 or not successful]
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} deliveries, got {len(self.ok())} ok of {len(self.deliveries)}"
        )
