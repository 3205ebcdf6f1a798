"""Incremental evaluation, one logged row at a time: what the engine fires on.

Per run it keeps only what the rule's windows need: the last ``w + p + 1`` prefix sums
and, for MAX/MIN, monotonic deques. Each row costs O(1) amortized. The arithmetic
mirrors ``batch.py`` operation for operation (see the note there), so that a row
fires here exactly when the preview says it would.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from .batch import condition_of, stateful_condition
from .history import STEP, TIMESTAMP
from .plateau import PlateauState
from .policy import FirePolicy, PolicyLike, resolve_policy, select_fires
from .rules import Z_TOLERANCE, Rule, rule_from
from .values import as_logged_number, as_number, lookup
from .windows import SeriesBatch, Windows

_STATE_VERSION = 1
_ABSENT = object()


@dataclass(frozen=True)
class Fire:
    """One firing: the run, the row's step and time, and the values that fired."""

    run_id: str
    step: int
    timestamp: float | None
    value: float
    """The evaluated quantity: the window aggregate, the change or the z-score (for a
    plateau, the value it read; for non-finite, the value logged)."""
    metric_value: float
    """The raw metric value logged at this step."""


def fire_batch(
    rule: Rule,
    policy: FirePolicy,
    batch: SeriesBatch,
    last_condition: bool,
    last_fire_ts: float | None,
    condition: npt.NDArray[np.bool_] | None = None,
) -> tuple[list[Fire], bool, float | None]:
    """Apply ``rule``'s comparison (or the ``condition`` given, for rules with state of their
    own) and the fire policy to a pushed batch's series.

    Returns the fires and the policy state to carry: whether the condition held at the last
    value, and the time of the last fire (for a cooldown).
    """
    if condition is None:
        condition = condition_of(rule, batch.series)
    ts = batch.timestamps
    if policy.cooldown_s is not None:
        candidates = condition.copy()
        if policy.mode == "edge":
            candidates[1:] &= ~condition[:-1]
            candidates[0] &= not last_condition
        if np.isnan(ts[candidates]).any():
            raise ValueError(
                f"run {batch.run_id!r}: rows need '_timestamp' (seconds) for a policy with a "
                "cooldown"
            )
    fire_index = select_fires(
        policy, condition, ts, previous_condition=last_condition, last_fire_ts=last_fire_ts
    )
    if policy.cooldown_s is not None and fire_index.size:
        last_fire_ts = float(ts[fire_index[-1]])
    fires = [
        Fire(
            batch.run_id,
            int(batch.steps[i]),
            None if math.isnan(ts[i]) else float(ts[i]),
            float(batch.series[i]),
            float(batch.values[i]),
        )
        for i in fire_index
    ]
    return fires, bool(condition[-1]), last_fire_ts


def fire_stateful(
    rule: Rule,
    policy: FirePolicy,
    batch: SeriesBatch,
    last_condition: bool,
    last_fire_ts: float | None,
    plateau: PlateauState | None,
) -> tuple[list[Fire], bool, float | None, PlateauState | None]:
    """:func:`fire_batch` for rules with state beyond a window (non-finite, plateau): the
    condition continues from ``plateau``, whose next value is returned too."""
    condition, plateau = stateful_condition(rule, batch.series, plateau)
    fires, last_condition, last_fire_ts = fire_batch(
        rule, policy, batch, last_condition, last_fire_ts, condition
    )
    return fires, last_condition, last_fire_ts, plateau


def logged_batch(
    run_id: str,
    steps: npt.NDArray[np.int64],
    timestamps: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    present: npt.NDArray[np.bool_],
    last_step: int | None,
) -> tuple[SeriesBatch | None, int | None]:
    """The values a rule on logged values reads from a batch of rows: those whose step
    increases past ``last_step`` and that logged the metric (NaN and infinities included),
    in order; and the run's last step after the batch."""
    if steps.size == 0:
        return None, last_step
    floor = np.iinfo(np.int64).min if last_step is None else last_step
    before = np.maximum.accumulate(np.concatenate([[floor], steps[:-1]]))
    keep = (steps > before) & present
    last = int(max(floor, int(steps.max())))
    if not keep.any():
        return None, last
    kept = values[keep]
    return SeriesBatch(run_id, steps[keep], timestamps[keep], kept, kept), last


