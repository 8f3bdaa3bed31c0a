"""The PostgreSQL store's per-namespace caches (speakers, session centroids), keyed by a version
that changes whenever the namespace's chunks do (any process's write moves it)."""

from __future__ import annotations

import numpy as np

from memory.stores.cache import VersionedCache
from memory.stores.postgres.connection import PgBase
from memory.stores.postgres.search import as_vector


class Caches(PgBase):
    """Derived per-namespace values, recomputed when the namespace's chunks change."""

    @property
    def _cache(self) -> VersionedCache:
        return self.__dict__.setdefault("_versioned_cache", VersionedCache())

    def _chunks_version(self, namespace: str) -> tuple[int, int, str]:
        """O(1): the namespace's last position, the last deletion, and the re-embedding counter."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT (SELECT last_pos FROM namespaces WHERE namespace=%s), "
                "(SELECT COALESCE(MAX(id), 0) FROM deletions), "
                "(SELECT value FROM meta WHERE key='vectors_version')",
                (namespace,),
            ).fetchone()
        assert row is not None
        return int(row[0] or 0), int(row[1]), str(row[2] or "")

    def speakers(self, namespace: str) -> dict[str, str]:
        """The participants' ``name`` values in a namespace, keyed by lowercased name."""

        def compute() -> dict[str, str]:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT DISTINCT (data::jsonb)->>'name' FROM messages WHERE namespace=%s", (namespace,)
                ).fetchall()
            return {str(r[0]).lower(): str(r[0]) for r in rows if r[0]}

        return self._cache.get("speakers", namespace, self._chunks_version(namespace), compute)

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean chunk vector (pgvector's ``avg``), sessions in name order."""

        def compute() -> tuple[list[str], np.ndarray]:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT session, avg(embedding) FROM chunks WHERE namespace=%s "
                    'GROUP BY session ORDER BY session COLLATE "C"',
                    (namespace,),
                ).fetchall()
            names = [r[0] for r in rows]
            cents = np.stack([as_vector(r[1]).astype(np.float64) for r in rows]) if rows else np.zeros((0, 0))
            return names, cents

        return self._cache.get("centroids", namespace, self._chunks_version(namespace), compute)
