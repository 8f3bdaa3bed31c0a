"""The PostgreSQL store's search rows: chunks, their vectors, full-text search, deletions.

Full text: ``chunks.tsv`` is ``to_tsvector('english', text)`` (Snowball English stemming, the
counterpart of FTS5's porter tokenizer), stored and GIN-indexed, written by the same INSERT as the
chunk, so a committed write is searchable at once from every process. The query is the OR of the
content words (as for FTS5), ranked with BM25 as FTS5 ranks it (:mod:`memory.stores.postgres.bm25`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from psycopg import sql

from memory.stores.base import EmbedFn
from memory.stores.postgres.bm25 import SCAN_BELOW, bm25_query
from memory.stores.postgres.connection import PgBase, bigint_array, text_array
from memory.stores.postgres.schema import SCHEMA_LOCK
from memory.stores.postgres.vectors import hnsw_index
from memory.stores.rows import CANDIDATE_COLS, CHUNK_COLS, REEMBED_BATCH, CandidateRow, ChunkRow, embedded
from memory.stores.tombstones import KeyCache


def chunk_row(r: Sequence[Any]) -> ChunkRow:
    return ChunkRow(*r)  # psycopg gives bigint and integer columns as int


def as_vector(v: Any) -> np.ndarray:
    """pgvector's value (a ``Vector``, or an ndarray from the text loader) as float32."""
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32)


