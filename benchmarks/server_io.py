"""Benchmark: ingest and full-resolution fetch through Api against a LocalServer.

    .venv/bin/python benchmarks/server_io.py [--runs 100] [--steps 10000] [--batch 1000]

Ingest: runs x steps x 5 metrics logged through ``LoggedRun.log`` in batches (file_stream).
Fetch: one metric of every run through ``Api.histories`` (batched, concurrent), best of 3.
Baselines, measured in the same run: ``executemany`` of the same points into a bare
SQLite table, and a raw read and decode of the same points from the server's own file.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from wandb_auto_widget import LocalServer

METRICS = ("loss", "val/loss", "acc", "lr", "grad_norm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    tmp = Path(tempfile.mkdtemp(prefix="server-io-"))
    points = args.runs * args.steps * len(METRICS)

    with LocalServer(db=tmp / "bench.db") as server:
        api = server.api
        api.create_project("bench")
        runs = [api.init_run("local/bench", run_id=f"run-{r:03d}") for r in range(args.runs)]
        batches = []
        for _ in runs:
            values = rng.standard_normal((args.steps, len(METRICS))).tolist()
            batches.append(
                [
                    {"_step": s, "_timestamp": 1.7e9 + s, **dict(zip(METRICS, row, strict=True))}
                    for s, row in enumerate(values)
                ]
            )
        start = time.perf_counter()
        for run, rows in zip(runs, batches, strict=True):
            for i in range(0, len(rows), args.batch):
                run.log(rows[i : i + args.batch])
        ingest_s = time.perf_counter() - start

        # Baseline: the same points straight into a bare SQLite table, in one transaction.
        raw = sqlite3.connect(tmp / "baseline.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute(
            "CREATE TABLE v (run INTEGER, key INTEGER, step INTEGER, ts REAL, value REAL, "
            "PRIMARY KEY (run, key, step)) WITHOUT ROWID"
        )
        start = time.perf_counter()
        raw.execute("BEGIN")
        for r, rows in enumerate(batches):
            raw.executemany(
                "INSERT INTO v VALUES (?, ?, ?, ?, ?)",
                [
                    (r, k, row["_step"], row["_timestamp"], row[m])
                    for row in rows
                    for k, m in enumerate(METRICS)
                ],
            )
        raw.execute("COMMIT")
        raw_ingest_s = time.perf_counter() - start

        fetch_points = args.runs * args.steps
        paths = [r.path for r in runs]
        fetch_s = float("inf")
        for _ in range(3):  # best of 3, as for the baseline below
            start = time.perf_counter()
            fetched = api.histories(paths, ["val/loss"], concurrency=args.concurrency)
            fetch_s = min(fetch_s, time.perf_counter() - start)
        got = sum(len(c["val/loss"]) for c in fetched.values())
        assert got == fetch_points, f"fetched {got} points, expected {fetch_points}"

        # Baseline: read the same points straight from the store's file and decode them,
        # with no server, GraphQL or HTTP in between.
        store = sqlite3.connect(tmp / "bench.db")
        key_id = store.execute("SELECT id FROM metric_keys WHERE name = 'val/loss'").fetchone()[0]
        raw_fetch_s = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            raw_rows = 0
            for (run_id,) in store.execute("SELECT id FROM runs").fetchall():
                parts = store.execute(
                    "SELECT steps, ts, vals FROM history_chunks WHERE run_id = ? AND key_id = ? "
                    "ORDER BY first_step",
                    (run_id, key_id),
                ).fetchall()
                steps = np.frombuffer(b"".join(p[0] for p in parts), "<i8")
                np.frombuffer(b"".join(p[1] for p in parts), "<f8")
                np.frombuffer(b"".join(p[2] for p in parts), "<f8")
                raw_rows += steps.size
            raw_fetch_s = min(raw_fetch_s, time.perf_counter() - start)
        assert raw_rows == fetch_points

    print(f"{args.runs} runs x {args.steps:,} steps x {len(METRICS)} metrics = {points:,} points")
    print(
        f"ingest via Api (file_stream, batches of {args.batch:,}): {ingest_s:.2f} s, "
        f"{points / ingest_s:,.0f} points/s"
    )
    print(
        f"  baseline, raw sqlite executemany:      {raw_ingest_s:.2f} s, "
        f"{points / raw_ingest_s:,.0f} points/s  (Api is {ingest_s / raw_ingest_s:.2f}x the time)"
    )
    print(
        f"fetch one metric via Api.histories:     {fetch_s:.2f} s, "
        f"{fetch_points / fetch_s:,.0f} points/s"
    )
    print(
        f"  baseline, raw read of the same chunks:  {raw_fetch_s:.2f} s, "
        f"{fetch_points / raw_fetch_s:,.0f} points/s  "
        f"(Api is {fetch_s / raw_fetch_s:.2f}x the time)"
    )


if __name__ == "__main__":
    main()
