"""SQLite access: WAL, foreign keys, migrations, one writer and per-thread readers."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .migrations import MIGRATIONS


def now() -> str:
    """The current UTC time as W&B formats it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(epoch: float) -> str:
    """Epoch seconds as W&B formats times."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Database:
    """A SQLite file shared by the server's threads.

    Writes go through :meth:`write`, one at a time, each in a transaction: either all of
    it lands or none of it does. Reads use a read-only connection per thread, which WAL lets
    run alongside the writer. :meth:`close` closes every connection it opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._connect()
        self._migrate()

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        if read_only and self.path != ":memory:":
            target, uri = f"{Path(self.path).resolve().as_uri()}?mode=ro", True
        else:
            target, uri = self.path, False
        conn = sqlite3.connect(target, uri=uri, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if read_only:
            conn.execute("PRAGMA query_only=ON")  # also for an in-memory database
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the process
            conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _migrate(self) -> None:
        # Foreign keys off while migrating, so that a table rebuild's DROP TABLE does not
        # cascade into the rows that reference it; checked before the commit instead.
        self._writer.execute("PRAGMA foreign_keys=OFF")
        try:
            with self.write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={number}")
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise sqlite3.IntegrityError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            self._writer.execute("PRAGMA foreign_keys=ON")

    @property
    def schema_version(self) -> int:
        return int(self.read().execute("PRAGMA user_version").fetchone()[0])

    def read(self) -> sqlite3.Connection:
        """This thread's read-only connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(read_only=True)
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, rolled back on error."""
        with self._write_lock:
            conn = self._writer
            if conn.in_transaction:  # nested: join the outer transaction
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the writer and every thread's reader."""
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        self._writer.close()
