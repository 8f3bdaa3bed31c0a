"""The SQLite store's chunks stored before their vector (write-behind indexing): find them, read
what to embed, and fill their vectors in (an empty ``vector`` blob marks a chunk not embedded yet;
the partial index ``chunks_pending`` keeps finding them cheap however large the log grows)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.sqlite.schema import PENDING


class PendingVectors(SQLiteBase):
    """Chunks without a vector yet, and filling their vectors in."""

    def pending_chunk_ids(self, after_id: int = 0) -> np.ndarray:
        """Ids (ascending) of the chunks with id > ``after_id`` that have no vector yet."""
        rows = self._conn().execute(f"SELECT id FROM chunks WHERE {PENDING} AND id > ? ORDER BY id", (after_id,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def pending_chunks(self, ids: Sequence[int]) -> list[tuple[int, str, str | None]]:
        """``(id, text, speaker name)`` of those of ``ids`` still without a vector, in id order."""
        out: list[tuple[int, str, str | None]] = []
        conn = self._conn()
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            out += conn.execute(
                "SELECT c.id, c.text, json_extract(m.data, '$.name') "
                "FROM chunks c JOIN messages m ON m.id = c.message_id "
                f"WHERE c.id IN ({','.join('?' * len(batch))}) AND c.{PENDING} ORDER BY c.id",
                batch,
            ).fetchall()
        return out

    def fill_vectors(self, items: Sequence[tuple[int, np.ndarray]]) -> list[int]:
        """Store the vectors of chunks still without one, in one transaction; returns the ids written
        (a chunk deleted, or embedded by another process, meanwhile is left as it is)."""
        written: list[int] = []
        with self._write() as conn:
            for cid, vec in items:
                blob = np.ascontiguousarray(vec, dtype=np.float32).tobytes()
                if conn.execute(f"UPDATE chunks SET vector=? WHERE id=? AND {PENDING}", (blob, int(cid))).rowcount:
                    written.append(int(cid))
        return written
