"""``evaluate()``: backtest a metric filter over logged history."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .batch import evaluate_series
from .history import Series, to_series
from .policy import FirePolicy, PolicyLike, resolve_policy, select_fires
from .rules import Rule, rule_from


@dataclass(frozen=True)
class RunEvaluation:
    """What the filter did on one run. Arrays are aligned with the logged values."""

    run_id: str
    steps: npt.NDArray[np.int64]
    """Steps at which the metric was logged (with a value that counts)."""
    timestamps: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    """The raw metric values."""
    series: npt.NDArray[np.float64]
    """The evaluated quantity (window aggregate, change or z-score); NaN where not evaluable."""
    condition: npt.NDArray[np.bool_]
    """Whether the condition held at each logged value."""
    fire_index: npt.NDArray[np.intp]
    """Indices of the values that fire under the policy."""

    @property
    def condition_steps(self) -> list[int]:
        """Steps where the condition holds."""
        return self.steps[self.condition].tolist()  # type: ignore[no-any-return]

    @property
    def fire_steps(self) -> list[int]:
        """Steps that fire after the policy is applied."""
        return self.steps[self.fire_index].tolist()  # type: ignore[no-any-return]

    @property
    def suppressed_steps(self) -> list[int]:
        """Steps where the condition held but the policy did not fire."""
        mask = self.condition.copy()
        mask[self.fire_index] = False
        return self.steps[mask].tolist()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Evaluation(Mapping[str, RunEvaluation]):
    """Per-run results of :func:`evaluate`, keyed by run id."""

    rule: Rule
    policy: FirePolicy
    runs: dict[str, RunEvaluation] = field(default_factory=dict)

    def __getitem__(self, run_id: str) -> RunEvaluation:
        return self.runs[run_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def fire_count(self) -> int:
        """Fires across all runs."""
        return sum(int(r.fire_index.size) for r in self.runs.values())

    @property
    def runs_fired(self) -> list[str]:
        """Runs that fire at least once."""
        return [run_id for run_id, r in self.runs.items() if r.fire_index.size]

    def summary(self, names: Mapping[str, str] | None = None) -> str:
        """One line: "would have fired 7 times in 5 of 40 runs; first at step 1,200 of run 'a'".

        "First" is by ``_timestamp``; ``names`` maps run ids to the names to show.
        """
        total, fired = self.fire_count, self.runs_fired
        if not total:
            return f"would not have fired in any of {len(self.runs)} runs"
        _, first_step, first_run = min(
            (float(r.timestamps[i]), int(r.steps[i]), run_id)
            for run_id, r in self.runs.items()
            for i in r.fire_index[:1]
        )
        times = "once" if total == 1 else f"{total:,} times"
        shown = (names or {}).get(first_run, first_run)
        return (
            f"would have fired {times} in {len(fired)} of {len(self.runs)} runs; "
            f"first at step {first_step:,} of run {shown!r}"
        )


def evaluate(
    filter: Any,
    history: Mapping[str, Any],
    *,
    policy: PolicyLike = "wandb",
    cooldown_s: float | None = None,
) -> Evaluation:
    """Backtest a metric filter over history, with the semantics of docs/semantics.md.

    Args:
        filter: an ``OnRunMetric`` event, a ``RunMetricFilter`` or a metric condition such
            as ``RunEvent.metric("val/loss").mean(5) > 0.5``. (Run filters such as
            ``RunEvent.name`` select runs; apply them before passing history in.)
        history: run id -> that run's rows, as a list of row dicts, a dict of columns or a
            pandas DataFrame. Rows need ``_step``; ``_timestamp`` (seconds) is needed by
            policies with a cooldown.
        policy: ``"wandb"`` (at most once per run per 24 h, the default), ``"every"``,
            ``"edge"``, or a :class:`FirePolicy`.
        cooldown_s: overrides the policy's cooldown.
    """
    rule = rule_from(filter)
    resolved = resolve_policy(policy, cooldown_s)
    runs = {}
    for run_id, rows in history.items():
        series = to_series(str(run_id), rows, rule.metric, logged=rule.logged_values)
        runs[str(run_id)] = _evaluate_run(str(run_id), rule, resolved, series)
    return Evaluation(rule, resolved, runs)


def _evaluate_run(run_id: str, rule: Rule, policy: FirePolicy, s: Series) -> RunEvaluation:
    evaluated, condition = evaluate_series(rule, s.values)
    if (
        policy.cooldown_s is not None
        and np.isnan(s.timestamps).any()
        and np.isnan(s.timestamps[condition]).any()
    ):
        raise ValueError(
            f"run {run_id!r}: rows need '_timestamp' (seconds) for a policy with a cooldown"
        )
    fires = select_fires(policy, condition, s.timestamps)
    return RunEvaluation(run_id, s.steps, s.timestamps, s.values, evaluated, condition, fires)
