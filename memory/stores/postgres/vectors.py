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
``<#>`` is the negated inner product). Two plans:

- a namespace with fewer than ``HNSW_MIN_ROWS`` messages, or a search restricted to sessions, is
  scanned exactly through the ``(namespace, id)`` b-tree: exact top-k. Measured with pgserver
  (PostgreSQL 16.2, pgvector 0.6.2, 384-d, top 50) on 2 cores under a load average of 11: p50
  5 ms at 2,000 vectors, 12 ms at 5,000, 49 ms at 10,000. The threshold is therefore 5,000: below
  it an exact scan stays within the 25 ms per-namespace goal;
- a larger namespace goes through the HNSW expression index on ``embedding::vector(dim)``
  (``vector_ip_ops``, partial: :func:`hnsw_index`), created when a memory opens the store.
  pgvector 0.6 filters after the graph walk, so ``hnsw.ef_search`` is set to bring back about
  twice ``k`` rows of this namespace (``2k / (namespace share of the table)``); when that would
  exceed pgvector's limit of 1000, or the walk still comes back short, the namespace is scanned
  exactly instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from indexers.base import EMPTY_RESULT, check_ids, check_query, check_vectors
from memory.errors import InvalidArgument
from memory.stores.postgres.connection import PgBase
from memory.stores.postgres.schema import SCHEMA_LOCK

HNSW_MIN_ROWS = 5_000


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

    def __init__(self, store: PgBase, dim: int, *, hnsw_min_rows: int = HNSW_MIN_ROWS) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise InvalidArgument(f"dim: give the embedding dimension, an int >= 1 (got {dim!r})", field="dim")
        self.store = store
        self.dim = dim
        self.hnsw_min_rows = hnsw_min_rows
        self._cast = f"embedding::vector({dim})"
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
                "SELECT last_pos, (SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = 'chunks'::regclass) "
                "FROM namespaces WHERE namespace=%s",
                (namespace,),
            ).fetchone()
            if row is None:
                return EMPTY_RESULT
            size, total = int(row[0]), float(row[1] or 0)
            # the graph walk returns ef_search rows of the whole table, a share `size / total` of them
            # in this namespace: ask for twice k of ours, or scan exactly when that exceeds pgvector's 1000
            ef = math.ceil(2 * k * max(total, size) / max(size, 1))
            rows: list[tuple[int, float]] = []
            if sessions is None and size >= self.hnsw_min_rows and ef <= 1000:
                vec = f"%s::vector({self.dim})"
                with conn.transaction():
                    conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, ef)}")
                    rows = conn.execute(
                        f"SELECT id, -({self._cast} <#> {vec}) FROM chunks WHERE namespace=%s "
                        f"AND vector_dims(embedding) = {self.dim} ORDER BY {self._cast} <#> {vec} LIMIT %s",
                        (q, namespace, q, k),
                    ).fetchall()
            if len(rows) < min(k, size):  # exact: small namespace, sessions, or the graph came back short
                sql = (
                    "SELECT id, -(embedding <#> %s) FROM chunks WHERE namespace=%s AND embedding IS NOT NULL "
                    + ("AND session = ANY(%s) " if sessions is not None else "")
                    + "ORDER BY embedding <#> %s LIMIT %s"
                )
                args: list[object] = [q, namespace] + ([list(sessions)] if sessions is not None else []) + [q, k]
                rows = conn.execute(sql, args).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((r[1] for r in rows), dtype=np.float32, count=len(rows))
        return ids, scores

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
        """Nothing to do: the store owns the connections."""
