"""Session state for every store: versioned blocks written conditionally, and the stage machine.

One algorithm over a small dialect (:class:`StateDialect`): the statements are written once with
``?`` placeholders; a dialect gives its placeholder, its query for the latest version of each
block, and how a write takes hold of its session (SQLite's write transaction already excludes
every other writer; PostgreSQL locks the session's row, the lock ``append`` takes). The session
is held before the current versions are read, so two writers that both read version 3 cannot both
write version 4: the second sees 4 and its ``expected`` check fails with a Conflict.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from memory.stores.rows import StateCheck, StateRow, plan_state_write


class Connection(Protocol):
    """What the algorithm asks of a connection: ``sqlite3.Connection`` and ``psycopg.Connection``
    both run a statement and return a cursor with ``fetchone`` / ``fetchall``."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


@dataclass(frozen=True)
class StateDialect:
    """What differs between the stores' state SQL."""

    placeholder: str
    # name, version, value, updated_at of the latest version of each block of (namespace, session)
    latest: str
    # create the session (and its namespace) if new, and hold it until the transaction ends
    hold_session: Callable[[Connection, str, str, float], None]

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


def state_rows(conn: Connection, d: StateDialect, namespace: str, session: str) -> dict[str, StateRow]:
    """name -> (latest version, JSON value or None if removed, updated_at)."""
    rows = conn.execute(d.sql(d.latest), (namespace, session)).fetchall()
    return {name: (int(v), value, float(t)) for name, v, value, t in rows}


def state_history(conn: Connection, d: StateDialect, namespace: str, session: str, name: str) -> list[StateRow]:
    rows = conn.execute(
        d.sql(
            "SELECT version, value, updated_at FROM state_blocks WHERE namespace=? AND session=? AND name=? "
            "ORDER BY version"
        ),
        (namespace, session, name),
    ).fetchall()
    return [(int(v), value, float(t)) for v, value, t in rows]


def machine_spec(conn: Connection, d: StateDialect, namespace: str, session: str) -> str | None:
    row = conn.execute(
        d.sql("SELECT spec FROM state_machines WHERE namespace=? AND session=?"), (namespace, session)
    ).fetchone()
    return None if row is None else str(row[0])


def _insert_block(conn: Connection, d: StateDialect, namespace: str, session: str, name: str, row: StateRow) -> None:
    conn.execute(
        d.sql(
            "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        (namespace, session, name, *row),
    )


def write_state(
    conn: Connection,
    d: StateDialect,
    namespace: str,
    session: str,
    values: dict[str, str | None],
    *,
    expected: dict[str, int] | None,
    check: StateCheck | None,
    now: float,
) -> dict[str, StateRow]:
    """New versions of several blocks, inside the caller's write transaction (see the store's
    ``set_state``); a Conflict or a refused ``check`` raises before anything is written."""
    d.hold_session(conn, namespace, session, now)
    current = state_rows(conn, d, namespace, session)
    spec = machine_spec(conn, d, namespace, session) if check is not None else None
    out = plan_state_write(current, values, expected=expected, check=check, spec=spec, now=now)
    for name, row in out.items():
        _insert_block(conn, d, namespace, session, name, row)
    return {name: out[name] if name in out else current[name] for name in values}  # a no-op stage: as it is


def write_state_machine(
    conn: Connection,
    d: StateDialect,
    namespace: str,
    session: str,
    spec: str | None,
    initial_stage: str | None,
    now: float,
) -> None:
    """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
    d.hold_session(conn, namespace, session, now)
    if spec is None:
        conn.execute(d.sql("DELETE FROM state_machines WHERE namespace=? AND session=?"), (namespace, session))
        return
    conn.execute(
        d.sql(
            "INSERT INTO state_machines(namespace, session, spec) VALUES (?, ?, ?) "
            "ON CONFLICT (namespace, session) DO UPDATE SET spec=excluded.spec"
        ),
        (namespace, session, spec),
    )
    stage = state_rows(conn, d, namespace, session).get("stage")
    if initial_stage is not None and (stage is None or stage[1] is None):
        version = 1 if stage is None else stage[0] + 1
        _insert_block(conn, d, namespace, session, "stage", (version, json.dumps(initial_stage), now))


class SessionState:
    """The :class:`~memory.stores.base.StateStore` protocol, written once; a store's mixin names its
    dialect (``state_dialect``) and how to get a connection to read with and one in a write transaction."""

    state_dialect: StateDialect

    def _state_read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _state_write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def state(self, namespace: str, session: str) -> dict[str, StateRow]:
        with self._state_read() as conn:
            return state_rows(conn, self.state_dialect, namespace, session)

    def state_history(self, namespace: str, session: str, name: str) -> list[StateRow]:
        with self._state_read() as conn:
            return state_history(conn, self.state_dialect, namespace, session, name)

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
        with self._state_write() as conn:
            return write_state(
                conn, self.state_dialect, namespace, session, values, expected=expected, check=check, now=time.time()
            )

    def state_machine(self, namespace: str, session: str) -> str | None:
        with self._state_read() as conn:
            return machine_spec(conn, self.state_dialect, namespace, session)

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None:
        """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
        with self._state_write() as conn:
            write_state_machine(conn, self.state_dialect, namespace, session, spec, initial_stage, time.time())
