"""Plateau detection: PyTorch's ``ReduceLROnPlateau`` state machine, over arrays.

``ReduceLROnPlateau.step(value)`` does, per value (torch/optim/lr_scheduler.py)::

    if is_better(value, best): best, bad = value, 0
    else: bad += 1
    if cooldown_counter > 0: cooldown_counter -= 1; bad = 0
    if bad > patience: <cut the learning rate>; cooldown_counter = cooldown; bad = 0

with ``is_better`` one of ``a < best * (1 - t)``, ``a < best - t``, ``a > best * (t + 1)``,
``a > best + t``. A plateau fires exactly where it would cut the learning rate.

A loop over every value costs a Python step per logged value; here the work is done per
*improvement* and per *fire* instead, with numpy in between:

1. Improvements. With ``t == 0`` an improvement is a strict new running minimum (one
   ``minimum.accumulate``). Otherwise, while ``is_better``'s bar never lies above the best
   (absolute mode; relative mode with a best of the right sign), every improvement is also a
   strict running minimum, the running minima strictly decrease, and the next improvement
   after each one is found for all of them at once with ``searchsorted``; only the chain of
   actual improvements is walked. Outside that regime (a relative threshold once the best
   has the wrong sign, where ReduceLROnPlateau's test misbehaves) the next improvement is
   found by scanning ahead in growing blocks.
2. Fires. Between two improvements the counters evolve in closed form (dead cooldown steps,
   then a fire every ``cooldown + patience + 1`` values), so only the stretches long enough
   to fire, and the first and last, take a Python step.

Everything is done in "minimize" form: for ``mode="max"`` the values and the best are
negated, which IEEE arithmetic does exactly (``-(b * e) == (-b) * e``, ``-(b + t) == -b - t``),
so every comparison is the one ReduceLROnPlateau makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
_BLOCK = 64


@dataclass(frozen=True)
class PlateauParams:
    """ReduceLROnPlateau's arguments (``factor``, ``min_lr`` and ``eps`` do not decide when
    it acts), plus ``warmup``: values skipped before the first ``step``."""

    mode: str = "min"
    patience: int = 10
    threshold: float = 1e-4
    relative: bool = True
    cooldown: int = 0
    warmup: int = 0

    @property
    def eps(self) -> float:
        """The relative factor, spelled as torch spells it: 1.0 - threshold, threshold + 1.0."""
        return 1.0 - self.threshold if self.mode == "min" else self.threshold + 1.0

    def bar(self, best: float) -> float:
        """In minimize form: a value must be below this to improve on ``best``."""
        if self.relative:
            return best * self.eps
        return best - self.threshold

    def bar_never_above_best(self, best: float) -> bool:
        """Whether improvements from ``best`` on are strict running minima (see step 1)."""
        if not self.relative or self.threshold == 0.0:
            return True
        # min: best * (1 - t) <= best iff best >= 0; max, negated: best * (1 + t) <= best
        # iff best <= 0. Infinite bests stay infinite.
        return best >= 0.0 if self.mode == "min" else best <= 0.0


@dataclass(frozen=True)
class PlateauState:
    """Where one run's state machine stands, in minimize form; carried between batches."""

    best: float = math.inf
    bad: int = 0
    cooldown: int = 0
    seen: int = 0  # values offered so far, warm-up included


@dataclass(frozen=True)
class PlateauTrace:
    """One batch through the state machine: positions are indices into the batch's values."""

    fires: Index
    improvements: Index
    skipped: int  # leading values skipped as warm-up
    state: PlateauState


def plateau_batch(params: PlateauParams, values: F64, state: PlateauState) -> PlateauTrace:
    """Feed ``values`` (as logged, NaN and infinities included) after ``state``."""
    skipped = int(min(values.size, max(0, params.warmup - state.seen)))
    y = values[skipped:]
    if params.mode == "max":
        y = -y
    improvements, best = _improvements(params, y, state.best)
    fires, bad, cooldown = _fires(params, y.size, improvements, state.bad, state.cooldown)
    return PlateauTrace(
        fires + skipped,
        improvements + skipped,
        skipped,
        PlateauState(best, bad, cooldown, state.seen + values.size),
    )


def _improvements(params: PlateauParams, y: F64, best: float) -> tuple[Index, float]:
    """Positions where ``is_better`` holds (in order), and the best after the last value."""
    if y.size == 0:
        return np.zeros(0, dtype=np.intp), best
    if params.threshold == 0.0:
        # The bar is the best itself: improvements are exactly the strict running minima.
        clean = np.where(np.isnan(y), np.inf, y)
        before = np.minimum.accumulate(np.concatenate([[best], clean[:-1]]))
        found = np.flatnonzero(clean < before)
        return found, (float(clean[found[-1]]) if found.size else best)
    chain: list[int] = []
    position = 0  # the next value to consider
    while position < y.size:
        if params.bar_never_above_best(best):
            position, best = _chain_of_minima(params, y, position, best, chain)
        else:
            position, best = _scan(params, y, position, best, chain)
    return np.asarray(chain, dtype=np.intp), best


