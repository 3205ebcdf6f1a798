"""The extension rules in the domain: their wire JSON, parsing back, code, and validation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from wandb_auto_widget.automations import (
    Automation,
    DoNothing,
    MetricPlateauFilter,
    NewAutomation,
    OnRunMetric,
    OnRunStalled,
    ProjectScope,
    RunEvent,
    StopRun,
    extension_parts,
)
from wandb_auto_widget.automations.automations import saved_trigger

PROJECT = ProjectScope(id="UHJvamVjdDox", name="proj")
CREATED = datetime(2026, 1, 2, tzinfo=timezone.utc)


def _saved(new: NewAutomation) -> Automation:
    data = new.to_graphql_input(name="x")
    return Automation.from_graphql(
        saved_trigger(
            data,
            id="VHJpZ2dlcjox",
            created_at=CREATED,
            scope={"__typename": "Project", "id": PROJECT.id, "name": PROJECT.name},
        )
    )


def _round_trips(new: NewAutomation) -> None:
    saved = _saved(new)
    assert saved.editable
    assert saved.to_graphql_input() == {"id": "VHJpZ2dlcjox", **new.to_graphql_input(name="x")}
    namespace: dict[str, Any] = {}
    exec(new.to_code(), namespace)
    assert namespace["automation"] == new


def test_plateau_wire_json_names_every_parameter() -> None:
    condition = RunEvent.metric("val/loss").mean(5).plateau(patience=3, threshold_mode="ABS")
    event = OnRunMetric(scope=PROJECT, filter=condition)
    assert event.event_type.value == "RUN_METRIC_PLATEAU"
    wire = json.loads(event.model_dump()["filter"])
    assert wire["run_metric_filter"] == {
        "plateau_filter": {
            "name": "val/loss",
            "agg_op": "AVERAGE",
            "window_size": 5,
            "mode": "min",
            "patience": 3,
            "threshold": 0.0001,
            "threshold_mode": "abs",
            "cooldown": 0,
            "warmup": 0,
        }
    }
    _round_trips(event >> StopRun())


def test_plateau_explains_itself_in_one_sentence() -> None:
    raw = RunEvent.metric("val/loss").plateau()
    assert raw.describe() == (
        "fires when 11 logged values in a row fail to beat the best (lowest) by 0.01%"
    )
    smoothed = (
        RunEvent.metric("acc")
        .max(3)
        .plateau(mode="max", patience=4, threshold=0.5, threshold_mode="abs", cooldown=2, warmup=10)
    )
    assert smoothed.describe() == (
        "fires when 5 maxima of the last 3 values in a row fail to beat the best (highest) "
        "by 0.5, then ignores the next 2; the run's first 10 values are skipped"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"threshold": 1.0}, "relative threshold is a fraction"),
        ({"threshold": -0.1}, "must be >= 0"),
        ({"threshold": float("nan")}, "finite"),
        ({"patience": -1}, "greater than or equal to 0"),
        ({"cooldown": 10**12}, "less than or equal to 1000000000"),
        ({"mode": "lowest"}, "'min' or 'max'"),
    ],
)
def test_plateau_rejects_parameters_reduce_lr_on_plateau_would_misread(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        RunEvent.metric("loss").plateau(**arguments)


def test_plateau_window_needs_an_aggregate() -> None:
    with pytest.raises(ValidationError, match="needs an aggregate"):
        MetricPlateauFilter(name="loss", window=5)


def test_non_finite_and_stalled_and_stop_round_trip() -> None:
    non_finite = OnRunMetric(scope=PROJECT, filter=RunEvent.metric("loss").non_finite())
    assert non_finite.event_type.value == "RUN_METRIC_NON_FINITE"
    _round_trips(non_finite >> DoNothing())
    stalled = OnRunStalled(
        scope=PROJECT,
        after=timedelta(minutes=15),
        resolved=True,
        runs=RunEvent.name.contains("sweep"),
    )
    assert json.loads(stalled.model_dump()["filter"])["run_stalled_filter"] == {
        "after_seconds": 900,
        "notify_resolved": True,
    }
    assert stalled.after == timedelta(minutes=15)
    _round_trips(stalled >> StopRun())
    assert StopRun().config() == {"stopRun": True}


def test_stalled_rejects_bad_durations() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        OnRunStalled(scope=PROJECT, after=timedelta(0))
    with pytest.raises(ValidationError, match="whole number of seconds"):
        OnRunStalled(scope=PROJECT, after=1.5)
    with pytest.raises(ValidationError, match="either filter= or after="):
        OnRunStalled.model_validate({"scope": PROJECT, "after": 60, "filter": {}})


def test_extension_parts_name_what_only_our_engine_runs() -> None:
    plain = OnRunMetric(scope=PROJECT, filter=RunEvent.metric("loss") > 1) >> DoNothing()
    assert extension_parts(plain) == []
    assert extension_parts(plain.model_copy(update={"action": StopRun()})) == [
        "the STOP_RUN action"
    ]
    plateau = OnRunMetric(scope=PROJECT, filter=RunEvent.metric("l").plateau()) >> DoNothing()
    assert extension_parts(plateau) == ["the RUN_METRIC_PLATEAU event"]
    assert extension_parts(_saved(plateau)) == ["the RUN_METRIC_PLATEAU event"]
