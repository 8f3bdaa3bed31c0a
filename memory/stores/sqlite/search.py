"""The SQLite store's search rows: chunks, their vectors, FTS5 full-text search, deletions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from memory.stores.base import EmbedFn
from memory.stores.rows import CANDIDATE_COLS, CHUNK_COLS, REEMBED_BATCH, CandidateRow, ChunkRow, embedded
from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.sqlite.log import scope_token
from memory.stores.sqlite.schema import PENDING
from memory.stores.tombstones import KeyCache


class SearchRows(SQLiteBase):
    """Chunks by id, message or key; vectors; BM25 over FTS5; the deletion log indexes follow."""

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        conn = self._conn()
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            sql = f"SELECT {CHUNK_COLS} FROM chunks WHERE id IN ({','.join('?' * len(batch))})"
            for r in conn.execute(sql, batch):
                out[r[0]] = ChunkRow(*r)
        return out

    def candidates(self, ids: Sequence[int], *, names: bool = False) -> dict[int, CandidateRow]:
        out: dict[int, CandidateRow] = {}
        conn = self._conn()
        ids = [int(i) for i in ids]
        name = "json_extract(m.data, '$.name')" if names else "NULL"
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            sql = (
                f"SELECT {CANDIDATE_COLS}, {name} FROM chunks c "
                f"JOIN messages m ON m.id = c.message_id WHERE c.id IN ({','.join('?' * len(batch))})"
            )
            for r in conn.execute(sql, batch):
                out[r[0]] = CandidateRow.of(r)
        return out

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors of these chunk ids (chunks not embedded yet are left out)."""
        out: dict[int, np.ndarray] = {}
        conn = self._conn()
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            sql = f"SELECT id, vector FROM chunks WHERE id IN ({','.join('?' * len(batch))}) AND NOT {PENDING}"
            for cid, blob in conn.execute(sql, batch):
                out[int(cid)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def first_candidates(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], CandidateRow]:
        """The first chunk (part 0) of each (session, seq) message that exists, as a candidate."""
        out: dict[tuple[str, int], CandidateRow] = {}
        conn = self._conn()
        keys = list(keys)
        for start in range(0, len(keys), 400):
            batch = keys[start : start + 400]
            values = ",".join("(?,?)" for _ in batch)
            params: list[object] = []
            for session, seq in batch:
                params += [session, int(seq)]
            params.append(namespace)
            # keys first, then the (namespace, session, seq) unique index and chunks_by_message:
            # O(keys · log n), where filtering the namespace's chunks would scan all of them
            sql = (
                f"WITH k(session, seq) AS (VALUES {values}) "
                f"SELECT {CANDIDATE_COLS} FROM k "
                "CROSS JOIN messages m ON m.namespace=? AND m.session=k.session AND m.seq=k.seq "
                "CROSS JOIN chunks c ON c.message_id=m.id AND c.part=0"
            )
            for r in conn.execute(sql, params):
                out[(r[3], r[4])] = CandidateRow.of(r)
        return out

    def chunks_of_message(self, message_id: int) -> list[ChunkRow]:
        rows = self._conn().execute(f"SELECT {CHUNK_COLS} FROM chunks WHERE message_id=? ORDER BY part", (message_id,))
        return [ChunkRow(*r) for r in rows]

    def chunk_vectors(
        self, *, after_id: int = 0, namespace: str | None = None, batch: int = 4096
    ) -> Iterator[tuple[str, np.ndarray, list[str], np.ndarray]]:
        """Stream ``(namespace, ids, sessions, vectors)`` batches of chunks with id > after_id
        (chunks not embedded yet are left out)."""
        conn = self._conn()
        last = after_id
        while True:
            if namespace is None:
                rows = conn.execute(
                    f"SELECT id, namespace, session, vector FROM chunks WHERE id>? AND NOT {PENDING} "
                    "ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, namespace, session, vector FROM chunks WHERE namespace=? AND id>? "
                    f"AND NOT {PENDING} ORDER BY id LIMIT ?",
                    (namespace, last, batch),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            by_ns: dict[str, list[tuple[Any, ...]]] = {}
            for r in rows:
                by_ns.setdefault(r[1], []).append(r)
            for ns, group in by_ns.items():
                ids = np.fromiter((g[0] for g in group), dtype=np.int64, count=len(group))
                vecs = np.frombuffer(b"".join(g[3] for g in group), dtype=np.float32).reshape(len(group), -1)
                yield ns, ids, [g[2] for g in group], vecs

    def chunk_ids(self, namespace: str) -> np.ndarray:
        rows = self._conn().execute("SELECT id FROM chunks WHERE namespace=?", (namespace,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def chunks_until(self, namespace: str, max_pos: int, max_ts: float | None = None) -> tuple[np.ndarray, list[str]]:
        """The ids (sorted) and sessions of the namespace's chunks whose message was stored at or before
        position ``max_pos`` (and, with ``max_ts``, is timestamped at or before it): what existed at a point."""
        sql = (
            "SELECT c.id, c.session FROM chunks c JOIN messages m ON m.id = c.message_id "
            "WHERE c.namespace=? AND m.pos<=?"
        )
        args: tuple[Any, ...] = (namespace, max_pos)
        if max_ts is not None:
            sql, args = sql + " AND m.ts<=?", (*args, max_ts)
        rows = self._conn().execute(sql + " ORDER BY c.id", args).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows]

    def pos_at(self, namespace: str, ts: float) -> int:
        """The last position of the namespace holding a message timestamped at or before ``ts`` (0: none)."""
        row = self._conn().execute("SELECT MAX(pos) FROM messages WHERE namespace=? AND ts<=?", (namespace, ts))
        found = row.fetchone()[0]
        return 0 if found is None else int(found)

    def max_chunk_id(self) -> int:
        row = self._conn().execute("SELECT COALESCE(MAX(id), 0) FROM chunks").fetchone()
        return int(row[0])

    def chunk_count(self, namespace: str | None = None) -> int:
        if namespace is None:
            return int(self._conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        return int(self._conn().execute("SELECT COUNT(*) FROM chunks WHERE namespace=?", (namespace,)).fetchone()[0])

    def deletions_after(self, after_id: int) -> list[tuple[int, str]]:
        rows = self._conn().execute("SELECT id, namespace_key FROM deletions WHERE id>? ORDER BY id", (after_id,))
        return [(int(r[0]), str(r[1])) for r in rows]

    def namespace_key(self, namespace: str) -> str:
        keys: KeyCache = self.__dict__.setdefault("_tombstone_keys", KeyCache())
        return keys.key(self._conn(), namespace)

    def max_deletion_id(self) -> int:
        return int(self._conn().execute("SELECT COALESCE(MAX(id), 0) FROM deletions").fetchone()[0])

    def search_text(
        self,
        query_terms: Sequence[str],
        namespace: str,
        k: int,
        sessions: Sequence[str] | None = None,
        among: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """BM25 (FTS5) over chunk text within a namespace; higher score is better. ``among`` (chunk
        ids) ranks only those chunks: the top ``k`` of them, not the top ``k`` filtered."""
        terms = [t.replace('"', '""') for t in query_terms if t]
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scope = scope_token("n", namespace)
        quoted = " OR ".join('text:"' + t + '"' for t in terms)
        # The namespace filter intersects with a posting list as long as the namespace; when the
        # log holds one namespace it filters nothing, so skip it (40 % of the query at 100k chunks).
        only = self._conn().execute("SELECT COUNT(*), MAX(namespace) FROM namespaces").fetchone()
        match = quoted if only == (1, namespace) else f"scope:{scope} AND ({quoted})"
        if sessions:
            match += " AND (" + " OR ".join(f"scope:{scope_token('s', s)}" for s in sessions) + ")"
        only, args = "", tuple[Any, ...]((match, k))
        if among is not None:
            only, args = " AND rowid IN (SELECT value FROM json_each(?))", (match, json.dumps(among.tolist()), k)
        rows = (
            self._conn()
            .execute(
                f"SELECT rowid, bm25(chunks_fts, 1.0, 0.0) AS s FROM chunks_fts WHERE chunks_fts MATCH ?{only} "
                "ORDER BY s LIMIT ?",
                args,
            )
            .fetchall()
        )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((-r[1] for r in rows), dtype=np.float32, count=len(rows))
        return ids, scores

    def chunk_texts(self, namespace: str) -> tuple[np.ndarray, list[str], list[str]]:
        rows = (
            self._conn()
            .execute("SELECT id, text, session FROM chunks WHERE namespace=? ORDER BY id", (namespace,))
            .fetchall()
        )
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows], [r[2] for r in rows]

    def reembed(self, embed: EmbedFn, meta: Mapping[str, str], advance: Callable[[int], None] | None = None) -> int:
        """Every chunk's vector from ``embed``, and ``meta``, in one write transaction (writers wait)."""
        n, last, dim = 0, 0, None
        with self._write() as conn:
            while rows := conn.execute(
                "SELECT id, text FROM chunks WHERE id>? ORDER BY id LIMIT ?", (last, REEMBED_BATCH)
            ).fetchall():
                vecs = embedded(embed, [r[1] for r in rows], dim)
                dim = vecs.shape[1]
                conn.executemany(
                    "UPDATE chunks SET vector=? WHERE id=?", [(v.tobytes(), r[0]) for r, v in zip(rows, vecs)]
                )
                last, n = rows[-1][0], n + len(rows)
                if advance is not None:
                    advance(len(rows))
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('vectors_version', '1') ON CONFLICT(key) "
                "DO UPDATE SET value=CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
            )
            conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(meta.items()))
        return n
