"""The running windows of one metric in one run, advanced a batch of values at a time.

Every rule on a metric reads the same running sums, so one :class:`Windows` serves them all:
the engine advances it once per batch and evaluates each rule's series from the result
(:meth:`Advance.series`), however many automations watch the metric. ``StreamEvaluator``'s
vectorized path goes through the same :func:`Windows.advance`, so the engine and the stream
agree bit for bit, and both agree with ``evaluate`` (see the note in ``batch.py``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from .batch import series_with_history
from .rules import Rule

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_NO_STEP = np.iinfo(np.int64).min
# last_step, count, anchor, then the lengths of prefix, squares and recent: 48 bytes, so that
# the float64 arrays after it stay 8-byte aligned.
_HEADER = struct.Struct("<qqdqqq")


def _empty() -> F64:
    return np.zeros(0)


def _zero() -> F64:
    return np.zeros(1)


@dataclass(frozen=True)
class SeriesBatch:
    """The counted values of one pushed batch, and the evaluated series at each of them."""

    run_id: str
    steps: I64
    timestamps: F64
    values: F64
    series: F64


@dataclass(frozen=True)
class Advance:
    """One batch's counted values, with the carried history its windows reach back into."""

    run_id: str
    steps: I64
    timestamps: F64
    values: F64
    x_all: F64  # the carried tail of earlier values, then this batch's
    prefix: F64  # running sums of x - anchor before each of x_all, and after the last
    squares: F64
    anchor: float
    tail: int
    seen: int  # values the run counted before x_all[0]

    def series(self, rule: Rule) -> SeriesBatch:
        """``rule``'s evaluated series at this batch's values (any rule on the metric)."""
        seen = self.seen
        if seen and rule.history_needed - 1 > self.tail:
            # The carried tail is shorter than this rule's windows (the rule is newer than
            # the windows' capacity): evaluate only where a window fits inside what is kept.
            seen = 0
        series = series_with_history(
            rule, self.x_all, self.prefix, self.squares, self.anchor, self.tail, seen
        )
        return SeriesBatch(self.run_id, self.steps, self.timestamps, self.values, series)


@dataclass(frozen=True)
class Windows:
    """What a metric's rules need of a run's past: the last ``capacity`` values and the
    running sums (of ``x - anchor`` and its square) before each of them and after the last.

    ``anchor`` is the run's first counted value: sums of differences from it stay small, which
    keeps window means exact enough (docs/semantics.md, numerics).
    """

    last_step: int | None = None
    count: int = 0
    anchor: float = 0.0
    prefix: F64 = field(default_factory=_zero)
    squares: F64 = field(default_factory=_zero)
    recent: F64 = field(default_factory=_empty)

    def advance(
        self,
        run_id: str,
        steps: I64,
        timestamps: F64,
        values: F64,
        capacity: int,
        *,
        squares: bool = True,
    ) -> tuple[Windows, Advance | None]:
        """The windows after this batch (keeping ``capacity`` values), and the batch's counted
        values with their history (None if none counted).

        Values are counted as ``StreamEvaluator.push`` counts them: rows whose step does not
        increase are dropped, and so are NaN and infinite values. ``squares=False`` skips the
        sums of squares, which only z-scores read.
        """
        if steps.size == 0:
            return self, None
        floor = _NO_STEP if self.last_step is None else self.last_step
        if steps[0] > floor and bool((steps[1:] > steps[:-1]).all()):
            keep = np.isfinite(values)  # the usual batch: steps already increase
            last_step = int(steps[-1])
        else:
            before = np.maximum.accumulate(np.concatenate([[floor], steps[:-1]]))
            keep = (steps > before) & np.isfinite(values)
            last_step = int(max(floor, int(steps.max())))
        if keep.all():
            x, st, ts = values, steps, timestamps
        else:
            x, st, ts = values[keep], steps[keep], timestamps[keep]
        if x.size == 0:
            return replace(self, last_step=last_step), None
        anchor = float(x[0]) if self.count == 0 else self.anchor
        d = x - anchor
        # Running sums continue from the carried ones, added left to right as push() adds.
        prefix = _continue_sum(self.prefix, d)
        sq = _continue_sum(self.squares, d * d) if squares else prefix
        x_all = np.concatenate([self.recent, x])
        tail = self.recent.size
        advance = Advance(run_id, st, ts, x, x_all, prefix, sq, anchor, tail, self.count - tail)
        keep_sums = capacity + 1
        after = Windows(
            last_step,
            self.count + x.size,
            anchor,
            prefix[-keep_sums:].copy(),
            sq[-keep_sums:].copy() if squares else _zero(),
            x_all[-capacity:].copy() if capacity else _empty(),
        )
        return after, advance

    def to_bytes(self) -> bytes:
        """A compact binary form, for the engine's database."""
        header = _HEADER.pack(
            _NO_STEP if self.last_step is None else self.last_step,
            self.count,
            self.anchor,
            self.prefix.size,
            self.squares.size,
            self.recent.size,
        )
        return header + self.prefix.tobytes() + self.squares.tobytes() + self.recent.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Windows:
        last_step, count, anchor, n_prefix, n_squares, n_recent = _HEADER.unpack_from(data)
        arrays = np.frombuffer(data, np.float64, offset=_HEADER.size)
        prefix = arrays[:n_prefix]
        squares = arrays[n_prefix : n_prefix + n_squares]
        recent = arrays[n_prefix + n_squares : n_prefix + n_squares + n_recent]
        return cls(
            None if last_step == _NO_STEP else last_step, count, anchor, prefix, squares, recent
        )


def _continue_sum(carried: F64, d: F64) -> F64:
    """``carried``, then running sums of ``d`` continuing from its last entry, added left to
    right (np.cumsum accumulates sequentially, as ``P += x - K`` does row by row)."""
    out = np.empty(carried.size + d.size)
    out[: carried.size] = carried
    out[carried.size :] = d
    tail = out[carried.size - 1 :]
    np.cumsum(tail, out=tail)
    return out
