"""Run-metric automations: newly accepted history rows through the preview's shared windows
and fire policy (``preview.windows.Windows.advance``, ``SeriesBatch`` and
``preview.stream.fire_batch``; for non-finite and plateau rules ``preview.stream.logged_batch``
and ``fire_stateful``: the functions ``StreamEvaluator`` is made of, so the engine fires
exactly where ``preview.evaluate`` does)."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import astuple
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ..._jsontext import dumps, loads, wire_number
from ...automations import OnRunMetric
from ...preview import matches_run_filter
from ...preview.plateau import PlateauState
from ...preview.policy import resolve_policy
from ...preview.rules import Rule
from ...preview.stream import Fire, fire_batch, fire_stateful, logged_batch
from ...preview.values import as_logged_number, as_number, lookup
from ...preview.windows import SeriesBatch, Windows
from ..store import triggers, windows
from .context import RunContext, fingerprint

RUN_METRIC_TYPES = (
    "RUN_METRIC",
    "RUN_METRIC_CHANGE",
    "RUN_METRIC_ZSCORE",
    "RUN_METRIC_PLATEAU",
    "RUN_METRIC_NON_FINITE",
)
FIRE_POLICY: Final = resolve_policy("wandb")  # the preview's default: once per run per 24 h
# Policy state: whether the condition held at the last value, the last fire's time, and for a
# plateau its state machine ([best, bad, cooldown, seen]; best may be Infinity).
_FRESH: Final = "[false,null]"
_PLAIN: Final = frozenset({float, int, type(None)})
Watchers = list[tuple[sqlite3.Row, Rule]]


def on_history(context: RunContext, rows: list[dict[str, Any]]) -> int:
    """Push newly accepted history rows through each matching metric automation; returns
    the number of firings.

    Work is shared as far as the semantics allow: one set of running windows per metric
    (advanced once per batch, saved once), one evaluated series per distinct window shape,
    and per automation only its comparison and its fire policy. The windows cover the run's
    values since the first automation on the metric saw it, as the preview's windows cover
    the run's whole history.
    """
    by_metric = _watchers(context) if rows else {}
    if not by_metric:
        return 0
    run_id = context.run["id"]
    stored = windows.load_windows(context.conn, run_id)
    policies = windows.load_policies(context.conn, run_id)
    batch = _Batch(rows)
    saved_windows: list[tuple[int, str, bytes]] = []
    saved_policies: list[tuple[int, int, str, str]] = []
    fired = 0
    for metric, watchers in by_metric.items():
        current = _windows_for(stored.get(metric), context.run["last_step"])
        capacity = max(rule.history_needed for _, rule in watchers)
        current, advance = current.advance(str(run_id), *batch.columns(metric), capacity)
        saved_windows.append((run_id, metric, current.to_bytes()))
        series: dict[tuple[Any, ...], SeriesBatch | None] = {}
        for trigger, rule in watchers:
            read = rule.smoothing() if rule.kind == "plateau" and rule.agg else rule
            shape = (read.kind, read.agg, read.window, read.prior, read.relative)
            if shape not in series:
                if read.logged_values:  # non-finite, raw plateau: values as logged
                    series[shape] = logged_batch(str(run_id), *batch.logged(metric), None)[0]
                else:
                    series[shape] = None if advance is None else advance.series(read)
            evaluated = series[shape]
            if evaluated is None:
                continue
            fires, saved = _apply_policy(trigger, rule, evaluated, policies.get(trigger["id"]))
            if saved is not None:
                saved_policies.append((trigger["id"], run_id, *saved))
            for fire in fires:
                _fire(context, trigger, metric, fire)
                fired += 1
    windows.save_windows(context.conn, saved_windows)
    windows.save_policies(context.conn, saved_policies)
    return fired


def _watchers(context: RunContext) -> dict[str, Watchers]:
    """The run's metric automations whose run filter matches it, by metric."""
    settings, scope, fields = context.settings, context.scope, context.fields()
    by_metric: dict[str, Watchers] = {}
    for trigger in triggers.run_scope_triggers(context.conn, context.project, RUN_METRIC_TYPES):
        event: OnRunMetric = settings.event(trigger, scope)
        if matches_run_filter(event.filter.run, fields):
            rule = settings.rule(trigger, scope)
            by_metric.setdefault(rule.metric, []).append((trigger, rule))
    return by_metric