class SearchRows(PgBase):
    """Chunks by id, message or key; vectors; full text; the deletion log."""

    #: full text reads a namespace of fewer chunks before matching (:data:`bm25.SCAN_BELOW`); 0: always the GIN
    text_scan_below: int = SCAN_BELOW

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {CHUNK_COLS} FROM chunks WHERE id = ANY(%s::bigint[])", (bigint_array(ids),)
            ).fetchall()  # one call: iterating the cursor costs a Python call per row
        return {r[0]: chunk_row(r) for r in rows}

    def candidates(self, ids: Sequence[int], *, names: bool = False) -> dict[int, CandidateRow]:
        # the name is parsed out of the message's JSON only when asked for: a long answer's body
        # is otherwise never read (nor detoasted)
        name = "(m.data::jsonb)->>'name'" if names else "NULL"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {CANDIDATE_COLS}, {name} FROM chunks c "
                "JOIN messages m ON m.id = c.message_id WHERE c.id = ANY(%s::bigint[])",
                (bigint_array(ids),),
            ).fetchall()
        return {r[0]: CandidateRow.of(r) for r in rows}

    def chunks_of_message(self, message_id: int) -> list[ChunkRow]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {CHUNK_COLS} FROM chunks WHERE message_id=%s ORDER BY part", (message_id,))
            return [chunk_row(r) for r in rows]

    def first_candidates(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], CandidateRow]:
        """The first chunk (part 0) of each (session, seq) message that exists, as a candidate."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {CANDIDATE_COLS} FROM unnest(%s::text[], %s::bigint[]) "
                "AS k(session, seq) JOIN messages m ON m.namespace=%s AND m.session=k.session AND m.seq=k.seq "
                "JOIN chunks c ON c.message_id=m.id AND c.part=0",
                (text_array(k[0] for k in keys), bigint_array(k[1] for k in keys), namespace),
            ).fetchall()
        return {(r[3], r[4]): CandidateRow.of(r) for r in rows}

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        with self._read() as conn:
            # a NULL embedding: the chunk waits for write-behind indexing
            sql = "SELECT id, embedding FROM chunks WHERE id = ANY(%s::bigint[]) AND embedding IS NOT NULL"
            rows = conn.execute(sql, (bigint_array(ids),)).fetchall()
            return {int(cid): as_vector(v) for cid, v in rows}

    def chunk_texts(self, namespace: str) -> tuple[np.ndarray, list[str], list[str]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, text, session FROM chunks WHERE namespace=%s ORDER BY id", (namespace,)
            ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows], [r[2] for r in rows]

    def chunk_vectors(
        self, *, after_id: int = 0, namespace: str | None = None, batch: int = 4096
    ) -> Iterator[tuple[str, np.ndarray, list[str], np.ndarray]]:
        """Stream ``(namespace, ids, sessions, vectors)`` batches of chunks with id > after_id
        (chunks not embedded yet are left out)."""
        last = after_id
        while True:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT id, namespace, session, embedding FROM chunks WHERE id>%s AND embedding IS NOT NULL "
                    "AND (%s::text IS NULL OR namespace=%s) ORDER BY id LIMIT %s",
                    (last, namespace, namespace, batch),
                ).fetchall()
            if not rows:
                return
            last = int(rows[-1][0])
            by_ns: dict[str, list[Any]] = {}
            for r in rows:
                by_ns.setdefault(r[1], []).append(r)
            for ns, group in by_ns.items():
                ids = np.fromiter((g[0] for g in group), dtype=np.int64, count=len(group))
                yield ns, ids, [g[2] for g in group], np.stack([as_vector(g[3]) for g in group])

    def chunk_ids(self, namespace: str) -> np.ndarray:
        with self._read() as conn:
            rows = conn.execute("SELECT id FROM chunks WHERE namespace=%s", (namespace,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def chunks_until(self, namespace: str, max_pos: int, max_ts: float | None = None) -> tuple[np.ndarray, list[str]]:
        """The ids (sorted) and sessions of the namespace's chunks whose message was stored at or before
        position ``max_pos`` (and, with ``max_ts``, is timestamped at or before it): what existed at a point."""
        query = (
            "SELECT c.id, c.session FROM chunks c JOIN messages m ON m.id = c.message_id "
            "WHERE c.namespace=%s AND m.pos<=%s"
        )
        args: list[Any] = [namespace, max_pos]
        if max_ts is not None:
            query += " AND m.ts<=%s"
            args.append(max_ts)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY c.id", args).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows]

    def pos_at(self, namespace: str, ts: float) -> int:
        """The last position of the namespace holding a message timestamped at or before ``ts`` (0: none)."""
        with self._read() as conn:
            row = conn.execute("SELECT MAX(pos) FROM messages WHERE namespace=%s AND ts<=%s", (namespace, ts))
            found = row.fetchone()
        return 0 if found is None or found[0] is None else int(found[0])

    def max_chunk_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM chunks").fetchone()[0])  # type: ignore[index]

    def chunk_count(self, namespace: str | None = None) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM chunks WHERE %s::text IS NULL OR namespace=%s", (namespace, namespace)
            ).fetchone()
        return int(row[0])  # type: ignore[index]

    def deletions_after(self, after_id: int) -> list[tuple[int, str]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, namespace_key FROM deletions WHERE id>%s ORDER BY id", (after_id,)
            ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def namespace_key(self, namespace: str) -> str:
        keys: KeyCache = self.__dict__.setdefault("_tombstone_keys", KeyCache())
        with self._read() as conn:
            return keys.key(conn, namespace, "%s")

    def max_deletion_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM deletions").fetchone()[0])  # type: ignore[index]

    def search_text(
        self,
        query_terms: Sequence[str],
        namespace: str,
        k: int,
        sessions: Sequence[str] | None = None,
        among: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over chunk text within a namespace (:mod:`memory.stores.postgres.bm25`); higher is better.
        ``among`` (chunk ids) ranks only those chunks: the top ``k`` of them, not the top ``k`` filtered."""
        terms = [t for t in query_terms if t and t.strip()]
        if not terms or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        among_ = None if among is None else bigint_array(among.tolist())
        query, args = bm25_query(terms, namespace, k, sessions, scan_below=self.text_scan_below, among=among_)
        with self._read() as conn:
            rows = conn.execute(query, args).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((r[1] for r in rows), dtype=np.float32, count=len(rows))
        return ids, scores

    def reembed(self, embed: EmbedFn, meta: Mapping[str, str], advance: Callable[[int], None] | None = None) -> int:
        """Every chunk's vector from ``embed``, and ``meta``, in one transaction.

        Writers of chunks wait for it (``SHARE`` lock), so no chunk escapes the new model; readers
        see the old vectors until it commits. The ``embedding`` column has no fixed dimension; the
        HNSW index has one, so the new dimension's index is built before commit and the others are
        dropped (they are partial, :func:`hnsw_index`: rows of the new dimension never touch them), and so
        are namespaces' own indexes of another dimension (:mod:`memory.stores.postgres.ns_indexes`)."""
        n, last, dim = 0, 0, None
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))  # against a racing hnsw_index()
            conn.execute("LOCK TABLE chunks IN SHARE MODE")
            while rows := conn.execute(
                "SELECT id, text FROM chunks WHERE id>%s ORDER BY id LIMIT %s", (last, REEMBED_BATCH)
            ).fetchall():
                vecs = embedded(embed, [r[1] for r in rows], dim)
                dim = vecs.shape[1]
                with conn.cursor() as cur:
                    cur.executemany(
                        "UPDATE chunks SET embedding=%s WHERE id=%s", [(v, r[0]) for r, v in zip(rows, vecs)]
                    )
                last, n = rows[-1][0], n + len(rows)
                if advance is not None:
                    advance(len(rows))
            if dim is not None:
                conn.execute(hnsw_index(dim))
                for (name,) in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = 'chunks' AND indexname LIKE 'chunks\\_hnsw\\_%%' AND indexname <> %s",
                    (f"chunks_hnsw_{dim}",),
                ).fetchall():
                    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                # namespaces' own indexes of another dimension: their searches are exact until the
                # next search asks for one of this dimension (ns_indexes); this one's stay, kept up to date
                for (name,) in conn.execute(
                    "DELETE FROM namespace_indexes WHERE dim <> %s RETURNING name", (dim,)
                ).fetchall():
                    conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('vectors_version', '1') ON CONFLICT (key) "
                "DO UPDATE SET value = (meta.value::bigint + 1)::text"
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                    list(meta.items()),
                )
        return n