class _Extreme:
    """Sliding MAX or MIN over indices, as a monotonic deque (O(1) amortized)."""

    __slots__ = ("entries", "is_max")

    def __init__(self, is_max: bool, entries: Iterable[list[float]] = ()) -> None:
        self.is_max = is_max
        self.entries: deque[list[float]] = deque(entries)

    def push(self, index: int, value: float) -> None:
        entries = self.entries
        if self.is_max:
            while entries and entries[-1][1] <= value:
                entries.pop()
        else:
            while entries and entries[-1][1] >= value:
                entries.pop()
        entries.append([index, value])

    def evict_through(self, index: int) -> None:
        entries = self.entries
        while entries and entries[0][0] <= index:
            entries.popleft()

    @property
    def value(self) -> float:
        return self.entries[0][1]


@dataclass
class _RunState:
    last_step: int | None = None
    count: int = 0  # values that counted so far
    anchor: float = 0.0
    prefix: deque[float] = field(default_factory=deque)
    squares: deque[float] = field(default_factory=deque)
    recent: deque[float] = field(default_factory=deque)  # last w values (MAX/MIN change)
    current: _Extreme | None = None
    prior: _Extreme | None = None
    last_condition: bool = False
    last_fire_ts: float | None = None
    plateau: PlateauState | None = None  # plateau rules only


