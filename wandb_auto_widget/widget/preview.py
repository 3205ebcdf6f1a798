"""Running a preview: which runs, fetching their history, evaluating, packaging."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..api import Api, ApiError, ArtifactCollection, Run, UnsupportedError
from ..automations import (
    NewAutomation,
    OnRunMetric,
    OnRunStalled,
    OnRunState,
    OnSchedule,
    SendDigest,
    SlackIntegration,
)
from ..preview import (
    artifact_event_fields,
    matches_run_filter,
    run_filter_fields,
    triggering_state,
)
from ..preview.digest import DigestFiring, DigestRun, compose_digest, is_empty, slack_blocks
from ..preview.policy import PolicyLike
from .backtest import Backtest
from .metric_preview import PreviewCancelled, Update, metric_preview


class PreviewError(Exception):
    """A preview that cannot be shown, with a message for the user."""


@dataclass
class PreviewResult:
    """A finished preview: its result per run (metric rules) and what the widget shows."""

    backtest: Backtest | None
    view: dict[str, Any]
    buffer: bytes = b""
    timings: dict[str, float] = field(default_factory=dict)


def _run_fields(run: Run) -> dict[str, Any]:
    """The run's filter fields, by the same mapping the engine uses."""
    return run_filter_fields(
        name=run.name,
        display_name=run.display_name,
        state=run.state,
        tags=run.tags,
        config=run.config,
        summary=run.summary,
        group=run.group,
        job_type=run.job_type,
        created_at=run.created_at,
        username=run.username,
    )


