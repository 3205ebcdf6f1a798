"""A local receiver for the demo's webhook and Slack integrations: prints what arrives and
keeps it for the notebook (``GET /deliveries``)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DemoReceiver:
    """``with DemoReceiver() as r: r.url``; deliveries are printed and kept in ``r.received``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, echo: bool = True) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload: Any = json.loads(body)
                except json.JSONDecodeError:
                    payload = body.decode(errors="replace")
                entry = {
                    "at": time.strftime("%H:%M:%S"),
                    "path": self.path,
                    "webhook_id": self.headers.get("webhook-id"),
                    "payload": payload,
                }
                receiver.received.append(entry)
                if echo:
                    print(
                        f"[receiver] {entry['at']} {self.path} {json.dumps(payload)[:300]}",
                        flush=True,
                    )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self) -> None:
                data = json.dumps(receiver.received[-100:]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"

    def __enter__(self) -> DemoReceiver:
        threading.Thread(
            target=self._server.serve_forever, name="demo-receiver", daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
