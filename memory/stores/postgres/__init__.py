"""The PostgreSQL store: one database (psycopg 3, psycopg_pool, pgvector) holding the log, the
full-text index (``tsvector`` + GIN) and the vectors (pgvector): the log and full text are
written in one transaction and each chunk's vector into its row right after (write-behind), so
any number of ``turnmem serve`` replicas or processes on any number of hosts share it and see
each other's writes at once (by full text at once, by vector once the writer's indexer ran).

Assembled from one module per concern, as the SQLite store: ``connection`` (pool, schema,
meta), ``log`` (append, delete: the locking is described there), ``reads``, ``search`` (full
text: the ranking is described there), ``pending`` (chunks stored before their vector),
``state``, ``caches``, ``vectors`` (the pgvector :class:`PgVectorIndex`) and ``ns_indexes``
(a large namespace's own HNSW index; it comes first in the bases: a namespace's delete drops them
after the log's delete commits).
"""

from __future__ import annotations

from memory.stores.postgres.caches import Caches
from memory.stores.postgres.connection import redact
from memory.stores.postgres.log import LogWrites
from memory.stores.postgres.ns_indexes import NAMESPACE_INDEX_MIN_CHUNKS, NamespaceIndex, NamespaceIndexes
from memory.stores.postgres.pending import PendingVectors
from memory.stores.postgres.reads import LogReads
from memory.stores.postgres.schema import SCHEMA_VERSION
from memory.stores.postgres.search import SearchRows
from memory.stores.postgres.state import StateBlocks
from memory.stores.postgres.vectors import HNSW_MIN_ROWS, PgVectorIndex


class PostgresStore(NamespaceIndexes, LogWrites, LogReads, SearchRows, PendingVectors, StateBlocks, Caches):
    """PostgreSQL log. Thread-safe (a connection pool); any number of processes may share the database."""

    def live_index(self, dim: int) -> PgVectorIndex:
        """The pgvector index over this store's chunks: the vectors are the chunk rows' own, read by
        every process from the database (nothing to catch up)."""
        return PgVectorIndex(self, dim)


__all__ = [
    "HNSW_MIN_ROWS",
    "NAMESPACE_INDEX_MIN_CHUNKS",
    "SCHEMA_VERSION",
    "NamespaceIndex",
    "PgVectorIndex",
    "PostgresStore",
    "redact",
]
