"""Property tests: StreamEvaluator, fed row by row, fires exactly where evaluate() says."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wandb_auto_widget.automations import RunEvent
from wandb_auto_widget.preview import FirePolicy, StreamEvaluator, evaluate, rule_from
from wandb_auto_widget.preview.plateau import PlateauState
from wandb_auto_widget.preview.policy import resolve_policy
from wandb_auto_widget.preview.stream import Fire, fire_batch, fire_stateful, logged_batch
from wandb_auto_widget.preview.values import as_logged_number, as_number
from wandb_auto_widget.preview.windows import Windows

METRIC = "val/loss"

values = st.one_of(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
    st.sampled_from([0.0, 1.0, 1.0, -1.0, 0.5]),  # ties and exact thresholds
    st.integers(min_value=-5, max_value=5),
    st.just(math.nan),
    st.just(math.inf),
    st.just(None),  # the key is missing from the row
    st.just("oops"),
    st.just(True),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
)


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in range(draw(st.integers(1, 3))):
        step, ts, rows = 0, 1.7e9, []
        for _ in range(draw(st.integers(0, 120))):
            # Mostly increasing steps, with gaps, repeats and the odd step backwards.
            step += draw(st.sampled_from([1, 1, 1, 2, 7, 0, -3]))
            ts += draw(st.sampled_from([1.0, 60.0, 3600.0, 43200.0, 86400.0, 0.0, -5.0]))
            row: dict[str, Any] = {"_step": step, "_timestamp": ts}
            value = draw(values)
            if value is not None:
                row[METRIC] = value
            rows.append(row)
        runs[f"run-{run}"] = rows
    return runs


@st.composite
def filters(draw: st.DrawFn) -> Any:
    metric = RunEvent.metric(METRIC)
    window = draw(st.sampled_from([1, 2, 3, 5, 17, 200]))  # includes windows longer than runs
    prior = draw(st.sampled_from([1, 2, 4, 60]))
    agg = draw(st.sampled_from(["max", "min", "mean", None]))
    base = getattr(metric, agg)(window) if agg else metric
    kind = draw(st.sampled_from(["threshold", "change", "zscore", "plateau", "non_finite"]))
    number = draw(st.sampled_from([0, 0.5, 1, -1, 2.5, 100]))
    amount = draw(st.sampled_from([0.01, 0.5, 1, 3]))
    if kind == "non_finite":
        return metric.non_finite()
    if kind == "plateau":
        return base.plateau(
            mode=draw(st.sampled_from(["min", "max"])),
            patience=draw(st.integers(0, 5)),
            threshold=draw(st.sampled_from([0.0, 1e-4, 0.01, 0.5])),
            threshold_mode=draw(st.sampled_from(["rel", "abs"])),
            cooldown=draw(st.integers(0, 3)),
            warmup=draw(st.integers(0, 3)),
        )
    if kind == "threshold":
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"]))
        return getattr(base, op)(number)
    if kind == "change":
        verb = draw(st.sampled_from(["changes_by", "increases_by", "decreases_by"]))
        flt = getattr(base, verb)(**{draw(st.sampled_from(["diff", "frac"])): amount})
        return flt.model_copy(update={"prior_window": prior}) if agg else flt
    z = metric.zscore(window)
    direction = draw(st.sampled_from(["abs", "gt", "lt"]))
    return (
        z.abs() > amount
        if direction == "abs"
        else (z > amount if direction == "gt" else z < -amount)
    )


policies = st.sampled_from(
    ["wandb", "every", "edge", FirePolicy("edge", 3600.0), FirePolicy("every", 0.0)]
)


def _stream_fires(
    flt: Any, history: dict[str, list[dict[str, Any]]], policy: Any
) -> dict[str, list[int]]:
    evaluator = StreamEvaluator(flt, policy=policy)
    out: dict[str, list[int]] = {}
    for run_id, rows in history.items():
        out[run_id] = [fire.step for row in rows if (fire := evaluator.push(run_id, row))]
    return out


@settings(max_examples=400, deadline=None)
@given(filters(), histories(), policies)
def test_stream_fires_exactly_where_batch_does(flt: Any, history: Any, policy: Any) -> None:
    batch = evaluate(flt, history, policy=policy)
    assert _stream_fires(flt, history, policy) == {r: batch[r].fire_steps for r in history}


@settings(max_examples=150, deadline=None)
@given(filters(), histories(), policies, st.integers(0, 120))
def test_saved_and_restored_state_continues_identically(
    flt: Any, history: Any, policy: Any, cut: int
) -> None:
    expected = _stream_fires(flt, history, policy)
    first = StreamEvaluator(flt, policy=policy)
    got: dict[str, list[int]] = {r: [] for r in history}
    for run_id, rows in history.items():
        got[run_id] += [f.step for row in rows[:cut] if (f := first.push(run_id, row))]
    # The engine persists state as JSON between batches (and across restarts).
    second = StreamEvaluator(flt, policy=policy)
    second.load_state(json.loads(json.dumps(first.state_dict())))
    for run_id, rows in history.items():
        got[run_id] += [f.step for row in rows[cut:] if (f := second.push(run_id, row))]
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(filters(), histories())
@example(  # a bool beside a NaN once made NumPy read the column as floats
    RunEvent.metric(METRIC).max(1) > 0,
    {"r": [{"_step": 1, "_timestamp": 1.0, METRIC: math.nan}, {"_step": 2, METRIC: True}]},
)
def test_input_shapes_agree(flt: Any, history: Any) -> None:
    """Rows, columns and DataFrames give the same evaluation."""
    import pandas as pd

    as_rows = evaluate(flt, history, policy="every")
    columns = {
        run: {key: [row.get(key) for row in rows] for key in ("_step", "_timestamp", METRIC)}
        for run, rows in history.items()
    }
    as_columns = evaluate(flt, columns, policy="every")
    frames = {run: pd.DataFrame(cols) for run, cols in columns.items()}
    as_frames = evaluate(flt, frames, policy="every")
    # A DataFrame spells a missing value as NaN, which rules on logged values read as a
    # logged NaN (documented): for them, frames agree only where every row has the metric.
    complete = all(METRIC in row for rows in history.values() for row in rows)
    for run in history:
        assert as_rows[run].fire_steps == as_columns[run].fire_steps
        if complete or not rule_from(flt).logged_values:
            assert as_rows[run].fire_steps == as_frames[run].fire_steps


@settings(max_examples=300, deadline=None)
@given(filters(), histories(), policies, st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_push_rows_equals_pushing_one_by_one(
    flt: Any, history: Any, policy: Any, chunks: list[int]
) -> None:
    """The vectorized batch path gives the same fires and leaves the same state."""
    one_by_one = StreamEvaluator(flt, policy=policy)
    batched = StreamEvaluator(flt, policy=policy)
    for run_id, rows in history.items():
        expected = [f for row in rows if (f := one_by_one.push(run_id, row))]
        got, start, turn = [], 0, 0
        while start < len(rows):
            size = chunks[turn % len(chunks)]
            got += batched.push_rows(run_id, rows[start : start + size])
            start, turn = start + size, turn + 1
        # Steps, timestamps and values, bit for bit (repr, so that a logged NaN equals NaN).
        assert repr(got) == repr(expected)
    assert json.loads(json.dumps(batched.state_dict())) == json.loads(
        json.dumps(one_by_one.state_dict())
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(filters(), min_size=1, max_size=5),
    histories(),
    st.lists(st.integers(1, 40), min_size=1, max_size=6),
)
def test_shared_windows_fire_what_each_rule_fires_alone(
    flts: list[Any], history: Any, batch_sizes: list[int]
) -> None:
    """The engine's path: one Windows per metric (saved as bytes between batches), one series
    per rule, each rule's own policy state; fires as each rule's StreamEvaluator does."""
    rules = [rule_from(f) for f in flts]
    policy = resolve_policy("wandb")
    capacity = max(rule.history_needed for rule in rules)
    for run_id, rows in history.items():
        expected = [StreamEvaluator(f).push_rows(run_id, rows) for f in flts]
        saved, states = Windows().to_bytes(), [(False, None)] * len(rules)
        plateaus: list[Any] = [PlateauState() for _ in rules]
        last_step: int | None = None
        got: list[list[Fire]] = [[] for _ in rules]
        start, sizes = 0, itertools.cycle(batch_sizes)
        while start < len(rows):
            batch = rows[start : start + next(sizes)]
            start += len(batch)
            steps, stamps, values = _columns(batch)
            logged, present = _logged(batch)
            raw, last_step = logged_batch(run_id, steps, stamps, logged, present, last_step)
            windows, advance = Windows.from_bytes(saved).advance(
                run_id, steps, stamps, values, capacity
            )
            saved = windows.to_bytes()
            for i, rule in enumerate(rules):
                if rule.kind in ("plateau", "non_finite"):
                    series = (
                        raw
                        if rule.logged_values
                        else (advance and advance.series(rule.smoothing()))
                    )
                    if series is None:
                        continue
                    fires, *state, plateaus[i] = fire_stateful(
                        rule, policy, series, *states[i], plateaus[i]
                    )
                elif advance is None:
                    continue
                else:
                    fires, *state = fire_batch(rule, policy, advance.series(rule), *states[i])
                states[i] = (state[0], state[1])
                got[i] += fires
        assert repr(got) == repr(expected)


def _logged(rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    found = [as_logged_number(row.get(METRIC)) for row in rows]
    return (
        np.array([math.nan if v is None else v for v in found]),
        np.array([v is not None for v in found], dtype=bool),
    )


def _columns(rows: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
    def number(value: Any) -> float:
        found = as_number(value)
        return math.nan if found is None else found

    return (
        np.array([row["_step"] for row in rows], dtype=np.int64),
        np.array([number(row.get("_timestamp")) for row in rows]),
        np.array([number(row.get(METRIC)) for row in rows]),
    )