def _since(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def select_runs(
    api: Api,
    automation: NewAutomation,
    *,
    entity: str,
    runs: list[str] | None,
    max_runs: int,
    since: datetime | str | None,
) -> Iterator[Run]:
    """The runs a preview covers: in the scope's project of ``entity``, matching the run
    filter (by the engine's rules), most recent first; listed a page at a time, as they are
    taken."""
    event = automation.event
    assert event is not None
    path = f"{entity}/{event.scope.name}"
    run_filter = event.filter.run  # type: ignore[union-attr]
    cutoff = _since(since)
    if max_runs <= 0:
        return
    chosen = 0
    for run in api.iter_runs(path, order="-created_at"):
        if runs is not None and run.name not in runs and run.display_name not in runs:
            continue
        if cutoff and (run.created_at or "") < cutoff:
            continue
        if matches_run_filter(run_filter, _run_fields(run)):
            yield run
            chosen += 1
            if chosen >= max_runs:
                return


def run_preview(
    api: Api,
    automation: NewAutomation,
    *,
    entity: str,
    runs: list[str] | None = None,
    max_runs: int = 100,
    since: datetime | str | None = None,
    policy: PolicyLike = "wandb",
    width: int = 800,
    on_update: Update | None = None,
    cancel: threading.Event | None = None,
) -> PreviewResult:
    """Backtest ``automation`` on the history its runs have logged, in ``entity``.

    Metric rules are evaluated a batch of runs at a time: ``on_update(view, buffer)`` is
    called as each batch lands (``buffer`` is None when the chart's data did not change),
    and setting ``cancel`` stops at once, keeping what was evaluated."""
    event = automation.event
    if isinstance(event, OnRunState):
        return _state_preview(
            api, automation, entity=entity, runs=runs, max_runs=max_runs, since=since
        )
    if isinstance(event, OnRunStalled):
        return _stalled_preview(
            api, automation, entity=entity, runs=runs, max_runs=max_runs, since=since
        )
    if isinstance(event, OnSchedule):
        return _digest_preview(api, automation, entity=entity, max_runs=max_runs)
    if not isinstance(event, OnRunMetric):
        return _artifact_preview(api, automation, entity=entity)
    selected = select_runs(
        api, automation, entity=entity, runs=runs, max_runs=max_runs, since=since
    )
    try:
        backtest, view, buffer = metric_preview(
            api,
            automation,
            selected,
            policy=policy,
            width=width,
            on_update=on_update,
            cancel=cancel,
        )
    except PreviewCancelled:
        raise PreviewError("Preview cancelled.") from None
    except ApiError as exc:
        raise PreviewError(f"Could not load the runs or their history: {exc}") from exc
    if not backtest:
        metric = event.filter.condition.name
        if view["skipped_runs"]:
            raise PreviewError(
                f"The metric {metric!r} was never logged by the {view['skipped_runs']} runs "
                "in scope."
            )
        raise PreviewError(f"No runs in {event.scope.name} match this automation's run filter.")
    return PreviewResult(backtest, view, buffer, view["timings"])


def _state_preview(
    api: Api,
    automation: NewAutomation,
    *,
    entity: str,
    runs: list[str] | None,
    max_runs: int,
    since: datetime | str | None,
) -> PreviewResult:
    """Run-state events: which runs in scope reached one of the states (the server keeps
    each run's current state, not every transition)."""
    event = automation.event
    assert isinstance(event, OnRunState)
    wanted = {s.value for s in event.filter.state.states}
    chosen = list(
        select_runs(api, automation, entity=entity, runs=runs, max_runs=max_runs, since=since)
    )
    matched = [
        {
            "run": r.path,
            "run_name": r.display_name or r.name,
            "state": r.state or "",
            "time": r.created_at or "",
        }
        for r in chosen
        if triggering_state(r.state or "") in wanted
    ]
    summary = (
        f"would have fired for {len(matched)} of {len(chosen)} runs (by their current state)"
        if chosen
        else "No runs in scope match this automation's run filter."
    )
    return PreviewResult(
        None,
        {
            "state": "done",
            "kind": "state",
            "summary": summary,
            "matches": matched,
            "runs_total": len(chosen),
            "fire_count": len(matched),
        },
    )


def _stalled_preview(
    api: Api,
    automation: NewAutomation,
    *,
    entity: str,
    runs: list[str] | None,
    max_runs: int,
    since: datetime | str | None,
) -> PreviewResult:
    """Stalled runs: the silences longer than ``after`` between the history rows runs have
    logged (by their ``_timestamp``, the training machine's clock: the engine measures on
    the server's), and the runs running now whose last row is older than that."""
    event = automation.event
    assert isinstance(event, OnRunStalled)
    after = event.filter.stalled.after_seconds
    try:
        chosen = list(
            select_runs(api, automation, entity=entity, runs=runs, max_runs=max_runs, since=since)
        )
        columns = api.histories(chosen, ["_timestamp"]) if chosen else {}
    except ApiError as exc:
        raise PreviewError(f"Could not load the runs' history: {exc}") from exc
    now = time.time()
    matched: list[dict[str, Any]] = []
    for run in chosen:
        found = columns.get(run.path) or {}
        stamps = np.asarray(found.get("_timestamp", []), dtype=np.float64)
        steps = np.asarray(found.get("_step", []), dtype=np.int64)
        ok = np.isfinite(stamps)
        stamps, steps = stamps[ok], steps[ok]
        name = run.display_name or run.name
        for i in np.flatnonzero(np.diff(stamps) > after).tolist():
            silent = float(stamps[i + 1] - stamps[i])
            matched.append(
                {
                    "run": run.path,
                    "run_name": name,
                    "state": f"silent {_duration(silent)} after step {int(steps[i]):,}",
                    "time": _clock(float(stamps[i])),
                }
            )
        if run.state == "running" and stamps.size and now - stamps[-1] > after:
            matched.append(
                {
                    "run": run.path,
                    "run_name": name,
                    "state": f"stalled now: nothing for {_duration(now - stamps[-1])} since "
                    f"step {int(steps[-1]):,}",
                    "time": _clock(float(stamps[-1])),
                }
            )
    affected = len({m["run"] for m in matched})
    summary = (
        f"would have fired {len(matched)} time{'s' if len(matched) != 1 else ''} in {affected} "
        f"of {len(chosen)} runs (silences longer than {_duration(after)})"
        if chosen
        else "No runs in scope match this automation's run filter."
    )
    return PreviewResult(
        None,
        {
            "state": "done",
            "kind": "stalled",
            "summary": summary,
            "matches": matched[-500:],
            "runs_total": len(chosen),
            "fire_count": len(matched),
        },
    )


def _digest_preview(
    api: Api, automation: NewAutomation, *, entity: str, max_runs: int
) -> PreviewResult:
    """What the last period's digest would have said, composed as the engine composes it,
    from what the server recorded; and the next firing times."""
    event, action = automation.event, automation.action
    assert isinstance(event, OnSchedule)
    if not isinstance(action, SendDigest):
        raise PreviewError("A schedule sends a digest: choose 'Send a digest' as the action.")
    end, start = (t.timestamp() for t in event.previous_times(2))
    digest, slack = _compose(api, automation, event, action, entity, max_runs, start, end)
    if is_empty(digest):
        # A quiet last period says little: show what the next digest would say if sent now.
        start, end = end, math.floor(time.time()) + 1  # up to the current whole second
        digest, slack = _compose(api, automation, event, action, entity, max_runs, start, end)
        period = f"the period so far ({_clock(start)} to now, UTC)"
    else:
        period = f"the last period ({_clock(start)} to {_clock(end)} UTC)"
    skipped = is_empty(digest) and action.skip_if_empty
    summary = (
        f"Nothing happened in {period}: with 'skip empty periods' no digest is sent."
        if skipped
        else f"The digest of {period}, as it would be sent."
    )
    text = _digest_text(slack_blocks(digest)) if slack else json.dumps(digest, indent=2)
    return PreviewResult(
        None,
        {
            "state": "done",
            "kind": "digest",
            "summary": summary,
            "digest_text": text,
            "next_times": [t.isoformat() for t in event.next_times(5)],
            "fire_count": 0 if skipped else 1,
        },
    )


def _compose(
    api: Api,
    automation: NewAutomation,
    event: OnSchedule,
    action: SendDigest,
    entity: str,
    max_runs: int,
    start: float,
    end: float,
) -> tuple[dict[str, Any], bool]:
    """The digest of ``[start, end)`` from what the server recorded, and whether it goes to
    Slack (else it is a webhook's JSON)."""
    try:
        listed = api.runs(f"{entity}/{event.scope.name}", order="-created_at")
        # The engine's rule (store.runs.alive_in): created before the end, and running or
        # last heard of after the start.
        alive = [
            r
            for r in listed[: max(max_runs, 1) * 10]
            if _epoch(r.created_at) < end
            and (r.state == "running" or _epoch(r.heartbeat_at) >= start)
        ]
        by_metric = {m: api.histories(alive, [m]) for m in action.metrics} if alive else {}
        firings = _firings(api, entity, start, end)
        slack = any(
            isinstance(i, SlackIntegration) and i.id == action.integration_id
            for i in api.integrations(entity)
        )
    except ApiError as exc:
        raise PreviewError(f"Could not load what the digest reads: {exc}") from exc
    digest = compose_digest(
        automation=automation.name or "digest",
        scope=event.scope.name,
        start=start,
        end=end,
        runs=[_digest_run(api, run, by_metric) for run in alive],
        firings=firings,
        metrics=action.metrics,
        include=action.include,
    )
    return digest, slack


def _epoch(text: str | None) -> float:
    if not text:
        return 0.0
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _digest_run(api: Api, run: Run, by_metric: dict[str, Any]) -> DigestRun:
    series = {}
    for metric, columns in by_metric.items():
        found = columns.get(run.path)
        if found is not None and metric in found:
            series[metric] = (
                np.asarray(found["_timestamp"], dtype=np.float64),
                np.asarray(found[metric], dtype=np.float64),
            )
    ended = run.state in ("finished", "failed", "crashed")
    return DigestRun(
        name=run.display_name or run.name,
        url=f"{api.base_url.rstrip('/')}/{run.entity}/{run.project}/runs/{run.name}",
        state=run.state or "",
        created_at=_epoch(run.created_at),
        ended_at=_epoch(run.heartbeat_at) if ended else None,
        series=series,
    )


def _firings(api: Api, entity: str, start: float, end: float) -> list[DigestFiring]:
    try:
        recorded = api.automation_history(entity, limit=1000)
    except UnsupportedError:
        return []  # W&B keeps executions in its App: the digest says nothing about them
    return [
        DigestFiring(
            automation=e.automation_name,
            event_type=e.event_type,
            time=_epoch(e.created_at),
            failed=e.status == "FAILED",
            run_name=e.event.get("run_name"),
            stalled=e.event_type == "RUN_STALLED" and e.event.get("state") == "stalled",
        )
        for e in recorded
        if not e.is_test
    ]


def _digest_text(message: dict[str, Any]) -> str:
    """A Slack message's text, block by block, as Slack shows it (near enough)."""
    out = []
    for block in message.get("blocks", []):
        text = block.get("text", {}).get("text")
        if text:
            out.append(text)
        out += [element.get("text", "") for element in block.get("elements", [])]
    return "\n".join(out)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes / 60:.1f} h" if minutes >= 120 else f"{minutes:.0f} min"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


