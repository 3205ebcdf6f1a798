"""A large project for the preview benchmark: RUNS runs x STEPS steps of val/loss, written
once into an embedded server's SQLite file and reused by later runs of the benchmark.

    .venv/bin/python benchmarks/large_project.py [--runs 1000] [--steps 100000]

Rows go through the store's own ingestion (``append_lines``, the function file_stream
uses), so the file is exactly what a server that had received these runs would hold; only
the HTTP hop is skipped, because seeding speed is not what the benchmark measures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import orjson

from wandb_auto_widget.server.store import history
from wandb_auto_widget.server.store import runs as store_runs
from wandb_auto_widget.server.store.db import Database

ENTITY, PROJECT = "local", "large"
CACHE = Path(__file__).resolve().parents[1] / ".bench"


def database_path(runs: int, steps: int) -> Path:
    return CACHE / f"large-{runs}x{steps}.db"


def seeded(runs: int, steps: int) -> Path:
    """The seeded database, written if it is not there yet (a marker file says it is whole)."""
    path = database_path(runs, steps)
    done = path.with_suffix(".done")
    if done.exists():
        return path
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    start = time.perf_counter()
    db = Database(path)
    rng = np.random.default_rng(7)
    for r in range(runs):
        # Curves that settle at different levels, so a threshold fires in some runs only,
        # with a few spikes as real training has.
        step = np.arange(steps)
        floor = 0.2 + 0.6 * rng.random()
        loss = 2 * np.exp(-step / (steps / 5)) + floor + 0.05 * rng.standard_normal(steps)
        loss[rng.integers(0, steps, 5)] += 1.5
        stamps = 1.7e9 + r * 3_600 + step * 2.0
        lines = [
            orjson.dumps({"_step": s, "_timestamp": t, "val/loss": v}).decode()
            for s, t, v in zip(step.tolist(), stamps.tolist(), loss.tolist(), strict=True)
        ]
        with db.write() as conn:
            data = {
                "entityName": ENTITY,
                "modelName": PROJECT,
                "name": f"sweep-{r:04d}",
                "state": "finished",
            }
            run, _ = store_runs.upsert_run(conn, data, ENTITY)
            history.append_lines(conn, run, 0, lines, float(stamps[-1]))
        if r % 100 == 99:
            print(f"seeded {r + 1} runs in {time.perf_counter() - start:.0f} s", flush=True)
    db.close()
    done.write_text(f"{runs} runs x {steps} steps\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    print(seeded(args.runs, args.steps))


if __name__ == "__main__":
    main()
