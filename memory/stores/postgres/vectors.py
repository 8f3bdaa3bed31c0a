"""``PgVectorIndex``: the dense side of the PostgreSQL store, an :class:`indexers.base.Index` over
the log's own ``chunks.embedding`` column (pgvector).

The vectors live in the log's rows: written by ``append`` in the log's transaction (``Memory``
with ``index_writes="sync"``), or, by default, filled in by the writer's background indexer right
after the commit (write-behind). Either way a vector committed by any process is searchable by
every process at once: there is no per-process copy to catch up, and ``Memory`` skips its catch-up
and reconcile machinery for this index (it is a ``LiveIndex``). A chunk whose vector is not written
yet (NULL) is left out of dense search; every replica finds it by full text at once, and densely
as soon as the writer's indexer commits its vector (milliseconds to a second later).

Search is filtered by namespace (and sessions), by inner product on unit vectors (pgvector's
``<#>`` is the negated inner product). Three plans:

- a namespace with fewer than ``HNSW_MIN_ROWS`` messages, or a search restricted to sessions, is
  scanned exactly through the ``(namespace, id)`` b-tree: exact top-k. Measured with pgserver
  (PostgreSQL 16.2, pgvector 0.6.2, 384-d, top 50) on 2 cores under a load average of 11: p50
  5 ms at 2,000 vectors, 12 ms at 5,000, 49 ms at 10,000. The threshold is therefore 5,000: below
  it an exact scan stays within the 25 ms per-namespace goal;
- a namespace with an index of its own (a partial HNSW index over its rows, built once it holds
  ``namespace_index_min_chunks`` chunks: :mod:`memory.stores.postgres.ns_indexes`) walks that
  graph: the query names the namespace as a literal, so the planner can prove the index's
  predicate, and ``hnsw.ef_search`` is ``OWN_EF_PER_K`` × k (at least 40, at most pgvector's 1000);
  the first search that finds a namespace due without one asks this process's
  :class:`NamespaceIndexBuilder` to build it (in the background; exact meanwhile);
- another namespace goes through the table-wide HNSW expression index on ``embedding::vector(dim)``
  (``vector_ip_ops``, partial: :func:`hnsw_index`), created when a memory opens the store.
  pgvector 0.6 filters after the graph walk, so ``hnsw.ef_search`` is set to bring back about
  twice ``k`` rows of this namespace (``2k / (namespace share of the table)``); when that would
  exceed pgvector's limit of 1000, or the walk still comes back short, the namespace is scanned
  exactly instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from indexers.base import EMPTY_RESULT, check_ids, check_query, check_vectors
from memory.errors import InvalidArgument
from memory.stores.postgres.connection import bigint_array
from memory.stores.postgres.ns_indexes import (
    META_KEY,
    NAMESPACE_INDEX_MIN_CHUNKS,
    NamespaceIndexBuilder,
    NamespaceIndexes,
)
from memory.stores.postgres.schema import SCHEMA_LOCK

HNSW_MIN_ROWS = 5_000
OWN_EF_PER_K = 2.0  # ef_search per row asked of a namespace's own index (recall@k >= 0.95: measured in the tests)
EF_MAX = 1000  # pgvector's limit on hnsw.ef_search


def hnsw_index(dim: int) -> str:
    """The DDL of the HNSW expression index for ``dim``-dimensional embeddings, one per dimension.

    Partial (``vector_dims(embedding) = dim``) so that rows of another dimension are never cast:
    re-embedding to a new dimension builds the new index and drops the old one in the transaction
    that rewrites the rows, where the old row versions still exist."""
    return (
        f"CREATE INDEX IF NOT EXISTS chunks_hnsw_{dim} ON chunks USING hnsw ((embedding::vector({dim})) "
        f"vector_ip_ops) WHERE vector_dims(embedding) = {dim}"
    )


class PgVectorIndex:
    """Scoped vector search over the PostgreSQL store's chunks (a live view, nothing to persist)."""

    live = True

    def __init__(
        self,
        store: NamespaceIndexes,
        dim: int,
        *,
        hnsw_min_rows: int = HNSW_MIN_ROWS,
        own_index_min_chunks: int | None = None,
    ) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise InvalidArgument(f"dim: give the embedding dimension, an int >= 1 (got {dim!r})", field="dim")
        self.store = store
        self.dim = dim
        self.hnsw_min_rows = hnsw_min_rows
        #: a namespace of at least this many chunks gets its own index (0: never; None: the database's
        #: setting, read with every search so that a change reaches every replica at once)
        self.own_index_min_chunks = own_index_min_chunks
        self.builder = NamespaceIndexBuilder(store, dim)
        self._cast = f"embedding::vector({dim})"
        self._own_sql = sql.SQL(
            f"SELECT id, -({self._cast} <#> %s::vector({dim})) FROM chunks WHERE namespace = {{}} "
            f"AND vector_dims(embedding) = {dim} ORDER BY {self._cast} <#> %s::vector({dim}) LIMIT %s"
        )
        if store.get_meta("dim") in (None, str(dim)):  # else Memory refuses the embedder (IndexMismatch)
            with store._write() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                conn.execute(hnsw_index(dim))

    def add(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, *, namespace: str, sessions: Sequence[str]
    ) -> None:
        """Replace the vectors of chunks the log holds (re-embedding); other ids are refused."""
        vecs = check_vectors(vectors, self.dim)
        arr = check_ids(ids, vecs.shape[0])
        if len(sessions) != arr.shape[0]:
            raise ValueError(f"sessions: got {len(sessions)} sessions for {arr.shape[0]} ids; give one per id")
        with self.store._write() as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE chunks SET embedding=%s WHERE id=%s AND namespace=%s AND session=%s",
                [(v, int(i), namespace, s) for i, v, s in zip(arr.tolist(), vecs, sessions)],
            )
            found = conn.execute(
                "SELECT COUNT(*) FROM chunks WHERE id = ANY(%s) AND namespace=%s", (arr.tolist(), namespace)
            ).fetchone()[0]  # type: ignore[index]
            if found != len(set(arr.tolist())):
                raise ValueError(
                    f"ids: {len(set(arr.tolist())) - found} of these ids are not chunks of namespace {namespace!r}; "
                    "the pgvector index is the log's own chunks table: add messages with Memory.add"
                )

    def delete(self, ids: Sequence[int] | np.ndarray, *, namespace: str) -> None:
        raise InvalidArgument(
            "index: the pgvector index is the log's own chunks table; its vectors go with their messages "
            "(Memory.delete)",
            field="index",
        )

    def drop(self, namespace: str, session: str | None = None) -> None:
        self.delete([], namespace=namespace)

    def search(
        self, query: np.ndarray, k: int, *, namespace: str, sessions: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` by inner product within ``namespace`` (and ``sessions``): exact, or HNSW when large."""
        q = check_query(query, self.dim)[0]
        if k <= 0 or (sessions is not None and len(sessions) == 0):
            return EMPTY_RESULT
        with self.store._read() as conn:  # autocommit; a transaction only around HNSW's SET LOCAL
            row = conn.execute(
                "SELECT n.last_pos, n.chunks, (SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = "
                "'chunks'::regclass), (SELECT state FROM namespace_indexes r WHERE r.namespace = n.namespace "
                "AND r.dim = %s), (SELECT value FROM meta WHERE key = %s) FROM namespaces n WHERE n.namespace=%s",
                (self.dim, META_KEY, namespace),
            ).fetchone()
            if row is None:
                return EMPTY_RESULT
            size, chunks, total, own = int(row[0]), int(row[1]), float(row[2] or 0), row[3]
            low = self.own_index_min_chunks
            if low is None:
                low = NAMESPACE_INDEX_MIN_CHUNKS if row[4] is None else int(row[4])
            if own != "ready" and 0 < low <= chunks:
                self.builder.request(namespace)  # in the background; another replica may be building it
            rows: list[tuple[int, float]] = []
            if sessions is None and own == "ready" and k <= EF_MAX:
                rows = self.own_index_rows(conn, q, namespace, k)
            # the graph walk returns ef_search rows of the whole table, a share `size / total` of them
            # in this namespace: ask for twice k of ours, or scan exactly when that exceeds pgvector's 1000
            ef = math.ceil(2 * k * max(total, size) / max(size, 1))
            if sessions is None and own != "ready" and size >= self.hnsw_min_rows and ef <= EF_MAX:
                vec = f"%s::vector({self.dim})"
                with conn.transaction():
                    conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, ef)}")
                    rows = conn.execute(
                        f"SELECT id, -({self._cast} <#> {vec}) FROM chunks WHERE namespace=%s "
                        f"AND vector_dims(embedding) = {self.dim} ORDER BY {self._cast} <#> {vec} LIMIT %s",
                        (q, namespace, q, k),
                    ).fetchall()
            if len(rows) < min(k, size):  # exact: small namespace, sessions, or the graph came back short
                sql_ = (
                    "SELECT id, -(embedding <#> %s) FROM chunks WHERE namespace=%s AND embedding IS NOT NULL "
                    + ("AND session = ANY(%s) " if sessions is not None else "")
                    + "ORDER BY embedding <#> %s LIMIT %s"
                )
                args: list[object] = [q, namespace] + ([list(sessions)] if sessions is not None else []) + [q, k]
                rows = conn.execute(sql_, args).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((r[1] for r in rows), dtype=np.float32, count=len(rows))
        return ids, scores

    def search_among(
        self,
        query: np.ndarray,
        k: int,
        *,
        namespace: str,
        among: np.ndarray,
        sessions: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` by inner product among the chunk ids ``among`` (a point in the history,
        :mod:`memory.read.as_of`): an exact scan of those rows, so the best ``k`` of them."""
        q = check_query(query, self.dim)[0]
        if k <= 0 or among.size == 0 or (sessions is not None and len(sessions) == 0):
            return EMPTY_RESULT
        sql_ = (
            "SELECT id, -(embedding <#> %s) FROM chunks WHERE namespace=%s AND embedding IS NOT NULL "
            "AND id = ANY(%s::bigint[]) "
            + ("AND session = ANY(%s) " if sessions is not None else "")
            + "ORDER BY embedding <#> %s LIMIT %s"
        )
        args: list[object] = [q, namespace, bigint_array(among.tolist())]
        args += ([list(sessions)] if sessions is not None else []) + [q, k]
        with self.store._read() as conn:
            rows = conn.execute(sql_, args).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((r[1] for r in rows), dtype=np.float32, count=len(rows))
        return ids, scores

    def own_index_rows(
        self, conn: psycopg.Connection, q: np.ndarray, namespace: str, k: int, *, explain: str = ""
    ) -> list[tuple[Any, ...]]:
        """Top ``k`` from ``namespace``'s own index (``explain``: an EXPLAIN prefix, for the plan's lines).

        The namespace is a literal: the planner uses a partial index only when it proves the index's
        predicate at plan time, which a parameter (a generic plan, once psycopg prepares the
        statement) does not allow. Sorting is off for this one statement: the index is the only
        way to the order left, whatever the table's statistics say (before ANALYZE has seen a
        namespace grow, the planner would sort the namespace's rows)."""
        ef = min(EF_MAX, max(40, math.ceil(OWN_EF_PER_K * k)))
        with conn.transaction():
            conn.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), set_config('enable_sort', 'off', true)", (str(ef),)
            )
            stmt = sql.SQL(explain) + self._own_sql.format(sql.Literal(namespace))
            return conn.execute(stmt, (q, q, k)).fetchall()

    def ids(self, namespace: str) -> np.ndarray:
        return self.store.chunk_ids(namespace)  # type: ignore[attr-defined, no-any-return]

    def namespaces(self) -> list[str]:
        with self.store._read() as conn:
            rows = conn.execute(
                "SELECT n.namespace FROM namespaces n WHERE EXISTS "
                '(SELECT 1 FROM chunks c WHERE c.namespace = n.namespace) ORDER BY n.namespace COLLATE "C"'
            ).fetchall()
        return [r[0] for r in rows]

    def persist(self) -> None:
        """Nothing to do: every vector is committed with its message."""

    def close(self) -> None:
        """Stop this process's index builder (a build under way is cancelled; the next search asks again)."""
        self.builder.close()
