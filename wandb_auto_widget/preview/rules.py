"""A metric filter reduced to the numbers the evaluators need."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from ..automations import (
    MetricChangeFilter,
    MetricNonFiniteFilter,
    MetricPlateauFilter,
    MetricThresholdFilter,
    MetricZScoreFilter,
    OnRunMetric,
    RunMetricFilter,
)
from .plateau import PlateauParams

Kind = Literal["threshold", "change", "zscore", "plateau", "non_finite"]

Z_TOLERANCE = 1e-9
"""A window whose std is at most this fraction of its mean's magnitude counts as flat."""


@dataclass(frozen=True)
class Rule:
    """One metric condition, flattened. See docs/semantics.md for what each field means."""

    kind: Kind
    metric: str
    agg: str | None  # "MAX" | "MIN" | "AVERAGE" | None
    window: int  # values in the (current) window; 1 when agg is None
    prior: int  # values in the prior window (change only); 1 when agg is None
    cmp: str  # threshold: "$gt".."$ne"; change/zscore: "INCREASE" | "DECREASE" | "ANY";
    # plateau: "min" | "max"
    threshold: float
    relative: bool = False  # change and plateau
    plateau: PlateauParams | None = None  # plateau only

    @property
    def logged_values(self) -> bool:
        """Whether the rule reads values as logged, NaN and infinities included (non-finite,
        and plateau on the raw metric); the others read only finite values."""
        return self.kind == "non_finite" or (self.kind == "plateau" and self.agg is None)

    def smoothing(self) -> Rule:
        """A smoothed plateau's input: the window aggregate, as a threshold rule reads it."""
        return replace(self, kind="threshold", cmp="$gt", threshold=0.0, plateau=None)

    @property
    def history_needed(self) -> int:
        """Values that must have been logged before the condition can be evaluated."""
        if self.kind in ("threshold", "plateau", "non_finite"):
            return self.window
        if self.kind == "change":
            return self.window + self.prior
        return self.window + 1  # z-score: the window before the value, plus the value


def rule_from(filter: Any) -> Rule:
    """Accept an ``OnRunMetric`` event, a ``RunMetricFilter`` or a bare metric condition."""
    if isinstance(filter, OnRunMetric):
        filter = filter.filter
    if isinstance(filter, RunMetricFilter):
        filter = filter.condition
    if isinstance(filter, MetricThresholdFilter):
        agg = filter.agg.value if filter.agg else None
        window = filter.window if agg else 1
        return Rule("threshold", filter.name, agg, window, 1, filter.cmp, float(filter.threshold))
    if isinstance(filter, MetricChangeFilter):
        agg = filter.agg.value if filter.agg else None
        return Rule(
            "change",
            filter.name,
            agg,
            filter.window if agg else 1,
            filter.prior_window if agg else 1,
            filter.change_dir.value,
            float(filter.threshold),
            relative=filter.change_type.value == "RELATIVE",
        )
    if isinstance(filter, MetricPlateauFilter):
        agg = filter.agg.value if filter.agg else None
        relative = filter.threshold_mode == "rel"
        params = PlateauParams(
            filter.mode,
            filter.patience,
            float(filter.threshold),
            relative,
            filter.cooldown,
            filter.warmup,
        )
        window = filter.window if agg else 1
        return Rule(
            "plateau", filter.name, agg, window, 1, filter.mode, params.threshold, relative, params
        )
    if isinstance(filter, MetricNonFiniteFilter):
        return Rule("non_finite", filter.name, None, 1, 1, "", 0.0)
    if isinstance(filter, MetricZScoreFilter):
        return Rule(
            "zscore",
            filter.name,
            None,
            filter.window,
            0,
            filter.change_dir.value,
            float(filter.threshold),
        )
    raise TypeError(
        "preview needs a metric filter or an OnRunMetric event, e.g. "
        f"RunEvent.metric('loss').mean(5) > 0.5; got {type(filter).__name__}"
    )
