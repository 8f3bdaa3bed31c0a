"""The SQLite log's writes: ``append`` (seq, pos, idempotency, tool-call links, chunks and their
full-text rows in one ``BEGIN IMMEDIATE`` transaction) and ``delete``.

Concurrency: SQLite serializes writers across threads and processes; ``seq`` (per session) and
``pos`` (per namespace) are read and bumped inside the write transaction, so they are gap-free and
strictly increasing whatever the number of writers. Chunk ids come from AUTOINCREMENT inside the
same serialized transaction, so they grow in commit order: an index catches up by reading chunks
above the highest id it has seen.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence

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
from memory.stores.sqlite.connection import SQLiteBase


def scope_token(kind: str, value: str) -> str:
    """A token that FTS5 indexes as one word, naming a namespace or session."""
    return f"{kind}{hashlib.sha1(value.encode()).hexdigest()[:16]}"


class LogWrites(SQLiteBase):
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
        with self._write() as conn:
            srow = conn.execute(
                "SELECT last_seq FROM sessions WHERE namespace=? AND session=?", (namespace, session)
            ).fetchone()
            last_seq = 0 if srow is None else int(srow[0])
            if idempotency_key is not None:
                row = conn.execute(
                    "SELECT seqs, fingerprint, created_at FROM idempotency WHERE namespace=? AND session=? AND key=?",
                    (namespace, session, idempotency_key),
                ).fetchone()
                if row is not None and key_expired(float(row[2]), idempotency_ttl_s):
                    conn.execute(
                        "DELETE FROM idempotency WHERE namespace=? AND session=? AND created_at < ?",
                        (namespace, session, now - (idempotency_ttl_s or 0.0)),
                    )
                    row = None
                if row is not None:
                    if row[1] is not None and row[1] != fingerprint:
                        raise idempotency_mismatch(idempotency_key, session, last_seq)
                    return AppendResult(json.loads(row[0]), [], [], None, replayed=True)
            if base_seq is not None and base_seq != last_seq:
                raise base_seq_conflict(last_seq, base_seq)
            nrow = conn.execute("SELECT last_pos FROM namespaces WHERE namespace=?", (namespace,)).fetchone()
            last_pos = 0 if nrow is None else int(nrow[0])
            if nrow is None:
                conn.execute(
                    "INSERT INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now)
                )
            if srow is None:
                conn.execute(
                    "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) VALUES (?, ?, 0, ?, ?)",
                    (namespace, session, now, now),
                )
            seqs: list[int] = []
            chunk_ids: list[int] = []
            vectors: list[np.ndarray] = []
            batch_ids: dict[str, int] = {}
            ns_tok, ss_tok = scope_token("n", namespace), scope_token("s", session)
            for i, prepared in enumerate(messages):
                msg = prepared.message
                if msg.id is not None:
                    if msg.id in batch_ids:
                        seqs.append(batch_ids[msg.id])
                        continue
                    dup = conn.execute(
                        "SELECT seq FROM messages WHERE namespace=? AND session=? AND msg_id=?",
                        (namespace, session, msg.id),
                    ).fetchone()
                    if dup is not None:
                        seqs.append(int(dup[0]))
                        continue
                last_seq += 1
                last_pos += 1
                seq = last_seq
                if msg.role == "tool":
                    self._link_result(conn, namespace, session, msg.tool_call_id or "", seq, i)
                for call in msg.tool_calls or ():
                    try:
                        conn.execute(
                            "INSERT INTO tool_calls(namespace, session, call_id, call_seq) VALUES (?, ?, ?, ?)",
                            (namespace, session, call.id, seq),
                        )
                    except sqlite3.IntegrityError:
                        raise call_id_reused(i, call.id, session) from None
                record = msg.to_record()
                cur = conn.execute(
                    "INSERT INTO messages(namespace, session, seq, pos, role, msg_id, ts, tokens, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        namespace,
                        session,
                        seq,
                        last_pos,
                        msg.role,
                        msg.id,
                        prepared.ts,
                        prepared.tokens,
                        json.dumps(record, ensure_ascii=False),
                    ),
                )
                message_id = int(cur.lastrowid or 0)
                for ch in prepared.chunks:
                    vec = np.ascontiguousarray(ch.vector, dtype=np.float32)  # empty: embedded later
                    c = conn.execute(
                        "INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, "
                        "tokens, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            message_id,
                            namespace,
                            session,
                            seq,
                            ch.part,
                            ch.parts,
                            ch.kind,
                            ch.text,
                            ch.tokens,
                            vec.tobytes(),
                        ),
                    )
                    cid = int(c.lastrowid or 0)
                    conn.execute(
                        "INSERT INTO chunks_fts(rowid, text, scope) VALUES (?, ?, ?)",
                        (cid, ch.text, f"{ns_tok} {ss_tok}"),
                    )
                    chunk_ids.append(cid)
                    if vec.size:
                        vectors.append(vec)
                if msg.id is not None:
                    batch_ids[msg.id] = seq
                seqs.append(seq)
            conn.execute(
                "UPDATE sessions SET last_seq=?, updated_at=? WHERE namespace=? AND session=?",
                (last_seq, now, namespace, session),
            )
            conn.execute("UPDATE namespaces SET last_pos=? WHERE namespace=?", (last_pos, namespace))
            if idempotency_key is not None:
                conn.execute(
                    "INSERT INTO idempotency(namespace, session, key, seqs, created_at, fingerprint) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (namespace, session, idempotency_key, json.dumps(seqs), now, fingerprint),
                )
        vec_arr = np.stack(vectors) if vectors and len(vectors) == len(chunk_ids) else None
        return AppendResult(seqs, chunk_ids, [session] * len(chunk_ids), vec_arr)

    @staticmethod
    def _link_result(conn: sqlite3.Connection, namespace: str, session: str, call_id: str, seq: int, i: int) -> None:
        row = conn.execute(
            "SELECT result_seq FROM tool_calls WHERE namespace=? AND session=? AND call_id=?",
            (namespace, session, call_id),
        ).fetchone()
        if row is None:
            raise no_such_call(i, call_id, session)
        if row[0] is not None:
            raise call_answered(i, call_id, int(row[0]))
        conn.execute(
            "UPDATE tool_calls SET result_seq=? WHERE namespace=? AND session=? AND call_id=?",
            (seq, namespace, session, call_id),
        )

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace or one session (with its ``::summaries`` companion): log rows,
        chunks, full-text entries, tool-call links, idempotency keys, state. Returns the number
        of messages removed; raises :class:`NotFound` if there was nothing. The freed pages are
        zeroed (``secure_delete``), the full-text index is merged so no segment keeps the words,
        and the WAL is checkpointed and truncated: the words are gone from the files too."""
        scopes: list[tuple[str | None, str, tuple[str, ...]]] = (
            [(None, "namespace=?", (namespace,))]
            if session is None
            else [(s, "namespace=? AND session=?", (namespace, s)) for s in deleted_sessions(session)]
        )
        total = 0
        with self._write() as conn:
            found = False
            for scope, where, args in scopes:
                n, touched = self._delete_scope(conn, where, args)
                if session is None:
                    touched += conn.execute("DELETE FROM namespaces WHERE namespace=?", (namespace,)).rowcount
                if touched or n:
                    found = True
                    total += n
                    conn.execute(
                        "INSERT INTO deletions(namespace, session, created_at) VALUES (?, ?, ?)",
                        (namespace, scope, time.time()),
                    )
            if not found:
                raise nothing_to_delete(namespace, session)
            # FTS5 before 3.42 has no 'secure-delete': a merge rewrites the segments without the words
            conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return total

    @staticmethod
    def _delete_scope(conn: sqlite3.Connection, where: str, args: tuple[str, ...]) -> tuple[int, int]:
        """Delete one scope's rows; returns (messages removed, other rows removed)."""
        ids = [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE {where}", args)]
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({','.join('?' * len(batch))})", batch)
        conn.execute(f"DELETE FROM chunks WHERE {where}", args)
        n = conn.execute(f"DELETE FROM messages WHERE {where}", args).rowcount
        conn.execute(f"DELETE FROM tool_calls WHERE {where}", args)
        conn.execute(f"DELETE FROM idempotency WHERE {where}", args)
        touched = conn.execute(f"DELETE FROM state_blocks WHERE {where}", args).rowcount
        touched += conn.execute(f"DELETE FROM state_machines WHERE {where}", args).rowcount
        touched += conn.execute(f"DELETE FROM sessions WHERE {where}", args).rowcount
        return n, touched
