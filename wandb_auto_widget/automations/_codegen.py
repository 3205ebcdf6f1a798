"""``to_code()``: readable Python, in this package's DSL, that rebuilds a domain object.

Each builder returns an *expression*; the public ``to_code()`` methods wrap it in a
snippet with its imports, binding the result to a variable (``event``, ``action``
or ``automation``) so that ``exec`` of the snippet rebuilds an equal object.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._base import to_json
from .actions import (
    DoNothing,
    SendDigest,
    SendNotification,
    SendPromptToAria,
    SendWebhook,
    StopRun,
    to_input_action,
)
from .extensions import MetricNonFiniteFilter, MetricPlateauFilter
from .filters import (
    And,
    Contains,
    Eq,
    Exists,
    FilterExpr,
    In,
    Ne,
    NotIn,
    Or,
    Regex,
)
from .metric_filters import (
    MONGO_TO_PY,
    SDK_COMPARISONS,
    MetricChangeFilter,
    MetricThresholdFilter,
    MetricZScoreFilter,
)
from .run_state import StateFilter
from .scopes import OrgScope, TeamScope

if TYPE_CHECKING:
    from .automations import Automation, NewAutomation
    from .events import _BaseEventInput

_FIELD_METHODS: dict[type, str] = {
    Eq: "eq",
    Ne: "ne",
    In: "in_",
    NotIn: "not_in",
    Contains: "contains",
    Regex: "matches_regex",
    Exists: "exists",
}
_AGG_METHODS = {"MAX": "max", "MIN": "min", "AVERAGE": "mean"}
_FIELDS = {
    "display_name": "RunEvent.name",
    "alias": "ArtifactEvent.alias",
    "tag": "ArtifactEvent.tag",
}


def _literal(value: Any) -> str:
    if isinstance(value, tuple):
        return repr(list(value))
    return repr(value)


def _filter_expr(expr: Any) -> str | None:
    """DSL source for a run/artifact filter, or None if it has no DSL spelling."""
    if isinstance(expr, FilterExpr) and expr.field in _FIELDS:
        method = _FIELD_METHODS.get(type(expr.op))
        if method:
            return f"{_FIELDS[expr.field]}.{method}({_literal(expr.op.val)})"  # type: ignore[union-attr]
        return None
    if isinstance(expr, (And, Or)) and expr.exprs:
        parts = [_filter_expr(child) for child in expr.exprs]
        if any(part is None for part in parts):
            return None
        joiner = " & " if isinstance(expr, And) else " | "
        return joiner.join(f"({p})" if " " in str(p) else str(p) for p in parts)
    return None


def _mongo_source(expr: Any) -> str:
    """Fallback: the filter as a Mongo dict literal (accepted wherever a filter is)."""
    import json

    return repr(json.loads(to_json(expr)))


def metric_condition(cond: Any) -> str:
    """DSL source for a threshold, change, z-score, plateau or non-finite condition."""
    metric = f"RunEvent.metric({cond.name!r})"
    if isinstance(cond, MetricNonFiniteFilter):
        return f"{metric}.non_finite()"
    if isinstance(cond, MetricPlateauFilter):
        return _plateau_source(metric, cond)
    if isinstance(cond, MetricZScoreFilter):
        base = f"{metric}.zscore({cond.window})"
        if cond.change_dir.value == "ANY":
            return f"{base}.abs() > {cond.threshold!r}"
        if cond.change_dir.value == "DECREASE":
            return f"{base} < -{cond.threshold!r}"
        return f"{base} > {cond.threshold!r}"
    if cond.agg is not None:
        metric += f".{_AGG_METHODS[cond.agg.value]}({cond.window})"
    elif cond.window != 1:
        return _constructor(cond)
    if isinstance(cond, MetricThresholdFilter):
        if cond.cmp in SDK_COMPARISONS:
            return f"{metric} {MONGO_TO_PY[cond.cmp]} {cond.threshold!r}"
        return f"{metric}.{cond.cmp[1:]}({cond.threshold!r})"
    assert isinstance(cond, MetricChangeFilter)
    if cond.prior_window != cond.window:
        return _constructor(cond)
    verb = {"ANY": "changes_by", "INCREASE": "increases_by", "DECREASE": "decreases_by"}
    kind = "frac" if cond.change_type.value == "RELATIVE" else "diff"
    return f"{metric}.{verb[cond.change_dir.value]}({kind}={cond.threshold!r})"


def _plateau_source(metric: str, cond: MetricPlateauFilter) -> str:
    if cond.agg is not None:
        metric += f".{_AGG_METHODS[cond.agg.value]}({cond.window})"
    defaults = MetricPlateauFilter.model_fields
    args = [
        f"{name}={getattr(cond, name)!r}"
        for name in ("mode", "patience", "threshold", "threshold_mode", "cooldown", "warmup")
        if name == "patience" or getattr(cond, name) != defaults[name].default
    ]
    return f"{metric}.plateau({', '.join(args)})"


def _constructor(model: Any) -> str:
    args = ", ".join(
        f"{name}={getattr(model, name)!r}"
        for name, field in type(model).model_fields.items()
        if not field.exclude
    )
    return f"{type(model).__name__}({args})"


def _combined(run_filter: Any, condition_src: str, wrapper: str, field: str) -> str:
    """``run_filter & condition`` in the DSL, or the explicit wrapper if the DSL can't say it."""
    if not run_filter.exprs:
        return condition_src
    run_src = _filter_expr(run_filter)
    if run_src is None:
        return f"{wrapper}(run={_mongo_source(run_filter)}, {field}={condition_src})"
    return (
        f"({run_src}) & ({condition_src})" if " " in run_src else f"{run_src} & ({condition_src})"
    )


