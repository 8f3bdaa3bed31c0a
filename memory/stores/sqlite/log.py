"""The SQLite log's writes: the shared algorithm (:mod:`memory.stores.log`) over SQLite's statements,
in one ``BEGIN IMMEDIATE`` transaction, with the chunks' FTS5 rows.

Concurrency: SQLite serializes writers across threads and processes; ``seq`` (per session) and
``pos`` (per namespace) are read and bumped inside the write transaction, so they are gap-free and
strictly increasing whatever the number of writers. Chunk ids come from AUTOINCREMENT inside the
same serialized transaction, so they grow in commit order: an index catches up by reading chunks
above the highest id it has seen.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from typing import Any

from memory.stores.log import LogDialect, NewRows, Scope, SessionLog
from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.state import Connection


def scope_token(kind: str, value: str) -> str:
    """A token that FTS5 indexes as one word, naming a namespace or session."""
    return f"{kind}{hashlib.sha1(value.encode()).hexdigest()[:16]}"


def _last_seq(conn: Connection, namespace: str, session: str, now: float) -> int | None:
    row = conn.execute("SELECT last_seq FROM sessions WHERE namespace=? AND session=?", (namespace, session)).fetchone()
    return None if row is None else int(row[0])


def _open_positions(conn: Connection, namespace: str, session: str, now: float, new_session: bool) -> int:
    """The namespace's last_pos; the namespace and the session are created here if new."""
    row = conn.execute("SELECT last_pos FROM namespaces WHERE namespace=?", (namespace,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now))
    if new_session:
        conn.execute(
            "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) VALUES (?, ?, 0, ?, ?)",
            (namespace, session, now, now),
        )
    return 0 if row is None else int(row[0])


def _insert_id(conn: Connection, sql: str, params: tuple[Any, ...]) -> int:
    return int(conn.execute(sql, params).lastrowid or 0)


def _index_text(conn: Connection, namespace: str, session: str, cid: int, text: str) -> None:
    conn.execute(
        "INSERT INTO chunks_fts(rowid, text, scope) VALUES (?, ?, ?)",
        (cid, text, f"{scope_token('n', namespace)} {scope_token('s', session)}"),
    )


def _close_append(conn: Connection, rows: NewRows) -> None:
    conn.execute("UPDATE namespaces SET last_pos=? WHERE namespace=?", (rows.last_pos, rows.namespace))


def _no_locks(conn: Connection, namespace: str, scopes: list[Scope]) -> None:
    """The ``BEGIN IMMEDIATE`` transaction already excludes every other writer."""


def _delete_chunks(conn: Connection, namespace: str, scope: Scope) -> None:
    _, where, args = scope
    ids = [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE {where}", args)]
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({','.join('?' * len(batch))})", batch)
    conn.execute(f"DELETE FROM chunks WHERE {where}", args)


def _merge_full_text(conn: Connection) -> None:
    # FTS5 before 3.42 has no 'secure-delete': a merge rewrites the segments without the words
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")


SQLITE_LOG = LogDialect(
    placeholder="?",
    open_session=_last_seq,
    open_positions=_open_positions,
    insert_id=_insert_id,
    vector_column="vector",
    vector_value=lambda vec: vec.tobytes(),  # an empty blob: not embedded yet (schema.PENDING)
    chunk_text=lambda text: text,
    index_text=_index_text,
    close_append=_close_append,
    lock_scopes=_no_locks,
    delete_chunks=_delete_chunks,
    close_delete=_merge_full_text,
)


class LogWrites(SessionLog, SQLiteBase):
    """Appends and deletes."""

    log_dialect = SQLITE_LOG

    def _log_write(self) -> AbstractContextManager[Connection]:
        return self._write()

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace or one session (with its ``::summaries`` companion): log rows,
        chunks, full-text entries, tool-call links, idempotency keys, state. Returns the number
        of messages removed; raises :class:`NotFound` if there was nothing. The freed pages are
        zeroed (``secure_delete``), the full-text index is merged so no segment keeps the words,
        and the WAL is checkpointed and truncated: the words are gone from the files too."""
        total = super().delete(namespace, session)
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return total
