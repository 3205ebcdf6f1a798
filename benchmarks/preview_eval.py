"""Benchmark: evaluate() and StreamEvaluator against a pandas-rolling baseline.

    .venv/bin/python benchmarks/preview_eval.py [--runs 200] [--steps 50000] [--stream-runs 200]

Data: a seeded synthetic history of runs x steps (default 200 x 50,000 = 10 M points).
Rules: AVERAGE(w=50) > 1; RELATIVE change of AVERAGE(10) vs prior AVERAGE(50) >= 15%;
|z-score(30)| >= 3, under the default "wandb" fire policy. Two pandas baselines: the
groupby + rolling form over one frame, and the faster per-run form
(``pd.Series(values).rolling(w).mean() > t`` run by run, each run's condition kept, as
evaluate keeps its results). Prints points/s for each implementation (best of 3 for the
batch ones), the ratios to the baselines, and the counts each one found.

Then the extension rules on the same points: plateau (raw, patience 50, and smoothed over
50 values), against the threshold rule's time (target: at most 3x) and a plain
ReduceLROnPlateau loop; non-finite against numpy's isfinite per run.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from wandb_auto_widget.automations import MetricChangeFilter, RunEvent
from wandb_auto_widget.preview import StreamEvaluator, evaluate

METRIC = "loss"
# Each number is used by both our rule and the pandas baseline, so they cannot drift apart.
THRESHOLD, CHANGE_FRAC, Z = 1.0, 0.15, 3.0
PATIENCE = 50
RULES: dict[str, Any] = {
    f"threshold AVERAGE(50) > {THRESHOLD}": RunEvent.metric(METRIC).mean(50) > THRESHOLD,
    f"change AVERAGE 10 vs 50, RELATIVE >= {CHANGE_FRAC:.0%}": MetricChangeFilter(
        name=METRIC,
        agg="AVERAGE",
        window=10,
        prior_window=50,
        change_type="RELATIVE",
        change_dir="ANY",
        threshold=CHANGE_FRAC,
    ),
    f"zscore(30) |z| >= {Z}": RunEvent.metric(METRIC).zscore(30).abs() > Z,
}


def synthetic_history(runs: int, steps: int, seed: int = 7) -> dict[str, dict[str, np.ndarray]]:
    """Decaying noisy losses, some runs diverging late, one sample per 10 s."""
    rng = np.random.default_rng(seed)
    step = np.arange(steps, dtype=np.int64)
    history = {}
    for r in range(runs):
        decay = 2.0 * np.exp(-step / rng.uniform(2_000, 20_000)) + 0.2
        loss = decay * (1 + 0.15 * rng.standard_normal(steps))
        if r % 7 == 0:  # a late divergence
            loss[steps * 3 // 4 :] *= np.linspace(1, 4, steps - steps * 3 // 4)
        history[f"run-{r:03d}"] = {
            "_step": step,
            "_timestamp": 1.7e9 + r * 3600 + step * 10.0,
            METRIC: loss,
        }
    return history


def pandas_conditions(name: str, frame: pd.DataFrame) -> int:
    """The same rules written the straightforward way with groupby + rolling."""
    grouped = frame.groupby("run", sort=False)[METRIC]
    if name.startswith("threshold"):
        cond = grouped.rolling(50).mean() > THRESHOLD
    elif name.startswith("change"):
        current = grouped.rolling(10).mean().reset_index(level=0, drop=True)
        prior = (
            grouped.shift(10)
            .groupby(frame["run"], sort=False)
            .rolling(50)
            .mean()
            .reset_index(level=0, drop=True)
        )
        cond = ((current - prior) / prior.abs()).abs() >= CHANGE_FRAC
    else:
        previous = grouped.shift(1).groupby(frame["run"], sort=False)
        mean = previous.rolling(30).mean().reset_index(level=0, drop=True)
        std = previous.rolling(30).std(ddof=0).reset_index(level=0, drop=True)
        cond = ((frame[METRIC] - mean) / std).abs() >= Z
    return int(cond.sum())


def per_run_conditions(name: str, history: dict[str, dict[str, np.ndarray]]) -> int:
    """The same rules, run by run on a pandas Series: the faster form users write."""
    kept = {}
    for run, columns in history.items():
        values = pd.Series(columns[METRIC])
        if name.startswith("threshold"):
            kept[run] = values.rolling(50).mean() > THRESHOLD
        elif name.startswith("change"):
            current, prior = values.rolling(10).mean(), values.shift(10).rolling(50).mean()
            kept[run] = ((current - prior) / prior.abs()).abs() >= CHANGE_FRAC
        else:
            previous = values.shift(1).rolling(30)
            kept[run] = ((values - previous.mean()) / previous.std(ddof=0)).abs() >= Z
    return sum(int(c.sum()) for c in kept.values())


def timed(fn: Any, repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--stream-runs", type=int, default=None, help="runs fed to the stream")
    args = parser.parse_args()
    history = synthetic_history(args.runs, args.steps)
    points = args.runs * args.steps
    frame = pd.DataFrame(
        {
            "run": np.repeat(list(history), args.steps),
            METRIC: np.concatenate([h[METRIC] for h in history.values()]),
        }
    )
    stream_runs = list(history)[: args.stream_runs or args.runs]
    rows = {
        run: [
            {"_step": s, "_timestamp": t, METRIC: v}
            for s, t, v in zip(
                history[run]["_step"].tolist(),
                history[run]["_timestamp"].tolist(),
                history[run][METRIC].tolist(),
                strict=True,
            )
        ]
        for run in stream_runs
    }
    stream_points = len(stream_runs) * args.steps
    print(f"history: {args.runs} runs x {args.steps:,} steps = {points:,} points")
    print(
        f"{'rule':42s} {'evaluate':>14s} {'pandas':>14s} {'per run':>14s} {'stream':>14s}"
        f" {'eval/pandas':>12s} {'eval/per run':>13s} {'stream/pandas':>14s}"
    )
    times_threshold: list[float] = []
    for name, rule in RULES.items():
        # The default policy ("wandb": at most once per run per 24 h), as the engine runs.
        t_eval, result = timed(lambda rule=rule: evaluate(rule, history), repeat=3)
        if name.startswith("threshold"):
            times_threshold.append(t_eval)
        t_pandas, pandas_count = timed(lambda name=name: pandas_conditions(name, frame), repeat=3)
        t_per_run, per_run_count = timed(
            lambda name=name: per_run_conditions(name, history), repeat=3
        )

        def run_stream(rule: Any = rule) -> int:
            evaluator = StreamEvaluator(rule)
            push, fired = evaluator.push, 0
            for run in stream_runs:
                for row in rows[run]:
                    if push(run, row) is not None:
                        fired += 1
            return fired

        t_stream, stream_fired = timed(run_stream)
        conditions = sum(len(r.condition_steps) for r in result.values())
        batch_fired = sum(len(r.fire_steps) for r in result.values() if r.run_id in rows)
        eval_rate, pandas_rate = points / t_eval, points / t_pandas
        per_run_rate = points / t_per_run
        stream_rate = stream_points / t_stream
        print(
            f"{name:42s} {eval_rate / 1e6:10.1f} M/s {pandas_rate / 1e6:10.1f} M/s "
            f"{per_run_rate / 1e6:10.1f} M/s {stream_rate / 1e6:10.2f} M/s "
            f"{eval_rate / pandas_rate:11.1f}x {eval_rate / per_run_rate:12.2f}x"
            f" {stream_rate / pandas_rate:13.2f}x"
        )
        print(
            f"{'':42s} evaluate: {t_eval:.3f} s, pandas per run {t_per_run:.3f} s for "
            f"{points:,} points; condition rows: evaluate {conditions:,}, pandas "
            f"{pandas_count:,}, per run {per_run_count:,}; fires on the streamed runs: "
            f"evaluate {batch_fired:,}, stream {stream_fired:,}"
        )
    extensions(history, points, float(min(times_threshold)))


def reduce_lr_on_plateau_loop(values: list[float], patience: int, threshold: float) -> int:
    """The baseline a user would write for a plateau: ReduceLROnPlateau's rule (min, rel) as
    a plain loop over one run's values; returns how many times it would cut."""
    best, bad, cuts, bar = math.inf, 0, 0, 1.0 - threshold
    for value in values:
        if value < best * bar:
            best, bad = value, 0
        else:
            bad += 1
        if bad > patience:
            cuts, bad = cuts + 1, 0
    return cuts


