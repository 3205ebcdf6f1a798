"""The engine's state per run: the running windows of each watched metric (shared by every
automation on it, ``preview.windows.Windows`` in binary), and each automation's fire-policy
state, saved with the fingerprint of the filter it was saved for."""

from __future__ import annotations

import sqlite3


def load_windows(conn: sqlite3.Connection, run_id: int) -> dict[str, bytes]:
    return dict(
        conn.execute("SELECT metric, state FROM metric_windows WHERE run_id = ?", (run_id,))
    )


def save_windows(conn: sqlite3.Connection, rows: list[tuple[int, str, bytes]]) -> None:
    """(run id, metric, windows) rows, inserted or replaced."""
    conn.executemany(
        "INSERT INTO metric_windows(run_id, metric, state) VALUES (?, ?, ?) "
        "ON CONFLICT(run_id, metric) DO UPDATE SET state = excluded.state",
        rows,
    )


def load_policies(conn: sqlite3.Connection, run_id: int) -> dict[int, tuple[str, str]]:
    """trigger id -> (fingerprint, policy state JSON) for one run."""
    return {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            "SELECT trigger_id, fingerprint, state FROM evaluator_state WHERE run_id = ?", (run_id,)
        )
    }


def save_policies(conn: sqlite3.Connection, rows: list[tuple[int, int, str, str]]) -> None:
    """(trigger id, run id, fingerprint, state) rows, inserted or replaced."""
    conn.executemany(
        "INSERT INTO evaluator_state(trigger_id, run_id, fingerprint, state) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(trigger_id, run_id) DO UPDATE SET fingerprint = excluded.fingerprint, "
        "state = excluded.state",
        rows,
    )
