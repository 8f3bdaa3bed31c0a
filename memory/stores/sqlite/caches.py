"""The SQLite store's per-namespace caches (speakers, session centroids), keyed by a version that
changes whenever the namespace's chunks do."""

from __future__ import annotations

import numpy as np

from memory.stores.cache import VersionedCache
from memory.stores.sqlite.connection import SQLiteBase


class Caches(SQLiteBase):
    """Derived per-namespace values, recomputed when the namespace's chunks change."""

    @property
    def _cache(self) -> VersionedCache:
        return self.__dict__.setdefault("_versioned_cache", VersionedCache())

    def _chunks_version(self, namespace: str) -> tuple[int, int, str]:
        """Changes whenever the namespace's chunks do (added, deleted, re-embedded): a cache key.

        O(1): the namespace's last position grows with every append, deletions are logged,
        and re-embedding bumps ``meta.vectors_version`` (a COUNT over the chunks would cost
        milliseconds per context at 100k chunks).
        """
        row = (
            self._conn()
            .execute(
                "SELECT (SELECT last_pos FROM namespaces WHERE namespace=?), "
                "(SELECT COALESCE(MAX(id), 0) FROM deletions), "
                "(SELECT value FROM meta WHERE key='vectors_version')",
                (namespace,),
            )
            .fetchone()
        )
        return int(row[0] or 0), int(row[1]), str(row[2] or "")

    def speakers(self, namespace: str) -> dict[str, str]:
        """The participants' ``name`` values in a namespace, keyed by lowercased name
        (cached until the namespace's chunks change)."""

        def compute() -> dict[str, str]:
            rows = self._conn().execute(
                "SELECT DISTINCT json_extract(data, '$.name') FROM messages WHERE namespace=?", (namespace,)
            )
            return {str(r[0]).lower(): str(r[0]) for r in rows if r[0]}

        return self._cache.get("speakers", namespace, self._chunks_version(namespace), compute)

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean chunk vector (cached until the namespace's chunks change)."""

        def compute() -> tuple[list[str], np.ndarray]:
            sums: dict[str, np.ndarray] = {}
            counts: dict[str, int] = {}
            for session, blob in self._conn().execute(
                "SELECT session, vector FROM chunks WHERE namespace=?", (namespace,)
            ):
                v = np.frombuffer(blob, dtype=np.float32)
                if session in sums:
                    sums[session] += v
                else:
                    sums[session] = v.astype(np.float64)
                counts[session] = counts.get(session, 0) + 1
            names = sorted(sums)
            cents = np.stack([sums[n] / counts[n] for n in names]) if names else np.zeros((0, 0))
            return names, cents

        return self._cache.get("centroids", namespace, self._chunks_version(namespace), compute)
