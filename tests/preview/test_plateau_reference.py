"""Plateau fires exactly where PyTorch's ReduceLROnPlateau would cut the learning rate.

``reference_cuts`` transcribes ReduceLROnPlateau (torch/optim/lr_scheduler.py: ``step``,
``is_better``, ``_init_is_better``) step by step, as a plain loop; the vectorized kernel and
``evaluate`` must agree with it on every series Hypothesis can think of.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wandb_auto_widget.automations import RunEvent
from wandb_auto_widget.preview import evaluate
from wandb_auto_widget.preview.plateau import PlateauParams, PlateauState, plateau_batch


def reference_cuts(
    values: list[float],
    *,
    mode: str = "min",
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int = 0,
    warmup: int = 0,
) -> list[int]:
    """Indices of ``values`` at which ReduceLROnPlateau reduces the learning rate."""
    # _init_is_better
    best = math.inf if mode == "min" else -math.inf
    num_bad_epochs = 0
    cooldown_counter = 0
    cuts = []

    def is_better(a: float, best: float) -> bool:
        if mode == "min" and threshold_mode == "rel":
            rel_epsilon = 1.0 - threshold
            return a < best * rel_epsilon
        if mode == "min" and threshold_mode == "abs":
            return a < best - threshold
        if mode == "max" and threshold_mode == "rel":
            rel_epsilon = threshold + 1.0
            return a > best * rel_epsilon
        return a > best + threshold

    for index, value in enumerate(values):
        if index < warmup:  # ours: Keras' start_from_epoch; torch has no warm-up
            continue
        current = float(value)  # step(metrics)
        if is_better(current, best):
            best = current
            num_bad_epochs = 0
        else:
            num_bad_epochs += 1
        if cooldown_counter > 0:  # in_cooldown
            cooldown_counter -= 1
            num_bad_epochs = 0
        if num_bad_epochs > patience:
            cuts.append(index)  # _reduce_lr
            cooldown_counter = cooldown
            num_bad_epochs = 0
    return cuts


value = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1.0001, 0.9999, -1.0, -10.0, -9.9995, 100.0]),
    st.just(math.nan),
    st.sampled_from([math.inf, -math.inf]),
    st.floats(min_value=1e-12, max_value=1e-6),
)


@st.composite
def series(draw: st.DrawFn) -> list[float]:
    """Walks with plateaus (repeated values), ties at the threshold, jumps and non-finite
    values, and the odd draw of anything at all."""
    if draw(st.booleans()):
        return draw(st.lists(value, max_size=80))
    out, current = [], draw(st.floats(min_value=-100, max_value=100))
    for _ in range(draw(st.integers(0, 150))):
        move = draw(st.sampled_from(["same", "same", "down", "up", "tiny", "special"]))
        if move == "down":
            current -= abs(current) * draw(st.sampled_from([1e-5, 1e-4, 1e-3, 0.1])) + 1e-3
        elif move == "up":
            current += draw(st.sampled_from([0.001, 0.5, 3.0]))
        elif move == "tiny":
            current *= 1 - draw(st.sampled_from([1e-4, 9.999e-5, 1.0001e-4]))
        elif move == "special":
            out.append(draw(value))
            continue
        out.append(current)
    return out


parameters = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["min", "max"]),
        "patience": st.integers(0, 12),
        "threshold": st.sampled_from([0.0, 1e-4, 1e-3, 0.05, 0.5, 0.999]),
        "threshold_mode": st.sampled_from(["rel", "abs"]),
        "cooldown": st.integers(0, 6),
        "warmup": st.integers(0, 5),
    }
)


def _params(p: dict[str, Any]) -> PlateauParams:
    return PlateauParams(
        p["mode"],
        p["patience"],
        p["threshold"],
        p["threshold_mode"] == "rel",
        p["cooldown"],
        p["warmup"],
    )


@settings(max_examples=4000, deadline=None)
@given(series(), parameters, st.lists(st.integers(1, 30), min_size=1, max_size=5))
def test_kernel_cuts_where_reduce_lr_on_plateau_cuts(
    values: list[float], p: dict[str, Any], batches: list[int]
) -> None:
    expected = reference_cuts(values, **p)
    array = np.asarray(values, dtype=np.float64)
    whole = plateau_batch(_params(p), array, PlateauState())
    assert whole.fires.tolist() == expected
    # The engine's way: in batches, the state carried between them.
    state, got, start, turn = PlateauState(), [], 0, 0
    while start < len(values):
        size = batches[turn % len(batches)]
        trace = plateau_batch(_params(p), array[start : start + size], state)
        got += (trace.fires + start).tolist()
        state, start, turn = trace.state, start + size, turn + 1
    assert got == expected


@settings(max_examples=500, deadline=None)
@given(series(), parameters)
def test_evaluate_fires_on_the_steps_of_the_cuts(values: list[float], p: dict[str, Any]) -> None:
    rows = [{"_step": 10 * i, "_timestamp": 1.7e9 + i, "loss": v} for i, v in enumerate(values)]
    rule = RunEvent.metric("loss").plateau(**p)
    found = evaluate(rule, {"run": rows}, policy="every")["run"]
    assert found.fire_steps == [10 * i for i in reference_cuts(values, **p)]


# Hand-computed cases, one per parameter.
LOSS = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8]


@pytest.mark.parametrize(
    ("values", "arguments", "cuts"),
    [
        # patience=2: the third value in a row without improvement cuts (index 4).
        (LOSS, {"patience": 2}, [4]),
        # patience=0: every value that does not improve cuts.
        (LOSS, {"patience": 0}, [2, 3, 4, 6, 7]),
        # cooldown=1 after the cut at 2: index 3 is ignored, 4 counts again.
        (LOSS, {"patience": 0, "cooldown": 1}, [2, 4, 6]),
        # warmup=3: values 0..2 are skipped; 0.9 at 3 is the first best; 4 fails to beat it.
        (LOSS, {"patience": 1, "warmup": 3}, [7]),
        # rel threshold 0.2: 0.9 is not 20% below 1.0 nor is 0.8, so 1.0 stays best.
        (LOSS, {"patience": 3, "threshold": 0.2}, [4]),
        # abs threshold 0.15: 0.8 beats 1.0 by 0.2 > 0.15; then three bad values.
        (LOSS, {"patience": 2, "threshold": 0.15, "threshold_mode": "abs"}, [3]),
        # max mode: an accuracy that stops rising.
        ([0.5, 0.6, 0.6, 0.6, 0.7], {"mode": "max", "patience": 1}, [3]),
        # NaN never improves: it counts as a bad value.
        ([1.0, math.nan, math.nan], {"patience": 1}, [2]),
        # rel mode with a negative best misbehaves as ReduceLROnPlateau does: -9.9995
        # "improves" on -10 though it is worse, and a flat negative metric never plateaus.
        ([-10.0, -9.9995, -9.9995, -9.9995], {"patience": 0, "threshold": 1e-4}, []),
        # ... which abs mode gets right.
        (
            [-10.0, -9.9995, -9.9995],
            {"patience": 0, "threshold": 1e-4, "threshold_mode": "abs"},
            [1, 2],
        ),
    ],
)
def test_hand_computed(values: list[float], arguments: dict[str, Any], cuts: list[int]) -> None:
    assert reference_cuts(values, **arguments) == cuts
    params = {
        "mode": "min",
        "patience": 10,
        "threshold": 1e-4,
        "threshold_mode": "rel",
        "cooldown": 0,
        "warmup": 0,
        **arguments,
    }
    found = plateau_batch(_params(params), np.asarray(values), PlateauState())
    assert found.fires.tolist() == cuts
