"""The log's writes for every store: ``append`` and ``delete``, written once over a small dialect.

One algorithm over :class:`LogDialect`, as :mod:`memory.stores.state` does for state: the
statements are written once with ``?`` placeholders, and a dialect gives what differs between the
stores (each store's ``log`` module describes its own concurrency):

- how a write takes hold of its session and reads its ``last_seq`` (SQLite reads it inside its
  ``BEGIN IMMEDIATE`` transaction, which already excludes every other writer; PostgreSQL upserts
  the session's row ``RETURNING last_seq``, which locks it until commit);
- when the namespace's gap-free ``pos`` is taken: SQLite reads ``last_pos`` before the messages
  and writes each message with its position; PostgreSQL bumps the namespace row last (its lock is
  held only for that statement and the commit), keeping BM25's statistics on the same row, and
  then gives the new messages their positions;
- how a row's generated id is read, the chunk's vector column and the value that marks a chunk
  still waiting for its vector, the full-text row (SQLite's FTS5 table; PostgreSQL's ``tsvector``
  is a generated column) and how a deleted scope's chunks leave it.

Everything else (idempotency keys, ``base_seq`` conflicts, message-id dedup, tool-call links,
deletes of a session or a namespace) is here, once, with the same errors on both stores.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np

from memory.stores.rows import (
    AppendResult,
    PreparedMessage,
    base_seq_conflict,
    call_answered,
    call_id_reused,
    deleted_sessions,
    idempotency_mismatch,
    key_expired,
    no_such_call,
    nothing_to_delete,
    request_fingerprint,
)
from memory.stores.state import Connection
from memory.stores.tombstones import namespace_key, read_salt

Scope = tuple[str | None, str, tuple[str, ...]]
"""One scope of a delete: (session or None for the whole namespace, WHERE clause, its arguments)."""


@dataclass(frozen=True)
class NewRows:
    """What one append added, for the dialect's last statement (positions, BM25's statistics)."""

    namespace: str
    now: float
    message_ids: list[int]
    last_pos: int  # the last position given (counted from 0 where ``open_positions`` gave 0)
    chunks: int
    chunk_tokens: int


@dataclass(frozen=True)
class LogDialect:
    """What differs between the stores' log SQL."""

    placeholder: str
    # (namespace, session, now) -> the session's last_seq, or None if there is no session yet;
    # called first in the write transaction, it holds the session until the transaction ends
    open_session: Callable[[Connection, str, str, float], int | None]
    # (namespace, session, now, session_is_new) -> the namespace's last_pos before this append,
    # or 0 where positions are given at the end (``close_append``); called once the checks passed
    open_positions: Callable[[Connection, str, str, float, bool], int]
    # (statement, params) -> the id of the row the INSERT statement added
    insert_id: Callable[[Connection, str, tuple[Any, ...]], int]
    # the chunk's vector column, and its value for a vector (an empty one: not embedded yet)
    vector_column: str
    vector_value: Callable[[np.ndarray], object]
    # the chunk's text as stored in its searchable row
    chunk_text: Callable[[str], str]
    # (namespace, session, chunk id, text): the chunk's full-text row, where it is not generated
    index_text: Callable[[Connection, str, str, int, str], None]
    # the last statements of an append, after the session row and the idempotency key are written
    close_append: Callable[[Connection, NewRows], None]
    # (namespace, scopes): take the locks a delete needs before it deletes anything
    lock_scopes: Callable[[Connection, str, list[Scope]], None]
    # (namespace, scope): delete the scope's chunks and their full-text rows
    delete_chunks: Callable[[Connection, str, Scope], None]
    # the last statement of a delete that removed something
    close_delete: Callable[[Connection], None]

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


def _replayed(
    conn: Connection,
    d: LogDialect,
    namespace: str,
    session: str,
    key: str,
    ttl_s: float | None,
    fingerprint: str | None,
    last_seq: int,
    now: float,
) -> AppendResult | None:
    """The first call's result if ``key`` was seen (and has not expired) with the same request."""
    row = conn.execute(
        d.sql("SELECT seqs, fingerprint, created_at FROM idempotency WHERE namespace=? AND session=? AND key=?"),
        (namespace, session, key),
    ).fetchone()
    if row is not None and key_expired(float(row[2]), ttl_s):
        conn.execute(
            d.sql("DELETE FROM idempotency WHERE namespace=? AND session=? AND created_at < ?"),
            (namespace, session, now - (ttl_s or 0.0)),
        )
        row = None
    if row is None:
        return None
    if row[1] is not None and row[1] != fingerprint:
        raise idempotency_mismatch(key, session, last_seq)
    return AppendResult(json.loads(row[0]), [], [], None, replayed=True)


