"""The SQLite store's session state: the shared algorithm (:mod:`memory.stores.state`) over
SQLite's statements. A state write runs in a ``BEGIN IMMEDIATE`` transaction, which already
excludes every other writer."""

from __future__ import annotations

import time

from memory.stores.rows import StateCheck, StateRow
from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.state import (
    Connection,
    StateDialect,
    machine_spec,
    state_history,
    state_rows,
    write_state,
    write_state_machine,
)


def _ensure_session(conn: Connection, namespace: str, session: str, now: float) -> None:
    """Create the session (and its namespace) if new."""
    conn.execute("INSERT OR IGNORE INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now))
    conn.execute(
        "INSERT OR IGNORE INTO sessions(namespace, session, last_seq, created_at, updated_at) VALUES (?, ?, 0, ?, ?)",
        (namespace, session, now, now),
    )


SQLITE = StateDialect(
    placeholder="?",
    latest="SELECT name, version, value, updated_at FROM state_blocks b WHERE namespace=? AND session=? AND "
    "version=(SELECT MAX(version) FROM state_blocks WHERE namespace=b.namespace AND session=b.session "
    "AND name=b.name)",
    hold_session=_ensure_session,
)


class StateBlocks(SQLiteBase):
    """State blocks (one row per version) and the session's state machine."""

    def state(self, namespace: str, session: str) -> dict[str, StateRow]:
        return state_rows(self._conn(), SQLITE, namespace, session)

    def state_history(self, namespace: str, session: str, name: str) -> list[StateRow]:
        return state_history(self._conn(), SQLITE, namespace, session, name)

    def set_state(
        self,
        namespace: str,
        session: str,
        values: dict[str, str | None],
        *,
        expected: dict[str, int] | None = None,
        check: StateCheck | None = None,
    ) -> dict[str, StateRow]:
        """Write new versions of several blocks in one transaction (JSON text, None removes).

        ``expected``: name -> version the caller saw (0: absent); a mismatch raises
        :class:`Conflict` and writes nothing. ``check(current, machine_spec)`` may raise to refuse.
        """
        with self._write() as conn:
            return write_state(
                conn, SQLITE, namespace, session, values, expected=expected, check=check, now=time.time()
            )

    def state_machine(self, namespace: str, session: str) -> str | None:
        return machine_spec(self._conn(), SQLITE, namespace, session)

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None:
        """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
        with self._write() as conn:
            write_state_machine(conn, SQLITE, namespace, session, spec, initial_stage, time.time())
