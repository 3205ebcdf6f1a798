"""The backtest of a metric rule, progressively: runs are listed, fetched and evaluated a
batch at a time, and the widget is updated as each batch lands.

Memory stays bounded whatever the project's size: a batch's history is let go once its runs
are reduced to what the preview shows (:class:`~.backtest.RunBacktest`), and at most
``PREFETCH`` further batches are being fetched meanwhile. The first batch is small, so the
first result comes quickly; later ones are larger, so requests stay few.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..api import Api, Run
from ..api.history import Columns
from ..automations import NewAutomation, OnRunMetric
from ..preview import evaluate, rule_from
from ..preview.policy import PolicyLike, resolve_policy
from .backtest import Backtest, reduce_run, sweep_grid
from .preview_data import assemble, evaluated_label, fire_rows

Update = Callable[[dict[str, Any], bytes | None], None]
"""Called with the view so far, and the chart's buffer when it changed (else None)."""

FIRST_BATCH_POINTS = 300_000  # the first result within a second or so, whatever the size
BATCH_POINTS = 3_000_000
BATCH_RUNS = 25  # the embedded server's bulk endpoint takes up to 25 runs a request
PREFETCH = 2  # batches fetched while one is evaluated
FIRES_SHOWN = 500
UPDATE_EVERY_S = 1.0  # between updates that bring only counts (each resends the runs list)
DETAILED_RUNS = 100  # runs drawn at the chart's full width; later ones at sparkline width
SPARKLINE_WIDTH = 100


_COUNTS = ("id", "name", "points", "fire_count", "condition_count", "first_fire_step")


class PreviewCancelled(Exception):
    """Cancel was pressed before any run was evaluated."""


@dataclass
class _Progress:
    """What has been done so far, for the view and the timings."""

    started: float = field(default_factory=time.perf_counter)
    listed: int = 0
    listing_done: bool = False
    evaluated: int = 0
    skipped: int = 0
    fetch_s: float = 0.0
    evaluate_s: float = 0.0
    first_result_s: float | None = None


def metric_preview(
    api: Api,
    automation: NewAutomation,
    selected: Iterable[Run],
    *,
    policy: PolicyLike,
    width: int,
    on_update: Update | None,
    cancel: threading.Event | None,
) -> tuple[Backtest, dict[str, Any], bytes]:
    """Backtest ``automation``'s metric rule on the ``selected`` runs; returns the result, the
    final view and the chart's buffer. ``cancel`` stops listing and fetching at once and
    keeps what was evaluated."""
    event = automation.event
    assert isinstance(event, OnRunMetric)
    metric = event.filter.condition.name
    resolved = resolve_policy(policy)
    backtest = Backtest(rule_from(event), resolved)
    progress = _Progress()
    fires: list[dict[str, Any]] = []
    sent_runs = 0  # runs in the last buffer sent
    updated_at = 0.0
    stop = cancel or threading.Event()
    finished = threading.Event()  # stops the listing thread however this ends
    try:
        listed = _listed_ahead(selected, progress, stop, finished)
        for batch, columns, fetch_s in _fetched(api, _batches(listed), metric, stop):
            progress.fetch_s += fetch_s
            start = time.perf_counter()
            history = {path: cols for path, cols in columns.items() if cols[metric].size}
            progress.skipped += len(batch) - len(history)
            evaluation = evaluate(event, history, policy=resolved)
            if not backtest and evaluation:  # the sweep's points, once, from the first runs
                longest = max((run.history_line_count or 0) for run in batch)
                backtest.grid = sweep_grid(backtest.rule, list(evaluation.values()), longest)
            names = {run.path: run.display_name or run.name for run in batch}
            reduced = []
            for run_id, result in evaluation.items():
                detailed = len(backtest) < DETAILED_RUNS
                run = reduce_run(
                    result,
                    names[run_id],
                    backtest.rule,
                    resolved,
                    backtest.grid,
                    width if detailed else SPARKLINE_WIDTH,
                )
                backtest.runs[run_id] = run
                reduced.append(run)
            del evaluation, history, columns  # the batch's full arrays go here
            fires = fire_rows(reduced, FIRES_SHOWN, fires)
            progress.evaluated += len(batch)
            progress.evaluate_s += time.perf_counter() - start
            if progress.first_result_s is None and backtest:
                progress.first_result_s = time.perf_counter() - progress.started
            if on_update is None or not backtest:
                continue
            # The buffer is sent again only when the runs drawn have doubled, so the buffers
            # sent add up to a few times the final one. Updates in between, at most every
            # UPDATE_EVERY_S, bring counts and fires; their runs carry no array references
            # (the view keeps those of the buffer it has).
            resend = len(backtest) >= 2 * sent_runs
            if resend or time.perf_counter() - updated_at >= UPDATE_EVERY_S:
                if resend:
                    sent_runs = len(backtest)
                view, buffer = _view(backtest, fires, progress, metric, drawn=resend)
                on_update(view, buffer if resend else None)
                updated_at = time.perf_counter()
    finally:
        finished.set()
    if not backtest and stop.is_set():
        raise PreviewCancelled()
    view, buffer = _view(backtest, fires, progress, metric, drawn=True, final=True)
    view["cancelled"] = stop.is_set()
    if stop.is_set():
        view["summary"] = f"Cancelled after {len(backtest):,} runs: {view['summary']}"
    return backtest, view, buffer


