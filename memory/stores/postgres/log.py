"""The PostgreSQL log's writes: the shared algorithm (:mod:`memory.stores.log`) over PostgreSQL's
statements, safe with writers in many processes and hosts.

Locking: a row lock on the session's row, then, for the last statement only, on the namespace's.

- ``append`` first upserts the ``sessions`` row with ``ON CONFLICT DO UPDATE ... RETURNING
  last_seq``, which creates the row if needed and locks it until commit in one statement. Writers
  of one session queue there; the idempotency key, the message ids and ``base_seq`` are checked
  after the lock is held, so two racing retries store once. Seqs are gap-free because they are
  read from and written back to the locked row in the same transaction.
- ``pos`` (the namespace's gap-free, commit-ordered timeline) is taken at the very end: one
  upsert bumps ``namespaces.last_pos`` by the number of new messages and locks the row, then the
  new messages get their positions and the transaction commits. Writers of different sessions of
  one namespace therefore overlap for everything (chunks, full-text and HNSW inserts) except that
  last statement and the commit.
- The namespace row also holds BM25's statistics (its chunk count and tokens): they change in
  that same last statement (and in deletes, which lock the row too), so they add no lock.
- Every writer takes the session lock before the namespace lock, and deletes lock the sessions
  (in name order) before the namespace, so the lock graph has no cycle: no deadlocks.

Why row locks and not advisory locks: the lock is on the row that holds ``last_seq``, so reading
and bumping it is one statement; it is released by commit or rollback whatever happens to the
client (an advisory lock taken at session level outlives a failed transaction on a pooled
connection, and a transaction-level one adds a hash key that can collide); and it works behind
PgBouncer in transaction mode and on managed PostgreSQL without extra grants.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from memory.stores.log import LogDialect, NewRows, Scope, SessionLog
from memory.stores.postgres.connection import PgBase
from memory.stores.state import Connection


def clean_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL; the search row gets U+FFFD (the message keeps the original)."""
    return text.replace("\x00", "\ufffd")


def _lock_session(conn: Connection, namespace: str, session: str, now: float) -> int:
    """Create the session row if new and lock it until commit; its last_seq."""
    return int(
        conn.execute(
            "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) "
            "VALUES (%s, %s, 0, %s, %s) ON CONFLICT (namespace, session) "
            "DO UPDATE SET last_seq = sessions.last_seq RETURNING last_seq",
            (namespace, session, now, now),
        ).fetchone()[0]
    )


def _positions_at_the_end(conn: Connection, namespace: str, session: str, now: float, new_session: bool) -> int:
    """Positions are given by the last statement (``_take_positions``), under the namespace lock."""
    return 0


def _insert_id(conn: Connection, sql: str, params: tuple[Any, ...]) -> int:
    return int(conn.execute(sql + " RETURNING id", params).fetchone()[0])


def _generated_tsv(conn: Connection, namespace: str, session: str, cid: int, text: str) -> None:
    """``chunks.tsv`` is a generated column: the chunk's insert wrote its full-text row."""


def _take_positions(conn: Connection, rows: NewRows) -> None:
    # last: the namespace row lock, held only for this and the commit; BM25's
    # statistics (chunk count and tokens) ride on the same row and the same lock
    new = len(rows.message_ids)
    last_pos = int(
        conn.execute(
            "INSERT INTO namespaces(namespace, last_pos, created_at, chunks, chunk_tokens) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (namespace) DO UPDATE SET "
            "last_pos = namespaces.last_pos + excluded.last_pos, "
            "chunks = namespaces.chunks + excluded.chunks, "
            "chunk_tokens = namespaces.chunk_tokens + excluded.chunk_tokens RETURNING last_pos",
            (rows.namespace, new, rows.now, rows.chunks, rows.chunk_tokens),
        ).fetchone()[0]
    )
    if new:
        conn.execute(
            "UPDATE messages m SET pos = %s + k.ord FROM unnest(%s::bigint[]) WITH ORDINALITY AS k(id, ord) "
            "WHERE m.id = k.id",
            (last_pos - new, rows.message_ids),
        )


def _lock_scopes(conn: Connection, namespace: str, scopes: list[Scope]) -> None:
    """The sessions (in name order), then the namespace: the order every writer takes them in."""
    for _, where, args in scopes:
        conn.execute(f"SELECT 1 FROM sessions WHERE {where} ORDER BY session FOR UPDATE", args)
    conn.execute("SELECT 1 FROM namespaces WHERE namespace=%s FOR UPDATE", (namespace,))


def _delete_chunks(conn: Connection, namespace: str, scope: Scope) -> None:
    """The chunks (their full-text and vector entries are columns of the row) and, for a session,
    their share of the namespace's BM25 statistics (a namespace's row goes with it)."""
    session, where, args = scope
    gone = conn.execute(
        f"WITH d AS (DELETE FROM chunks WHERE {where} RETURNING tokens) "
        "SELECT count(*), COALESCE(sum(tokens), 0) FROM d",
        args,
    ).fetchone()
    if session is not None and gone is not None and gone[0]:
        conn.execute(
            "UPDATE namespaces SET chunks = chunks - %s, chunk_tokens = chunk_tokens - %s WHERE namespace=%s",
            (gone[0], gone[1], namespace),
        )


def _nothing(conn: Connection) -> None:
    """Nothing to tidy after a delete."""


POSTGRES_LOG = LogDialect(
    placeholder="%s",
    open_session=_lock_session,
    open_positions=_positions_at_the_end,
    insert_id=_insert_id,
    vector_column="embedding",
    vector_value=lambda vec: vec if vec.size else None,  # NULL: embedded right after the commit
    chunk_text=clean_text,
    index_text=_generated_tsv,
    close_append=_take_positions,
    lock_scopes=_lock_scopes,
    delete_chunks=_delete_chunks,
    close_delete=_nothing,
)


class LogWrites(SessionLog, PgBase):
    """Appends and deletes."""

    log_dialect = POSTGRES_LOG

    def _log_write(self) -> AbstractContextManager[Connection]:
        return self._write()
