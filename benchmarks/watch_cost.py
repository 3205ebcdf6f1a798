"""Benchmark: what a watcher poll costs against W&B, by active runs, not by all runs.

    .venv/bin/python benchmarks/watch_cost.py [--runs 1000] [--active 10] [--polls 5]

A stand-in for W&B (an embedded server with our additions off, so only W&B's documents work)
holds ``--runs`` finished runs and ``--active`` running ones that keep logging. A plateau rule
watches ``loss``. After the first poll (which mirrors everything), each poll follows a round
of logging by the active runs. Prints requests, runs listed and rows fetched per steady poll,
against the baseline a user would script: list every run, then fetch each running run's
whole history.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.automations import DoNothing, OnRunMetric, RunEvent
from wandb_auto_widget.server.watcher import Watcher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--active", type=int, default=10)
    parser.add_argument("--polls", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="watch-bench-"))
    with (
        LocalServer(db=tmp / "wandb.db", wandb_only=True) as standin,
        LocalServer(db=tmp / "local.db", tick_seconds=3600) as local,
    ):
        standin.api.create_project("bench")
        for i in range(args.runs):
            run = standin.api.init_run("local/bench", run_id=f"done-{i}")
            run.log([{"loss": 1.0 / (s + 1)} for s in range(20)])
            run.finish()
        active = [
            standin.api.init_run("local/bench", run_id=f"live-{i}") for i in range(args.active)
        ]
        time.sleep(1.1)  # W&B's heartbeats have whole seconds
        for run in active:
            run.log([{"loss": 1.0} for _ in range(20)])
        project = local.api.create_project("bench")
        local.api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss").plateau(patience=50))
            >> DoNothing(),
            name="plateau",
        )
        remote = Api(base_url=standin.base_url, api_key=standin.api_key)
        watcher = Watcher(remote, local, ["local/bench"])
        started = time.perf_counter()
        (first,) = watcher.poll()
        print(
            f"first poll (mirrors {args.runs + args.active} runs): {first.requests} requests, "
            f"{first.rows:,} rows, {time.perf_counter() - started:.1f} s"
        )
        steady = []
        for _ in range(args.polls):
            time.sleep(1.1)
            for run in active:
                run.log([{"loss": 1.0} for _ in range(10)])
            (stats,) = watcher.poll()
            steady.append(stats)
        # The baseline: list every run, then fetch each running run's whole history.
        sent = remote.requests_sent
        listed = remote.runs("local/bench", per_page=50)
        running = [r for r in listed if r.state == "running"]
        rows = sum(remote.history(r, ["loss"])["loss"].size for r in running)
        baseline = remote.requests_sent - sent
    requests = statistics.mean(s.requests for s in steady)
    print(
        f"steady poll ({args.active} of {args.runs + args.active} runs active, "
        f"{args.polls} polls): {requests:.1f} requests, "
        f"{statistics.mean(s.runs_listed for s in steady):.1f} runs listed, "
        f"{statistics.mean(s.rows for s in steady):.0f} rows fetched, "
        f"{statistics.mean(s.seconds for s in steady) * 1000:.0f} ms"
    )
    print(
        f"baseline (list all runs, fetch each running run's history): {baseline} requests, "
        f"{len(listed)} runs listed, {rows:,} rows; the watcher needs "
        f"{requests / baseline:.2f}x the requests"
    )


if __name__ == "__main__":
    main()
