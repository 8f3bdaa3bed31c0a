"""The SQLite store's session state: versioned blocks written conditionally, and the stage machine."""

from __future__ import annotations

import json
import sqlite3
import time

from memory.stores.rows import StateCheck, StateRow, plan_state_write
from memory.stores.sqlite.connection import SQLiteBase


class StateBlocks(SQLiteBase):
    """State blocks (one row per version) and the session's state machine."""

    @staticmethod
    def _ensure_session(conn: sqlite3.Connection, namespace: str, session: str, now: float) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now)
        )
        conn.execute(
            "INSERT OR IGNORE INTO sessions(namespace, session, last_seq, created_at, updated_at) "
            "VALUES (?, ?, 0, ?, ?)",
            (namespace, session, now, now),
        )

    @staticmethod
    def _state_rows(conn: sqlite3.Connection, namespace: str, session: str) -> dict[str, StateRow]:
        """name -> (latest version, JSON value or None if removed, updated_at)."""
        rows = conn.execute(
            "SELECT name, version, value, updated_at FROM state_blocks b WHERE namespace=? AND session=? AND "
            "version=(SELECT MAX(version) FROM state_blocks WHERE namespace=b.namespace AND session=b.session "
            "AND name=b.name)",
            (namespace, session),
        )
        return {name: (int(v), value, float(t)) for name, v, value, t in rows}

    def state(self, namespace: str, session: str) -> dict[str, StateRow]:
        return self._state_rows(self._conn(), namespace, session)

    def state_history(self, namespace: str, session: str, name: str) -> list[StateRow]:
        rows = self._conn().execute(
            "SELECT version, value, updated_at FROM state_blocks WHERE namespace=? AND session=? AND name=? "
            "ORDER BY version",
            (namespace, session, name),
        )
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
            current = self._state_rows(conn, namespace, session)
            spec = None
            if check is not None:
                row = conn.execute(
                    "SELECT spec FROM state_machines WHERE namespace=? AND session=?", (namespace, session)
                ).fetchone()
                spec = row[0] if row else None
            out = plan_state_write(current, values, expected=expected, check=check, spec=spec, now=now)
            self._ensure_session(conn, namespace, session, now)
            conn.executemany(
                "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(namespace, session, name, v, value, t) for name, (v, value, t) in out.items()],
            )
        return out

    def state_machine(self, namespace: str, session: str) -> str | None:
        row = (
            self._conn()
            .execute("SELECT spec FROM state_machines WHERE namespace=? AND session=?", (namespace, session))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None:
        """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
        now = time.time()
        with self._write() as conn:
            self._ensure_session(conn, namespace, session, now)
            if spec is None:
                conn.execute("DELETE FROM state_machines WHERE namespace=? AND session=?", (namespace, session))
                return
            conn.execute(
                "INSERT INTO state_machines(namespace, session, spec) VALUES (?, ?, ?) "
                "ON CONFLICT(namespace, session) DO UPDATE SET spec=excluded.spec",
                (namespace, session, spec),
            )
            stage = self._state_rows(conn, namespace, session).get("stage")
            if initial_stage is not None and (stage is None or stage[1] is None):
                version = 1 if stage is None else stage[0] + 1
                conn.execute(
                    "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) "
                    "VALUES (?, ?, 'stage', ?, ?, ?)",
                    (namespace, session, version, json.dumps(initial_stage), now),
                )
