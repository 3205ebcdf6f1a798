"""Benchmark: the engine's cost on ingestion, and delivery throughput under failures.

    .venv/bin/python benchmarks/engine.py [--runs 20] [--steps 2000] [--automations 100]

1. Ingest runs x steps x 5 metrics through Api (batches of 1,000) into a project with no
   automations (the baseline), then into one with ``--automations`` enabled metric
   automations (thresholds, changes and z-scores on the logged metrics), twice: with
   thresholds that vary over repeated windows (automations share series), and with every
   window distinct (nothing shared). Target: with them, at least 50% of the baseline
   throughput. Each is the best of three rounds of fresh runs.
2. Deliver 1,000 firings to a local receiver that fails 30% of requests; time until every
   execution is FINISHED.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from wandb_auto_widget import LocalServer
from wandb_auto_widget.automations import (
    DoNothing,
    OnCreateArtifact,
    OnRunMetric,
    RunEvent,
    SendWebhook,
)
from wandb_auto_widget.demo.receiver import Faults, Receiver
from wandb_auto_widget.server.engine import RetryPolicy

METRICS = ("loss", "val/loss", "acc", "lr", "grad_norm")
BATCH = 1000  # history rows per file_stream request
ROUNDS = 3


def conditions(count: int, distinct: bool = False) -> list[object]:
    """A mix of metric conditions that rarely hold, so that the cost measured is evaluation.

    By default thresholds vary and windows repeat (30 distinct series for 100 automations:
    the engine evaluates each series once). With ``distinct`` every automation has its own
    window, so nothing is shared: the worst case.
    """
    out: list[object] = []
    for i in range(count):
        metric = RunEvent.metric(METRICS[i % len(METRICS)])
        kind = i % 3
        if kind == 0:
            out.append(metric.mean(5 + (i if distinct else i % 20)) > 100 + i)
        elif kind == 1:
            out.append(metric.mean(3 + i // 3 if distinct else 10).increases_by(frac=50.0 + i))
        else:
            out.append(metric.zscore(10 + i if distinct else 30).abs() > 50 + i)
    return out


def ingest(
    server: LocalServer, automations: int, runs: int, steps: int, distinct: bool = False
) -> float:
    api = server.api
    project = api.create_project("bench")
    for i, condition in enumerate(conditions(automations, distinct)):
        api.create_automation(
            OnRunMetric(scope=project, filter=condition) >> DoNothing(), name=f"a{i}"
        )
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(runs):
        values = rng.standard_normal((steps, len(METRICS))).tolist()
        batches.append(
            [
                {"_step": s, "_timestamp": 1.7e9 + s, **dict(zip(METRICS, row, strict=True))}
                for s, row in enumerate(values)
            ]
        )
    best = float("inf")
    for attempt in range(ROUNDS):  # fresh runs each round; the best round counts
        logged = [api.init_run("local/bench", run_id=f"r{attempt}-{r}") for r in range(runs)]
        start = time.perf_counter()
        for run, rows in zip(logged, batches, strict=True):
            for i in range(0, len(rows), BATCH):
                run.log(rows[i : i + BATCH])
        best = min(best, time.perf_counter() - start)
    fired = len(api.automation_history(limit=100_000)) // ROUNDS
    points_per_s = runs * steps * len(METRICS) / best
    label = "each its own series" if distinct else "thresholds vary, windows repeat"
    print(
        f"  {automations:>3} automations ({label if automations else 'baseline'}): "
        f"{points_per_s:,.0f} points/s "
        f"(best of {ROUNDS}: {best:.2f} s; {fired} firings per round)"
    )
    return points_per_s


def deliveries(tmp: Path, firings: int) -> None:
    policy = RetryPolicy(base_delay_s=0.02, max_delay_s=1.0, max_attempts=30, timeout_s=2)
    with (
        Receiver(Faults(fail_ratio=0.3)) as receiver,
        LocalServer(db=tmp / "d.db", retry=policy) as server,
    ):
        api = server.api
        api.create_project("p")
        hook = api.create_webhook_integration("hook", receiver.url)
        api.log_artifact("local/p", "model", "model")
        collection = api.artifact_collections("local/p")[0]
        api.create_automation(
            OnCreateArtifact(scope=collection) >> SendWebhook.from_integration(hook), name="v"
        )
        start = time.perf_counter()
        for _ in range(firings):
            api.log_artifact("local/p", "model", "model")
        while api.automation_history(status="PENDING", limit=1):
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        finished = len(api.automation_history(status="FINISHED", limit=firings + 1))
        attempts = len(receiver.deliveries)
    print(
        f"delivery: {firings} firings, receiver failing 30% of requests: all {finished} FINISHED "
        "in "
        f"{elapsed:.2f} s ({firings / elapsed:,.0f} firings/s, {attempts} attempts)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--automations", type=int, default=100)
    parser.add_argument("--firings", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    print(
        f"ingest: {args.runs} runs x {args.steps:,} steps x {len(METRICS)} metrics, batches of "
        f"{BATCH:,}"
    )
    with LocalServer(db=tmp / "none.db") as server:
        baseline = ingest(server, 0, args.runs, args.steps)
    with LocalServer(db=tmp / "many.db") as server:
        loaded = ingest(server, args.automations, args.runs, args.steps)
    with LocalServer(db=tmp / "distinct.db") as server:
        distinct = ingest(server, args.automations, args.runs, args.steps, distinct=True)
    print(
        f"  with {args.automations} automations: {loaded / baseline:.0%} of the baseline "
        f"(shared series), {distinct / baseline:.0%} (each its own series); target >= 50%"
    )
    deliveries(tmp, args.firings)


if __name__ == "__main__":
    main()
