"""Scheduled digests on a clock the test controls: daylight saving, downtime catch-up,
skip-if-empty, edits and disabling, what a digest says, and its delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wandb_auto_widget import LocalServer
from wandb_auto_widget.automations import OnSchedule, SendDigest
from wandb_auto_widget.demo.receiver import Faults, Receiver
from wandb_auto_widget.server.engine import RetryPolicy

BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN).timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, *args: int) -> None:
        self.now = datetime(*args, tzinfo=BERLIN).timestamp()  # type: ignore[misc]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def local(tmp_path: Path, clock: Clock) -> Iterator[LocalServer]:
    fast = RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, max_attempts=5, timeout_s=2)
    with LocalServer(db=tmp_path / "s.db", tick_seconds=3600, clock=clock, retry=fast) as s:
        yield s


def _digests(local: LocalServer, automation: Any) -> list[str]:
    """When each digest was recorded (local Berlin time), oldest first."""
    return [
        datetime.fromisoformat(e.created_at.replace("Z", "+00:00"))
        .astimezone(BERLIN)
        .strftime("%m-%d %H:%M")
        for e in reversed(local.api.automation_history(automation))
    ]


def _daily(local: LocalServer, cron: str, **digest: Any) -> Any:
    api = local.api
    project = api.create_project("nightly")
    hook = api.create_webhook_integration("reports", "http://127.0.0.1:9/hook")
    return api.create_automation(
        OnSchedule(scope=project, cron=cron, timezone="Europe/Berlin")
        >> SendDigest.from_integration(hook, **{"skip_if_empty": False, **digest}),
        name="digest",
    )


def _tick_at(local: LocalServer, clock: Clock, *when: int) -> int:
    clock.set(*when)
    assert local.engine is not None
    return local.engine.tick()


def test_spring_forward_neither_skips_nor_doubles(local: LocalServer, clock: Clock) -> None:
    automation = _daily(local, "30 2 * * *")  # 02:30 does not exist on 2026-03-29
    assert _tick_at(local, clock, 2026, 3, 27, 12, 0) == 0  # scheduled
    assert _tick_at(local, clock, 2026, 3, 28, 2, 30, 5) == 1
    assert _tick_at(local, clock, 2026, 3, 29, 1, 59) == 0
    assert _tick_at(local, clock, 2026, 3, 29, 3, 0, 5) == 1  # the skipped time, at once after
    assert _tick_at(local, clock, 2026, 3, 29, 23, 0) == 0
    assert _tick_at(local, clock, 2026, 3, 30, 2, 30, 5) == 1
    assert _digests(local, automation) == ["03-28 02:30", "03-29 03:00", "03-30 02:30"]


def test_fall_back_fires_the_repeated_hour_once(local: LocalServer, clock: Clock) -> None:
    clock.set(2026, 10, 24, 12, 0)
    automation = _daily(local, "30 2 * * *")  # 02:30 happens twice on 2026-10-25
    assert local.engine is not None and local.engine.tick() == 0
    first = datetime(2026, 10, 25, 2, 30, 5, tzinfo=BERLIN).timestamp()  # the first 02:30
    clock.now = first
    assert local.engine.tick() == 1
    clock.now = first + 3600  # 02:30 again, an hour later (winter time)
    assert local.engine.tick() == 0
    assert _tick_at(local, clock, 2026, 10, 26, 2, 30, 5) == 1
    assert len(_digests(local, automation)) == 2


def test_downtime_sends_one_digest_for_the_whole_gap(local: LocalServer, clock: Clock) -> None:
    automation = _daily(local, "0 9 * * *")
    assert _tick_at(local, clock, 2026, 3, 27, 12, 0) == 0
    assert _tick_at(local, clock, 2026, 3, 28, 9, 0, 1) == 1
    # Down for three days: three 09:00s missed, one digest on the way back up.
    assert _tick_at(local, clock, 2026, 3, 31, 15, 0) == 1
    assert _tick_at(local, clock, 2026, 3, 31, 15, 1) == 0
    assert _tick_at(local, clock, 2026, 4, 1, 9, 0, 1) == 1
    periods = [e.event["digest"] for e in reversed(local.api.automation_history(automation))]
    assert periods[1] == {"start": "2026-03-28T08:00:01Z", "end": "2026-03-31T13:00:00Z"}
    assert periods[2]["start"] == periods[1]["end"]  # consecutive: nothing falls between


def test_skip_if_empty(local: LocalServer, clock: Clock) -> None:
    automation = _daily(local, "0 9 * * *", skip_if_empty=True)
    assert _tick_at(local, clock, 2026, 3, 27, 12, 0) == 0
    assert _tick_at(local, clock, 2026, 3, 28, 9, 0, 1) == 0  # nothing happened
    assert local.api.automation_history(automation) == []


def test_edit_and_disable_take_effect_at_once(local: LocalServer, clock: Clock) -> None:
    api = local.api
    automation = _daily(local, "0 9 * * *")
    assert _tick_at(local, clock, 2026, 3, 27, 12, 0) == 0
    edited = api.update_automation(
        automation, event=OnSchedule(scope=api.project("nightly"), cron="0 13 * * *")
    )
    assert _tick_at(local, clock, 2026, 3, 27, 12, 30) == 0  # rescheduled for 13:00 UTC
    assert _tick_at(local, clock, 2026, 3, 27, 14, 0, 1) == 1  # 13:00 UTC is 14:00 in Berlin
    edited.enabled = False
    edited = api.update_automation(edited)
    assert _tick_at(local, clock, 2026, 3, 28, 14, 0, 1) == 0  # disabled: nothing
    edited.enabled = True
    api.update_automation(edited)
    assert _tick_at(local, clock, 2026, 3, 30, 12, 0) == 0  # afresh: no catch-up for time off
    assert _tick_at(local, clock, 2026, 3, 30, 15, 0) == 1


def test_the_digest_says_what_happened_signed_and_retried(local: LocalServer, clock: Clock) -> None:
    """The webhook body equals a digest computed here from what the runs logged."""
    api = local.api
    clock.now = datetime.now(BERLIN).timestamp()  # runs get the server's wall-clock times
    project = api.create_project("nightly")
    with Receiver(Faults(fixed_status=503)) as receiver:
        hook = api.create_webhook_integration("reports", receiver.url, secret="digest-secret")
        api.create_automation(
            OnSchedule(scope=project, cron="0 9 * * *", timezone="Europe/Berlin")
            >> SendDigest.from_integration(hook, metrics=["val/loss", "accuracy"]),
            name="nightly-digest",
        )
        assert local.engine is not None and local.engine.tick() == 0
        done = api.init_run("local/nightly", run_id="a", name="bert-a")
        done.log([{"val/loss": v, "accuracy": a} for v, a in [(2.0, 0.5), (1.5, 0.6), (1.7, 0.7)]])
        done.finish()
        failed = api.init_run("local/nightly", run_id="b", name="bert-b")
        failed.log({"val/loss": 3.0})
        failed.finish(exit_code=1)
        clock.now += 2 * 86400
        assert local.engine.tick() == 1
        first = receiver.wait_for(2, successful=False)  # 503, then retried
        receiver.faults.fixed_status = None
        delivered = receiver.wait_for(1)[0]
    assert "webhook-signature" in delivered.headers and len(first) >= 2
    assert len({d.headers["webhook-id"] for d in receiver.deliveries}) == 1  # one message
    body = delivered.json
    url = f"{local.base_url}/local/nightly/runs"
    assert body["type"] == "digest" and body["automation"] == "nightly-digest"
    assert body["runs"] == {
        "started": [{"name": "bert-a", "url": f"{url}/a"}, {"name": "bert-b", "url": f"{url}/b"}],
        "finished": [{"name": "bert-a", "url": f"{url}/a"}],
        "failed": [{"name": "bert-b", "url": f"{url}/b"}],
        "crashed": [],
        "stalled": [],
    }
    # Last, best (lowest loss, highest accuracy) and change (none: no value before).
    assert body["metrics"] == [
        {
            "run": "bert-a",
            "url": f"{url}/a",
            "state": "finished",
            "values": {
                "val/loss": {"last": 1.7, "best": 1.5, "change": None},
                "accuracy": {"last": 0.7, "best": 0.7, "change": None},
            },
        },
        {
            "run": "bert-b",
            "url": f"{url}/b",
            "state": "failed",
            "values": {"val/loss": {"last": 3.0, "best": 3.0, "change": None}},
        },
    ]
    assert body["automations"] == []
    assert json.loads(json.dumps(body)) == body
