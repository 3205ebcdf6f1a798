"""What a preview keeps of each run once it is evaluated, and the totals across runs.

A run's full history is needed only while it is evaluated. After that the preview keeps a
:class:`RunBacktest`: its fire and condition counts, its first fires, its fires at each
point of the sweep, and what the chart draws (downsampled to the chart's width). So a
preview of a thousand runs of 100k steps holds kilobytes per run, not megabytes, and the
totals are still those of ``evaluate()`` on the full data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ..preview import FirePolicy, Rule, RunEvaluation
from ..preview.batch import condition_of, stateful_condition  # the rules evaluate applies
from ..preview.policy import resolve_policy, select_fires
from .preview_data import run_drawing

MAX_FIRES_KEPT = 1000
"""Fires kept per run (the earliest): the counts always cover all of them."""
SWEEP_POINTS = 41


@dataclass(frozen=True)
class RunBacktest:
    """One run's result in a preview: counts at full resolution, arrays only for drawing."""

    run_id: str
    name: str
    points: int
    """Values of the metric the rule read."""
    fire_count: int
    condition_count: int
    fire_steps: npt.NDArray[np.int64]
    """Steps of the earliest ``MAX_FIRES_KEPT`` fires."""
    fire_timestamps: npt.NDArray[np.float64]
    fire_values: npt.NDArray[np.float64]
    """The evaluated value at each kept fire."""
    sweep_fires: npt.NDArray[np.int64]
    """Fires at each point of the preview's sweep."""
    value_range: tuple[float, float] | None
    """The finite range of the evaluated series (None: nothing finite)."""
    fires_early: bool
    """Fires within the first tenth of the run (or its first full window)."""
    wandb_fires: int
    """Fires under W&B's policy (once per run per 24 h), for the spam advice."""
    drawing: dict[str, Any] = field(repr=False)
    """The chart's header entry; its array references point into ``chunk``."""
    chunk: bytes = field(repr=False)


