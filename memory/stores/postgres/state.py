"""The PostgreSQL store's session state: the shared algorithm (:mod:`memory.stores.state`) over
PostgreSQL's statements. A state write holds the session's row lock (the one ``append`` takes)
from before it reads the current versions until it commits."""

from __future__ import annotations

import time

from memory.stores.postgres.connection import PgBase
from memory.stores.rows import StateCheck, StateRow
from memory.stores.state import (
    Connection,
    StateDialect,
    machine_spec,
    state_history,
    state_rows,
    write_state,
    write_state_machine,
)


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


POSTGRES = StateDialect(
    placeholder="%s",
    latest="SELECT DISTINCT ON (name) name, version, value, updated_at FROM state_blocks "
    "WHERE namespace=? AND session=? ORDER BY name, version DESC",
    hold_session=_lock_session,
)


class StateBlocks(PgBase):
    """State blocks (one row per version) and the session's state machine."""

    def state(self, namespace: str, session: str) -> dict[str, StateRow]:
        with self._read() as conn:
            return state_rows(conn, POSTGRES, namespace, session)

    def state_history(self, namespace: str, session: str, name: str) -> list[StateRow]:
        with self._read() as conn:
            return state_history(conn, POSTGRES, namespace, session, name)

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
                conn, POSTGRES, namespace, session, values, expected=expected, check=check, now=time.time()
            )

    def state_machine(self, namespace: str, session: str) -> str | None:
        with self._read() as conn:
            return machine_spec(conn, POSTGRES, namespace, session)

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None:
        """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
        with self._write() as conn:
            write_state_machine(conn, POSTGRES, namespace, session, spec, initial_stage, time.time())
