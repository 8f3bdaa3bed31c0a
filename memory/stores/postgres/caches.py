"""The PostgreSQL store's per-namespace caches (speakers, session centroids), folded forward from
the log as it grows (:mod:`memory.stores.cache`); any process's write is seen.

Positions are safe to read as ranges: ``pos`` is given under the namespace's row lock right
before the commit, so once ``last_pos`` reads N every message at positions 1..N is committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import psycopg

from memory.stores.cache import ChunksVersion, IncrementalCache, SessionSums, SpeakerSet
from memory.stores.postgres.connection import PgBase
from memory.stores.postgres.search import as_vector
from memory.stores.tombstones import namespace_key, read_salt

_VERSION = (
    "SELECT (SELECT last_pos FROM namespaces WHERE namespace=%s), "
    "(SELECT COALESCE(MAX(id), 0) FROM deletions), "
    "(SELECT value FROM meta WHERE key='vectors_version'), "
    "(SELECT MIN(m.pos) FROM chunks c JOIN messages m ON m.id = c.message_id "
    "WHERE c.namespace=%s AND c.embedding IS NULL)"
)


class _Reader:
    """The cache's reads on one connection (inside the snapshot :meth:`Caches._snapshot` opened)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def version(self, namespace: str) -> ChunksVersion:
        """O(1): the namespace's last position, the last deletion, the re-embedding counter, and the
        first position still waiting for a vector (the partial index ``chunks_pending``: O(waiting))."""
        row = self.conn.execute(_VERSION, (namespace, namespace)).fetchone()
        assert row is not None
        last = int(row[0] or 0)
        return ChunksVersion(last, int(row[1]), str(row[2] or ""), last if row[3] is None else int(row[3]) - 1)

    def deleted_since(self, namespace: str, after_id: int) -> bool:
        key = namespace_key(read_salt(self.conn, "%s"), namespace)  # tombstones keep no name (tombstones.py)
        row = self.conn.execute(
            "SELECT 1 FROM deletions WHERE id > %s AND namespace_key = %s LIMIT 1", (after_id, key)
        ).fetchone()
        return row is not None

    def speaker_names(self, namespace: str, after_pos: int, upto_pos: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT (data::jsonb)->>'name' FROM messages WHERE namespace=%s AND pos > %s AND pos <= %s",
            (namespace, after_pos, upto_pos),
        ).fetchall()
        return [str(r[0]) for r in rows if r[0]]

    def session_vectors(self, namespace: str, after_pos: int, upto_pos: int) -> tuple[list[str], np.ndarray]:
        rows = self.conn.execute(
            "SELECT c.session, c.embedding FROM messages m JOIN chunks c ON c.message_id = m.id "
            "WHERE m.namespace=%s AND m.pos > %s AND m.pos <= %s AND c.embedding IS NOT NULL ORDER BY m.pos, c.id",
            (namespace, after_pos, upto_pos),
            binary=True,  # pgvector's binary format: no float parsing
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], np.stack([as_vector(r[1]) for r in rows])


class Caches(PgBase):
    """Derived per-namespace values, folded forward on every read after an append."""

    @property
    def _cache(self) -> IncrementalCache:
        cache: IncrementalCache = self.__dict__.setdefault("_incremental_cache", IncrementalCache())
        return cache

    def _version(self, namespace: str) -> ChunksVersion:
        with self._read() as conn:
            return _Reader(conn).version(namespace)

    @contextmanager
    def _snapshot(self) -> Iterator[_Reader]:
        """One read-only REPEATABLE READ transaction: every read sees the same commit."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _Reader(conn)

    def cache_rows_read(self) -> int:
        """Rows the caches have read since the store opened (a diagnostic)."""
        return self._cache.rows_read

    def speakers(self, namespace: str) -> dict[str, str]:
        """The participants' ``name`` values in a namespace, keyed by lowercased name."""
        return self._cache.get("speakers", namespace, SpeakerSet, lambda: self._version(namespace), self._snapshot)

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean chunk vector, sessions in name order."""
        return self._cache.get("centroids", namespace, SessionSums, lambda: self._version(namespace), self._snapshot)
