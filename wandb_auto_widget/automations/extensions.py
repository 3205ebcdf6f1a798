"""Rules W&B's automations cannot express, run by this package's engine: plateau, non-finite
values, stalled runs, and stopping a run.

They are spelled in the same DSL as W&B's rules and travel in the same wire shapes (an event
type, an ``eventFilter`` JSON, a ``triggeredActionConfig`` key), with names of our own, so
nothing W&B defines changes. Only a server that advertises the ``EXTENSION_RULES`` feature
(the embedded server) accepts them; :func:`extension_parts` names them, so that a client can
say which part of an automation W&B would refuse before sending it.

- ``RunEvent.metric("val/loss").plateau(patience=10)``: :class:`MetricPlateauFilter`, fires
  where PyTorch's ``ReduceLROnPlateau`` would cut the learning rate.
- ``RunEvent.metric("loss").non_finite()``: :class:`MetricNonFiniteFilter`.
- ``OnRunStalled(scope=project, after=timedelta(minutes=15))`` (in ``events``).
- ``StopRun()`` (in ``actions``).
- ``OnSchedule(scope=project, cron="0 9 * * *", timezone="Europe/Berlin")`` (in ``events``)
  with ``SendDigest.from_integration(slack, metrics=["val/loss"])`` (in ``actions``).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    model_validator,
)

from ._base import WireModel, require_finite
from .metric_filters import Agg, MetricName, _MetricCondition

MAX_COUNT = 1_000_000_000
"""The largest patience, cooldown or warm-up accepted (values, not steps)."""

EXTENSION_EVENT_TYPES = frozenset(
    {"RUN_METRIC_PLATEAU", "RUN_METRIC_NON_FINITE", "RUN_STALLED", "SCHEDULE"}
)
"""Event types only this package's engine runs."""
EXTENSION_ACTION_TYPES = frozenset({"STOP_RUN", "DIGEST"})
"""Action types only this package's engine runs."""
FEATURE = "EXTENSION_RULES"
"""The server feature that says it stores and runs the extension rules."""

Count = Annotated[NonNegativeInt, Field(le=MAX_COUNT)]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _threshold(value: float) -> float:
    require_finite(value)
    if value < 0:
        raise ValueError(f"must be >= 0, got {value!r}")
    return float(value)


class MetricPlateauFilter(_MetricCondition):
    """[extension] The metric has stopped improving: PyTorch ``ReduceLROnPlateau``'s rule.

    Each logged value (or window aggregate) either beats the best so far by ``threshold``
    (relative or absolute), resetting the count, or adds one to the count of bad values; the
    automation fires on the value where the count exceeds ``patience``, which is where
    ``ReduceLROnPlateau`` would cut the learning rate. Then ``cooldown`` values are ignored.
    ``warmup`` skips the run's first values (like Keras' ``start_from_epoch``). NaN is a bad
    value. See docs/semantics.md.
    """

    name: MetricName
    """Name of the observed metric."""
    agg: Annotated[Agg | None, Field(alias="agg_op")] = None
    """Smooth with this aggregate of the last ``window`` values first; ``None``: raw values."""
    window: Annotated[int, Field(ge=1, le=MAX_COUNT, alias="window_size")] = 1
    """Values in the smoothing window."""
    mode: Annotated[Literal["min", "max"], BeforeValidator(_lower)] = "min"
    """``min``: lower is better (a loss); ``max``: higher is better (an accuracy)."""
    patience: Count = 10
    """Bad values tolerated; the next one fires."""
    threshold: Annotated[float, AfterValidator(_threshold)] = 1e-4
    """How much a value must beat the best by to count as an improvement."""
    threshold_mode: Annotated[Literal["rel", "abs"], BeforeValidator(_lower)] = "rel"
    """``rel``: by ``threshold`` times the best; ``abs``: by ``threshold`` itself."""
    cooldown: Count = 0
    """Values ignored after a fire before counting resumes."""
    warmup: Count = 0
    """The run's first values skipped entirely."""

    @model_validator(mode="after")
    def _check(self) -> MetricPlateauFilter:
        if self.threshold_mode == "rel" and self.threshold >= 1:
            raise ValueError(
                f"threshold: a relative threshold is a fraction of the best value and must be "
                f"below 1, got {self.threshold!r}; use threshold_mode='abs' for an amount"
            )
        if self.agg is None and self.window != 1:
            raise ValueError("window: needs an aggregate; write .mean(5).plateau(...)")
        return self

    def describe(self) -> str:
        """One sentence: "fires when 11 logged values in a row fail to beat the best by 0.01%"."""
        if self.agg is None:
            what = "logged values"
        else:
            noun = {"AVERAGE": "averages", "MAX": "maxima", "MIN": "minima"}[self.agg.value]
            what = f"{noun} of the last {self.window} values"
        by = f"{self.threshold:.4g}" if self.threshold_mode == "abs" else f"{self.threshold:.2%}"
        best = "the best (lowest)" if self.mode == "min" else "the best (highest)"
        sentence = f"fires when {self.patience + 1} {what} in a row fail to beat {best}"
        sentence += f" by {by}" if self.threshold else ""
        if self.cooldown:
            sentence += f", then ignores the next {self.cooldown}"
        if self.warmup:
            sentence += f"; the run's first {self.warmup} values are skipped"
        return sentence

    def __repr__(self) -> str:
        metric = f"{self.agg.value}({self.name}, {self.window})" if self.agg else self.name
        return repr(f"plateau({metric}, {self.mode}, patience={self.patience})")


