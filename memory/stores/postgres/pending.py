"""The PostgreSQL store's chunks stored before their vector (write-behind indexing): find them,
read what to embed, and fill their vectors in (``embedding`` is NULL until then; the partial index
``chunks_pending`` keeps finding them cheap however large the table grows)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory.stores.postgres.connection import PgBase


class PendingVectors(PgBase):
    """Chunks without a vector yet, and filling their vectors in."""

    def pending_chunk_ids(self, after_id: int = 0) -> np.ndarray:
        """Ids (ascending) of the chunks with id > ``after_id`` that have no vector yet."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id FROM chunks WHERE embedding IS NULL AND id > %s ORDER BY id", (after_id,)
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def pending_chunks(self, ids: Sequence[int]) -> list[tuple[int, str, str | None]]:
        """``(id, text, speaker name)`` of those of ``ids`` still without a vector, in id order."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT c.id, c.text, (m.data::jsonb)->>'name' FROM chunks c JOIN messages m ON m.id = c.message_id "
                "WHERE c.id = ANY(%s) AND c.embedding IS NULL ORDER BY c.id",
                ([int(i) for i in ids],),
            ).fetchall()
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def fill_vectors(self, items: Sequence[tuple[int, np.ndarray]]) -> list[int]:
        """Store the vectors of chunks still without one, in one transaction; returns the ids written
        (a chunk deleted, or embedded by another process, meanwhile is left as it is). Every
        process sees them once this commits."""
        if not items:
            return []
        with self._write() as conn:
            rows = conn.execute(
                "UPDATE chunks c SET embedding = v.e FROM unnest(%s::bigint[], %s::vector[]) AS v(id, e) "
                "WHERE c.id = v.id AND c.embedding IS NULL RETURNING c.id",
                ([int(i) for i, _ in items], [np.ascontiguousarray(v, dtype=np.float32) for _, v in items]),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)