def _state_condition(state: StateFilter) -> str:
    names = [s.value.lower() for s in state.states]
    if len(names) == 1:
        return f"RunEvent.state.eq({names[0]!r})"
    return f"RunEvent.state.in_({names!r})"


def scope_source(scope: Any) -> str:
    """Source for a scope object."""
    cls = type(scope).__name__
    if isinstance(scope, (TeamScope, OrgScope)):
        return f"{cls}(id={scope.id!r}, name={scope.name!r})"
    if cls.startswith("_Artifact"):
        kind = "ArtifactSequence" if "Sequence" in cls else "ArtifactPortfolio"
        return f"{{'__typename': {kind!r}, 'id': {scope.id!r}, 'name': {scope.name!r}}}"
    return f"{cls}(id={scope.id!r}, name={scope.name!r})"


def event_source(event: _BaseEventInput) -> str:
    """Source for an input event."""
    from .events import (
        OnRunMetric,
        OnRunStalled,
        OnRunState,
        OnSchedule,
        RunMetricFilter,
        RunStateFilter,
    )

    cls = type(event).__name__
    scope = scope_source(event.scope)
    if isinstance(event, OnRunMetric):
        flt: RunMetricFilter = event.filter
        src = _combined(flt.run, metric_condition(flt.condition), "RunMetricFilter", "metric")
        return f"{cls}(\n    scope={scope},\n    filter={src},\n)"
    if isinstance(event, OnRunState):
        sflt: RunStateFilter = event.filter
        src = _combined(sflt.run, _state_condition(sflt.state), "RunStateFilter", "state")
        return f"{cls}(\n    scope={scope},\n    filter={src},\n)"
    if isinstance(event, OnSchedule):
        return (
            f"{cls}(\n    scope={scope},\n    cron={event.cron!r},\n"
            f"    timezone={event.timezone!r},\n)"
        )
    if isinstance(event, OnRunStalled):
        stalled = event.filter.stalled
        args = [f"scope={scope}", f"after={_timedelta_source(event.after)}"]
        if stalled.notify_resolved:
            args.append("resolved=True")
        run: Any = event.filter.run  # a run filter is an And of expressions
        if run.exprs:
            args.append(f"runs={_filter_expr(run) or _mongo_source(run)}")
        return f"{cls}(\n    " + ",\n    ".join(args) + ",\n)"
    inner = event.filter
    # Artifact filters are stored as Or(And(x)); write just x.
    if isinstance(inner, Or) and len(inner.exprs) == 1 and isinstance(inner.exprs[0], And):
        and_ = inner.exprs[0]
        if not and_.exprs:
            return f"{cls}(scope={scope})"
        found = _filter_expr(and_.exprs[0]) if len(and_.exprs) == 1 else _filter_expr(and_)
        if found is not None:
            return f"{cls}(\n    scope={scope},\n    filter={found},\n)"
    return f"{cls}(\n    scope={scope},\n    filter={_mongo_source(inner)},\n)"


