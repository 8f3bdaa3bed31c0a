"""SQLite connections (one per thread, WAL), the write transaction, the schema on open, and meta.

A write transaction that fails in the storage (disk full, busy past the timeout, an I/O error)
is rolled back and raised as :class:`memory.errors.StorageError` (:mod:`memory.stores.faults`)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from memory.stores.faults import storage_error
from memory.stores.schema import upgrade
from memory.stores.sqlite.schema import SCHEMA_V1, SCHEMA_VERSION, STEPS
from memory.stores.tombstones import SALT_KEY, new_salt


class SQLiteBase:
    """Connections and transactions; the concern modules (log, reads, search, state, caches) build on it."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.synchronous = synchronous
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._open_schema()

    def _open_schema(self) -> None:
        """Create the tables, or read the version found and step it up, in one transaction."""
        with self._write() as conn:
            fresh = conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() is None
            if fresh:
                for statement in SCHEMA_V1.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                found = 1
            else:
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                found = 1 if row is None else int(row[0])
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (SALT_KEY, new_salt()))
            steps = {v: partial(step, conn) for v, step in STEPS.items()}
            done = upgrade(found, SCHEMA_VERSION, steps, where=str(self.path))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        if done and not fresh:  # what a step rewrote (names in clear, say) leaves the WAL too
            self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA secure_delete=ON")  # a deleted row's bytes are zeroed, not left in free pages
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE so writers queue up front."""
        conn = conn or self._conn()
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:  # busy beyond busy_timeout: retry until ours
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    fault = storage_error(exc)
                    if fault is None:
                        raise
                    raise fault from exc
                time.sleep(0.01)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite may have rolled back already (SQLITE_FULL, an I/O error): a second ROLLBACK
            # would raise and hide the cause; a failed COMMIT leaves the transaction open.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            fault = storage_error(exc) if isinstance(exc, sqlite3.Error) else None
            if fault is not None:
                raise fault from exc
            raise

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                try:
                    conn.close()
                except sqlite3.Error:  # pragma: no cover
                    pass
            self._conns.clear()
        self._local = threading.local()

    def data_version(self) -> int:
        """Changes when another connection (thread or process) commits."""
        return int(self._conn().execute("PRAGMA data_version").fetchone()[0])

    # -- meta ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def live_index(self, dim: int) -> None:
        """SQLite keeps vectors in the log; search goes through a derived index (FAISS, Chroma)."""
        return None