def _chain_of_minima(
    params: PlateauParams, y: F64, start: int, best: float, chain: list[int]
) -> tuple[int, float]:
    """Walk improvements among the strict running minima of ``y[start:]`` while the regime
    holds; returns where to continue and the best there."""
    tail = np.where(np.isnan(y[start:]), np.inf, y[start:])
    before = np.minimum.accumulate(np.concatenate([[best], tail[:-1]]))
    minima = np.flatnonzero(tail < before)  # their values strictly decrease
    values = tail[minima]
    bars = values * params.eps if params.relative else values - params.threshold
    descending = -values  # increasing, for searchsorted
    # Where the next minimum does not beat a minimum's bar, the chain jumps; elsewhere it
    # steps to the next minimum, so it is walked a run of minima at a time.
    jumps = np.flatnonzero(~(values[1:] < bars[:-1]))
    leaves = _leaves_regime(params, values)
    m = values.size
    i = int(np.searchsorted(descending, -params.bar(best), side="right"))
    while i < m:
        k = int(np.searchsorted(jumps, i))
        j = int(jumps[k]) if k < jumps.size else m - 1
        q = int(np.searchsorted(leaves, i))
        if q < leaves.size and leaves[q] <= j:  # the best leaves the regime at leaves[q]
            stop = int(leaves[q])
            chain.extend((minima[i : stop + 1] + start).tolist())
            return start + int(minima[stop]) + 1, float(values[stop])
        chain.extend((minima[i : j + 1] + start).tolist())
        best = float(values[j])
        i = int(np.searchsorted(descending, -bars[j], side="right"))
    return y.size, best


def _leaves_regime(params: PlateauParams, values: F64) -> Index:
    """Positions of the values that, as the best, would leave the running-minima regime."""
    if not params.relative or params.threshold == 0.0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(~(values >= 0.0) if params.mode == "min" else ~(values <= 0.0))


def _scan(
    params: PlateauParams, y: F64, start: int, best: float, chain: list[int]
) -> tuple[int, float]:
    """The next improvement after ``start``, scanning ahead in growing blocks."""
    bar = params.bar(best)
    size = _BLOCK
    position = start
    while position < y.size:
        block = y[position : position + size]
        hits = np.flatnonzero(block < bar)
        if hits.size:
            found = position + int(hits[0])
            chain.append(found)
            return found + 1, float(y[found])
        position += size
        size *= 2
    return y.size, best


def _fires(
    params: PlateauParams, n: int, improvements: Index, bad: int, cooldown: int
) -> tuple[Index, int, int]:
    """Where the counters exceed patience, given the improvements; and the counters after."""
    p, c = params.patience, params.cooldown
    if n == 0:
        return np.zeros(0, dtype=np.intp), bad, cooldown
    # Stretches of non-improving values: before the first improvement, between, after.
    starts = np.concatenate([[0], improvements + 1])
    ends = np.concatenate([improvements, [n]])
    if c == 0 and improvements.size:
        return _fires_without_cooldown(p, n, starts, ends, bad, cooldown)
    long_enough = np.flatnonzero(ends - starts > p)
    todo = sorted({0, len(starts) - 1, *long_enough.tolist()})
    fires: list[Index] = []
    at = 0  # the position up to which the counters are (bad, cooldown)
    for s in todo:
        start, end = int(starts[s]), int(ends[s])
        if s > 0:
            # The steps since ``at`` end with an improvement at start - 1: each step of them
            # counted the cooldown down; the improvement left bad at 0.
            cooldown = max(0, cooldown - (start - at))
            bad = 0
        found, bad, cooldown = _stretch(start, end - start, bad, cooldown, p, c)
        if found.size:
            fires.append(found)
        at = end
    out = np.concatenate(fires) if fires else np.zeros(0, dtype=np.intp)
    return out.astype(np.intp, copy=False), bad, cooldown


def _fires_without_cooldown(
    p: int, n: int, starts: Index, ends: Index, bad: int, cooldown: int
) -> tuple[Index, int, int]:
    """:func:`_fires` when ``cooldown`` is 0: after the first improvement every stretch
    starts from a count of 0, so its fires are every ``p + 1``-th value, for all stretches
    at once. The first stretch carries the counters it was entered with."""
    first, _, _ = _stretch(0, int(ends[0]), bad, cooldown, p, 0)  # its counters are reset
    # Stretch s fires at starts[s] + k (p + 1) - 1 for k = 1 .. lengths[s] // (p + 1): built
    # for all stretches at once, in time proportional to the fires.
    lengths = (ends - starts)[1:]
    per = lengths // (p + 1)
    total = int(per.sum())
    nth = np.arange(total) - np.repeat(np.cumsum(per) - per, per) + 1
    rest = np.repeat(starts[1:], per) + nth * (p + 1) - 1
    last = int(lengths[-1])  # the final stretch's length: the count after it
    return np.concatenate([first, rest]).astype(np.intp), last % (p + 1), 0


def _stretch(
    start: int, length: int, bad: int, cooldown: int, p: int, c: int
) -> tuple[Index, int, int]:
    """Fires in ``length`` non-improving values from ``start``, entered with the counters
    (bad, cooldown); returns them and the counters after."""
    dead = min(cooldown, length)
    if dead:
        cooldown -= dead  # each dead step: bad += 1, then the cooldown zeroes it
        bad = 0
    counted = length - dead
    first = start + dead + (p + 1 - bad) - 1  # the value where bad reaches p + 1
    last = start + length - 1
    if counted == 0 or first > last:
        return np.zeros(0, dtype=np.intp), bad + counted, cooldown
    found = np.arange(first, last + 1, c + p + 1, dtype=np.intp)
    after = last - int(found[-1])  # values after the last fire
    dead_after = min(c, after)
    return found, after - dead_after, c - dead_after