class MetricNonFiniteFilter(_MetricCondition):
    """[extension] The metric was logged as NaN, inf or -inf (a diverging run)."""

    name: MetricName
    """Name of the observed metric."""

    def __repr__(self) -> str:
        return repr(f"non_finite({self.name})")


def _positive_seconds(value: Any) -> Any:
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise ValueError(f"must be a whole number of seconds, got {value!r}")
    return value


class StalledCondition(WireModel):
    """[extension] How long a running run may go without logging history."""

    model_config = ConfigDict(extra="forbid")

    after_seconds: Annotated[
        int, BeforeValidator(_positive_seconds), Field(ge=1, le=365 * 24 * 3600)
    ]
    """Seconds without a new history row, while the run is running, before it fires."""
    notify_resolved: bool = False
    """Also send a "resolved" message when the run logs again."""


def extension_parts(automation: Any) -> list[str]:
    """The parts of ``automation`` (a NewAutomation or Automation) that only this package's
    engine runs, named for an error message; empty for an automation W&B can run."""
    parts = []
    event_type = getattr(automation.event, "event_type", None)
    if event_type is not None and str(event_type) in EXTENSION_EVENT_TYPES:
        parts.append(f"the {event_type} event")
    action_type = getattr(automation.action, "action_type", None)
    if action_type is not None and str(action_type) in EXTENSION_ACTION_TYPES:
        parts.append(f"the {action_type} action")
    return parts


# ---------------------------------------------------------------------------
# Schedules and digests


def _cron(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    fields = text.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f"cron: {value!r} has {len(fields)} fields; write the five of standard cron: "
            "minute hour day-of-month month day-of-week, e.g. '0 9 * * *' for 09:00 daily"
        )
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=timezone.utc))
    except CronSimError as exc:
        raise ValueError(f"cron: {value!r} is not valid cron ({exc})") from None
    return text


def _zone(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone: {value!r} is not an IANA time zone; write e.g. 'Europe/Berlin' or 'UTC'"
        ) from None
    return value


class ScheduleCondition(WireModel):
    """[extension] When a scheduled automation fires: five-field cron in a time zone."""

    model_config = ConfigDict(extra="forbid")
    cron: Annotated[str, BeforeValidator(_cron)]
    """Standard cron (minute hour day-of-month month day-of-week), e.g. ``"0 9 * * 1-5"``."""
    timezone: Annotated[str, BeforeValidator(_zone)] = "UTC"
    """The IANA time zone the cron reads its hours in (daylight saving included)."""

    def next_times(self, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` firing times after ``after`` (default: now), in the zone. A
        time that daylight saving skips fires at the first moment after it; a time that
        happens twice fires once."""
        zone = ZoneInfo(self.timezone)
        start = (after or datetime.now(timezone.utc)).astimezone(zone)
        found = CronSim(self.cron, start)
        return [next(found) for _ in range(count)]

    def previous_times(self, count: int = 2, before: datetime | None = None) -> list[datetime]:
        """The last ``count`` firing times before ``before`` (default: now), newest first."""
        zone = ZoneInfo(self.timezone)
        start = (before or datetime.now(timezone.utc)).astimezone(zone)
        found = CronSim(self.cron, start, reverse=True)
        return [next(found) for _ in range(count)]
