"""The SQLite store's session state: the shared algorithm (:mod:`memory.stores.state`) over
SQLite's statements. A state write runs in a ``BEGIN IMMEDIATE`` transaction, which already
excludes every other writer."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.state import Connection, SessionState, StateDialect


def _ensure_session(conn: Connection, namespace: str, session: str, now: float) -> None:
    """Create the session (and its namespace) if new."""
    conn.execute("INSERT OR IGNORE INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now))
    conn.execute(
        "INSERT OR IGNORE INTO sessions(namespace, session, last_seq, created_at, updated_at) VALUES (?, ?, 0, ?, ?)",
        (namespace, session, now, now),
    )


class StateBlocks(SessionState, SQLiteBase):
    """State blocks (one row per version) and the session's state machine."""

    state_dialect = StateDialect(
        placeholder="?",
        latest="SELECT name, version, value, updated_at FROM state_blocks b WHERE namespace=? AND session=? AND "
        "version=(SELECT MAX(version) FROM state_blocks WHERE namespace=b.namespace AND session=b.session "
        "AND name=b.name)",
        hold_session=_ensure_session,
    )

    def _state_read(self) -> AbstractContextManager[Connection]:
        return nullcontext(self._conn())

    def _state_write(self) -> AbstractContextManager[Connection]:
        return self._write()
