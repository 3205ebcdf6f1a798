"""The engine: decides what fires, records it and delivers it.

``Engine`` is what the server's ingestion paths call, inside their write transactions, so a
firing is recorded exactly when the data that caused it is:

* ``metrics.py``: run-metric automations, through the preview's own incremental parts
  (``preview.windows.Windows`` and ``preview.stream.fire_batch``), which is why the engine
  fires exactly where ``preview.evaluate`` says it would;
* ``run_state.py``, ``artifacts.py``, ``alerts.py``: run states (``preview.state_change_fires``),
  artifact events (``preview.artifact_event_fields``) and ``wandb.alert``; run filters are
  ``preview.matches_run_filter`` everywhere;
* ``stalled.py``: stalled runs, on the engine's clock (``ticker.py`` calls :meth:`Engine.tick`);
* ``outbox.py`` records each firing as an execution, and ``delivery.py`` sends the outbox.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ..store import executions, triggers
from ..store.artifacts import ArtifactChange
from ..store.db import Database
from . import alerts, artifacts, metrics, outbox, run_state, schedule, stalled
from .context import EngineSettings, RunContext
from .delivery import DeliveryWorker, RetryPolicy
from .ticker import Ticker

__all__ = ["DeliveryWorker", "Engine", "RetryPolicy"]


class Engine:
    """Called inside ingestion transactions; wakes the delivery worker after each firing."""

    def __init__(
        self,
        db: Database,
        retry: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        tick_s: float = 15.0,
    ) -> None:
        self.settings = EngineSettings(clock=clock)
        self.worker = DeliveryWorker(db, retry)
        self.ticker = Ticker(self.tick, tick_s)

    def now(self) -> float:
        """The engine's clock (epoch seconds)."""
        return self.settings.clock()

    def tick(self) -> int:
        """Fire what time passing has made true (stalled runs, scheduled digests), in its
        own transaction."""
        now = self.settings.clock()
        with self.worker.db.write() as conn:
            fired = stalled.on_tick(conn, self.settings, now)
            fired += schedule.on_tick(conn, self.settings, now)
        return self._fired(fired)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.settings.base_url = url  # for run links, once the server knows its address

    def set_viewer(self, viewer: str) -> None:
        """The local user, whom run filters on ``username`` compare with."""
        self.settings.viewer = viewer

    def _run(self, conn: sqlite3.Connection, project: sqlite3.Row, run: sqlite3.Row) -> RunContext:
        return RunContext(conn, self.settings, project, run)

    def _fired(self, count: int) -> int:
        if count:
            self.worker.wake.set()
        return count

    def on_history(
        self,
        conn: sqlite3.Connection,
        project: sqlite3.Row,
        run: sqlite3.Row,
        rows: list[dict[str, Any]],
    ) -> int:
        """Newly accepted history rows of a run."""
        context = self._run(conn, project, run)
        fired = stalled.on_history(context) if rows else 0
        return self._fired(fired + metrics.on_history(context, rows))

    def on_run_state(
        self,
        conn: sqlite3.Connection,
        project: sqlite3.Row,
        run: sqlite3.Row,
        previous: str | None,
        current: str,
    ) -> int:
        """A run's state was set (the same state again fires nothing)."""
        if previous == current:
            return 0
        return self._fired(run_state.on_run_state(self._run(conn, project, run), previous, current))

    def on_alert(
        self,
        conn: sqlite3.Connection,
        project: sqlite3.Row,
        run: sqlite3.Row,
        title: str,
        text: str,
        severity: str,
        wait: Any,
    ) -> int:
        """``wandb.alert()`` from a run."""
        context = self._run(conn, project, run)
        return self._fired(alerts.on_alert(context, title, text, severity, wait))

    def on_artifact_events(self, conn: sqlite3.Connection, events: list[ArtifactChange]) -> int:
        """Artifact changes (created, linked, alias or tag added...)."""
        return self._fired(artifacts.on_artifact_events(conn, self.settings, events))

    def test_fire(self, trigger: sqlite3.Row, sample: dict[str, Any]) -> int:
        """Send ``trigger``'s action once with a sample event, now; returns the execution id."""
        variables = {
            "event_type": trigger["event_type"],
            "event_author": "test",
            "run_name": "sample-run",
            "run_id": "sample",
            "metric_name": "sample_metric",
            "metric_value": 1.0,
            "step": 0,
            **sample,
        }
        with self.worker.db.write() as conn:
            if trigger["action_type"] == "DIGEST":  # the digest of the last 24 h, as it is
                # Times are whole seconds in the store: end after the current one.
                end = math.floor(self.settings.clock()) + 1
                scope, _ = triggers.scope_json(conn, trigger["scope_type"], trigger["scope_id"])
                schedule.record_digest(
                    conn, self.settings, trigger, scope, end - 86400, end, is_test=True
                )
                execution_id = int(conn.execute("SELECT max(id) FROM executions").fetchone()[0])
            else:
                execution_id = outbox.enqueue(
                    conn, trigger, variables, {"test": True, **sample}, is_test=True
                )
            # Not for the worker loop: this one is sent right here, exactly once.
            executions.send_now(conn, execution_id)
        self.worker.deliver_now(execution_id)
        return execution_id