def _timedelta_source(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds % size == 0:
            return f"timedelta({unit}={seconds // size})"
    return f"timedelta(seconds={seconds})"


def action_source(action: Any) -> str:
    """Source for an input (or saved) action."""
    action = to_input_action(action)
    if isinstance(action, DoNothing):
        return "DoNothing()"
    if isinstance(action, SendWebhook):
        payload = f", request_payload={action.request_payload!r}" if action.request_payload else ""
        return f"SendWebhook(integration_id={action.integration_id!r}{payload})"
    if isinstance(action, StopRun):
        return "StopRun()"
    if isinstance(action, SendDigest):
        args = [f"integration_id={action.integration_id!r}", f"metrics={action.metrics!r}"]
        if list(action.include) != ["runs", "metrics", "automations"]:
            args.append(f"include={list(action.include)!r}")
        if not action.skip_if_empty:
            args.append("skip_if_empty=False")
        return f"SendDigest({', '.join(args)})"
    if isinstance(action, SendPromptToAria):
        return f"SendPromptToAria(prompt={action.prompt!r})"
    assert isinstance(action, SendNotification)
    return (
        f"SendNotification(\n    integration_id={action.integration_id!r},\n"
        f"    title={action.title!r},\n    message={action.message!r},\n"
        f"    severity={action.severity.value!r},\n)"
    )


def _indent(src: str) -> str:
    return src.replace("\n", "\n    ")


def _imports(source: str, extra: tuple[str, ...] = ()) -> str:
    from . import __all__ as public

    used = sorted({n for n in public if re.search(rf"\b{n}[(.]", source)} | set(extra))
    stdlib = "from datetime import timedelta\n\n" if "timedelta(" in source else ""
    return f"{stdlib}from wandb_auto_widget.automations import {', '.join(used)}\n"


def snippet(variable: str, expression: str, extra_imports: tuple[str, ...] = ()) -> str:
    """A runnable snippet that binds ``expression`` to ``variable``."""
    body = f"{variable} = {expression}\n"
    return _imports(body, extra_imports) + "\n" + body


def new_automation_code(obj: NewAutomation) -> str:
    fields = []
    for name in ("name", "description", "enabled"):
        value = getattr(obj, name)
        if value is not None:
            fields.append(f"    {name}={value!r},")
    if obj.event is not None:
        fields.append(f"    event={_indent(event_source(obj.event))},")
    if obj.action is not None:
        fields.append(f"    action={_indent(action_source(obj.action))},")
    return snippet("automation", "NewAutomation(\n" + "\n".join(fields) + "\n)", ("NewAutomation",))


def automation_code(obj: Automation) -> str:
    fields = [
        f"    id={obj.id!r},",
        f"    created_at={obj.created_at.isoformat()!r},",
    ]
    if obj.updated_at is not None:
        fields.append(f"    updated_at={obj.updated_at.isoformat()!r},")
    fields += [
        f"    name={obj.name!r},",
        f"    description={obj.description!r},",
        f"    enabled={obj.enabled!r},",
        f"    scope={scope_source(obj.scope)},",
        f"    event={_indent(event_source(obj.to_input_event()))},",
        f"    action={_indent(action_source(obj.action))},",
    ]
    return snippet("automation", "Automation(\n" + "\n".join(fields) + "\n)", ("Automation",))


def read_only_code(obj: Automation) -> str:
    """A comment: this automation cannot be rebuilt here; its JSON as W&B returned it."""
    kinds = ", ".join(p.describe() for p in obj.read_only_parts)
    header = (
        f"# Automation {obj.name!r} ({obj.id}) uses {kinds}, which this package cannot edit "
        "or re-create; edit it in the W&B App. As W&B returned it:"
    )
    body = json.dumps(obj.to_graphql(), indent=2, default=str)
    return header + "\n" + "\n".join(f"# {line}" for line in body.splitlines()) + "\n"
