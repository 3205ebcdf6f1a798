"""Run-metric conditions: thresholds, changes and z-scores, plus the DSL that builds them.

``RunEvent.metric("val/loss").mean(5) > 0.5`` builds a :class:`MetricThresholdFilter`
whose wire form is ``{"name": "val/loss", "agg_op": "AVERAGE", "window_size": 5,
"cmp_op": "$gt", "threshold": 0.5}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    StrictFloat,
    StrictInt,
    field_validator,
)

from ._base import LenientStrEnum, WireModel, require_finite
from .filters import BaseOp, FilterExpr

if TYPE_CHECKING:
    from .events import RunMetricFilter
    from .extensions import MetricNonFiniteFilter, MetricPlateauFilter

MONGO_TO_PY: Final[dict[str, str]] = {
    "$eq": "==",
    "$ne": "!=",
    "$gt": ">",
    "$lt": "<",
    "$gte": ">=",
    "$lte": "<=",
}
PY_TO_MONGO: Final[dict[str, str]] = {v: k for k, v in MONGO_TO_PY.items()}

# The W&B SDK accepts only the four ordering comparisons; W&B's app also offers
# "Equal to" and "Not equal to" ($eq/$ne). We accept the app's superset.
Comparison = Literal["$gt", "$gte", "$lt", "$lte", "$eq", "$ne"]
SDK_COMPARISONS: Final[frozenset[str]] = frozenset({"$gt", "$gte", "$lt", "$lte"})

MetricName = Annotated[str, Field(min_length=1)]
FiniteNumber = Annotated[StrictInt | StrictFloat, AfterValidator(require_finite)]
PositiveNumber = Annotated[PositiveInt | PositiveFloat, AfterValidator(require_finite)]


class Agg(LenientStrEnum):
    """How values in a window are combined."""

    MAX = "MAX"
    MIN = "MIN"
    AVERAGE = "AVERAGE"
    AVG = AVERAGE


class ChangeType(LenientStrEnum):
    """ABSOLUTE: the arithmetic difference; RELATIVE: the fractional change."""

    ABSOLUTE = "ABSOLUTE"
    RELATIVE = "RELATIVE"
    ABS = ABSOLUTE
    REL = RELATIVE


class ChangeDir(LenientStrEnum):
    """Which direction of change (or z-score) counts."""

    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    ANY = "ANY"
    INC = INCREASE
    DEC = DECREASE


class _MetricCondition(WireModel):
    """Shared behaviour: ``condition & run_filter`` builds a combined event filter."""

    model_config = ConfigDict(extra="forbid")

    def __and__(self, other: Any) -> RunMetricFilter:
        from .events import RunMetricFilter

        if isinstance(other, (BaseOp, FilterExpr)):
            return RunMetricFilter(run=other, metric=self)
        return NotImplemented

    def __rand__(self, other: Any) -> RunMetricFilter:
        return self.__and__(other)


class MetricThresholdFilter(_MetricCondition):
    """A metric value (or its aggregate over a window) compared against a threshold."""

    name: MetricName
    """Name of the observed metric, e.g. ``"val/loss"``."""
    agg: Annotated[Agg | None, Field(alias="agg_op")] = None
    """How to aggregate the last ``window`` logged values; ``None`` uses the latest value."""
    window: Annotated[PositiveInt, Field(alias="window_size")] = 1
    """Number of most recently logged values to aggregate."""
    cmp: Annotated[Comparison, Field(alias="cmp_op")]
    """Comparison between the metric (left) and the threshold (right)."""
    threshold: FiniteNumber
    """The value to compare against."""

    @field_validator("cmp", mode="before")
    @classmethod
    def _python_operator(cls, value: Any) -> Any:
        if isinstance(value, str):
            return PY_TO_MONGO.get(value.strip(), value.strip())
        return value

    def __repr__(self) -> str:
        metric = f"{self.agg.value}({self.name})" if self.agg else self.name
        return repr(f"{metric} {MONGO_TO_PY[self.cmp]} {self.threshold}")


class MetricChangeFilter(_MetricCondition):
    """A change between the current window and the non-overlapping prior window."""

    name: MetricName
    """Name of the observed metric."""
    agg: Annotated[Agg | None, Field(alias="agg_op")] = None
    """Aggregation applied to each window; ``None`` compares single values."""
    window: Annotated[PositiveInt, Field(alias="current_window_size")] = 1
    """Size of the current window."""
    cmp: Annotated[None, Field(frozen=True, exclude=True, repr=False)] = None
    """Not part of W&B's schema: a change is always compared inclusively."""
    # Field order is wire format: wandb emits change_amount before prior_window_size.
    threshold: Annotated[PositiveNumber, Field(alias="change_amount")]
    """The minimum change; a fraction (0.1 = 10%) when RELATIVE."""
    prior_window: Annotated[
        PositiveInt,
        Field(alias="prior_window_size", default_factory=lambda data: data["window"]),
    ]
    """Size of the prior window; defaults to ``window``."""
    change_type: ChangeType
    """ABSOLUTE or RELATIVE change."""
    change_dir: ChangeDir
    """INCREASE, DECREASE or ANY."""

    def __repr__(self) -> str:
        metric = f"{self.agg.value}({self.name})" if self.agg else self.name
        verb = (
            "changes" if self.change_dir is ChangeDir.ANY else f"{self.change_dir.value.lower()}s"
        )
        spec = ".2%" if self.change_type is ChangeType.RELATIVE else ""
        return repr(f"{metric} {verb} {self.threshold:{spec}}")


