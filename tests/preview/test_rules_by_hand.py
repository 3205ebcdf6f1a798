"""A table of hand-computed cases, one or more per rule in docs/semantics.md."""

from __future__ import annotations

from typing import Any

import pytest

from wandb_auto_widget.automations import RunEvent
from wandb_auto_widget.preview import FirePolicy, StreamEvaluator, evaluate

M = RunEvent.metric("m")
DAY = 86400.0


def rows(values: list[Any], *, start: int = 0, dt: float = 60.0) -> list[dict[str, Any]]:
    out = []
    for i, v in enumerate(values):
        row: dict[str, Any] = {"_step": start + i, "_timestamp": 1.7e9 + i * dt}
        if v is not ...:
            row["m"] = v
        out.append(row)
    return out


CASES: list[tuple[str, Any, list[dict[str, Any]], list[int]]] = [
    # threshold: the latest value, or the aggregate of the last `window` logged values
    ("latest >", M > 1, rows([0, 2, 1, 3]), [1, 3]),
    ("latest >= is inclusive", M >= 1, rows([0, 1, 2]), [1, 2]),
    ("mean waits for a full window", M.mean(3) > 0, rows([5, 5, 5, 5]), [2, 3]),
    ("mean of last 3", M.mean(3) > 2, rows([1, 2, 3, 4]), [3]),  # means: 2, 3
    ("max of last 2", M.max(2) >= 5, rows([5, 1, 1, 1]), [1]),  # maxes: 5, 1, 1
    ("min of last 2", M.min(2) < 1, rows([3, 0, 3, 3]), [1, 2]),
    ("$eq is exact", M.eq(0.5), rows([0.5, 0.25 + 0.25, 0.1 + 0.4, 0.6]), [0, 1, 2]),
    ("$ne", M.ne(1), rows([1, 2, 1]), [1]),
    # window counts logged values: missing keys and non-numbers are skipped, not zeros
    ("missing rows are skipped", M.mean(2) > 4, rows([4, ..., 6, "x", None]), [2]),
    (
        "NaN, inf and bools are skipped",
        M.mean(2) >= 1,
        rows([1, float("nan"), float("inf"), True, 1]),
        [4],
    ),
    # change: current window vs the non-overlapping prior window, inclusive
    ("abs increase", M.increases_by(diff=2), rows([0, 2, 3, 6]), [1, 3]),
    ("abs decrease", M.decreases_by(diff=2), rows([5, 3, 2]), [1]),
    ("any direction", M.changes_by(diff=2), rows([0, 2, 0, 1]), [1, 2]),
    (
        "relative is a fraction of |prior|",
        M.increases_by(frac=0.5),
        rows([-2, -1, 2, 3]),
        [1, 2, 3],
    ),
    ("relative with prior 0 never fires", M.changes_by(frac=0.1), rows([0, 5, 5]), []),
    ("mean windows 2 vs prior 2", M.mean(2).increases_by(diff=1), rows([0, 0, 1, 1, 1]), [3]),
    # z-score: the value against mean and (population) std of the `window` values before it
    ("z > t", M.zscore(4) > 1.5, rows([1, 2, 1, 2, 5]), [4]),  # mean 1.5, std 0.5 -> z 7
    ("z < -t", M.zscore(4) < -1.5, rows([1, 2, 1, 2, -2]), [4]),
    ("|z| is inclusive", M.zscore(2).abs() > 1, rows([0, 2, 3]), [2]),  # mean 1, std 1 -> z 2
    ("flat window has no z-score", M.zscore(3).abs() > 1, rows([2, 2, 2, 9]), []),
    # steps: a row whose step does not increase is dropped
    (
        "backwards step dropped",
        M > 0,
        [{"_step": 2, "m": 1}, {"_step": 1, "m": 1}, {"_step": 2, "m": 1}],
        [2],
    ),
    ("nested key a.b", RunEvent.metric("a.b") > 0, [{"_step": 0, "a": {"b": 1}}], [0]),
    (
        "slash is part of the key",
        RunEvent.metric("val/loss") > 0,
        [{"_step": 0, "val/loss": 1}],
        [0],
    ),
]


@pytest.mark.parametrize(("name", "flt", "history", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hand_computed(
    name: str, flt: Any, history: list[dict[str, Any]], expected: list[int]
) -> None:
    result = evaluate(flt, {"r": history}, policy="every")
    assert result["r"].condition_steps == expected
    stream = StreamEvaluator(flt, policy="every")
    assert [f.step for row in history if (f := stream.push("r", row))] == expected


def test_wandb_policy_fires_once_per_24h_by_timestamp() -> None:
    history = rows([2] * 10, dt=DAY / 4)  # condition holds on every row, 6 h apart
    result = evaluate(M > 1, {"r": history})
    assert result["r"].fire_steps == [0, 4, 8]
    assert result["r"].suppressed_steps == [1, 2, 3, 5, 6, 7, 9]


def test_edge_policy_fires_on_false_to_true() -> None:
    history = rows([2, 2, 0, 2, ..., 2, 0])
    assert evaluate(M > 1, {"r": history}, policy="edge")["r"].fire_steps == [0, 3]


def test_cooldown_applies_to_edges() -> None:
    history = rows([2, 0, 2, 0, 2], dt=1200)  # edges at 0 s, 2400 s (too soon) and 4800 s
    result = evaluate(M > 1, {"r": history}, policy=FirePolicy("edge", 3600))
    assert result["r"].fire_steps == [0, 4]


def test_evaluated_series_and_summary() -> None:
    result = evaluate(M.mean(2) > 1, {"a": rows([1, 2, 3]), "b": rows([0, 0])}, policy="every")
    assert result["a"].series.tolist()[1:] == [1.5, 2.5]
    assert result.summary() == "would have fired 2 times in 1 of 2 runs; first at step 1 of run 'a'"


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match="_step"):
        evaluate(M > 1, {"r": [{"m": 1}]})
    with pytest.raises(ValueError, match="_timestamp"):
        evaluate(M > 1, {"r": [{"_step": 0, "m": 2}]})
    with pytest.raises(TypeError, match="metric filter"):
        evaluate(RunEvent.name.contains("x"), {"r": []})
    with pytest.raises(ValueError, match="policy"):
        evaluate(M > 1, {"r": []}, policy="sometimes")  # type: ignore[arg-type]
