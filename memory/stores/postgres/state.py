"""The PostgreSQL store's session state: the shared algorithm (:mod:`memory.stores.state`) over
PostgreSQL's statements. A state write holds the session's row lock (the one ``append`` takes)
from before it reads the current versions until it commits."""

from __future__ import annotations

from contextlib import AbstractContextManager

from memory.stores.postgres.connection import PgBase
from memory.stores.state import Connection, SessionState, StateDialect


def _lock_session(conn: Connection, namespace: str, session: str, now: float) -> None:
    """Create the session (and its namespace) if new, and hold the session row's lock."""
    conn.execute(
        "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) VALUES (%s, %s, 0, %s, %s) "
        "ON CONFLICT (namespace, session) DO UPDATE SET last_seq = sessions.last_seq",
        (namespace, session, now, now),
    )
    conn.execute(
        "INSERT INTO namespaces(namespace, last_pos, created_at) VALUES (%s, 0, %s) ON CONFLICT DO NOTHING",
        (namespace, now),
    )


class StateBlocks(SessionState, PgBase):
    """State blocks (one row per version) and the session's state machine."""

    state_dialect = StateDialect(
        placeholder="%s",
        latest="SELECT DISTINCT ON (name) name, version, value, updated_at FROM state_blocks "
        "WHERE namespace=? AND session=? ORDER BY name, version DESC",
        hold_session=_lock_session,
    )

    def _state_read(self) -> AbstractContextManager[Connection]:
        return self._read()

    def _state_write(self) -> AbstractContextManager[Connection]:
        return self._write()
