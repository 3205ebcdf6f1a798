"""The engine: decides what fires (triggering.py), records it (outbox.py) and delivers it
(delivery.py). ``Engine`` is what the server's ingestion paths call."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..store.artifacts import ArtifactEvent
from ..store.db import Database
from . import outbox, triggering
from .delivery import DeliveryWorker, RetryPolicy

__all__ = ["DeliveryWorker", "Engine", "RetryPolicy"]


class Engine:
    """Called inside ingestion transactions; wakes the delivery worker after each firing."""

    def __init__(self, db: Database, retry: RetryPolicy | None = None) -> None:
        self.base_url = ""  # set once the server knows its address, for run links
        self._cache = triggering.TriggerCache()
        self.worker = DeliveryWorker(db, retry)

    def set_viewer(self, viewer: str) -> None:
        """The local user, whom run filters on ``username`` compare with."""
        self._cache.viewer = viewer

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
        return self._fired(
            triggering.on_history(conn, self._cache, self.base_url, project, run, rows)
        )

    def on_run_state(
        self,
        conn: sqlite3.Connection,
        project: sqlite3.Row,
        run: sqlite3.Row,
        previous: str | None,
        current: str,
    ) -> int:
        if previous == current:
            return 0
        return self._fired(
            triggering.on_run_state(
                conn, self._cache, self.base_url, project, run, previous, current
            )
        )

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
            execution_id = outbox.enqueue(
                conn, trigger, variables, {"test": True, **sample}, is_test=True
            )
            # Not for the worker loop: this one is sent right here, exactly once.
            conn.execute(
                "UPDATE executions SET next_attempt_at = NULL WHERE id = ?", (execution_id,)
            )
        self.worker.deliver_now(execution_id)
        return execution_id

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
        """``wandb.alert()``: a Slack message through the entity's first Slack integration,
        at most once per ``wait`` per run and title; recorded in the execution history."""
        return self._fired(
            triggering.on_alert(conn, self.base_url, project, run, title, text, severity, wait)
        )

    def on_artifact_events(self, conn: sqlite3.Connection, events: list[ArtifactEvent]) -> int:
        return self._fired(triggering.on_artifact_events(conn, self._cache, self.base_url, events))
