"""A metric filter reduced to the numbers the evaluators need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..automations import (
    MetricChangeFilter,
    MetricThresholdFilter,
    MetricZScoreFilter,
    OnRunMetric,
    RunMetricFilter,
)

Kind = Literal["threshold", "change", "zscore"]

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
    cmp: str  # threshold: "$gt".."$ne"; change/zscore: "INCREASE" | "DECREASE" | "ANY"
    threshold: float
    relative: bool = False  # change only

    @property
    def history_needed(self) -> int:
        """Values that must have been logged before the condition can be evaluated."""
        if self.kind == "threshold":
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