def reduce_run(
    result: RunEvaluation,
    name: str,
    rule: Rule,
    policy: FirePolicy,
    grid: list[float],
    width: int,
) -> RunBacktest:
    """Keep what the preview shows of an evaluated run, and let its arrays go."""
    fires = result.fire_index
    kept = fires[:MAX_FIRES_KEPT]
    finite = result.series[np.isfinite(result.series)]
    early_until = max(rule.history_needed + 1, result.steps.size // 10)
    wandb = resolve_policy("wandb")
    could_spam = policy.mode == "every" and policy != wandb
    wandb_fires = (
        int(select_fires(wandb, result.condition, result.timestamps).size)
        if could_spam
        else int(fires.size)
    )
    drawing, chunk = run_drawing(result, name, rule, width)
    return RunBacktest(
        run_id=result.run_id,
        name=name,
        points=int(result.steps.size),
        fire_count=int(fires.size),
        condition_count=int(np.count_nonzero(result.condition)),
        fire_steps=result.steps[kept],  # fancy indexing copies: the run's arrays can go
        fire_timestamps=result.timestamps[kept],
        fire_values=result.series[kept],
        sweep_fires=sweep_counts(rule, policy, grid, result),
        value_range=(float(finite.min()), float(finite.max())) if finite.size else None,
        fires_early=bool(fires.size and fires[0] < early_until),
        wandb_fires=wandb_fires,
        drawing=drawing,
        chunk=chunk,
    )


def sweep_grid(rule: Rule, first: list[RunEvaluation], longest: int) -> list[float]:
    """The sweep's points, from the first runs evaluated: for a threshold, the range of their
    evaluated values (1st to 99th percentile) widened to include the current threshold,
    log-spaced when it spans orders of magnitude; for a plateau, patience values up to the
    longest run (``longest`` values), where the curve reaches zero. The current value is
    always one of the points."""
    if rule.kind == "non_finite":
        return []  # nothing to tune
    if rule.kind == "plateau":
        assert rule.plateau is not None
        current = rule.plateau.patience
        top = max(30, 3 * current, longest)
        return sorted(
            {*(np.unique(np.geomspace(1, top + 1, 30).astype(int) - 1).tolist()), current}
        )
    series = [r.series[np.isfinite(r.series)] for r in first]
    series = [s for s in series if s.size]
    if not series:
        return []
    values = np.concatenate(series)
    if rule.kind != "threshold":
        values = np.abs(values)  # change amounts and z thresholds are magnitudes
    lo, hi = float(np.quantile(values, 0.01)), float(np.quantile(values, 0.99))
    lo, hi = min(lo, rule.threshold), max(hi, rule.threshold)
    if rule.kind != "threshold":
        lo = max(lo, 1e-12)  # must stay positive
    if not hi > lo:
        hi = lo + abs(lo) * 0.1 + 1e-9
    if lo > 0 and hi / lo > 100:
        grid = np.geomspace(lo, hi, SWEEP_POINTS)
    else:
        pad = (hi - lo) * 0.05
        grid = np.linspace(lo - pad if rule.kind == "threshold" else lo, hi + pad, SWEEP_POINTS)
    return np.unique(np.append(grid, rule.threshold)).tolist()  # type: ignore[no-any-return]


def sweep_counts(
    rule: Rule, policy: FirePolicy, grid: list[float], result: RunEvaluation
) -> npt.NDArray[np.int64]:
    """Fires of one run at each point of the grid. The evaluated series does not depend on
    the threshold (nor a plateau's values on its patience), so each point re-runs only the
    comparison (or the state machine) and the policy, with the functions ``evaluate`` uses."""
    counts = np.zeros(len(grid), dtype=np.int64)
    for i, point in enumerate(grid):
        if rule.kind == "plateau":
            assert rule.plateau is not None
            candidate = replace(rule, plateau=replace(rule.plateau, patience=int(point)))
            condition, _ = stateful_condition(candidate, result.series, None)
        else:
            condition = condition_of(replace(rule, threshold=point), result.series)
        counts[i] = select_fires(policy, condition, result.timestamps).size
    return counts


@dataclass
class Backtest(Mapping[str, RunBacktest]):
    """A preview's result: per-run counts and first fires, keyed by run path. Fire and
    condition counts equal :func:`~wandb_auto_widget.preview.evaluate` on the full history;
    for every array of a run, call ``evaluate`` on that run's history."""

    rule: Rule
    policy: FirePolicy
    grid: list[float] = field(default_factory=list)
    runs: dict[str, RunBacktest] = field(default_factory=dict)

    def __getitem__(self, run_id: str) -> RunBacktest:
        return self.runs[run_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def fire_count(self) -> int:
        """Fires across all runs."""
        return sum(r.fire_count for r in self.runs.values())

    @property
    def runs_fired(self) -> list[str]:
        """Runs that fire at least once."""
        return [run_id for run_id, r in self.runs.items() if r.fire_count]

    def summary(self) -> str:
        """One line: "would have fired 7 times in 5 of 40 runs; first at step 1,200 of run 'a'"
        ("first" by ``_timestamp``)."""
        total, fired = self.fire_count, self.runs_fired
        if not total:
            return f"would not have fired in any of {len(self.runs)} runs"
        _, step, name = min(
            (float(r.fire_timestamps[0]), int(r.fire_steps[0]), r.name)
            for r in self.runs.values()
            if r.fire_count
        )
        times = "once" if total == 1 else f"{total:,} times"
        return (
            f"would have fired {times} in {len(fired)} of {len(self.runs)} runs; "
            f"first at step {step:,} of run {name!r}"
        )

    def sweep(self) -> dict[str, Any]:
        """Fires and runs firing at each point of the grid, and at the current value."""
        if not self.grid:
            return {"points": [], "current": None}
        fires = np.zeros(len(self.grid), dtype=np.int64)
        firing = np.zeros(len(self.grid), dtype=np.int64)
        for r in self.runs.values():
            fires += r.sweep_fires
            firing += r.sweep_fires > 0
        points = [
            {"threshold": t, "fires": int(f), "runs": int(n)}
            for t, f, n in zip(self.grid, fires.tolist(), firing.tolist(), strict=True)
        ]
        plateau = self.rule.plateau
        current_value = plateau.patience if plateau is not None else self.rule.threshold
        current = next(p for p in points if p["threshold"] == current_value)
        lo, hi = self.grid[0], self.grid[-1]
        return {
            "points": points,
            "current": current,
            "log": bool(plateau is None and lo > 0 and hi / lo > 100),
            "parameter": "patience" if plateau is not None else "threshold",
        }

    def advice(self, label: str) -> list[dict[str, str]]:
        """Warnings where the rule is likely to spam or to miss: ``{"kind", "text"}``."""
        rule, out = self.rule, []
        runs = list(self.runs.values())
        fired = [r for r in runs if r.fire_count]
        if not fired:
            if rule.kind in ("plateau", "non_finite"):
                what = (
                    f"no run went {rule.plateau.patience + 1} values without improving"
                    if rule.plateau is not None
                    else "no run logged NaN or an infinity"
                )
                if runs:
                    text = f"Never fires on these {len(runs)} runs: {what}."
                    out.append({"kind": "never", "text": text})
                return out
            ranges = [r.value_range for r in runs if r.value_range is not None]
            if ranges:
                low, high = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
                out.append(
                    {
                        "kind": "never",
                        "text": f"Never fires on these {len(runs)} runs: the {label} ranges "
                        f"from {low:.4g} to {high:.4g}, and the threshold is "
                        f"{rule.threshold:.4g}.",
                    }
                )
            return out
        if len(runs) >= 3 and len(fired) == len(runs):
            out.append(
                {"kind": "every-run", "text": f"Fires in every one of the {len(runs)} runs."}
            )
        early = [r for r in fired if r.fires_early]
        if len(early) >= 2 and len(early) * 2 >= len(fired):
            out.append(
                {
                    "kind": "warm-up",
                    "text": f"Fires at the start of {len(early)} of {len(runs)} runs (warm-up): "
                    "the metric starts on the firing side. A change rule, another threshold or "
                    "a run filter would skip it.",
                }
            )
        if self.policy.mode == "every":
            capped = sum(r.wandb_fires for r in runs)
            if self.fire_count > 5 * max(capped, 1):
                out.append(
                    {
                        "kind": "spam",
                        "text": f"{self.fire_count:,} messages at every step the condition "
                        f"holds; W&B's policy (once per run per 24 h) would send {capped:,}.",
                    }
                )
        return out
