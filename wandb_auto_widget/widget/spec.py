"""The builder's form state (``spec``, plain JSON) to and from domain objects.

The form edits one flat JSON object. ``build`` turns it into a ``NewAutomation`` or a
dict of errors keyed by the form field that is wrong; ``from_automation`` fills a spec
from an existing automation (code to form).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..automations import (
    ArtifactEvent,
    Automation,
    DoNothing,
    EventType,
    MetricChangeFilter,
    MetricNonFiniteFilter,
    MetricPlateauFilter,
    MetricThresholdFilter,
    MetricZScoreFilter,
    NewAutomation,
    OnRunMetric,
    OnRunStalled,
    OnRunState,
    OnSchedule,
    RunEvent,
    RunMetricFilter,
    RunStalledFilter,
    RunStateFilter,
    SavedAriaAction,
    ScheduleFilter,
    SendDigest,
    SendNotification,
    SendPromptToAria,
    SendWebhook,
    StopRun,
)
from ..automations.actions import to_input_action
from ..automations.events import EVENT_CLASSES
from ..automations.extensions import extension_parts
from ..automations.filters import And, Contains, FilterExpr, Or, Regex

FORM: dict[str, Any] = json.loads((Path(__file__).parent / "form.json").read_text())
"""The form's fields, defaults and choices; the view reads the same file (js/src/form.ts)."""

_KINDS = {e["value"]: e["kind"] for e in FORM["event_types"]}
RUN_METRIC_EVENTS = tuple(
    v for v, k in _KINDS.items() if k in ("threshold", "change", "zscore", "plateau", "non_finite")
)
RUN_EVENTS = (*RUN_METRIC_EVENTS, "RUN_STATE", "RUN_STALLED")
EXTENSION_CHOICES = frozenset(
    e["value"] for e in (*FORM["event_types"], *FORM["action_types"]) if e.get("extension")
)
"""Event and action types only this package's engine runs (marked so in the form)."""
ARTIFACT_EVENTS = tuple(v for v, k in _KINDS.items() if k == "artifact")

# Defaults follow W&B's app: a threshold window of 5; change windows of 10 and 50, relative.
DEFAULT_SPEC: dict[str, Any] = FORM["default_spec"]

# pydantic field names -> form fields, per part of the form
_CONDITION_FIELDS = {
    "threshold": {
        "name": "metric",
        "agg": "agg",
        "window": "window",
        "cmp": "cmp",
        "threshold": "threshold",
    },
    "change": {
        "name": "metric",
        "agg": "change_agg",
        "window": "change_window",
        "prior_window": "prior_window",
        "threshold": "change_amount",
        "change_type": "change_type",
        "change_dir": "change_dir",
    },
    "zscore": {
        "name": "metric",
        "window": "zscore_window",
        "threshold": "zscore_threshold",
        "change_dir": "zscore_dir",
    },
    "plateau": {
        "name": "metric",
        "agg": "plateau_agg",
        "window": "plateau_window",
        "mode": "plateau_mode",
        "patience": "patience",
        "threshold": "plateau_threshold",
        "threshold_mode": "plateau_threshold_mode",
        "cooldown": "plateau_cooldown",
        "warmup": "plateau_warmup",
    },
}


