"""Our domain model against wandb 0.31.0: create inputs, saved triggers, to_code round trips."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import wandb.automations as wandb_automations
from hypothesis import given, settings
from hypothesis import strategies as st
from wandb.automations._generated import TriggerFields
from wandb.automations._inputs import prepare_to_create, prepare_to_update

import wandb_auto_widget.automations as ours
from wandb_auto_widget.automations.automations import saved_trigger

from .cases import all_cases, integration_for, project, scope_for

CASES = all_cases()
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_suite_is_broad() -> None:
    assert len(CASES) >= 40
    kinds = {ours.NewAutomation.model_validate(b(ours)).event.event_type for b in CASES.values()}  # type: ignore[union-attr]
    # Every event wandb can build (the extensions have no wandb counterpart to compare with).
    extensions = ours.extensions.EXTENSION_EVENT_TYPES
    wanted = {
        e
        for e in ours.EventType
        if e is not ours.EventType.UPDATE_ARTIFACT_ALIAS and e.value not in extensions
    }
    assert wanted <= kinds


def _inputs(build: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    kwargs = {"name": "auto-1", "description": "desc"}
    ours_input = build(ours).to_graphql_input(**kwargs)
    wandb_input = prepare_to_create(build(wandb_automations), **kwargs).model_dump()
    return ours_input, wandb_input


@pytest.mark.parametrize("case", sorted(CASES))
def test_create_input_matches_wandb(case: str) -> None:
    ours_input, wandb_input = _inputs(CASES[case])
    assert ours_input == wandb_input


def _trigger(create_input: dict[str, Any]) -> dict[str, Any]:
    return saved_trigger(
        create_input,
        id="VHJpZ2dlcjox",
        created_at=CREATED,
        scope=scope_for(create_input),
        integration=integration_for(create_input),
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_saved_trigger_parses_both_ways(case: str) -> None:
    create_input, _ = _inputs(CASES[case])
    trigger = _trigger(create_input)

    theirs = wandb_automations.Automation.model_validate(TriggerFields.model_validate(trigger))
    mine = ours.Automation.from_graphql(trigger)
    # wandb reads our JSON into the automation we read: the same update input results.
    assert prepare_to_update(theirs).model_dump() == mine.to_graphql_input()
    # ... and we read wandb's own serialization of it back to the same automation.
    from_wandb = ours.Automation.from_graphql(theirs.model_dump())
    assert from_wandb.to_graphql_input() == mine.to_graphql_input()
    assert from_wandb.event == mine.event
    assert from_wandb.scope == mine.scope
    # Our serialization round-trips through our parser.
    assert ours.Automation.from_graphql(mine.to_graphql()) == mine


@pytest.mark.parametrize("case", sorted(CASES))
def test_to_code_round_trips(case: str) -> None:
    new = CASES[case](ours).model_copy(update={"name": "auto-1", "description": "d"})
    namespace: dict[str, Any] = {}
    exec(new.to_code(), namespace)
    assert namespace["automation"] == new
    assert namespace["automation"].to_graphql_input() == new.to_graphql_input()

    saved = ours.Automation.from_graphql(_trigger(new.to_graphql_input()))
    namespace = {}
    exec(saved.to_code(), namespace)
    assert namespace["automation"].to_graphql_input() == saved.to_graphql_input()

    event_ns: dict[str, Any] = {}
    exec(new.event.to_code(), event_ns)  # type: ignore[union-attr]
    assert event_ns["event"] == new.event


# --- generated automations -------------------------------------------------------

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_/.\-]{0,20}", fullmatch=True)
windows = st.integers(min_value=1, max_value=100)
numbers = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
)
positive = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
)


@st.composite
def metric_filters(draw: st.DrawFn) -> Any:
    """A function of (module) -> metric condition, built through the DSL."""
    name, window = draw(names), draw(windows)
    kind = draw(st.sampled_from(["threshold", "agg-threshold", "change", "agg-change", "zscore"]))
    agg = draw(st.sampled_from(["max", "min", "mean", "avg"]))
    op = draw(st.sampled_from(["gt", "gte", "lt", "lte"]))
    verb = draw(st.sampled_from(["changes_by", "increases_by", "decreases_by"]))
    amount_kind = draw(st.sampled_from(["diff", "frac"]))
    value, amount = draw(numbers), draw(positive)
    zdir = draw(st.sampled_from(["abs", "gt", "lt"]))

    def build(m: Any) -> Any:
        metric = m.RunEvent.metric(name)
        if kind == "threshold":
            return getattr(metric, op)(value)
        if kind == "agg-threshold":
            return getattr(getattr(metric, agg)(window), op)(value)
        if kind in ("change", "agg-change"):
            base = getattr(metric, agg)(window) if kind == "agg-change" else metric
            return getattr(base, verb)(**{amount_kind: amount})
        z = metric.zscore(window)
        if zdir == "abs":
            return z.abs() > amount
        return z > amount if zdir == "gt" else z < -amount

    return build


@st.composite
def run_filters(draw: st.DrawFn) -> Any:
    text = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))
    method = draw(st.sampled_from(["contains", "eq", "ne", "matches_regex", "none"]))
    if method == "matches_regex":
        text = "^" + "".join(c for c in text if c.isalnum())
    return None if method == "none" else (lambda m: getattr(m.RunEvent.name, method)(text))


@st.composite
def generated(draw: st.DrawFn) -> Any:
    metric, run = draw(metric_filters()), draw(run_filters())
    action = draw(
        st.sampled_from(sorted(__import__("tests.compat.cases", fromlist=["x"]).actions().items()))
    )[1]
    description = draw(st.one_of(st.none(), st.text(max_size=30)))
    enabled = draw(st.booleans())

    def build(m: Any) -> Any:
        flt = metric(m) if run is None else run(m) & metric(m)
        new = m.OnRunMetric(scope=project(m), filter=flt) >> action(m)
        new.description, new.enabled = description, enabled
        return new

    return build


@settings(max_examples=150, deadline=None)
@given(generated())
def test_generated_automations_match_wandb(build: Any) -> None:
    mine = build(ours)
    ours_input = mine.to_graphql_input(name="gen")
    assert ours_input == prepare_to_create(build(wandb_automations), name="gen").model_dump()

    trigger = _trigger(ours_input)
    theirs = wandb_automations.Automation.model_validate(TriggerFields.model_validate(trigger))
    assert (
        prepare_to_update(theirs).model_dump()
        == ours.Automation.from_graphql(trigger).to_graphql_input()
    )

    namespace: dict[str, Any] = {}
    exec(mine.to_code(), namespace)
    assert namespace["automation"] == mine
