"""The PostgreSQL log's writes: ``append`` and ``delete``, safe with writers in many processes and hosts.

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

import json
import time
from collections.abc import Sequence

import numpy as np
import psycopg

from memory.stores.postgres.connection import PgBase
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


def clean_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL; the search row gets U+FFFD (the message keeps the original)."""
    return text.replace("\x00", "\ufffd")


class LogWrites(PgBase):
    """Appends and deletes."""

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
        """Append messages to a session in one transaction and return their seqs (see the
        :class:`memory.stores.base.Store` promises)."""
        now = time.time()
        fingerprint = None if idempotency_key is None else request_fingerprint(messages, base_seq)
        with self._write() as conn:
            last_seq = int(
                conn.execute(  # type: ignore[index]
                    "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) "
                    "VALUES (%s, %s, 0, %s, %s) ON CONFLICT (namespace, session) "
                    "DO UPDATE SET last_seq = sessions.last_seq RETURNING last_seq",
                    (namespace, session, now, now),
                ).fetchone()[0]
            )
            if idempotency_key is not None:
                row = conn.execute(
                    "SELECT seqs, fingerprint, created_at FROM idempotency "
                    "WHERE namespace=%s AND session=%s AND key=%s",
                    (namespace, session, idempotency_key),
                ).fetchone()
                if row is not None and key_expired(float(row[2]), idempotency_ttl_s):
                    conn.execute(
                        "DELETE FROM idempotency WHERE namespace=%s AND session=%s AND created_at < %s",
                        (namespace, session, now - (idempotency_ttl_s or 0.0)),
                    )
                    row = None
                if row is not None:
                    if row[1] is not None and row[1] != fingerprint:
                        raise idempotency_mismatch(idempotency_key, session, last_seq)
                    return AppendResult(json.loads(row[0]), [], [], None, replayed=True)
            if base_seq is not None and base_seq != last_seq:
                raise base_seq_conflict(last_seq, base_seq)
            seqs: list[int] = []
            new_ids: list[int] = []
            chunk_ids: list[int] = []
            chunk_tokens = 0
            vectors: list[np.ndarray] = []
            batch_ids: dict[str, int] = {}
            for i, prepared in enumerate(messages):
                msg = prepared.message
                if msg.id is not None:
                    if msg.id in batch_ids:
                        seqs.append(batch_ids[msg.id])
                        continue
                    dup = conn.execute(
                        "SELECT seq FROM messages WHERE namespace=%s AND session=%s AND msg_id=%s",
                        (namespace, session, msg.id),
                    ).fetchone()
                    if dup is not None:
                        seqs.append(int(dup[0]))
                        continue
                last_seq += 1
                seq = last_seq
                if msg.role == "tool":
                    self._link_result(conn, namespace, session, msg.tool_call_id or "", seq, i)
                for call in msg.tool_calls or ():
                    cur = conn.execute(
                        "INSERT INTO tool_calls(namespace, session, call_id, call_seq) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        (namespace, session, call.id, seq),
                    )
                    if cur.rowcount == 0:
                        raise call_id_reused(i, call.id, session)
                message_id = int(
                    conn.execute(  # type: ignore[index]
                        "INSERT INTO messages(namespace, session, seq, pos, role, msg_id, ts, tokens, data) "
                        "VALUES (%s, %s, %s, 0, %s, %s, %s, %s, %s) RETURNING id",
                        (
                            namespace,
                            session,
                            seq,
                            msg.role,
                            msg.id,
                            prepared.ts,
                            prepared.tokens,
                            json.dumps(msg.to_record(), ensure_ascii=False),
                        ),
                    ).fetchone()[0]
                )
                new_ids.append(message_id)
                for ch in prepared.chunks:
                    vec = np.ascontiguousarray(ch.vector, dtype=np.float32)
                    cid = conn.execute(
                        "INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, tokens, "
                        "embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                        (
                            message_id,
                            namespace,
                            session,
                            seq,
                            ch.part,
                            ch.parts,
                            ch.kind,
                            clean_text(ch.text),
                            ch.tokens,
                            vec if vec.size else None,  # NULL: embedded right after the commit
                        ),
                    ).fetchone()[0]  # type: ignore[index]
                    chunk_ids.append(int(cid))
                    chunk_tokens += ch.tokens
                    if vec.size:
                        vectors.append(vec)
                if msg.id is not None:
                    batch_ids[msg.id] = seq
                seqs.append(seq)
            conn.execute(
                "UPDATE sessions SET last_seq=%s, updated_at=%s WHERE namespace=%s AND session=%s",
                (last_seq, now, namespace, session),
            )
            if idempotency_key is not None:
                conn.execute(
                    "INSERT INTO idempotency(namespace, session, key, seqs, created_at, fingerprint) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (namespace, session, idempotency_key, json.dumps(seqs), now, fingerprint),
                )
            # last: the namespace row lock, held only for this and the commit; BM25's
            # statistics (chunk count and tokens) ride on the same row and the same lock
            last_pos = int(
                conn.execute(  # type: ignore[index]
                    "INSERT INTO namespaces(namespace, last_pos, created_at, chunks, chunk_tokens) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (namespace) DO UPDATE SET "
                    "last_pos = namespaces.last_pos + excluded.last_pos, "
                    "chunks = namespaces.chunks + excluded.chunks, "
                    "chunk_tokens = namespaces.chunk_tokens + excluded.chunk_tokens RETURNING last_pos",
                    (namespace, len(new_ids), now, len(chunk_ids), chunk_tokens),
                ).fetchone()[0]
            )
            if new_ids:
                conn.execute(
                    "UPDATE messages m SET pos = %s + k.ord FROM unnest(%s::bigint[]) WITH ORDINALITY AS k(id, ord) "
                    "WHERE m.id = k.id",
                    (last_pos - len(new_ids), new_ids),
                )
        vec_arr = np.stack(vectors) if vectors and len(vectors) == len(chunk_ids) else None
        return AppendResult(seqs, chunk_ids, [session] * len(chunk_ids), vec_arr)

    @staticmethod
    def _link_result(conn: psycopg.Connection, namespace: str, session: str, call_id: str, seq: int, i: int) -> None:
        row = conn.execute(
            "SELECT result_seq FROM tool_calls WHERE namespace=%s AND session=%s AND call_id=%s",
            (namespace, session, call_id),
        ).fetchone()
        if row is None:
            raise no_such_call(i, call_id, session)
        if row[0] is not None:
            raise call_answered(i, call_id, int(row[0]))
        conn.execute(
            "UPDATE tool_calls SET result_seq=%s WHERE namespace=%s AND session=%s AND call_id=%s",
            (seq, namespace, session, call_id),
        )

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace or one session (with its ``::summaries`` companion): log rows,
        chunks (with their full-text and vector entries), tool calls, idempotency keys, state.
        Returns the number of messages removed; raises :class:`NotFound` if there was nothing."""
        scopes: list[tuple[str | None, str, tuple[str, ...]]] = (
            [(None, "namespace=%s", (namespace,))]
            if session is None
            else [(s, "namespace=%s AND session=%s", (namespace, s)) for s in deleted_sessions(session)]
        )
        total, found = 0, False
        with self._write() as conn:
            for _, where, args in scopes:
                conn.execute(f"SELECT 1 FROM sessions WHERE {where} ORDER BY session FOR UPDATE", args)
            conn.execute("SELECT 1 FROM namespaces WHERE namespace=%s FOR UPDATE", (namespace,))
            for scope, where, args in scopes:
                gone = conn.execute(
                    f"WITH d AS (DELETE FROM chunks WHERE {where} RETURNING tokens) "
                    "SELECT count(*), COALESCE(sum(tokens), 0) FROM d",
                    args,
                ).fetchone()
                if session is not None and gone is not None and gone[0]:
                    conn.execute(
                        "UPDATE namespaces SET chunks = chunks - %s, chunk_tokens = chunk_tokens - %s "
                        "WHERE namespace=%s",
                        (gone[0], gone[1], namespace),
                    )
                n = conn.execute(f"DELETE FROM messages WHERE {where}", args).rowcount
                conn.execute(f"DELETE FROM tool_calls WHERE {where}", args)
                conn.execute(f"DELETE FROM idempotency WHERE {where}", args)
                touched = conn.execute(f"DELETE FROM state_blocks WHERE {where}", args).rowcount
                touched += conn.execute(f"DELETE FROM state_machines WHERE {where}", args).rowcount
                touched += conn.execute(f"DELETE FROM sessions WHERE {where}", args).rowcount
                if session is None:
                    touched += conn.execute("DELETE FROM namespaces WHERE namespace=%s", (namespace,)).rowcount
                if n or touched:
                    found, total = True, total + n
                    conn.execute(
                        "INSERT INTO deletions(namespace, session, created_at) VALUES (%s, %s, %s)",
                        (namespace, scope, time.time()),
                    )
            if not found:
                raise nothing_to_delete(namespace, session)
        return total
