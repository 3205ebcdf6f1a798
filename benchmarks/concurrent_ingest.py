"""Benchmark: many writers at once against one embedded server, with readers and CRUD.

    .venv/bin/python benchmarks/concurrent_ingest.py [--writers 16] [--batches 40]

The server runs in its own process (``wandb-auto-widget server``), as users run it. Each
writer is a thread with its own run, logging batches of 100 rows x 5 metrics through
``Api.init_run(...).log(...)`` and then ``finish()``. Meanwhile one reader lists runs and
fetches history, and one thread creates, updates and deletes automations.

Baseline, measured in the same run against a fresh server: one writer alone, logging the
same batches. Checked afterwards: no request failed, the server never logged "database
is locked", and every point a writer was told was stored is stored.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from wandb_auto_widget import Api
from wandb_auto_widget.automations import DoNothing, OnRunMetric, RunEvent

METRICS = ("loss", "val/loss", "acc", "lr", "grad_norm")
ROWS = 100


KEY = "bench-" + "0" * 40


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[str], Api]:
    command = ["server", "--port", "0", "--db", str(db), "--api-key", KEY]
    process = subprocess.Popen(
        [sys.executable, "-m", "wandb_auto_widget.cli", *command],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().removeprefix("WANDB_BASE_URL=")
    return process, Api(base_url=url, api_key=KEY, max_retries=0)


def write(api: Api, name: str, batches: int, latencies: list[float], errors: list[str]) -> int:
    """One writer: returns the points the server acknowledged."""
    acknowledged = 0
    try:
        run = api.init_run("local/bench", run_id=name)
        for b in range(batches):
            rows = [
                {"_step": b * ROWS + i, **{m: (b * ROWS + i) * 1e-3 for m in METRICS}}
                for i in range(ROWS)
            ]
            started = time.perf_counter()
            run.log(rows)
            latencies.append(time.perf_counter() - started)
            acknowledged += ROWS * len(METRICS)
        run.finish()
    except Exception as exc:  # reported, and the benchmark fails
        errors.append(f"{name}: {exc!r}")
    return acknowledged


def measure(writers: int, batches: int, with_load: bool, tmp: Path) -> dict[str, object]:
    log = tmp / f"server-{writers}.log"
    process, api = start_server(tmp / f"bench-{writers}.db", log)
    try:
        project = api.create_project("bench")
        latencies: list[float] = []
        errors: list[str] = []
        acknowledged = [0] * writers
        stop = threading.Event()
        side_requests = [0]

        def reader() -> None:
            while not stop.is_set():
                try:
                    listed = api.runs("local/bench", per_page=50)
                    if listed:
                        api.histories(listed[:4], ["loss"])
                    side_requests[0] += 2
                except Exception as exc:
                    errors.append(f"reader: {exc!r}")

        def crud() -> None:
            i = 0
            while not stop.is_set():
                try:
                    made = api.create_automation(
                        OnRunMetric(scope=project, filter=RunEvent.metric("loss") > 1e9)
                        >> DoNothing(),
                        name=f"a{i}",
                    )
                    api.update_automation(made, description="edited")
                    api.delete_automation(made)
                    side_requests[0] += 3
                    i += 1
                except Exception as exc:
                    errors.append(f"crud: {exc!r}")

        def writer(k: int) -> None:
            acknowledged[k] = write(api, f"w{k:02d}", batches, latencies, errors)

        side = [threading.Thread(target=reader), threading.Thread(target=crud)] if with_load else []
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
        for t in side:
            t.start()
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        stop.set()
        for t in side:
            t.join()
        stored = sum(
            len(api.history(f"local/bench/w{k:02d}", ["loss"])["loss"]) * len(METRICS)
            for k in range(writers)
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    locked = "database is locked" in log.read_text()
    ordered = sorted(latencies)
    return {
        "points": sum(acknowledged),
        "stored": stored,
        "seconds": elapsed,
        "rate": sum(acknowledged) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "errors": errors,
        "locked": locked,
        "side_requests": side_requests[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--batches", type=int, default=40, help="batches per writer")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="concurrent-ingest-"))
    single = measure(1, args.batches * 4, with_load=False, tmp=tmp)
    many = measure(args.writers, args.batches, with_load=True, tmp=tmp)
    for label, result in (("1 writer (baseline)", single), (f"{args.writers} writers", many)):
        print(
            f"{label:22} {result['points']:>9,} points in {result['seconds']:.2f} s = "
            f"{result['rate']:,.0f} points/s; log() p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms"
        )
    print(
        f"with a reader and automation CRUD alongside ({many['side_requests']} requests): "
        f"{args.writers} writers reach {many['rate'] / single['rate']:.2f}x the single-writer "
        "rate (target: at least 0.5x)"
    )
    for result in (single, many):
        assert not result["errors"], result["errors"]
        assert not result["locked"], "the server logged 'database is locked'"
        assert result["stored"] == result["points"], (result["stored"], result["points"])
    print("no errors, no 'database is locked', every acknowledged point stored")


if __name__ == "__main__":
    main()
