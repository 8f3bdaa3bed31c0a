"""Embedding the chunks the log holds without a vector (write-behind indexing): what the indexer's
steps do, and what ``flush(namespace=...)`` runs on a store shared by replicas.

Every function claims the chunks first (:meth:`memory.stores.base.PendingChunks.claim_pending`:
a lease on PostgreSQL, :mod:`memory.stores.postgres.pending`; nothing to record on SQLite), so
two indexers never embed one chunk twice; chunks another indexer holds are waited for, and a dead
indexer's claims run out after :data:`CLAIM_LEASE_S` and are taken over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence

from memory.embedders import Embedder
from memory.errors import TimedOut
from memory.stores.base import PendingChunks

BATCH_CHUNKS = 64  # chunks per embedder call: several writes' chunks at once, a short wait for any one
CLAIM_LEASE_S = 60.0  # a claim on chunks being embedded (one batch: seconds) outlives a slow batch by far
POLL_S = (0.02, 0.5)  # waiting for chunks another indexer holds: first and longest pause between looks


def embed_text(name: str | None, text: str) -> str:
    """What gets embedded for a chunk: the speaker's name, when there is one, then the text."""
    return f"{name}: {text}" if name else text


def indexer_id() -> str:
    """A name for one memory's indexer in claims: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _fill(store: PendingChunks, embedder: Embedder, rows: Sequence[tuple[int, str, str | None]]) -> list[int]:
    if not rows:
        return []
    vectors = embedder.embed([embed_text(name, text) for _, text, name in rows])
    return store.fill_vectors([(cid, vec) for (cid, _, _), vec in zip(rows, vectors)])


def embed_pending(
    store: PendingChunks, embedder: Embedder, ids: Sequence[int], *, owner: str = "", deadline: float | None = None
) -> list[int]:
    """Claim those of ``ids`` still without a vector, embed them and store their vectors; returns
    the ids written (chunks deleted meanwhile, or embedded by another process, are skipped). Chunks
    another indexer holds are waited for (their vectors, or its claim running out: then they are
    claimed here); past ``deadline`` (``time.monotonic()``) raises :class:`TimedOut`."""
    written: list[int] = []
    wanted: Sequence[int] = ids
    pause = POLL_S[0]
    while wanted:
        claim = store.claim_pending(owner, wanted, lease_s=CLAIM_LEASE_S)
        written += _fill(store, embedder, claim.rows)
        wanted = claim.busy
        if wanted:
            if deadline is not None and time.monotonic() + pause > deadline:
                raise TimedOut(
                    f"{len(wanted)} chunks still held by another indexer (their vectors are not written yet)"
                )
            time.sleep(pause)
            pause = min(2 * pause, POLL_S[1])
    return written


def drain_pending(
    store: PendingChunks,
    embedder: Embedder,
    *,
    owner: str,
    batch: int = BATCH_CHUNKS,
    stop: Callable[[], bool] = lambda: False,
) -> list[int]:
    """Embed every chunk the log holds without a vector that no other indexer holds, a page of
    ``batch`` at a time in id order, until ``stop()``; returns
    the ids written. Run on open (a writer ended after its commit) and by the idle sweep on a
    shared store."""
    written: list[int] = []
    after = 0
    while rows := store.claim_pending(owner, None, limit=batch, after_id=after, lease_s=CLAIM_LEASE_S).rows:
        written += _fill(store, embedder, rows)
        after = rows[-1][0]
        if stop():
            break
    return written


def settle(store: PendingChunks, embedder: Embedder, *, owner: str, namespace: str, deadline: float | None) -> None:
    """Return once every chunk of ``namespace`` committed before the call has its vector, whichever
    process stored it: embed those nobody holds, wait for the others (a store shared by replicas)."""
    top = store.max_chunk_id()
    left = [i for i in store.pending_chunk_ids(namespace=namespace).tolist() if i <= top]
    for start in range(0, len(left), BATCH_CHUNKS):
        embed_pending(store, embedder, left[start : start + BATCH_CHUNKS], owner=owner, deadline=deadline)