class StreamEvaluator:
    """Evaluate a metric filter row by row; ``push`` returns a :class:`Fire` or ``None``.

    Rows are dicts with ``_step``, ``_timestamp`` (seconds) and metric keys, pushed in
    logged order. A row whose step is not greater than the run's previous step is
    ignored, as in :func:`~wandb_auto_widget.preview.evaluate`.
    """

    def __init__(
        self, filter: Any, *, policy: PolicyLike = "wandb", cooldown_s: float | None = None
    ) -> None:
        self.rule: Rule = rule_from(filter)
        self.policy: FirePolicy = resolve_policy(policy, cooldown_s)
        self._runs: dict[str, _RunState] = {}
        rule = self.rule
        self._prefix_len = rule.history_needed + 1
        self._uses_extremes = rule.agg in ("MAX", "MIN")
        self._metric = rule.metric
        self._rule_dict, self._policy_dict = asdict(rule), asdict(self.policy)
        self._needed_index = rule.history_needed - 1
        self._is_zscore = rule.kind == "zscore"
        self._is_threshold = rule.kind == "threshold"
        self._is_average = rule.agg == "AVERAGE"
        self._holds = _predicate(rule)
        # Non-finite and plateau rules carry state beyond a window: every batch, even of one
        # row, goes through the vectorized path that batch evaluation uses.
        self._stateful = rule.kind in ("plateau", "non_finite")

    # -- public API ------------------------------------------------------------------

    def push(self, run_id: str, row: Mapping[str, Any]) -> Fire | None:
        """Feed one row of ``run_id``; return the fire it causes, if any."""
        if self._stateful:
            fires = self.push_rows(run_id, [row])
            return fires[0] if fires else None
        # This is the engine's hot path: attribute lookups are hoisted and the common
        # case (a plain float under the exact key) skips the general value rules.
        state = self._runs.get(run_id)
        if state is None:
            state = self._runs[run_id] = self._new_state()
        step = row.get(STEP)
        if step is None:
            raise ValueError(f"run {run_id!r}: row has no {STEP!r}; every row needs one")
        if type(step) is not int:
            step = int(step)
        last = state.last_step
        if last is not None and step <= last:
            return None
        state.last_step = step
        raw = row.get(self._metric, _ABSENT)
        if type(raw) is float and raw - raw == 0.0:  # finite float (NaN/inf give NaN)
            x: float | None = raw
        else:
            x = as_number(lookup(row, self._metric) if raw is _ABSENT else raw)
            if x is None:
                return None
        evaluated = self._advance(state, x)  # type: ignore[arg-type]
        if evaluated is None:
            state.last_condition = False
            return None
        return self._decide(run_id, state, row, step, x, evaluated)  # type: ignore[arg-type]

    def push_rows(self, run_id: str, rows: Iterable[Mapping[str, Any]]) -> list[Fire]:
        """Feed several rows of one run, in order; return the fires they cause.

        Vectorized: the same kernel as :func:`~wandb_auto_widget.preview.evaluate`, started
        from this run's carried state, so a batch costs numpy time rather than a Python loop
        per row. It leaves exactly the state that pushing the rows one by one would.
        """
        rows = list(rows)
        steps, stamps, values, present = [], [], [], []
        metric = self._metric
        read = as_logged_number if self.rule.logged_values else as_number
        for row in rows:
            step = row.get(STEP)
            if step is None:
                raise ValueError(f"run {run_id!r}: row has no {STEP!r}; every row needs one")
            steps.append(int(step))
            ts = as_number(row.get(TIMESTAMP))
            stamps.append(math.nan if ts is None else ts)
            value = read(lookup(row, metric))
            values.append(math.nan if value is None else value)
            present.append(value is not None)
        columns = (
            np.asarray(steps, dtype=np.int64),
            np.asarray(stamps, dtype=np.float64),
            np.asarray(values, dtype=np.float64),
        )
        if self.rule.logged_values:
            return self._push_logged(run_id, *columns, np.asarray(present, dtype=bool))
        return self.push_columns(run_id, *columns)

    def push_columns(
        self,
        run_id: str,
        steps: npt.NDArray[np.int64],
        timestamps: npt.NDArray[np.float64],
        values: npt.NDArray[np.float64],
    ) -> list[Fire]:
        """:meth:`push_rows` for rows already split into columns (NaN where a value does not
        count): :meth:`push_series`, then :func:`fire_batch`, the two steps the engine runs
        for many automations at once."""
        if self.rule.logged_values:
            # NaN here is a logged NaN: leave rows without the metric out.
            return self._push_logged(
                run_id, steps, timestamps, values, np.ones(values.size, dtype=bool)
            )
        batch = self.push_series(run_id, steps, timestamps, values)
        if batch is None:
            return []
        return self._fire(run_id, batch)

    def _fire(self, run_id: str, batch: SeriesBatch) -> list[Fire]:
        s = self._runs[run_id]
        if self._stateful:
            fires, s.last_condition, s.last_fire_ts, s.plateau = fire_stateful(
                self.rule, self.policy, batch, s.last_condition, s.last_fire_ts, s.plateau
            )
            return fires
        fires, s.last_condition, s.last_fire_ts = fire_batch(
            self.rule, self.policy, batch, s.last_condition, s.last_fire_ts
        )
        return fires

    def _push_logged(
        self,
        run_id: str,
        steps: npt.NDArray[np.int64],
        timestamps: npt.NDArray[np.float64],
        values: npt.NDArray[np.float64],
        present: npt.NDArray[np.bool_],
    ) -> list[Fire]:
        """Rules on values as logged: the rows whose step increases and that logged the
        metric (NaN and infinities included) are the values, in order."""
        s = self._runs.get(run_id)
        if s is None:
            s = self._runs[run_id] = self._new_state()
        batch, s.last_step = logged_batch(run_id, steps, timestamps, values, present, s.last_step)
        if batch is None:
            return []
        s.count += int(batch.values.size)
        return self._fire(run_id, batch)

    def push_series(
        self,
        run_id: str,
        steps: npt.NDArray[np.int64],
        timestamps: npt.NDArray[np.float64],
        values: npt.NDArray[np.float64],
    ) -> SeriesBatch | None:
        """Advance the run's windows by a batch of columns and return the evaluated series of
        its counted values (None if none counted), leaving the fire policy's state alone."""
        s = self._runs.get(run_id)
        if s is None:
            s = self._runs[run_id] = self._new_state()
        windows = Windows(
            s.last_step,
            s.count,
            s.anchor,
            np.fromiter(s.prefix, np.float64, len(s.prefix)),
            np.fromiter(s.squares, np.float64, len(s.squares)),
            np.fromiter(s.recent, np.float64, len(s.recent)),
        )
        after, advance = windows.advance(
            run_id, steps, timestamps, values, self._prefix_len - 1, squares=self._is_zscore
        )
        # Carry the state forward exactly as push() would have left it.
        s.last_step = after.last_step
        if advance is None:
            return None
        s.count, s.anchor = after.count, after.anchor
        for kept, now in ((s.prefix, after.prefix), (s.recent, after.recent)):
            kept.clear()
            kept.extend(now.tolist())
        if self._is_zscore:
            s.squares.clear()
            s.squares.extend(after.squares.tolist())
        if self._uses_extremes:
            self._rebuild_extremes(s)
        return advance.series(self.rule.smoothing() if self._stateful else self.rule)

    def _rebuild_extremes(self, s: _RunState) -> None:
        """The monotonic deques push() would hold, rebuilt from the carried values."""
        assert s.current is not None and s.prior is not None
        w, p, count = self.rule.window, self.rule.prior, s.count
        values = list(s.recent)
        first = count - len(values)  # the index of values[0] among the run's values
        s.current.entries.clear()
        s.prior.entries.clear()
        for offset, value in enumerate(values):
            index = first + offset
            if index >= count - w:
                s.current.push(index, value)
            elif self.rule.kind == "change" and index >= count - w - p:
                s.prior.push(index, value)

    def state_dict(self) -> dict[str, Any]:
        """A JSON-serializable snapshot of every run's state, for :meth:`load_state`."""
        runs = {}
        for run_id, s in self._runs.items():
            runs[run_id] = {
                "last_step": s.last_step,
                "count": s.count,
                "anchor": s.anchor,
                "prefix": list(s.prefix),
                "squares": list(s.squares),
                "recent": list(s.recent),
                "current": list(s.current.entries) if s.current else None,
                "prior": list(s.prior.entries) if s.prior else None,
                "last_condition": s.last_condition,
                "last_fire_ts": s.last_fire_ts,
                "plateau": None if s.plateau is None else asdict(s.plateau),
            }
        return {
            "version": _STATE_VERSION,
            "rule": self._rule_dict,
            "policy": self._policy_dict,
            "runs": runs,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` snapshot taken with the same filter and policy."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported state version {state.get('version')!r}")
        if state.get("rule") != self._rule_dict or state.get("policy") != self._policy_dict:
            raise ValueError("state was saved for a different filter or policy; start afresh")
        self._runs = {run_id: self._restore(raw) for run_id, raw in state["runs"].items()}

    def _restore(self, raw: Mapping[str, Any]) -> _RunState:
        s = self._new_state()
        s.last_step, s.count, s.anchor = raw["last_step"], raw["count"], raw["anchor"]
        s.prefix.extend(raw["prefix"])
        s.squares.extend(raw["squares"])
        s.recent.extend(raw["recent"])
        if s.current is not None:
            s.current.entries.extend(raw["current"])
        if s.prior is not None:
            s.prior.entries.extend(raw["prior"])
        s.last_condition, s.last_fire_ts = raw["last_condition"], raw["last_fire_ts"]
        if raw.get("plateau") is not None:
            s.plateau = PlateauState(**raw["plateau"])
        return s

    # -- internals -------------------------------------------------------------------

    def _new_state(self) -> _RunState:
        n = self._prefix_len
        # The last ``need`` values and ``need + 1`` running sums: everything a window needs,
        # for this path and for the vectorized push_rows alike.
        state = _RunState(
            prefix=deque([0.0], maxlen=n),
            squares=deque([0.0], maxlen=n),
            recent=deque(maxlen=n - 1),
        )
        if self._uses_extremes:
            is_max = self.rule.agg == "MAX"
            state.current = _Extreme(is_max)
            state.prior = _Extreme(is_max)
        if self.rule.kind == "plateau":
            state.plateau = PlateauState()
        return state

    def _advance(self, s: _RunState, x: float) -> float | None:
        """Take value ``x`` into the run's windows; return the evaluated value if the
        condition holds, else None."""
        rule = self.rule
        i = s.count  # index of this value among the run's values
        if i == 0:
            s.anchor = x
        d = x - s.anchor
        s.count = i + 1
        pre = s.prefix
        if self._is_zscore:  # inlined: this is the hot path
            s.recent.append(x)
            w = rule.window
            sq = s.squares
            value = math.nan
            if i >= w:
                mean = (pre[-1] - pre[-1 - w]) / w
                var = (sq[-1] - sq[-1 - w]) / w - mean * mean
                std = math.sqrt(max(var, 0.0))
                if not std <= Z_TOLERANCE * abs(s.anchor + mean):
                    value = (d - mean) / std
            pre.append(pre[-1] + d)
            sq.append(sq[-1] + d * d)
            return value if self._holds(value) else None
        pre.append(pre[-1] + d)
        if self._uses_extremes:
            self._slide_extremes(s, i, x)  # reads the values before x
        s.recent.append(x)
        if i < self._needed_index:
            return None
        w = rule.window
        if self._is_average:
            if self._is_threshold:
                value = s.anchor + (pre[-1] - pre[-1 - w]) / w
                return value if self._holds(value) else None
            # Same operations as batch.py: anchor + (hi - lo) / size for both windows.
            p, mid = rule.prior, pre[-1 - w]
            current = s.anchor + (pre[-1] - mid) / w
            prior = s.anchor + (mid - pre[-1 - w - p]) / p
        elif self._is_threshold:
            value = self._window(s, 0)
            return value if self._holds(value) else None
        else:
            current = self._window(s, 0)
            prior = self._window(s, 1, prior=True)
        delta = current - prior
        if rule.relative:
            delta = math.nan if prior == 0.0 else delta / abs(prior)
        return delta if self._holds(delta) else None

    def _window(self, s: _RunState, end_back: int, prior: bool = False) -> float:
        """MAX/MIN of a window or, without an aggregation, the single value ``end_back`` ago."""
        if self.rule.agg is None:  # windows are ignored without an aggregation
            return s.recent[-1 - end_back]
        extreme = s.prior if prior else s.current
        assert extreme is not None
        return extreme.value

    def _slide_extremes(self, s: _RunState, i: int, x: float) -> None:
        w, p = self.rule.window, self.rule.prior
        assert s.current is not None and s.prior is not None
        if self.rule.kind == "change" and len(s.recent) >= w:
            s.prior.push(i - w, s.recent[-w])  # the value leaving the current window
            s.prior.evict_through(i - w - p)
        s.current.push(i, x)
        s.current.evict_through(i - w)

    def _decide(
        self,
        run_id: str,
        s: _RunState,
        row: Mapping[str, Any],
        step: int,
        x: float,
        evaluated: float,
    ) -> Fire | None:
        """The condition holds at this row: does the policy let it fire?"""
        policy = self.policy
        was_holding, s.last_condition = s.last_condition, True
        if policy.mode == "edge" and was_holding:
            return None
        ts = row.get(TIMESTAMP)
        if type(ts) is not float or ts - ts != 0.0:  # fast path: a finite float
            ts = as_number(ts)
        if policy.cooldown_s is not None:
            if ts is None:
                raise ValueError(
                    f"run {run_id!r}: rows need '_timestamp' (seconds) for a policy with a cooldown"
                )
            if s.last_fire_ts is not None and not ts >= s.last_fire_ts + policy.cooldown_s:
                return None
            s.last_fire_ts = ts
        return Fire(run_id, step, ts, evaluated, x)


def _predicate(rule: Rule) -> Callable[[float], bool]:
    """``value -> condition`` for the rule; NaN never satisfies it (as in batch.py)."""
    t = rule.threshold
    if rule.kind == "threshold":
        if rule.cmp == "$ne":
            return lambda v: v != t and v == v  # v == v is False only for NaN
        # partial(op, t)(v) is op(t, v): "v > t" is "t < v", and so on.
        flipped = {"$gt": operator.lt, "$gte": operator.le, "$lt": operator.gt, "$lte": operator.ge}
        return partial(flipped.get(rule.cmp, operator.eq), t)
    if rule.cmp == "INCREASE":
        return partial(operator.le, t)  # delta >= t
    if rule.cmp == "DECREASE":
        return partial(operator.ge, -t)  # delta <= -t
    return lambda v: abs(v) >= t
