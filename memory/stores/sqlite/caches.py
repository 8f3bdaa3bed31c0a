"""The SQLite store's per-namespace caches (speakers, session centroids), folded forward from the
log as it grows (:mod:`memory.stores.cache`); any process's write is seen."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from memory.stores.cache import ChunksVersion, IncrementalCache, SessionSums, SpeakerSet
from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.sqlite.schema import PENDING
from memory.stores.tombstones import namespace_key, read_salt

_VERSION = (
    "SELECT (SELECT last_pos FROM namespaces WHERE namespace=?), "
    "(SELECT COALESCE(MAX(id), 0) FROM deletions), "
    "(SELECT value FROM meta WHERE key='vectors_version'), "
    "(SELECT MIN(m.pos) FROM chunks c JOIN messages m ON m.id = c.message_id "
    f"WHERE c.namespace=? AND c.{PENDING})"
)


class _Reader:
    """The cache's reads on one connection (inside the snapshot :meth:`Caches._snapshot` opened)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def version(self, namespace: str) -> ChunksVersion:
        """O(1): the namespace's last position, the last deletion, the re-embedding counter (a
        COUNT over the chunks would cost milliseconds per context at 100k chunks), and the first
        position still waiting for a vector (the partial index ``chunks_pending``: O(waiting))."""
        row = self.conn.execute(_VERSION, (namespace, namespace)).fetchone()
        last = int(row[0] or 0)
        return ChunksVersion(last, int(row[1]), str(row[2] or ""), last if row[3] is None else int(row[3]) - 1)

    def deleted_since(self, namespace: str, after_id: int) -> bool:
        key = namespace_key(read_salt(self.conn), namespace)  # tombstones keep no name (tombstones.py)
        row = self.conn.execute(
            "SELECT 1 FROM deletions WHERE id > ? AND namespace_key = ? LIMIT 1", (after_id, key)
        ).fetchone()
        return row is not None

    def speaker_names(self, namespace: str, after_pos: int, upto_pos: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT json_extract(data, '$.name') FROM messages WHERE namespace=? AND pos > ? AND pos <= ?",
            (namespace, after_pos, upto_pos),
        )
        return [str(r[0]) for r in rows if r[0]]

    def session_vectors(self, namespace: str, after_pos: int, upto_pos: int) -> tuple[list[str], np.ndarray]:
        rows = self.conn.execute(
            "SELECT c.session, c.vector FROM messages m JOIN chunks c ON c.message_id = m.id "
            f"WHERE m.namespace=? AND m.pos > ? AND m.pos <= ? AND NOT c.{PENDING} ORDER BY m.pos, c.id",
            (namespace, after_pos, upto_pos),
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], vectors


class Caches(SQLiteBase):
    """Derived per-namespace values, folded forward on every read after an append."""

    @property
    def _cache(self) -> IncrementalCache:
        cache: IncrementalCache = self.__dict__.setdefault("_incremental_cache", IncrementalCache())
        return cache

    def _version(self, namespace: str) -> ChunksVersion:
        return _Reader(self._conn()).version(namespace)

    @contextmanager
    def _snapshot(self) -> Iterator[_Reader]:
        """This thread's connection in one read transaction: every read sees the same commit."""
        conn = self._conn()
        if conn.in_transaction:  # pragma: no cover - caches are never read inside a write
            yield _Reader(conn)
            return
        conn.execute("BEGIN")
        try:
            yield _Reader(conn)
        finally:
            conn.execute("COMMIT")

    def cache_rows_read(self) -> int:
        """Rows the caches have read since the store opened (a diagnostic)."""
        return self._cache.rows_read

    def speakers(self, namespace: str) -> dict[str, str]:
        """The participants' ``name`` values in a namespace, keyed by lowercased name."""
        return self._cache.get("speakers", namespace, SpeakerSet, lambda: self._version(namespace), self._snapshot)

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean chunk vector, sessions in name order."""
        return self._cache.get("centroids", namespace, SessionSums, lambda: self._version(namespace), self._snapshot)