def _messages(exc: ValidationError, fields: dict[str, str], default: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in exc.errors():
        names = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        # A check of several fields at once names its field first ("threshold: ...").
        named = message.split(":", 1)[0]
        if not names and named in fields:
            names, message = [named], message.split(":", 1)[1].strip()
        field = next((fields[n] for n in reversed(names) if n in fields), default)
        out.setdefault(field, message)
    return out


def _attempt(
    errors: dict[str, str], fields: dict[str, str], default: str, make: Callable[[], Any]
) -> Any:
    """Run ``make``; record its errors under form fields and return None on failure."""
    try:
        return make()
    except ValidationError as exc:
        errors.update(_messages(exc, fields, default))
    except (ValueError, TypeError) as exc:
        errors[default] = str(exc)
    return None


def _number(
    spec: dict[str, Any], field: str, errors: dict[str, str], *, integer: bool = False
) -> Any:
    """The field as a number (ints stay ints, as the wire format keeps them), or None."""
    value = spec.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except ValueError:
            errors[field] = "Enter a number"
            return None
    if integer:
        if value != int(value):
            errors[field] = "Enter a whole number"
            return None
        return int(value)
    return value


def _run_filter(spec: dict[str, Any], errors: dict[str, str]) -> Any:
    mode, value = spec.get("run_filter_mode", "any"), str(spec.get("run_filter_value") or "")
    if mode == "any":
        return None
    if mode == "custom":
        try:
            return FilterExpr.model_validate(json.loads(spec.get("run_filter_json") or "{}"))
        except (ValueError, ValidationError):
            try:
                return And.model_validate(json.loads(spec.get("run_filter_json") or "{}"))
            except (ValueError, ValidationError) as exc:
                errors["run_filter_value"] = f"Not a run filter this form understands: {exc}"
                return None
    if not value:
        errors["run_filter_value"] = "Enter text to match, or choose 'any run'"
        return None
    if mode == "contains":
        return RunEvent.name.contains(value)
    return _attempt(errors, {}, "run_filter_value", lambda: RunEvent.name.matches_regex(value))


def _condition(spec: dict[str, Any], errors: dict[str, str]) -> Any:
    event = spec["event_type"]
    metric = str(spec.get("metric") or "").strip()
    if not metric:
        errors["metric"] = "Choose or type the metric to watch, e.g. val/loss"
    if event == "RUN_METRIC":
        window = _number(spec, "window", errors, integer=True)
        threshold = _number(spec, "threshold", errors)
        if errors:
            return None
        return _attempt(
            errors,
            _CONDITION_FIELDS["threshold"],
            "threshold",
            lambda: MetricThresholdFilter(
                name=metric,
                agg=spec.get("agg") or None,
                window=window,
                cmp=spec.get("cmp"),
                threshold=threshold,
            ),
        )
    if event == "RUN_METRIC_CHANGE":
        window = _number(spec, "change_window", errors, integer=True)
        prior = _number(spec, "prior_window", errors, integer=True)
        amount = _number(spec, "change_amount", errors)
        if errors:
            return None
        return _attempt(
            errors,
            _CONDITION_FIELDS["change"],
            "change_amount",
            lambda: MetricChangeFilter(
                name=metric,
                agg=spec.get("change_agg") or None,
                window=window,
                prior_window=prior,
                change_type=spec.get("change_type"),
                change_dir=spec.get("change_dir"),
                threshold=amount,
            ),
        )
    if event == "RUN_METRIC_NON_FINITE":
        return None if errors else MetricNonFiniteFilter(name=metric)
    if event == "RUN_METRIC_PLATEAU":
        return _plateau(spec, metric, errors)
    window = _number(spec, "zscore_window", errors, integer=True)
    threshold = _number(spec, "zscore_threshold", errors)
    if errors:
        return None
    return _attempt(
        errors,
        _CONDITION_FIELDS["zscore"],
        "zscore_threshold",
        lambda: MetricZScoreFilter(
            name=metric, window=window, threshold=threshold, change_dir=spec.get("zscore_dir")
        ),
    )


def _plateau(spec: dict[str, Any], metric: str, errors: dict[str, str]) -> Any:
    numbers = {
        field: _number(spec, field, errors, integer=field != "plateau_threshold")
        for field in (
            "plateau_window",
            "patience",
            "plateau_threshold",
            "plateau_cooldown",
            "plateau_warmup",
        )
    }
    if errors:
        return None
    agg = spec.get("plateau_agg") or None
    return _attempt(
        errors,
        _CONDITION_FIELDS["plateau"],
        "patience",
        lambda: MetricPlateauFilter(
            name=metric,
            agg=agg,
            window=numbers["plateau_window"] if agg else 1,
            mode=spec.get("plateau_mode") or "min",
            patience=numbers["patience"],
            threshold=numbers["plateau_threshold"],
            threshold_mode=spec.get("plateau_threshold_mode") or "rel",
            cooldown=numbers["plateau_cooldown"],
            warmup=numbers["plateau_warmup"],
        ),
    )


def _stalled(spec: dict[str, Any], scope: Any, run_filter: Any, errors: dict[str, str]) -> Any:
    minutes = _number(spec, "stalled_minutes", errors)
    if minutes is not None and not 0 < minutes <= 365 * 24 * 60:
        errors["stalled_minutes"] = "Enter a number of minutes above 0"
    if scope is None or errors:
        return None
    return _attempt(
        errors,
        {"after_seconds": "stalled_minutes", "scope": "scope"},
        "stalled_minutes",
        lambda: OnRunStalled(
            scope=scope,
            after=timedelta(seconds=round(float(minutes) * 60)),
            resolved=bool(spec.get("stalled_resolved")),
            runs=run_filter,
        ),
    )


def _scope(spec: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    if not spec.get("scope_id"):
        run_event = spec["event_type"] in RUN_EVENTS
        errors["scope"] = (
            "Choose a project" if run_event else "Choose a project, registry or collection"
        )
        return None
    return {
        "__typename": spec.get("scope_typename") or "Project",
        "id": spec["scope_id"],
        "name": spec.get("scope_name") or "",
    }


def _event(spec: dict[str, Any], errors: dict[str, str]) -> Any:
    event_type = spec.get("event_type")
    if event_type not in (*RUN_EVENTS, *ARTIFACT_EVENTS, "SCHEDULE"):
        errors["event_type"] = f"Unknown event type {event_type!r}"
        return None
    scope = _scope(spec, errors)
    if event_type == "SCHEDULE":
        if scope is None:
            return None
        return _attempt(
            errors,
            {"cron": "cron", "timezone": "timezone", "scope": "scope"},
            "cron",
            lambda: OnSchedule(
                scope=scope,
                cron=str(spec.get("cron") or ""),
                timezone=str(spec.get("timezone") or "UTC"),
            ),
        )
    run_filter = _run_filter(spec, errors) if event_type in RUN_EVENTS else None
    if event_type in RUN_METRIC_EVENTS:
        condition = _condition(spec, errors)
        if scope is None or condition is None or "run_filter_value" in errors:
            return None
        flt = condition if run_filter is None else RunMetricFilter(run=run_filter, metric=condition)
        return _attempt(
            errors,
            {"scope": "scope"},
            "scope",
            lambda: OnRunMetric.model_validate({"scope": scope, "filter": flt}),
        )
    if event_type == "RUN_STALLED":
        return None if "run_filter_value" in errors else _stalled(spec, scope, run_filter, errors)
    if event_type == "RUN_STATE":
        states = spec.get("states") or []
        if not states:
            errors["states"] = "Choose at least one state"
        if scope is None or errors:
            return None
        state_filter = _attempt(errors, {}, "states", lambda: RunEvent.state.in_(states))
        if state_filter is None:
            return None
        flt = (
            state_filter
            if run_filter is None
            else RunStateFilter(run=run_filter, state=state_filter)
        )
        return _attempt(
            errors, {"scope": "scope"}, "scope", lambda: OnRunState(scope=scope, filter=flt)
        )
    field = spec.get("artifact_filter_field", "none")
    pattern = str(spec.get("artifact_filter_regex") or "")
    artifact_filter = None
    if field in ("alias", "tag"):
        if not pattern:
            errors["artifact_filter_regex"] = (
                f"Enter a regular expression for the {field}, e.g. ^prod"
            )
        else:
            target = ArtifactEvent.alias if field == "alias" else ArtifactEvent.tag
            artifact_filter = _attempt(
                errors, {}, "artifact_filter_regex", lambda: target.matches_regex(pattern)
            )
    if scope is None or errors:
        return None
    cls = EVENT_CLASSES[EventType(event_type)]
    data = (
        {"scope": scope} if artifact_filter is None else {"scope": scope, "filter": artifact_filter}
    )
    return _attempt(errors, {"scope": "scope"}, "scope", lambda: cls.model_validate(data))


def _action(spec: dict[str, Any], errors: dict[str, str]) -> Any:
    kind = spec.get("action_type")
    if kind == "NO_OP":
        return DoNothing()
    if kind == "STOP_RUN":
        if spec.get("event_type") not in RUN_EVENTS:
            errors["action_type"] = "Stopping a run needs a run event; choose another action"
            return None
        return StopRun()
    if kind == "DIGEST":
        return _digest(spec, errors)
    if kind not in ("NOTIFICATION", "GENERIC_WEBHOOK"):
        errors["action_type"] = f"Unknown action {kind!r}"
        return None
    integration = str(spec.get("integration_id") or "")
    if not integration:
        errors["integration"] = (
            "Choose a Slack channel" if kind == "NOTIFICATION" else "Choose a webhook"
        )
        return None
    if kind == "NOTIFICATION":
        return _attempt(
            errors,
            {"title": "title", "message": "message", "severity": "severity"},
            "integration",
            lambda: SendNotification(
                integration_id=integration,
                title=spec.get("title") or "",
                message=spec.get("message") or "",
                severity=spec.get("severity") or "INFO",
            ),
        )
    text = str(spec.get("payload") or "").strip() or "{}"
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        errors["payload"] = f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return None
    if not isinstance(payload, dict):
        errors["payload"] = 'The payload must be a JSON object, e.g. {"text": "${run_name}"}'
        return None
    return _attempt(
        errors,
        {"request_payload": "payload"},
        "integration",
        lambda: SendWebhook(integration_id=integration, request_payload=payload or None),
    )


def _digest(spec: dict[str, Any], errors: dict[str, str]) -> Any:
    integration = str(spec.get("integration_id") or "")
    if not integration:
        errors["integration"] = "Choose a Slack channel or a webhook"
        return None
    metrics = [m.strip() for m in str(spec.get("digest_metrics") or "").split(",") if m.strip()]
    return _attempt(
        errors,
        {"metrics": "digest_metrics", "integration_id": "integration"},
        "digest_metrics",
        lambda: SendDigest(
            integration_id=integration,
            metrics=metrics,
            skip_if_empty=bool(spec.get("digest_skip_if_empty", True)),
        ),
    )


def integration_mismatch(spec: dict[str, Any], integrations: list[dict[str, Any]]) -> str:
    """An error when the chosen integration is of the other kind than the action needs (a
    Slack channel for a webhook, say); "" when it fits or is not among ``integrations``."""
    wanted = {"NOTIFICATION": "slack", "GENERIC_WEBHOOK": "webhook"}.get(
        str(spec.get("action_type"))
    )
    chosen = next((i for i in integrations if i["id"] == spec.get("integration_id")), None)
    if wanted is None or chosen is None or chosen["kind"] == wanted:
        return ""
    return "Choose a Slack channel" if wanted == "slack" else "Choose a webhook"


def build(spec: dict[str, Any]) -> tuple[NewAutomation | None, dict[str, str]]:
    """The automation the form describes, or the errors keyed by form field."""
    spec = {**DEFAULT_SPEC, **spec}
    errors: dict[str, str] = {}
    name = str(spec.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the automation a name"
    elif len(name) > 255:
        errors["name"] = "At most 255 characters"
    event = _event(spec, errors)
    action = _action(spec, errors)
    if errors or event is None or action is None:
        return None, errors
    new = _attempt(
        errors,
        {"name": "name", "description": "description"},
        "name",
        lambda: NewAutomation(
            name=name,
            description=spec.get("description") or None,
            enabled=bool(spec.get("enabled", True)),
            event=event,
            action=action,
        ),
    )
    return new, errors


# ------------------------------------------------------------------------- code -> form


def _run_filter_spec(run_filter: Any) -> dict[str, Any]:
    if not isinstance(run_filter, And) or not run_filter.exprs:
        return {"run_filter_mode": "any", "run_filter_value": "", "run_filter_json": ""}
    only = run_filter.exprs[0] if len(run_filter.exprs) == 1 else None
    if isinstance(only, FilterExpr) and only.field == "display_name":
        if isinstance(only.op, Contains):
            return {"run_filter_mode": "contains", "run_filter_value": only.op.val}
        if isinstance(only.op, Regex):
            return {"run_filter_mode": "regex", "run_filter_value": only.op.val}
    return {
        "run_filter_mode": "custom",
        "run_filter_value": "",
        "run_filter_json": json.dumps(run_filter.model_dump()),
    }


def why_not_editable(obj: NewAutomation | Automation) -> str | None:
    """Why the form cannot show ``obj`` (None when it can): parts this package does not
    model, or an action the form has no fields for."""
    if isinstance(obj, Automation) and not obj.editable:
        parts = ", ".join(p.describe() for p in obj.read_only_parts)
        return f"it uses {parts}; edit it in the W&B App"
    if isinstance(obj.action, (SendPromptToAria, SavedAriaAction)):
        return "its action is an ARIA prompt, which the form does not edit; edit it in code"
    return None


def from_automation(obj: NewAutomation | Automation) -> dict[str, Any]:
    """A spec that fills the form with ``obj`` (check :func:`why_not_editable` first)."""
    spec = dict(DEFAULT_SPEC)
    if isinstance(obj, Automation):
        event, action = obj.to_input_event(), to_input_action(obj.action)
        spec.update(name=obj.name, description=obj.description or "", enabled=obj.enabled)
    else:
        event, action = obj.event, obj.action
        spec.update(
            name=obj.name or "",
            description=obj.description or "",
            enabled=True if obj.enabled is None else obj.enabled,
        )
    if event is not None:
        scope = event.scope
        spec.update(
            event_type=event.event_type.value,
            scope_id=scope.id,
            scope_name=scope.name,
            scope_typename=getattr(scope, "typename__", "Project"),
        )
        flt = event.filter
        if isinstance(flt, RunMetricFilter):
            spec.update(_run_filter_spec(flt.run))
            cond = flt.condition
            spec["metric"] = cond.name
            if isinstance(cond, MetricThresholdFilter):
                spec.update(
                    agg=cond.agg.value if cond.agg else "",
                    window=cond.window,
                    cmp=cond.cmp,
                    threshold=cond.threshold,
                )
            elif isinstance(cond, MetricChangeFilter):
                spec.update(
                    change_agg=cond.agg.value if cond.agg else "",
                    change_window=cond.window,
                    prior_window=cond.prior_window,
                    change_type=cond.change_type.value,
                    change_dir=cond.change_dir.value,
                    change_amount=cond.threshold,
                )
            elif isinstance(cond, MetricZScoreFilter):
                spec.update(
                    zscore_window=cond.window,
                    zscore_threshold=cond.threshold,
                    zscore_dir=cond.change_dir.value,
                )
            elif isinstance(cond, MetricPlateauFilter):
                spec.update(
                    plateau_agg=cond.agg.value if cond.agg else "",
                    plateau_window=cond.window if cond.agg else DEFAULT_SPEC["plateau_window"],
                    plateau_mode=cond.mode,
                    patience=cond.patience,
                    plateau_threshold=cond.threshold,
                    plateau_threshold_mode=cond.threshold_mode,
                    plateau_cooldown=cond.cooldown,
                    plateau_warmup=cond.warmup,
                )
        elif isinstance(flt, ScheduleFilter):
            spec.update(cron=flt.schedule.cron, timezone=flt.schedule.timezone)
        elif isinstance(flt, RunStalledFilter):
            spec.update(_run_filter_spec(flt.run))
            spec["stalled_minutes"] = _minutes(flt.stalled.after_seconds)
            spec["stalled_resolved"] = flt.stalled.notify_resolved
        elif isinstance(flt, RunStateFilter):
            spec.update(_run_filter_spec(flt.run))
            spec["states"] = [s.value for s in flt.state.states]
        else:
            spec.update(_artifact_filter_spec(flt))
    if action is not None:
        spec["action_type"] = action.action_type.value
        if isinstance(action, SendNotification):
            spec.update(
                integration_id=action.integration_id,
                title=action.title,
                message=action.message,
                severity=action.severity.value,
            )
        elif isinstance(action, SendWebhook):
            spec.update(
                integration_id=action.integration_id,
                payload=json.dumps(action.request_payload or {}, indent=2),
            )
        elif isinstance(action, SendDigest):
            spec.update(
                integration_id=action.integration_id,
                digest_metrics=", ".join(action.metrics),
                digest_skip_if_empty=action.skip_if_empty,
            )
    return spec


def _minutes(seconds: int) -> float | int:
    minutes = seconds / 60
    return int(minutes) if minutes == int(minutes) else minutes


def _artifact_filter_spec(flt: Any) -> dict[str, Any]:
    inner = flt
    if isinstance(inner, Or) and len(inner.exprs) == 1:
        inner = inner.exprs[0]
    if isinstance(inner, And) and len(inner.exprs) == 1:
        inner = inner.exprs[0]
    if (
        isinstance(inner, FilterExpr)
        and inner.field in ("alias", "tag")
        and isinstance(inner.op, Regex)
    ):
        return {"artifact_filter_field": inner.field, "artifact_filter_regex": inner.op.val}
    return {"artifact_filter_field": "none", "artifact_filter_regex": ""}


def where_it_runs(built: NewAutomation | None, extensions: bool) -> str:
    """Where the automation in the form will run, for the builder to say before saving:
    ``extensions`` is whether the connected server runs the extension rules (ours does,
    W&B does not)."""
    if built is None:
        return ""
    if extensions:
        return "Runs on the embedded server's engine, where it is saved."
    parts = extension_parts(built)
    if not parts:
        return "Saved to W&B, which runs it."
    return (
        f"W&B cannot run {' and '.join(parts)}: this package's engine runs it. Save it to the "
        "embedded server of a watcher that follows this W&B project: `builder.watch()`, or "
        "`wandb-auto-widget watch ENTITY/PROJECT` (docs/watch.md)."
    )


def explanation(built: NewAutomation | None) -> str:
    """One sentence for rules whose numbers are hard to read (a plateau's), or a schedule's
    next firing times; else ""."""
    event = built.event if built is not None else None
    if isinstance(event, OnSchedule):
        times = event.next_times(5)
        shown = ", ".join(t.strftime("%a %d %b %H:%M") for t in times)
        return f"Next: {shown} ({event.timezone})"
    flt = getattr(event, "filter", None)
    if isinstance(flt, RunMetricFilter) and isinstance(flt.condition, MetricPlateauFilter):
        return flt.condition.describe()
    return ""