EVENT_LABELS = {
    "CREATE_ARTIFACT": "version created",
    "LINK_MODEL": "version linked",
    "UNLINK_ARTIFACT": "version unlinked",
    "ADD_ARTIFACT_ALIAS": "alias added",
    "ADD_ARTIFACT_TAG": "tag added",
    "REMOVE_ARTIFACT_TAG": "tag removed",
    "ADD_COLLECTION_TAG": "collection tag added",
    "REMOVE_COLLECTION_TAG": "collection tag removed",
}


def _artifact_preview(api: Api, automation: NewAutomation, *, entity: str) -> PreviewResult:
    """Artifact events: which of the events recorded in scope the filter would have fired on
    (the engine's matching, on what the embedded server recorded)."""
    event = automation.event
    assert event is not None
    scope = event.scope
    typename = getattr(scope, "typename__", "Project")
    try:
        if typename == "Project":
            recorded = api.artifact_events(f"{entity}/{scope.name}")
        elif typename in ("ArtifactSequence", "ArtifactPortfolio"):
            recorded = api.artifact_events(ArtifactCollection(scope.id, scope.name, typename))
        else:
            raise PreviewError("Backtests cover project and collection scopes, not a whole entity.")
    except UnsupportedError:
        raise PreviewError(
            "Artifact events can be backtested on the embedded server, which records them; "
            f"{api.base_url} does not offer their history (ARTIFACT_EVENT_HISTORY)."
        ) from None
    except ApiError as exc:
        raise PreviewError(f"Could not load artifact events: {exc}") from exc
    wanted = event.event_type.value
    label = EVENT_LABELS.get(wanted, wanted)
    rows: list[dict[str, Any]] = []
    for record in recorded:
        if record.event_type != wanted:
            continue
        fields = artifact_event_fields(record.alias, record.tag, record.aliases)
        rows.append(
            {
                "time": record.created_at.replace("T", " ").removesuffix("Z"),
                "collection": record.collection,
                "version": record.version or "",
                "alias": record.alias or "",
                "tag": record.tag or "",
                "aliases": record.aliases,
                "fires": bool(matches_run_filter(event.filter, fields)),
            }
        )
    fired = sum(1 for r in rows if r["fires"])
    where = f"{scope.name}"
    summary = (
        f"would have fired {fired} time{'s' if fired != 1 else ''} on the {len(rows)} "
        f"'{label}' event{'s' if len(rows) != 1 else ''} recorded in {where}"
        if rows
        else f"No '{label}' events are recorded in {where} yet."
    )
    return PreviewResult(
        None,
        {
            "state": "done",
            "kind": "artifact",
            "summary": summary,
            "event_label": label,
            "events": rows[-500:],
            "fire_count": fired,
            "event_count": len(rows),
        },
    )
