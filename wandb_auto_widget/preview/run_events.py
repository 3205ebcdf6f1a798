"""Semantics of run filters and run-state events (docs/semantics.md §6 and §8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..automations import And, FilterExpr, Not, Or, RunStateFilter
from ..automations._regex import regex_search
from ..automations.filters import OPS_BY_KEY, BaseOp, Nor

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


def _flattened(prefix: str, value: Any, out: dict[str, Any]) -> None:
    out[prefix] = value
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flattened(f"{prefix}.{key}", inner, out)


def run_filter_fields(
    *,
    name: str,
    display_name: str | None,
    state: str | None,
    tags: list[str] | None = None,
    config: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    group: str | None = None,
    job_type: str | None = None,
    created_at: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    """The fields W&B's run filters test, under W&B's names (both spellings), for
    :func:`matches_run_filter`. The one mapping from a run to its filter fields: the engine
    builds it from the database, the preview from the runs ``Api`` lists.

    ``config`` holds config *values* (unwrapped from W&B's ``{"value": ...}``): a filter on
    ``config.lr`` or ``config.lr.value`` tests the value, and ``config.a.b`` a nested one.
    Times compare as W&B's ISO strings, without a zone suffix.
    """
    created = created_at.removesuffix("Z") if created_at else None
    fields: dict[str, Any] = {
        "name": name,
        "display_name": display_name,
        "displayName": display_name,
        "state": state,
        "tags": list(tags or []),
        "group": group,
        "jobType": job_type,
        "job_type": job_type,
        "createdAt": created,
        "created_at": created,
        "username": username,
        "user": username,
    }
    for key, value in (config or {}).items():
        _flattened(f"config.{key}", value, fields)
        fields[f"config.{key}.value"] = value
    for key, value in (summary or {}).items():
        _flattened(f"summary_metrics.{key}", value, fields)
    return fields


def artifact_event_fields(alias: str | None, tag: str | None, aliases: list[str]) -> dict[str, Any]:
    """The fields an artifact event's filter tests (``ArtifactEvent.alias`` / ``.tag``): the
    alias the event added, or, for an event without one (a version created or linked), the
    aliases the version had then; and the tag the event added or removed."""
    return {"alias": alias if alias else list(aliases), "tag": tag}


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


_FIELD_OPERATORS = frozenset(
    {"$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$regex", "$contains", "$exists"}
)


def check_run_filter(expr: Any) -> None:
    """ValueError naming the first operator :func:`matches_run_filter` cannot evaluate.

    Checked when a filter arrives (an automation is saved, runs are listed), so that
    evaluating it later, while ingesting, cannot fail."""
    if isinstance(expr, (And, Or, Nor)):
        for child in expr.exprs:
            check_run_filter(child)
    elif isinstance(expr, Not):
        check_run_filter(expr.expr)
    elif isinstance(expr, FilterExpr):
        raw = expr.op.model_dump() if isinstance(expr.op, BaseOp) else expr.op
        unknown = [key for key in raw if key not in _FIELD_OPERATORS]
        if unknown or not raw:
            raise ValueError(
                f"unsupported operator {(unknown or ['(none)'])[0]!r} on field {expr.field!r}; "
                f"use one of {', '.join(sorted(_FIELD_OPERATORS))}"
            )
        if not isinstance(expr.op, BaseOp):  # several operators on one field: check each
            for key, value in raw.items():
                OPS_BY_KEY[key].model_validate({key: value})
    elif not (isinstance(expr, Mapping) and not expr):
        raise ValueError(f"unsupported run filter {expr!r:.100}")


def _matches_op(op: Any, value: Any, present: bool) -> bool:
    raw = op.model_dump() if isinstance(op, BaseOp) else dict(op)
    if len(raw) != 1:  # {"$gt": 1, "$lt": 5}: every operator must hold, as in MongoDB
        return bool(raw) and all(_matches_op({k: v}, value, present) for k, v in raw.items())
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
        return isinstance(value, str) and isinstance(arg, str) and regex_search(arg, value)
    if key == "$contains":
        return isinstance(value, str) and arg in value
    comparisons = {"$gt": "__gt__", "$gte": "__ge__", "$lt": "__lt__", "$lte": "__le__"}
    if key in comparisons:
        try:
            return bool(getattr(value, comparisons[key])(arg) is True)
        except TypeError:
            return False
    raise ValueError(f"unsupported run filter operator {key!r}")
