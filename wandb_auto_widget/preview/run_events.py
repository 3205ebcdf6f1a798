"""Semantics of run filters and run-state events (docs/semantics.md §6 and §8)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..automations import And, FilterExpr, Not, Or, RunStateFilter
from ..automations.filters import BaseOp, Nor

# Run states as W&B reports them, mapped to the state an automation can watch for.
# A crashed run counts as failed; killed and pending runs never trigger.
_TRIGGERING_STATE = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "crashed": "FAILED",
}


def triggering_state(state: str) -> str | None:
    """The ``ReportedRunState`` value a reported run state triggers, or None (killed, pending)."""
    return _TRIGGERING_STATE.get(state.strip().lower())


def state_change_fires(filter: RunStateFilter, previous: str | None, current: str) -> bool:
    """Whether a run moving from ``previous`` to ``current`` fires this run-state filter.

    Only a *change* fires: a run reported FAILED twice fires once.
    """
    new = triggering_state(current)
    if new is None or (previous is not None and triggering_state(previous) == new):
        return False
    return new in {s.value for s in filter.state.states}


def matches_run_filter(expr: Any, run: Mapping[str, Any]) -> bool:
    """Evaluate a Mongo-style run filter (``RunEvent.name.contains("x")``...) against a run.

    ``run`` maps field names (``display_name``, ``state``, ...) to values. ``$regex``
    searches anywhere in the string (like MongoDB), ``$contains`` is a substring test,
    and a missing field matches only ``$exists: false`` and ``$ne``/``$nin``.
    """
    if isinstance(expr, And):
        return all(matches_run_filter(e, run) for e in expr.exprs)
    if isinstance(expr, Or):
        return any(matches_run_filter(e, run) for e in expr.exprs)
    if isinstance(expr, Nor):
        return not any(matches_run_filter(e, run) for e in expr.exprs)
    if isinstance(expr, Not):
        return not matches_run_filter(expr.expr, run)
    if isinstance(expr, FilterExpr):
        present = expr.field in run
        return _matches_op(expr.op, run.get(expr.field), present)
    if isinstance(expr, Mapping) and not expr:
        return True
    raise ValueError(f"unsupported run filter {expr!r}; use RunEvent.name or RunEvent.state")


def _matches_op(op: Any, value: Any, present: bool) -> bool:
    raw = op.model_dump() if isinstance(op, BaseOp) else dict(op)
    ((key, arg),) = raw.items()
    if isinstance(value, list) and key in ("$eq", "$in", "$regex", "$contains"):
        # An array field (such as tags) matches if any element does, as in MongoDB.
        return any(_matches_op(op, element, True) for element in value)
    if key == "$exists":
        return present is bool(arg)
    if key == "$ne":
        return not present or value != arg
    if key == "$nin":
        return not present or value not in arg
    if not present:
        return False
    if key == "$eq":
        return bool(value == arg)
    if key == "$in":
        return value in arg
    if key == "$regex":
        return isinstance(value, str) and re.search(arg, value) is not None
    if key == "$contains":
        return isinstance(value, str) and arg in value
    comparisons = {"$gt": "__gt__", "$gte": "__ge__", "$lt": "__lt__", "$lte": "__le__"}
    if key in comparisons:
        try:
            return bool(getattr(value, comparisons[key])(arg) is True)
        except TypeError:
            return False
    raise ValueError(f"unsupported run filter operator {key!r}")
