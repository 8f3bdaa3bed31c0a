"""The SQLite store's chunks stored before their vector (write-behind indexing): find them, take
them to embed, and fill their vectors in (an empty ``vector`` blob marks a chunk not embedded yet;
the partial index ``chunks_pending`` keeps finding them cheap however large the log grows).

A folder has one writing process as a rule (several may share it: SQLite serializes their
writes), so taking chunks records no claim: ``claim_pending`` reads them, nothing is ever busy,
and ``fill_vectors`` writes only where the vector is still missing, so a chunk two processes
embedded at once is written once. (The PostgreSQL store, shared by replicas, claims them.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory.stores.rows import PendingClaim
from memory.stores.sqlite.connection import SQLiteBase
from memory.stores.sqlite.schema import PENDING

_ROWS = "SELECT c.id, c.text, json_extract(m.data, '$.name') FROM chunks c JOIN messages m ON m.id = c.message_id "


class PendingVectors(SQLiteBase):
    """Chunks without a vector yet, and filling their vectors in."""

    claims_pending = False  # one writing process per folder: nothing to claim against

    def pending_chunk_ids(self, after_id: int = 0, *, namespace: str | None = None) -> np.ndarray:
        """Ids (ascending) of the chunks with id > ``after_id`` (in ``namespace`` if given) that have no vector yet."""
        where = f"{PENDING} AND id > ?"
        args: list[int | str] = [after_id]
        if namespace is not None:
            where, args = where + " AND namespace = ?", [*args, namespace]
        rows = self._conn().execute(f"SELECT id FROM chunks WHERE {where} ORDER BY id", args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def claim_pending(
        self,
        owner: str,
        ids: Sequence[int] | None = None,
        *,
        limit: int = 64,
        after_id: int = 0,
        namespace: str | None = None,
        lease_s: float = 0.0,
    ) -> PendingClaim:
        """``(id, text, speaker name)`` of those of ``ids`` still without a vector (None: the first
        ``limit`` of them above ``after_id``, in ``namespace`` if given), in id order. Nothing is
        recorded (``owner`` and ``lease_s`` are the PostgreSQL store's) and nothing is busy."""
        conn = self._conn()
        if ids is None:
            where = f"c.{PENDING} AND c.id > ?"
            args: list[int | str] = [int(after_id)]
            if namespace is not None:
                where, args = where + " AND c.namespace = ?", [*args, namespace]
            rows = conn.execute(f"{_ROWS} WHERE {where} ORDER BY c.id LIMIT ?", [*args, int(limit)]).fetchall()
            return PendingClaim(rows=rows, busy=[])
        out: list[tuple[int, str, str | None]] = []
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            out += conn.execute(
                f"{_ROWS} WHERE c.id IN ({','.join('?' * len(batch))}) AND c.{PENDING} ORDER BY c.id", batch
            ).fetchall()
        return PendingClaim(rows=sorted(out), busy=[])

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
