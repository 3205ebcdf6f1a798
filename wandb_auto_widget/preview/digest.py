"""Digests (an extension): what a scheduled ``SendDigest`` says about a period, composed from
plain records, so that the engine (reading its database) and the builder's preview (reading
through ``Api``) produce the same message from the same data.

The JSON shape is documented in docs/automations.md; ``slack_blocks`` renders it as a Slack
Block Kit message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
DIGEST_PARTS = ("runs", "metrics", "automations")
"""What a digest can include: run events (started, finished, failed, crashed, stalled), the
chosen metrics of the runs active in the period, and what automations did."""
_LOWER_IS_BETTER = re.compile(r"loss|err|perplex|ppl|wer|cer|mse|mae|rmse|nll", re.IGNORECASE)
_ENDED = {"finished": "finished", "failed": "failed", "crashed": "crashed"}


@dataclass(frozen=True)
class DigestRun:
    """One run of the scope, as a digest needs it (times in epoch seconds)."""

    name: str
    url: str
    state: str
    created_at: float
    ended_at: float | None = None  # when it finished, failed or crashed
    series: Mapping[str, tuple[F64, F64]] = field(default_factory=dict)
    """Per chosen metric: (``_timestamp``, value) of the rows that logged it."""


@dataclass(frozen=True)
class DigestFiring:
    """One execution recorded by the engine in the scope's entity."""

    automation: str
    event_type: str
    time: float
    failed: bool
    run_name: str | None = None
    stalled: bool = False  # a stalled-run report (not its resolution)


def lower_is_better(metric: str) -> bool:
    """Which way "best" goes: lower for losses and errors (by name), higher otherwise."""
    return bool(_LOWER_IS_BETTER.search(metric))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None) -> float | str | None:
    if value is None:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _metric_summary(metric: str, stamps: F64, values: F64, start: float, end: float) -> Any:
    """Last and best value up to ``end``, and the change since the last value before
    ``start`` (None when there was none): None if nothing was logged by ``end``."""
    upto = stamps < end
    if not upto.any():
        return None
    seen, times = values[upto], stamps[upto]
    finite = seen[np.isfinite(seen)]
    best = None
    if finite.size:
        best = float(finite.min() if lower_is_better(metric) else finite.max())
    last = float(seen[-1])
    before = seen[times < start]
    change = None if before.size == 0 else last - float(before[-1])
    return {"last": _number(last), "best": _number(best), "change": _number(change)}


def compose_digest(
    *,
    automation: str,
    scope: str,
    start: float,
    end: float,
    runs: Sequence[DigestRun],
    firings: Sequence[DigestFiring],
    metrics: Sequence[str],
    include: Sequence[str] = DIGEST_PARTS,
) -> dict[str, Any]:
    """The digest of ``[start, end)``: run events, the chosen metrics of the runs active in
    the period, and what automations did (digests themselves excluded)."""
    runs = sorted(runs, key=lambda r: (r.created_at, r.name))  # oldest first, whoever lists
    within = [f for f in firings if start <= f.time < end and f.event_type != "SCHEDULE"]
    digest: dict[str, Any] = {
        "type": "digest",
        "automation": automation,
        "scope": scope,
        "period": {"start": _iso(start), "end": _iso(end)},
    }
    if "runs" in include:
        started = [r for r in runs if start <= r.created_at < end]
        ended = [r for r in runs if r.ended_at is not None and start <= r.ended_at < end]
        stalled = {f.run_name for f in within if f.stalled and f.run_name}
        digest["runs"] = {
            "started": [{"name": r.name, "url": r.url} for r in started],
            **{
                label: [{"name": r.name, "url": r.url} for r in ended if r.state == state]
                for state, label in _ENDED.items()
            },
            "stalled": [{"name": r.name, "url": r.url} for r in runs if r.name in stalled],
        }
    if "metrics" in include and metrics:
        rows = []
        for run in runs:
            active = start <= run.created_at < end or any(
                bool(((stamps >= start) & (stamps < end)).any())
                for stamps, _ in run.series.values()
            )
            if not active:
                continue
            values = {}
            for metric in metrics:
                if metric in run.series:
                    stamps, logged = run.series[metric]
                    summary = _metric_summary(metric, stamps, logged, start, end)
                    if summary is not None:
                        values[metric] = summary
            if values:
                rows.append({"run": run.name, "url": run.url, "state": run.state, "values": values})
        digest["metrics"] = rows
    if "automations" in include:
        by_name: dict[str, dict[str, int]] = {}
        for firing in within:
            counts = by_name.setdefault(firing.automation, {"fired": 0, "failed_deliveries": 0})
            counts["fired"] += 1
            counts["failed_deliveries"] += int(firing.failed)
        digest["automations"] = [{"name": n, **c} for n, c in sorted(by_name.items())]
    return digest


def is_empty(digest: Mapping[str, Any]) -> bool:
    """Nothing happened: no run events, no active runs, no firings."""
    runs = digest.get("runs") or {}
    return not any(runs.values()) and not digest.get("metrics") and not digest.get("automations")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.4g}"


def _change(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return f" ({value})"
    return f" ({value:+.3g})"


def slack_blocks(digest: Mapping[str, Any]) -> dict[str, Any]:
    """The digest as a Slack Block Kit message."""
    period = digest["period"]
    title = f"{digest['automation']}: {digest['scope']}"
    when = f"{period['start'].replace('T', ' ')[:16]} to {period['end'].replace('T', ' ')[:16]} UTC"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": when}]},
    ]
    lines: list[str] = []
    if "runs" in digest:
        for label, found in digest["runs"].items():
            if found:
                names = ", ".join(f"<{r['url']}|{r['name']}>" for r in found[:20])
                more = f" and {len(found) - 20} more" if len(found) > 20 else ""
                lines.append(f"*{len(found)} {label}*: {names}{more}")
        if not lines:
            lines.append("No runs started or ended.")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    for row in (digest.get("metrics") or [])[:20]:
        parts = [
            f"{metric} {_fmt(v['last'])}{_change(v['change'])}, best {_fmt(v['best'])}"
            for metric, v in row["values"].items()
        ]
        text = f"<{row['url']}|{row['run']}> ({row['state']}): " + "; ".join(parts)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    if "automations" in digest:
        fired = digest["automations"]
        text = (
            "\n".join(
                f"*{a['name']}* fired {a['fired']} time{'s' if a['fired'] != 1 else ''}"
                + (
                    f", {a['failed_deliveries']} failed to deliver"
                    if a["failed_deliveries"]
                    else ""
                )
                for a in fired
            )
            or "No automation fired."
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    summary = ", ".join(f"{len(v)} {k}" for k, v in (digest.get("runs") or {}).items() if v)
    return {"text": f"{title}: {summary or 'digest'}", "blocks": blocks[:50]}