def _listed_ahead(
    runs: Iterable[Run], progress: _Progress, stop: threading.Event, finished: threading.Event
) -> Iterator[Run]:
    """``runs``, listed in a thread of their own: listing goes on (a page of runs a request)
    while batches are fetched, so the number of runs in scope is known early."""
    found: queue.Queue[Run | BaseException | None] = queue.Queue()

    def list_runs() -> None:
        try:
            for run in runs:
                if stop.is_set() or finished.is_set():
                    break
                progress.listed += 1
                found.put(run)
            progress.listing_done = not stop.is_set()
            found.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            found.put(exc)

    threading.Thread(target=list_runs, name="preview-list", daemon=True).start()
    while (item := found.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def _batches(runs: Iterable[Run]) -> Iterator[list[Run]]:
    """Runs in batches of about ``BATCH_POINTS`` history lines (the first one smaller)."""
    batch: list[Run] = []
    points, limit = 0, FIRST_BATCH_POINTS
    for run in runs:
        batch.append(run)
        points += run.history_line_count or 0
        if points >= limit or len(batch) >= BATCH_RUNS:
            yield batch
            batch, points, limit = [], 0, BATCH_POINTS
    if batch:
        yield batch


def _fetched(
    api: Api, batches: Iterator[list[Run]], metric: str, stop: threading.Event
) -> Iterator[tuple[list[Run], dict[str, Columns], float]]:
    """Each batch with its history (and the seconds its fetch took), ``PREFETCH`` batches
    ahead. Once ``stop`` is set no further batch is listed or fetched, and nothing more is
    yielded; a fetch already under way finishes in the background and is dropped."""
    pool = ThreadPoolExecutor(max_workers=PREFETCH, thread_name_prefix="preview-fetch")
    pending: deque[tuple[list[Run], Future[tuple[dict[str, Columns], float]]]] = deque()

    def fetch(batch: list[Run]) -> tuple[dict[str, Columns], float]:
        start = time.perf_counter()
        found = api.histories(batch, [metric], concurrency=2, cancel=stop)
        return found, time.perf_counter() - start

    try:
        for batch in batches:
            if stop.is_set():
                return
            pending.append((batch, pool.submit(fetch, batch)))
            if len(pending) > PREFETCH:
                done, future = pending.popleft()
                yield done, *future.result()
        while pending and not stop.is_set():
            done, future = pending.popleft()
            yield done, *future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _view(
    backtest: Backtest,
    fires: list[dict[str, Any]],
    progress: _Progress,
    metric: str,
    *,
    drawn: bool,
    final: bool = False,
) -> tuple[dict[str, Any], bytes]:
    """The view of what was evaluated so far, and with ``drawn`` the buffer of every run's
    drawing; without it, runs are listed with their counts only (the widget keeps the
    drawings of the buffer it has) and the buffer is empty."""
    rule = backtest.rule
    label = evaluated_label(rule)
    start = time.perf_counter()
    if drawn:
        runs, buffer = assemble([(r.drawing, r.chunk) for r in backtest.values()])
    else:
        runs = [{k: v for k, v in r.drawing.items() if k in _COUNTS} for r in backtest.values()]
        buffer = b""
    curve = backtest.sweep()
    summary = backtest.summary()
    if not final:
        summary = f"so far ({progress.evaluated:,} runs evaluated): {summary}"
    timings = {
        "fetch_s": progress.fetch_s,
        "evaluate_s": progress.evaluate_s,
        "package_s": time.perf_counter() - start,
        "first_result_s": progress.first_result_s or 0.0,
        "total_s": time.perf_counter() - progress.started,
    }
    view = {
        "state": "done" if final else "running",
        "kind": "metric",
        "done": progress.evaluated,
        "total": progress.listed if progress.listing_done else None,
        "summary": summary,
        "fire_count": backtest.fire_count,
        "runs_fired": len(backtest.runs_fired),
        "runs_total": len(backtest),
        "skipped_runs": progress.skipped,
        "metric": metric,
        "rule": {
            "kind": rule.kind,
            "cmp": rule.cmp,
            "threshold": rule.threshold,
            **({"patience": rule.plateau.patience} if rule.plateau is not None else {}),
        },
        "policy": {"mode": backtest.policy.mode, "cooldown_s": backtest.policy.cooldown_s},
        "axes": {"x": "step", "raw": metric, "evaluated": label},
        "advice": backtest.advice(label) if final else [],
        "sweep": curve["points"],
        "sweep_current": curve["current"],
        "sweep_log": curve.get("log", False),
        "sweep_parameter": curve.get("parameter", "threshold"),
        "timings": timings,
        "runs": runs,
        "fires": fires,
        "bytes": len(buffer),
    }
    return view, buffer
