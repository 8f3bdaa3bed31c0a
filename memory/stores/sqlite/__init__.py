"""The embedded store: one SQLite file in WAL mode holding namespaces, sessions, messages and chunks.

The log is the source of truth. Every chunk keeps its vector (written with the chunk, or right
after its commit by write-behind indexing), so any vector index is derived state that can be
rebuilt (or caught up after a crash) from here. Full text is FTS5 (BM25, porter
stemming), written in the same transaction as the log. The class is assembled from one module per
concern: ``connection`` (connections, schema, meta), ``log`` (append, delete), ``reads``,
``search``, ``pending`` (chunks stored before their vector), ``state`` and ``caches``.
"""

from __future__ import annotations

from memory.stores.sqlite.caches import Caches
from memory.stores.sqlite.log import LogWrites, scope_token
from memory.stores.sqlite.pending import PendingVectors
from memory.stores.sqlite.reads import LogReads
from memory.stores.sqlite.schema import SCHEMA_VERSION
from memory.stores.sqlite.search import SearchRows
from memory.stores.sqlite.state import StateBlocks


class SQLiteStore(LogWrites, LogReads, SearchRows, PendingVectors, StateBlocks, Caches):
    """SQLite log. Thread-safe: one connection per thread; SQLite locks across processes."""


__all__ = ["SQLiteStore", "SCHEMA_VERSION", "scope_token"]
