"""``wandb-auto-widget watch``: follow W&B projects and run the extension rules on them.

The watcher reads W&B through ``Api`` only, with W&B's own documents (it never relies on our
server's additions there), and mirrors each run it follows into the embedded server through
its ordinary ingestion path, so every rule of the embedded engine (plateau, non-finite,
stalled runs, digests, StopRun) runs on W&B runs exactly as on runs logged locally. A run's
mirror holds the rows of the metrics some rule reads, so a rule fires on the step it would
fire on had the run logged into the embedded server.

Each poll lists the project's runs most recently heard from first (``-heartbeat_at``) and
stops at the first run not heard from since the previous poll: requests grow with the
active runs, not with all runs. Only rows past a mirror's last step are fetched, so a restart
neither re-fires nor skips. A stop requested by a rule goes to W&B with W&B's own stop
mutation, as the Stop button sends it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..api import Api, ApiError, LoggedRun, Run
from ..automations import SendDigest
from .engine.context import project_scope
from .local import LocalServer
from .store import entities, runs, triggers, watched
from .store.db import Database
from .store.watched import Seen

log = logging.getLogger(__name__)
ENDED = {"finished": 0, "failed": 1}
_METRIC_TYPES = ("RUN_METRIC_PLATEAU", "RUN_METRIC_NON_FINITE")


def _epoch(text: str | None) -> float:
    if not text:
        return 0.0
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


@dataclass
class PollStats:
    """One poll of one project."""

    requests: int = 0  # to W&B, retries included
    runs_listed: int = 0
    runs_synced: int = 0
    rows: int = 0
    stops: int = 0
    seconds: float = 0.0


@dataclass
class Watcher:
    """Follow ``projects`` (``entity/project`` on W&B) with ``remote``; rules, state and
    outbox live in ``local`` (an embedded server).

    ``interval`` is the time between polls; ``budget`` the most requests per minute to W&B
    (polls slow down to stay under it). ``poll()`` runs one round; ``run()`` loops until
    ``stop()``.
    """

    remote: Api
    local: LocalServer
    projects: list[str]
    interval: float = 30.0
    budget: int = 120
    _stop: threading.Event = field(default_factory=threading.Event)
    _mirrors: dict[str, LoggedRun] = field(default_factory=dict)

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        """Poll until :meth:`stop`, pacing polls by ``interval`` and the request budget."""
        while not self._stop.is_set():
            started, sent = time.monotonic(), self.remote.requests_sent
            try:
                self.poll()
            except ApiError as exc:  # W&B down or refusing: the next poll tries again
                log.warning("poll failed: %s", exc)
            used = self.remote.requests_sent - sent
            # Stay under the budget: a poll that used N requests waits N / budget minutes.
            wait = max(self.interval, 60.0 * used / max(self.budget, 1))
            self._stop.wait(max(0.0, wait - (time.monotonic() - started)))

    def start(self) -> Watcher:
        """:meth:`run` in a daemon thread (a notebook's kernel stays free); returns self."""
        threading.Thread(target=self.run, name="wandb-auto-widget-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        """End :meth:`run` after the poll under way."""
        self._stop.set()

    def poll(self) -> list[PollStats]:
        """One round over every project; returns what each cost."""
        return [self.poll_project(path) for path in self.projects]

    # ------------------------------------------------------------------ one project

    def poll_project(self, path: str) -> PollStats:
        stats, started = PollStats(), time.monotonic()
        sent = self.remote.requests_sent
        entity, project_name = path.split("/")
        db = self._db()
        with db.write() as conn:
            entities.ensure_entity(conn, entity)
        local_api = self.local.api
        try:
            local_api.project(project_name, entity=entity)
        except ApiError:
            local_api.create_project(project_name, entity=entity)
        # W&B's own clock: the newest heartbeat seen by the previous poll. A run that logged
        # since then was heard from at or after it; anything older is unchanged.
        previous = watched.last_poll(db.read(), path)
        newest = previous or 0.0
        metrics = self._metrics(entity, project_name)
        for run in self.remote.iter_runs(path, order="-heartbeat_at", per_page=50):
            stats.runs_listed += 1
            heard = _epoch(run.heartbeat_at)
            newest = max(newest, heard)
            mirror = runs.get_run(db.read(), self._project_id(entity, project_name), run.name)
            seen = None if mirror is None else watched.seen(db.read(), mirror["id"])
            unchanged = (
                seen is not None
                and seen.line_count == (run.history_line_count or 0)
                and seen.state == (run.state or "")
            )
            if unchanged and previous is not None and heard < previous:
                break  # everything further down was heard from before the previous poll
            if unchanged:
                continue
            stats.rows += self._sync(run, metrics, seen, stats)
            stats.runs_synced += 1
        with db.write() as conn:
            watched.polled(conn, path, newest)
        stats.requests = self.remote.requests_sent - sent
        stats.seconds = time.monotonic() - started
        return stats

    def _sync(self, run: Run, metrics: list[str], seen: Seen | None, stats: PollStats) -> int:
        """Bring one run's mirror up to date; returns the rows it took in."""
        mirror = self._mirror(run)
        state = run.state or ""
        # A run that had already ended when first seen is mirrored without its history:
        # rules fire on what happens while watching, not on an old run's past (which would
        # be a storm of messages the first time a project is watched).
        backfill = seen is not None or state == "running"
        rows = self._new_rows(run, metrics, mirror) if backfill else []
        stopped = mirror.log(rows) if rows else False
        if state in ENDED and (seen is None or seen.state != state):
            mirror.finish(exit_code=ENDED[state])
        elif state in ("crashed", "killed") and (seen is None or seen.state != state):
            self.local.api.set_run_state(mirror.path, state)
        stop_sent = seen.stop_sent if seen is not None else False
        if stopped and not stop_sent and state == "running":
            self.remote.stop_run(run.path)  # W&B's stopRun: the SDK stops the run
            stats.stops += 1
            stop_sent = True
        local_id = self._local_run_id(mirror)
        with self._db().write() as conn:
            watched.remember(conn, local_id, Seen(run.history_line_count or 0, state, stop_sent))
        return len(rows)

    def _new_rows(self, run: Run, metrics: list[str], mirror: LoggedRun) -> list[dict[str, Any]]:
        """The rows past the mirror's last step, with the metrics rules read (or only their
        times, which is what stalled-run rules and digests need)."""
        after = mirror.last_step
        by_step: dict[int, dict[str, Any]] = {}
        for key in metrics or ["_timestamp"]:
            columns = self.remote.history(run, [key], min_step=after + 1)
            for i, step in enumerate(columns["_step"].tolist()):
                row = by_step.setdefault(
                    int(step), {"_step": int(step), "_timestamp": float(columns["_timestamp"][i])}
                )
                if key != "_timestamp":
                    row[key] = float(columns[key][i])
        return [by_step[step] for step in sorted(by_step)]

    # ------------------------------------------------------------------ local side

    def _db(self) -> Database:
        return self.local.database

    def _project_id(self, entity: str, project: str) -> int:
        found = entities.find_project(self._db().read(), entity, project)
        assert found is not None
        return int(found["id"])

    def _local_run_id(self, mirror: LoggedRun) -> int:
        row = runs.get_run(
            self._db().read(), self._project_id(mirror.entity, mirror.project), mirror.name
        )
        assert row is not None
        return int(row["id"])

    def _mirror(self, run: Run) -> LoggedRun:
        """The run's mirror, created (or resumed after a restart) with W&B's name and id."""
        found = self._mirrors.get(run.path)
        if found is None:
            found = self._mirrors[run.path] = self.local.api.init_run(
                f"{run.entity}/{run.project}",
                run_id=run.name,
                name=run.display_name,
                config=run.config,
                tags=run.tags,
                group=run.group,
                job_type=run.job_type,
            )
        return found

    def _metrics(self, entity: str, project: str) -> list[str]:
        """The metrics the project's extension automations read: plateau and non-finite
        rules, and digests."""
        conn = self._db().read()
        found = entities.find_project(conn, entity, project)
        assert found is not None and self.local.engine is not None
        scope = project_scope(found["id"], found["name"])
        wanted: set[str] = set()
        for trigger in triggers.run_scope_triggers(conn, found, _METRIC_TYPES):
            wanted.add(self.local.engine.settings.rule(trigger, scope).metric)
        for trigger in triggers.run_scope_triggers(conn, found, ("SCHEDULE",)):
            config = json.loads(trigger["action_config"]).get("digestActionInput", {})
            wanted.update(SendDigest.model_validate(config).metrics)
        return sorted(wanted)