class MetricZScoreFilter(_MetricCondition):
    """The z-score of the latest value against the mean and std of a window."""

    name: MetricName
    """Name of the observed metric."""
    window: Annotated[PositiveInt, Field(alias="window_size")] = 30
    """Number of values the mean and standard deviation are computed over."""
    threshold: PositiveNumber = 3.0
    """The z-score magnitude that triggers."""
    change_dir: ChangeDir = ChangeDir.ANY
    """INCREASE: z >= t; DECREASE: z <= -t; ANY: |z| >= t."""

    def __repr__(self) -> str:
        if self.change_dir is ChangeDir.DECREASE:
            return repr(f"zscore({self.name!r}) < -{self.threshold}")
        if self.change_dir is ChangeDir.INCREASE:
            return repr(f"zscore({self.name!r}) > +{self.threshold}")
        return repr(f"abs(zscore({self.name!r})) > {self.threshold}")


MetricCondition = MetricThresholdFilter | MetricChangeFilter | MetricZScoreFilter


def _check_number(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {value!r}")


class _MetricOperand(WireModel):
    """The comparison and change methods shared by a metric and its aggregate."""

    model_config = ConfigDict(extra="forbid")

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    def _threshold(self, cmp: str, value: Any) -> MetricThresholdFilter:
        _check_number(value, "threshold")
        return MetricThresholdFilter(**self._fields(), cmp=cmp, threshold=value)

    def gt(self, value: float, /) -> MetricThresholdFilter:
        """``metric > value``."""
        return self._threshold("$gt", value)

    def gte(self, value: float, /) -> MetricThresholdFilter:
        """``metric >= value``."""
        return self._threshold("$gte", value)

    def lt(self, value: float, /) -> MetricThresholdFilter:
        """``metric < value``."""
        return self._threshold("$lt", value)

    def lte(self, value: float, /) -> MetricThresholdFilter:
        """``metric <= value``."""
        return self._threshold("$lte", value)

    def eq(self, value: float, /) -> MetricThresholdFilter:
        """``metric == value`` (W&B app only; the W&B SDK cannot read it back)."""
        return self._threshold("$eq", value)

    def ne(self, value: float, /) -> MetricThresholdFilter:
        """``metric != value`` (W&B app only; the W&B SDK cannot read it back)."""
        return self._threshold("$ne", value)

    def __gt__(self, other: Any) -> MetricThresholdFilter:
        return self.gt(other)

    def __ge__(self, other: Any) -> MetricThresholdFilter:
        return self.gte(other)

    def __lt__(self, other: Any) -> MetricThresholdFilter:
        return self.lt(other)

    def __le__(self, other: Any) -> MetricThresholdFilter:
        return self.lte(other)

    def changes_by(
        self,
        *,
        diff: float | None = None,
        frac: float | None = None,
        _dir: ChangeDir = ChangeDir.ANY,
    ) -> MetricChangeFilter:
        """A change of at least ``diff`` (absolute) or ``frac`` (relative) either way.

        Exactly one of ``diff`` and ``frac`` must be given, and it must be positive.
        """
        if (diff is None) == (frac is None):
            raise ValueError("Must provide exactly one of `frac` or `diff`")
        amount = diff if frac is None else frac
        _check_number(amount, "diff" if frac is None else "frac")
        if amount <= 0:  # type: ignore[operator]
            which = "diff" if frac is None else "frac"
            raise ValueError(f"Expected positive threshold, got: {which}={amount!r}")
        kind = ChangeType.ABSOLUTE if frac is None else ChangeType.RELATIVE
        return MetricChangeFilter(
            **self._fields(), change_type=kind, change_dir=_dir, threshold=amount
        )

    def increases_by(
        self, *, diff: float | None = None, frac: float | None = None
    ) -> MetricChangeFilter:
        """An increase of at least ``diff`` or ``frac``."""
        return self.changes_by(diff=diff, frac=frac, _dir=ChangeDir.INCREASE)

    def decreases_by(
        self, *, diff: float | None = None, frac: float | None = None
    ) -> MetricChangeFilter:
        """A decrease of at least ``diff`` or ``frac``."""
        return self.changes_by(diff=diff, frac=frac, _dir=ChangeDir.DECREASE)

    def plateau(
        self,
        *,
        mode: str = "min",
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        warmup: int = 0,
    ) -> MetricPlateauFilter:
        """[extension: embedded engine only] Fires where PyTorch's ``ReduceLROnPlateau``
        (with these arguments) would cut the learning rate: on the ``patience + 1``-th value
        in a row that fails to improve on the best by ``threshold``. ``warmup`` skips the
        run's first values. See :class:`~.extensions.MetricPlateauFilter`."""
        from .extensions import MetricPlateauFilter

        return MetricPlateauFilter(
            **self._fields(),
            mode=mode,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            warmup=warmup,
        )


class MetricVal(_MetricOperand):
    """A metric's latest logged value; returned by ``RunEvent.metric(name)``."""

    name: MetricName

    def max(self, window: int) -> MetricAgg:
        """The maximum of the last ``window`` logged values."""
        return MetricAgg(name=self.name, agg=Agg.MAX, window=window)

    def min(self, window: int) -> MetricAgg:
        """The minimum of the last ``window`` logged values."""
        return MetricAgg(name=self.name, agg=Agg.MIN, window=window)

    def avg(self, window: int) -> MetricAgg:
        """The mean of the last ``window`` logged values."""
        return MetricAgg(name=self.name, agg=Agg.AVERAGE, window=window)

    def mean(self, window: int) -> MetricAgg:
        """Alias of :meth:`avg`."""
        return self.avg(window)

    def zscore(self, window: int) -> ZScoreMetricOperand:
        """The z-score of the latest value over a window; compare with ``>``, ``<`` or ``abs()``."""
        return ZScoreMetricOperand(name=self.name, window=window)

    def non_finite(self) -> MetricNonFiniteFilter:
        """[extension: embedded engine only] Fires when the metric is logged as NaN, inf or
        -inf. See :class:`~.extensions.MetricNonFiniteFilter`."""
        from .extensions import MetricNonFiniteFilter

        return MetricNonFiniteFilter(name=self.name)


class MetricAgg(_MetricOperand):
    """An aggregate of a metric over a window of logged values."""

    name: MetricName
    agg: Annotated[Agg, Field(alias="agg_op")]
    window: Annotated[PositiveInt, Field(alias="window_size")]


class ZScoreMetricOperand(WireModel):
    """Builds z-score filters: ``zscore(w) > t``, ``zscore(w) < -t``, ``abs(zscore(w)) > t``.

    ``>`` and ``>=`` are interchangeable (as are ``<`` and ``<=``): W&B evaluates
    z-scores inclusively.
    """

    model_config = ConfigDict(extra="forbid")
    name: MetricName
    window: PositiveInt
    is_absolute: bool = Field(default=False, repr=False)

    def gt(self, value: float, /) -> MetricZScoreFilter:
        """``zscore > value`` (or ``abs(zscore) > value``); ``value`` must be positive."""
        _check_number(value, "z-score threshold")
        if value <= 0:
            raise ValueError(f"Expected positive threshold, got: value={value!r}")
        direction = ChangeDir.ANY if self.is_absolute else ChangeDir.INCREASE
        return MetricZScoreFilter(
            name=self.name, window=self.window, change_dir=direction, threshold=abs(value)
        )

    def lt(self, value: float, /) -> MetricZScoreFilter:
        """``zscore < value``; ``value`` must be negative, e.g. ``zscore(30) < -2``."""
        _check_number(value, "z-score threshold")
        if self.is_absolute:
            raise ValueError("Cannot use absolute z-score with < operator; use abs(...) > t")
        if value >= 0:
            raise ValueError(
                f"Negative z-score threshold required, got {value!r}; write zscore(w) < -{value}"
            )
        return MetricZScoreFilter(
            name=self.name, window=self.window, change_dir=ChangeDir.DECREASE, threshold=-value
        )

    def __gt__(self, other: Any) -> MetricZScoreFilter:
        return self.gt(other)

    def __ge__(self, other: Any) -> MetricZScoreFilter:
        return self.gt(other)

    def __lt__(self, other: Any) -> MetricZScoreFilter:
        return self.lt(other)

    def __le__(self, other: Any) -> MetricZScoreFilter:
        return self.lt(other)

    def __abs__(self) -> ZScoreMetricOperand:
        return self.model_copy(update={"is_absolute": True})

    def abs(self) -> ZScoreMetricOperand:
        """The absolute z-score: deviations in either direction."""
        return self.__abs__()
