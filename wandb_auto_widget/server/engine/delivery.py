"""Delivering the outbox: at least once, with timeouts, backoff, jitter and Retry-After.

Schedule: after failed attempt ``n`` (1-based) the next one waits a random time between
half and all of ``min(max_delay_s, base_delay_s * 2**(n-1))`` seconds (1, 2, 4... s by
default, at most 5 min), or the server's ``Retry-After`` (at most 1 h). After
``max_attempts`` (8) the execution is FAILED. 4xx answers other than 408 and 429 fail at
once; 410 Gone also disables the integration. Claiming a row pushes its due time out by a
lease, so a worker that dies (even by ``kill -9``) leaves it to be retried after restart.
At most two attempts to one integration are in flight at once, so an endpoint that hangs
or fails holds up only its own deliveries.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from ..store import executions, integrations
from ..store.db import Database
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
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None  # a header we cannot read: back off as if there were none
        return when.timestamp() - time.time()
    return seconds if math.isfinite(seconds) else None


class DeliveryWorker:
    """Background threads that send due executions and record every attempt.

    One slow or broken endpoint cannot hold up the others: at most ``per_target`` attempts
    to one integration are in flight at a time, the loop hands each claimed execution to
    the pool without waiting for the rest, and any failure while delivering one execution
    (a bad URL, a resolver error, a bug) is that execution's failed attempt.
    """

    def __init__(
        self,
        db: Database,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
        per_target: int = 2,
    ) -> None:
        self.db = db
        self.policy = policy or RetryPolicy()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")
        self._concurrency, self._per_target = concurrency, per_target
        self._lock = threading.Lock()
        self._in_flight: dict[int, int | None] = {}  # execution id -> integration id
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

    def _claim(self, limit: int, busy: list[int]) -> list[Any]:
        # Long enough for one attempt to finish; after a crash the row is due again then.
        lease = time.time() + 2 * self.policy.timeout_s + 1
        with self.db.write() as conn:
            return executions.claim_due(conn, limit, busy, lease)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                free = self._concurrency - len(self._in_flight)
                per_target = Counter(self._in_flight.values())
            busy = [i for i, n in per_target.items() if i is not None and n >= self._per_target]
            claimed: list[Any] = []
            if free > 0:
                try:
                    claimed = self._claim(free, busy)
                except Exception:  # the database is busy or closing; try again shortly
                    log.exception("could not claim deliveries")
            for execution in claimed:
                self._submit(execution)
            if not claimed:
                self.wake.wait(timeout=0.2)
                self.wake.clear()

    def _submit(self, execution: Any) -> None:
        with self._lock:
            self._in_flight[execution["id"]] = execution["integration_id"]

        def run() -> None:
            try:
                self._deliver(execution)
            finally:
                with self._lock:
                    self._in_flight.pop(execution["id"], None)
                self.wake.set()  # a slot is free

        self._pool.submit(run)

    def deliver_now(self, execution_id: int) -> None:
        """One attempt at a pending execution (a test fire); failures are final."""
        with self.db.write() as conn:
            claimed = executions.claim_one(conn, execution_id)
        if claimed is not None:
            self._deliver(claimed, final=True)

    def _deliver(self, execution: Any, final: bool = False) -> None:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            conn = self.db.read()
            integration = integrations.get_integration_row(conn, execution["integration_id"])
            if integration is None:
                raise RuntimeError("the integration was deleted")
            body = (execution["payload"] or "{}").encode()
            secret = integrations.secret_value(
                conn, integration["entity_id"], integration["secret_ref"]
            )
            token = integrations.secret_value(
                conn, integration["entity_id"], integration["access_token_ref"]
            )
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
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as exc:
            # The URL can never work (an older row, before URLs were checked on creation).
            error, final = f"the integration's URL is unusable: {exc}", True
        except Exception as exc:  # whatever went wrong, it is this execution's failed attempt
            if not isinstance(exc, (httpx.HTTPError, RuntimeError)):
                log.warning("delivery %s failed: %r", execution["id"], exc)
            error = f"{type(exc).__name__}: {exc}"[:500]
        elapsed = (time.monotonic() - started) * 1000
        try:
            self._record(execution, status, error, retry_after, elapsed, final_anyway=final)
        except Exception:  # the lease brings the execution back after a restart
            log.exception("could not record delivery %s", execution["id"])

    def _record(
        self,
        execution: Any,
        status: int | None,
        error: str | None,
        retry_after: float | None,
        duration_ms: float,
        final_anyway: bool = False,
    ) -> None:
        final = (
            final_anyway
            or execution["attempts"] >= self.policy.max_attempts
            or (status is not None and 400 <= status < 500 and status not in (408, 429))
        )
        retry_at = time.time() + self.policy.delay(execution["attempts"], retry_after)
        with self.db.write() as conn:
            executions.record_attempt(
                conn, execution, status, error, duration_ms, final=final, retry_at=retry_at
            )
            if error is not None and status == 410 and execution["integration_id"] is not None:
                integrations.disable(conn, execution["integration_id"])