def plateaus(evaluation: Any) -> int:
    """Where the rule held (each a cut of ReduceLROnPlateau), before the 24 h policy."""
    return sum(int(r.condition.sum()) for r in evaluation.values())


def extensions(history: dict[str, dict[str, np.ndarray]], points: int, t_threshold: float) -> None:
    """Plateau and non-finite on the same points (with NaN injected into some runs), under
    the default policy, as the threshold rule was timed."""
    with_nan = {}
    for i, (run, columns) in enumerate(history.items()):
        loss = columns[METRIC].copy()
        if i % 11 == 0:
            loss[loss.size * 9 // 10] = math.nan
        with_nan[run] = {**columns, METRIC: loss}
    metric = RunEvent.metric(METRIC)
    plateau = metric.plateau(patience=PATIENCE, threshold=1e-4)
    print()
    print(f"extension rules on the same {points:,} points (every 11th run logs one NaN)")
    t_plateau, found = timed(lambda: evaluate(plateau, with_nan), repeat=3)
    lists = {run: c[METRIC].tolist() for run, c in with_nan.items()}
    t_loop, cuts = timed(
        lambda: sum(reduce_lr_on_plateau_loop(v, PATIENCE, 1e-4) for v in lists.values())
    )
    print(
        f"plateau(patience={PATIENCE}, 1e-4 rel): evaluate {t_plateau:.3f} s "
        f"({points / t_plateau / 1e6:.1f} M points/s), {t_plateau / t_threshold:.2f}x the "
        f"threshold rule's {t_threshold:.3f} s (target <= 3x); a plain ReduceLROnPlateau loop "
        f"{t_loop:.2f} s ({t_loop / t_plateau:.1f}x slower); plateaus {plateaus(found):,}, "
        f"loop {cuts:,}"
    )
    smoothed = metric.mean(50).plateau(patience=10, threshold=1e-4)
    t_smooth, smooth_found = timed(lambda: evaluate(smoothed, with_nan), repeat=3)
    print(
        f"mean(50).plateau(patience=10): evaluate {t_smooth:.3f} s, "
        f"{t_smooth / t_threshold:.2f}x the threshold rule; plateaus {plateaus(smooth_found):,}"
    )
    non_finite = metric.non_finite()
    t_nf, nf_found = timed(lambda: evaluate(non_finite, with_nan), repeat=3)

    def first_non_finite() -> int:
        return sum(1 for c in with_nan.values() if np.flatnonzero(~np.isfinite(c[METRIC]))[:1].size)

    t_numpy, runs_with = timed(first_non_finite, repeat=3)
    print(
        f"non_finite(): evaluate {t_nf:.3f} s, {t_nf / t_threshold:.2f}x the threshold rule; "
        f"numpy isfinite per run {t_numpy:.3f} s ({t_nf / t_numpy:.1f}x, evaluate also reads "
        f"timestamps and applies the policy); runs firing {len(nf_found.runs_fired)} "
        f"(numpy {runs_with})"
    )


if __name__ == "__main__":
    main()
