"""The PostgreSQL store's session state: versioned blocks written conditionally, and the stage machine.

A state write locks the session's row (the same lock as ``append``) before it reads the current
versions, so two writers that both read version 3 cannot both write version 4: the second sees 4
and its ``expected`` check fails with a Conflict.
"""

from __future__ import annotations

import json
import time

import psycopg

from memory.stores.postgres.connection import PgBase
from memory.stores.rows import StateCheck, StateRow, plan_state_write


class StateBlocks(PgBase):
    """State blocks (one row per version) and the session's state machine."""

    @staticmethod
    def _lock_session(conn: psycopg.Connection, namespace: str, session: str, now: float) -> None:
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

    @staticmethod
    def _state_rows(conn: psycopg.Connection, namespace: str, session: str) -> dict[str, StateRow]:
        """name -> (latest version, JSON value or None if removed, updated_at)."""
        rows = conn.execute(
            "SELECT DISTINCT ON (name) name, version, value, updated_at FROM state_blocks "
            "WHERE namespace=%s AND session=%s ORDER BY name, version DESC",
            (namespace, session),
        ).fetchall()
        return {name: (int(v), value, float(t)) for name, v, value, t in rows}

    def state(self, namespace: str, session: str) -> dict[str, StateRow]:
        with self._read() as conn:
            return self._state_rows(conn, namespace, session)

    def state_history(self, namespace: str, session: str, name: str) -> list[StateRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT version, value, updated_at FROM state_blocks WHERE namespace=%s AND session=%s AND name=%s "
                "ORDER BY version",
                (namespace, session, name),
            ).fetchall()
        return [(int(v), value, float(t)) for v, value, t in rows]

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
        now = time.time()
        with self._write() as conn:
            self._lock_session(conn, namespace, session, now)
            current = self._state_rows(conn, namespace, session)
            spec = self._spec(conn, namespace, session) if check is not None else None
            out = plan_state_write(current, values, expected=expected, check=check, spec=spec, now=now)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    [(namespace, session, name, v, value, t) for name, (v, value, t) in out.items()],
                )
        return out

    @staticmethod
    def _spec(conn: psycopg.Connection, namespace: str, session: str) -> str | None:
        row = conn.execute(
            "SELECT spec FROM state_machines WHERE namespace=%s AND session=%s", (namespace, session)
        ).fetchone()
        return None if row is None else str(row[0])

    def state_machine(self, namespace: str, session: str) -> str | None:
        with self._read() as conn:
            return self._spec(conn, namespace, session)

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None:
        """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
        now = time.time()
        with self._write() as conn:
            self._lock_session(conn, namespace, session, now)
            if spec is None:
                conn.execute("DELETE FROM state_machines WHERE namespace=%s AND session=%s", (namespace, session))
                return
            conn.execute(
                "INSERT INTO state_machines(namespace, session, spec) VALUES (%s, %s, %s) "
                "ON CONFLICT (namespace, session) DO UPDATE SET spec=excluded.spec",
                (namespace, session, spec),
            )
            stage = self._state_rows(conn, namespace, session).get("stage")
            if initial_stage is not None and (stage is None or stage[1] is None):
                version = 1 if stage is None else stage[0] + 1
                conn.execute(
                    "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) "
                    "VALUES (%s, %s, 'stage', %s, %s, %s)",
                    (namespace, session, version, json.dumps(initial_stage), now),
                )