def _link_result(conn: Connection, d: LogDialect, namespace: str, session: str, call_id: str, seq: int, i: int) -> None:
    """Record that the message at ``seq`` answers ``call_id``: a call of the session with no result yet."""
    row = conn.execute(
        d.sql("SELECT result_seq FROM tool_calls WHERE namespace=? AND session=? AND call_id=?"),
        (namespace, session, call_id),
    ).fetchone()
    if row is None:
        raise no_such_call(i, call_id, session)
    if row[0] is not None:
        raise call_answered(i, call_id, int(row[0]))
    conn.execute(
        d.sql("UPDATE tool_calls SET result_seq=? WHERE namespace=? AND session=? AND call_id=?"),
        (seq, namespace, session, call_id),
    )


def append_messages(
    conn: Connection,
    d: LogDialect,
    namespace: str,
    session: str,
    messages: Sequence[PreparedMessage],
    *,
    base_seq: int | None,
    idempotency_key: str | None,
    idempotency_ttl_s: float | None,
    fingerprint: str | None,
    now: float,
) -> AppendResult:
    """The store's ``append``, inside the caller's write transaction: an error raises before the
    transaction commits, so nothing of the batch is stored. ``fingerprint``: the request's, if it
    has an idempotency key; ``now``: the time taken before the transaction began."""
    found_seq = d.open_session(conn, namespace, session, now)
    last_seq = 0 if found_seq is None else found_seq
    if idempotency_key is not None:
        first = _replayed(conn, d, namespace, session, idempotency_key, idempotency_ttl_s, fingerprint, last_seq, now)
        if first is not None:
            return first
    if base_seq is not None and base_seq != last_seq:
        raise base_seq_conflict(last_seq, base_seq)
    last_pos = d.open_positions(conn, namespace, session, now, found_seq is None)
    seqs: list[int] = []
    message_ids: list[int] = []
    chunk_ids: list[int] = []
    chunk_tokens = 0
    vectors: list[np.ndarray] = []
    batch_ids: dict[str, int] = {}
    insert_message = d.sql(
        "INSERT INTO messages(namespace, session, seq, pos, role, msg_id, ts, tokens, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    insert_chunk = d.sql(
        f"INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, tokens, {d.vector_column}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for i, prepared in enumerate(messages):
        msg = prepared.message
        if msg.id is not None:
            if msg.id in batch_ids:
                seqs.append(batch_ids[msg.id])
                continue
            dup = conn.execute(
                d.sql("SELECT seq FROM messages WHERE namespace=? AND session=? AND msg_id=?"),
                (namespace, session, msg.id),
            ).fetchone()
            if dup is not None:
                seqs.append(int(dup[0]))
                continue
        last_seq += 1
        last_pos += 1
        seq = last_seq
        if msg.role == "tool":
            _link_result(conn, d, namespace, session, msg.tool_call_id or "", seq, i)
        for call in msg.tool_calls or ():
            cur = conn.execute(
                d.sql(
                    "INSERT INTO tool_calls(namespace, session, call_id, call_seq) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING"
                ),
                (namespace, session, call.id, seq),
            )
            if cur.rowcount == 0:
                raise call_id_reused(i, call.id, session)
        data = json.dumps(msg.to_record(), ensure_ascii=False)
        row = (namespace, session, seq, last_pos, msg.role, msg.id, prepared.ts, prepared.tokens, data)
        message_id = d.insert_id(conn, insert_message, row)
        message_ids.append(message_id)
        for ch in prepared.chunks:
            vec = np.ascontiguousarray(ch.vector, dtype=np.float32)  # empty: embedded later
            text = d.chunk_text(ch.text)
            values = (message_id, namespace, session, seq, ch.part, ch.parts, ch.kind, text, ch.tokens)
            cid = d.insert_id(conn, insert_chunk, (*values, d.vector_value(vec)))
            d.index_text(conn, namespace, session, cid, text)
            chunk_ids.append(cid)
            chunk_tokens += ch.tokens
            if vec.size:
                vectors.append(vec)
        if msg.id is not None:
            batch_ids[msg.id] = seq
        seqs.append(seq)
    conn.execute(
        d.sql("UPDATE sessions SET last_seq=?, updated_at=? WHERE namespace=? AND session=?"),
        (last_seq, now, namespace, session),
    )
    if idempotency_key is not None:
        conn.execute(
            d.sql(
                "INSERT INTO idempotency(namespace, session, key, seqs, created_at, fingerprint) "
                "VALUES (?, ?, ?, ?, ?, ?)"
            ),
            (namespace, session, idempotency_key, json.dumps(seqs), now, fingerprint),
        )
    d.close_append(conn, NewRows(namespace, now, message_ids, last_pos, len(chunk_ids), chunk_tokens))
    vec_arr = np.stack(vectors) if vectors and len(vectors) == len(chunk_ids) else None
    return AppendResult(seqs, chunk_ids, [session] * len(chunk_ids), vec_arr)


def delete_scopes(conn: Connection, d: LogDialect, namespace: str, session: str | None) -> int:
    """The store's ``delete``, inside the caller's write transaction; raises :class:`NotFound`
    (and so stores nothing) if there was nothing to delete."""
    scopes: list[Scope] = (
        [(None, d.sql("namespace=?"), (namespace,))]
        if session is None
        else [(s, d.sql("namespace=? AND session=?"), (namespace, s)) for s in deleted_sessions(session)]
    )
    d.lock_scopes(conn, namespace, scopes)
    total, found = 0, False
    for scope in scopes:
        _, where, args = scope
        d.delete_chunks(conn, namespace, scope)
        n = conn.execute(f"DELETE FROM messages WHERE {where}", args).rowcount
        conn.execute(f"DELETE FROM tool_calls WHERE {where}", args)
        conn.execute(f"DELETE FROM idempotency WHERE {where}", args)
        touched = conn.execute(f"DELETE FROM state_blocks WHERE {where}", args).rowcount
        touched += conn.execute(f"DELETE FROM state_machines WHERE {where}", args).rowcount
        touched += conn.execute(f"DELETE FROM sessions WHERE {where}", args).rowcount
        if session is None:
            touched += conn.execute(d.sql("DELETE FROM namespaces WHERE namespace=?"), (namespace,)).rowcount
        if n or touched:
            found, total = True, total + n
    if not found:
        raise nothing_to_delete(namespace, session)
    key = namespace_key(read_salt(conn, d.placeholder), namespace)  # the tombstone keeps no name (tombstones.py)
    conn.execute(d.sql("INSERT INTO deletions(namespace_key, created_at) VALUES (?, ?)"), (key, time.time()))
    d.close_delete(conn)
    return total


class SessionLog:
    """:class:`~memory.stores.base.LogWriter`'s ``append`` and ``delete``, written once; a store's
    mixin names its dialect (``log_dialect``) and how to get a connection in a write transaction."""

    log_dialect: LogDialect

    def _log_write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def append(
        self,
        namespace: str,
        session: str,
        messages: Sequence[PreparedMessage],
        *,
        base_seq: int | None = None,
        idempotency_key: str | None = None,
        idempotency_ttl_s: float | None = None,
    ) -> AppendResult:
        """Append messages to a session in one transaction and return their seqs.

        - ``idempotency_key`` seen before for this session (within ``idempotency_ttl_s``
          seconds; None: forever) with the same request: nothing is stored, the first call's
          seqs are returned; with another request (messages or ``base_seq``):
          :class:`IdempotencyConflict`, nothing stored.
        - a message whose ``id`` is already stored in the session is skipped and its
          stored seq returned (a retried write never duplicates).
        - ``base_seq`` given and not the session's current last seq: :class:`Conflict`.
        - a tool result must answer a call made earlier in the session (or in this batch)
          that has no result yet: otherwise :class:`InvalidMessage`, and nothing is stored.
        """
        now = time.time()
        fingerprint = None if idempotency_key is None else request_fingerprint(messages, base_seq)
        with self._log_write() as conn:
            return append_messages(
                conn,
                self.log_dialect,
                namespace,
                session,
                messages,
                base_seq=base_seq,
                idempotency_key=idempotency_key,
                idempotency_ttl_s=idempotency_ttl_s,
                fingerprint=fingerprint,
                now=now,
            )

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace or one session (with its ``::summaries`` companion): log rows,
        chunks (with their full-text and vector entries), tool-call links, idempotency keys,
        state. Returns the number of messages removed; raises :class:`NotFound` if there was nothing."""
        with self._log_write() as conn:
            return delete_scopes(conn, self.log_dialect, namespace, session)
