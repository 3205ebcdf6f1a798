"""Run-state transitions and run-filter matching."""

from __future__ import annotations

import pytest

from wandb_auto_widget.automations import OnRunState, ProjectScope, RunEvent
from wandb_auto_widget.preview import matches_run_filter, state_change_fires

SCOPE = ProjectScope(id="P", name="p")


def failed_filter():  # type: ignore[no-untyped-def]
    return OnRunState(scope=SCOPE, filter=RunEvent.state.eq("failed")).filter


@pytest.mark.parametrize(
    ("previous", "current", "fires"),
    [
        ("running", "failed", True),
        ("running", "crashed", True),  # CRASHED counts as FAILED
        ("failed", "crashed", False),  # no change
        ("running", "killed", False),  # Killed never fires
        ("running", "finished", False),
        (None, "failed", True),
        ("pending", "running", False),
    ],
)
def test_state_changes(previous: str | None, current: str, fires: bool) -> None:
    assert state_change_fires(failed_filter(), previous, current) is fires


def test_run_filters() -> None:
    run = {"display_name": "bert-base-3", "state": "running"}
    flt = OnRunState(
        scope=SCOPE,
        filter=(RunEvent.name.contains("bert") | RunEvent.name.matches_regex("^gpt"))
        & RunEvent.state.eq("failed"),
    ).filter
    assert matches_run_filter(flt.run, run)
    assert not matches_run_filter(RunEvent.name.matches_regex("^base"), run)
    assert matches_run_filter(RunEvent.name.in_(["x", "bert-base-3"]), run)
    assert matches_run_filter(RunEvent.name.ne("x"), run)
    assert not matches_run_filter(RunEvent.name.exists(), {})
    assert matches_run_filter(RunEvent.name.exists(False), {})
    assert not matches_run_filter(~RunEvent.name.contains("bert"), run)
