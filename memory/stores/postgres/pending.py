"""The PostgreSQL store's chunks stored before their vector (write-behind indexing): find them,
claim them to embed, and fill their vectors in (``embedding`` is NULL until then; the partial index
``chunks_pending`` keeps finding them cheap however large the table grows).

Several replicas share the database, and each re-queues the chunks left without a vector when it
opens (a replica killed between a commit and its indexing leaves some). So an indexer *claims* the
chunks it is about to embed: a lease on the chunk row (``claimed_by``, ``claimed_until``), taken
in one short statement (``FOR UPDATE SKIP LOCKED`` in the statement, so two claimers never take
the same row) and cleared by ``fill_vectors``. A chunk whose lease is live is left alone by every
other indexer; they wait for its vector instead (:func:`memory.write.pending.embed_pending`). A lease
that ran out (its holder was killed, or hangs) can be taken by anyone: the open of any replica and
every replica's idle sweep pick such chunks up. Leases are read on the database's clock
(``clock_timestamp()``), so the hosts' clocks do not matter.

Why a lease and not a row lock held while embedding (``FOR UPDATE SKIP LOCKED`` in a transaction
left open across the embedder call, released by the database the moment a holder's connection
drops): a row lock blocks the deletes of those chunks, and a session delete holds its session
and namespace rows while it waits, so every append to that namespace would wait for a batch's
embedding (seconds). A lease blocks nothing: a delete removes a claimed chunk at once, and the
holder's ``fill_vectors`` then finds nothing to write. Its cost is one short update per chunk
and, when a holder dies, the lease's length (:data:`memory.write.indexer.CLAIM_LEASE_S`) before its
chunks are taken over.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory.stores.postgres.connection import PgBase, bigint_array
from memory.stores.rows import PendingClaim

_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
_FREE = f"(c.claimed_until IS NULL OR c.claimed_until < {_NOW} OR c.claimed_by = %(owner)s)"


class PendingVectors(PgBase):
    """Chunks without a vector yet: claiming them, and filling their vectors in."""

    claims_pending = True  # replicas share the pending chunks: each is claimed before it is embedded

    def pending_chunk_ids(self, after_id: int = 0, *, namespace: str | None = None) -> np.ndarray:
        """Ids (ascending) of the chunks with id > ``after_id`` (in ``namespace`` if given) that have no vector yet."""
        where = "embedding IS NULL AND id > %s" + (" AND namespace = %s" if namespace is not None else "")
        args = (after_id,) if namespace is None else (after_id, namespace)
        with self._read() as conn:
            rows = conn.execute(f"SELECT id FROM chunks WHERE {where} ORDER BY id", args).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def claim_pending(
        self,
        owner: str,
        ids: Sequence[int] | None = None,
        *,
        limit: int = 64,
        after_id: int = 0,
        namespace: str | None = None,
        lease_s: float = 60.0,
    ) -> PendingClaim:
        """Claim for ``owner`` (for ``lease_s`` seconds) the chunks still without a vector that no
        other live claim holds: those of ``ids``, or (None) the first ``limit`` above ``after_id``
        (in ``namespace`` if given). Returns their ``(id, text, speaker name)`` in id order and, of
        ``ids``, those another indexer holds (``busy``)."""
        args: dict[str, object] = {"owner": owner, "lease": float(lease_s), "limit": int(limit)}
        if ids is not None:
            where = "c.id = ANY(%(ids)s::bigint[])"
            args["ids"] = bigint_array(ids)
            args["limit"] = len(ids)
        else:
            where = "c.id > %(after)s" + (" AND c.namespace = %(ns)s" if namespace is not None else "")
            args.update(after=int(after_id), ns=namespace)
        with self._write(derived=True) as conn:
            rows = conn.execute(
                f"WITH picked AS (SELECT c.id FROM chunks c WHERE c.embedding IS NULL AND {where} AND {_FREE} "
                "ORDER BY c.id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
                f"UPDATE chunks c SET claimed_by = %(owner)s, claimed_until = {_NOW} + %(lease)s "
                "FROM picked, messages m WHERE c.id = picked.id AND m.id = c.message_id "
                "RETURNING c.id, c.text, (m.data::jsonb)->>'name'",
                args,
            ).fetchall()
            busy: list[int] = []
            if ids is not None and len(rows) < len(ids):
                taken = bigint_array(r[0] for r in rows)
                busy = [
                    int(r[0])
                    for r in conn.execute(
                        "SELECT id FROM chunks WHERE id = ANY(%s::bigint[]) AND embedding IS NULL "
                        "AND NOT id = ANY(%s::bigint[]) ORDER BY id",
                        (args["ids"], taken),
                    )
                ]
        return PendingClaim(rows=sorted((int(r[0]), r[1], r[2]) for r in rows), busy=busy)

    def fill_vectors(self, items: Sequence[tuple[int, np.ndarray]]) -> list[int]:
        """Store the vectors of chunks still without one, and end their claims, in one transaction;
        returns the ids written (a chunk deleted, or embedded by another process, meanwhile is left
        as it is). Every process sees them once this commits."""
        if not items:
            return []
        with self._write(derived=True) as conn:
            rows = conn.execute(
                "UPDATE chunks c SET embedding = v.e, claimed_by = NULL, claimed_until = NULL "
                "FROM unnest(%s::bigint[], %s::vector[]) AS v(id, e) "
                "WHERE c.id = v.id AND c.embedding IS NULL RETURNING c.id",
                ([int(i) for i, _ in items], [np.ascontiguousarray(v, dtype=np.float32) for _, v in items]),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)