def _windows_for(stored: bytes | None, last_step: int | None) -> Windows:
    found = Windows() if stored is None else Windows.from_bytes(stored)
    if found.last_step != last_step:
        # Rows were logged while nothing watched this metric (its automations were disabled,
        # or are all newer): windows with that gap would join values that are not
        # consecutive, so they start afresh.
        return Windows()
    return found


def _apply_policy(
    trigger: sqlite3.Row, rule: Rule, evaluated: SeriesBatch, saved: tuple[str, str] | None
) -> tuple[list[Fire], tuple[str, str] | None]:
    """The fires of one automation in this batch, and its policy state to save (None when
    it did not change)."""
    saved_for, previous = saved or ("", _FRESH)
    current = fingerprint(trigger["event_filter"])
    if saved_for != current:  # never saved, or saved for an edited filter
        previous = _FRESH
    last_condition, last_fire_ts, *machine = loads(previous)
    if rule.kind in ("plateau", "non_finite"):
        plateau = PlateauState(*machine[0]) if machine and machine[0] else None
        if rule.kind == "plateau" and plateau is None:
            plateau = PlateauState()
        fires, last_condition, last_fire_ts, plateau = fire_stateful(
            rule, FIRE_POLICY, evaluated, last_condition, last_fire_ts, plateau
        )
        kept = None if plateau is None else list(astuple(plateau))
        state = dumps([last_condition, last_fire_ts, kept])
    else:
        fires, last_condition, last_fire_ts = fire_batch(
            rule, FIRE_POLICY, evaluated, last_condition, last_fire_ts
        )
        state = dumps([last_condition, last_fire_ts])
    changed = saved_for != current or state != previous
    return fires, (current, state) if changed else None


def _fire(context: RunContext, trigger: sqlite3.Row, metric: str, fire: Fire) -> None:
    variables = {
        **context.variables(trigger["event_type"]),
        "metric_name": metric,
        "metric_value": fire.metric_value,
        "step": fire.step,
    }
    details = {
        "metric": metric,
        "step": fire.step,
        # A non-finite value (a non-finite rule's, a plateau's NaN) is recorded as "NaN".
        "value": wire_number(fire.metric_value),
        "evaluated": wire_number(fire.value),
        "timestamp": fire.timestamp,
    }
    context.fire(trigger, variables, details)


class _Batch:
    """The batch's rows as columns, each extracted once, whatever automations ask for it."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self._columns: dict[str, npt.NDArray[np.float64]] = {}
        self.steps = np.fromiter((row["_step"] for row in rows), np.int64, len(rows))
        self.stamps = _column(rows, "_timestamp")

    def columns(
        self, metric: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(steps, timestamps, values) of ``metric``; NaN where a row has no value that
        counts."""
        if metric not in self._columns:
            self._columns[metric] = _column(self.rows, metric)
        return self.steps, self.stamps, self._columns[metric]

    def logged(
        self, metric: str
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[Any]
    ]:
        """(steps, timestamps, values as logged, whether each row logged the metric)."""
        found = [
            as_logged_number(row.get(metric) if metric in row else lookup(row, metric))
            for row in self.rows
        ]
        values = np.array([math.nan if v is None else v for v in found], dtype=np.float64)
        present = np.array([v is not None for v in found], dtype=bool)
        return self.steps, self.stamps, values, present


def _number(value: Any) -> float:
    """A logged value as a float, NaN when it does not count (the fast path is a float)."""
    if type(value) is float:
        return value  # NaN and inf stay as they are; the windows skip them
    number = as_number(value)
    return math.nan if number is None else number


def _column(rows: list[dict[str, Any]], key: str) -> npt.NDArray[np.float64]:
    """A logged key as floats, NaN where it does not count (missing, bool, text...)."""
    found = [row.get(key) for row in rows]
    nested = "." in key
    if set(map(type, found)) <= _PLAIN and not (nested and None in found):
        # The usual batch: plain numbers and gaps, which numpy converts as _number() would.
        return np.array(found, dtype=np.float64)
    return np.array(
        [
            _number(value if not nested or key in row else lookup(row, key))
            for row, value in zip(rows, found, strict=True)
        ],
        dtype=np.float64,
    )
