"""Run-state conditions: ``RunEvent.state.in_(["finished", "failed"])``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, field_validator

from ._base import LenientStrEnum, WireModel
from .filters import BaseOp, FilterExpr

if TYPE_CHECKING:
    from .events import RunStateFilter


class ReportedRunState(LenientStrEnum):
    """The run states an automation can watch for (W&B's ``CoarseRunState``)."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    # W&B treats a crashed run as failed when triggering.
    CRASHED = FAILED

    @classmethod
    def _missing_(cls, value: object) -> Any:
        # Unlike wandb's SDK we also accept the alias *name* "crashed" (W&B's app
        # offers it); it is sent as FAILED, exactly like ReportedRunState.CRASHED.
        found = super()._missing_(value)
        if found is None and isinstance(value, str):
            return cls.__members__.get(value.strip().upper())
        return found


def _as_list(value: Any) -> Any:
    if isinstance(value, (str, ReportedRunState)):
        return [value]
    return list(value) if isinstance(value, Iterable) else value


class StateFilter(WireModel):
    """The set of states that trigger; wire form ``{"states": ["FAILED", ...]}``."""

    states: Annotated[list[ReportedRunState], BeforeValidator(_as_list)]

    @field_validator("states")
    @classmethod
    def _dedupe_and_sort(cls, states: list[ReportedRunState]) -> list[ReportedRunState]:
        if not states:
            raise ValueError("at least one run state is required, e.g. ['failed']")
        return sorted(set(states))

    def __and__(self, other: Any) -> RunStateFilter:
        from .events import RunStateFilter

        if isinstance(other, (BaseOp, FilterExpr)):
            return RunStateFilter(run=other, state=self)
        return NotImplemented

    def __rand__(self, other: Any) -> RunStateFilter:
        return self.__and__(other)


class StateOperand:
    """``RunEvent.state``: build a :class:`StateFilter` with ``eq``, ``in_`` or ``==``."""

    def eq(self, state: str | ReportedRunState, /) -> StateFilter:
        """Trigger when the run enters ``state``."""
        return StateFilter(states=[state])

    def in_(self, states: Iterable[str | ReportedRunState], /) -> StateFilter:
        """Trigger when the run enters any of ``states``."""
        return StateFilter(states=list(states))

    def __eq__(self, other: Any) -> StateFilter:  # type: ignore[override]
        if isinstance(other, (str, ReportedRunState)):
            return self.eq(other)
        raise TypeError(f"Invalid operand type in run state filter: {type(other)!r}")

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return "RunEvent.state"
