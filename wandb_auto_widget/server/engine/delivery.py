"""Delivering the outbox: at least once, with timeouts, backoff, jitter and Retry-After.

Schedule: after failed attempt ``n`` (1-based) the next one waits a random time between
half and all of ``min(max_delay_s, base_delay_s * 2**(n-1))`` seconds (1, 2, 4... s by
default, at most 5 min), or the server's ``Retry-After`` (at most 1 h). After
``max_attempts`` (8) the execution is FAILED. 4xx answers other than 408 and 429 fail at
once; 410 Gone also disables the integration. Claiming a row pushes its due time out by a
lease, so a worker that dies (even by ``kill -9``) leaves it to be retried after restart.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from ..store.db import Database, now
from ..store.integrations import secret_value
from .signing import headers

log = logging.getLogger("wandb_auto_widget.server.delivery")


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    max_attempts: int = 8
    timeout_s: float = 10.0
    max_retry_after_s: float = 3600.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_retry_after_s, max(0.0, retry_after))
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("retry-after")
    if not header:
        return None
    try:
        return float(header)
    except ValueError:
        when = email.utils.parsedate_to_datetime(header)
        return None if when is None else when.timestamp() - time.time()


class DeliveryWorker:
    """Background threads that send due executions and record every attempt."""

    def __init__(
        self, db: Database, policy: RetryPolicy | None = None, concurrency: int = 4
    ) -> None:
        self.db = db
        self.policy = policy or RetryPolicy()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")
        self._concurrency = concurrency
        # trust_env=False: deliveries go exactly where the integration says, no proxies.
        self._client = httpx.Client(timeout=self.policy.timeout_s, trust_env=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="delivery-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)
        self._client.close()

    def _claim(self, limit: int) -> list[Any]:
        # Long enough for one attempt to finish; after a crash the row is due again then.
        lease = time.time() + 2 * self.policy.timeout_s + 1
        with self.db.write() as conn:
            return conn.execute(
                "UPDATE executions SET attempts = attempts + 1, next_attempt_at = ? WHERE id IN "
                "(SELECT id FROM executions WHERE status = 'PENDING' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at LIMIT ?) RETURNING *",
                (lease, time.time(), limit),
            ).fetchall()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self._claim(self._concurrency * 4)
            except Exception:  # the database is busy or closing; try again shortly
                log.exception("could not claim deliveries")
                claimed = []
            if claimed:
                list(self._pool.map(self._deliver, claimed))
                continue
            self.wake.wait(timeout=0.2)
            self.wake.clear()

    def deliver_now(self, execution_id: int) -> None:
        """One attempt at a pending execution (a test fire); failures are final."""
        with self.db.write() as conn:
            claimed = conn.execute(
                "UPDATE executions SET attempts = attempts + 1 WHERE id = ? AND status = 'PENDING' "
                "RETURNING *",
                (execution_id,),
            ).fetchone()
        if claimed is not None:
            self._deliver(claimed, final=True)

    def _deliver(self, execution: Any, final: bool = False) -> None:
        conn = self.db.read()
        integration = conn.execute(
            "SELECT * FROM integrations WHERE id = ?", (execution["integration_id"],)
        ).fetchone()
        body = (execution["payload"] or "{}").encode()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            if integration is None:
                raise RuntimeError("the integration was deleted")
            secret = secret_value(conn, integration["entity_id"], integration["secret_ref"])
            token = secret_value(conn, integration["entity_id"], integration["access_token_ref"])
            response = self._client.post(
                integration["url"],
                content=body,
                headers=headers(body, execution["webhook_id"], secret, token),
            )
            status = response.status_code
            retry_after = _retry_after(response)
            if status >= 300:
                error = f"HTTP {status}: {response.text[:300]}"
        except httpx.TimeoutException:
            error = f"timed out after {self.policy.timeout_s:g} s"
        except (httpx.HTTPError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.monotonic() - started) * 1000
        self._record(execution, status, error, retry_after, elapsed, final_anyway=final)

    def _record(
        self,
        execution: Any,
        status: int | None,
        error: str | None,
        retry_after: float | None,
        duration_ms: float,
        final_anyway: bool = False,
    ) -> None:
        attempt = execution["attempts"]
        final = final_anyway or (
            status is not None and 400 <= status < 500 and status not in (408, 429)
        )
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO delivery_attempts(execution_id, attempt, at, "
                "response_status, "
                "error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (execution["id"], attempt, now(), status, error, duration_ms),
            )
            if error is None:
                conn.execute(
                    "UPDATE executions SET status = 'FINISHED', response_status = ?, error = NULL, "
                    "finished_at = ? WHERE id = ?",
                    (status, now(), execution["id"]),
                )
            elif final or attempt >= self.policy.max_attempts:
                conn.execute(
                    "UPDATE executions SET status = 'FAILED', response_status = ?, error = ?, "
                    "finished_at = ? WHERE id = ?",
                    (status, error, now(), execution["id"]),
                )
                if status == 410 and execution["integration_id"] is not None:
                    conn.execute(
                        "UPDATE integrations SET disabled = 1 WHERE id = ?",
                        (execution["integration_id"],),
                    )
            else:
                due = time.time() + self.policy.delay(attempt, retry_after)
                conn.execute(
                    "UPDATE executions SET response_status = ?, error = ?, next_attempt_at = ? "
                    "WHERE id = ?",
                    (status, error, due, execution["id"]),
                )
