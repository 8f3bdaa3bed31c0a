"""Keeping a derived vector index (FAISS, Chroma) equal to the vectors in the log.

The log is the truth; an index a process holds is derived from it and caught up by reading the
log: the chunks above the highest id it has seen, and the deletions above the last one it has
applied (a deletion names no namespace, only its key: the namespaces this index or the log holds
are matched by key and reconciled with the log, which drops the deleted chunks). With
write-behind indexing a chunk may be committed before its vector (any process's indexer fills it
in later), so "seen" is a watermark and a set: every chunk with an id up to
``synced_chunk`` is in the index (or deleted); the first chunk still waiting for its vector lies
above it; and ``ahead`` holds the ids above it already indexed (embedded out of id order).
On SQLite, chunk ids grow in commit order (AUTOINCREMENT inside the serialized write), so a chunk
id below the highest one read never appears later.

A PostgreSQL memory has no derived index (pgvector is the log's own rows): :class:`IndexSync` is
not used there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import numpy as np

from indexers.base import Index
from memory.stores.base import IndexSyncStore


class IndexSync:
    """Catches ``index`` up with ``store``'s log; every change to the index happens under ``lock``."""

    def __init__(self, store: IndexSyncStore, index: Index, *, persist_every: int = 5000) -> None:
        self.store = store
        self.index = index
        self.persist_every = persist_every
        self.lock = threading.RLock()
        self.synced_chunk = 0  # every chunk id up to this is in the index (or deleted)
        self.ahead: set[int] = set()  # ids above synced_chunk already in the index
        self.synced_deletion = 0
        self.unpersisted = 0

    def reconcile(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Make the index agree with the log exactly (in ``namespaces``, default all of them);
        returns what was added and removed."""
        with self.lock:
            added = removed = 0
            top, pending = self.store.max_chunk_id(), self.store.pending_chunk_ids()  # before reading chunks
            log_ns = set(self.store.namespaces())
            scope = None if namespaces is None else set(namespaces)
            for ns in set(self.index.namespaces()) - log_ns:
                if scope is None or ns in scope:
                    removed += len(self.index.ids(ns))
                    self.index.drop(ns)
            for ns in log_ns if scope is None else log_ns & scope:
                have = self.index.ids(ns)
                want = self.store.chunk_ids(ns)
                extra = np.setdiff1d(have, want, assume_unique=True)
                if extra.size:
                    self.index.delete(extra, namespace=ns)
                    removed += int(extra.size)
                missing = np.setdiff1d(want, have, assume_unique=True)
                if missing.size:
                    for _, ids, sessions, vecs in self.store.chunk_vectors(namespace=ns):
                        mask = np.isin(ids, missing)
                        if mask.any():
                            self.index.add(
                                ids[mask], vecs[mask], namespace=ns, sessions=[s for s, m in zip(sessions, mask) if m]
                            )
                            added += int(mask.sum())
            self.mark(top, pending)
            self.synced_deletion = self.store.max_deletion_id()
            if added or removed:
                self.index.persist()
            return {"added": added, "removed": removed}

    def mark(self, top: int, pending: np.ndarray) -> None:
        """After indexing every chunk the log had (``top``: its highest id, read before) except
        ``pending`` (not embedded yet): the index is complete up to the first pending chunk."""
        mark = min(top, int(pending[0]) - 1) if pending.size else top
        self.synced_chunk = max(self.synced_chunk, mark)
        self.ahead = {i for ns in self.index.namespaces() for i in self.index.ids(ns).tolist() if i > self.synced_chunk}

    def catch_up(self, *, wait: bool = True) -> None:
        """Apply to the index what the log gained since we last looked (any writer). A reader
        (``wait=False``) does not queue behind a thread already doing it (the indexer, usually):
        it searches the index as it is; the newest turns are in the window and in full text."""
        if self.store.max_chunk_id() <= self.synced_chunk and self.store.max_deletion_id() <= self.synced_deletion:
            return  # nothing new
        if not self.lock.acquire(blocking=wait):
            return
        try:
            self._catch_up()
        finally:
            self.lock.release()

    def _catch_up(self) -> None:
        deletions = self.store.deletions_after(self.synced_deletion)
        touched: set[str] = set()
        if deletions:  # tombstones name no namespace: find the ones held here by their keys
            keys = {key for _, key in deletions}
            held = set(self.index.namespaces()) | set(self.store.namespaces())
            touched = {ns for ns in held if self.store.namespace_key(ns) in keys}
            self.synced_deletion = deletions[-1][0]
        top = self.store.max_chunk_id()
        if top > self.synced_chunk:
            # read in this order: the highest id, the chunks still waiting for a vector, then
            # the vectors; so every chunk up to `top` is either indexed now or still pending
            pending = self.store.pending_chunk_ids(self.synced_chunk)
            mark = min(top, int(pending[0]) - 1) if pending.size else top
            ahead = np.fromiter(self.ahead, dtype=np.int64, count=len(self.ahead))
            n = 0
            for ns, ids, sessions, vecs in self.store.chunk_vectors(after_id=self.synced_chunk):
                new = ~np.isin(ids, ahead)
                if new.any():
                    self.index.add(ids[new], vecs[new], namespace=ns, sessions=[s for s, k in zip(sessions, new) if k])
                    self.ahead.update(i for i in ids[new].tolist() if i > mark)
                    n += int(new.sum())
            self.synced_chunk = max(self.synced_chunk, mark)
            self.ahead = {i for i in self.ahead if i > self.synced_chunk}
            self.unpersisted += n
            if self.unpersisted >= self.persist_every:
                self.index.persist()
                self.unpersisted = 0
        if touched:
            # the deleted chunks leave the index here: the log no longer has them (and chunks
            # added and then deleted by another writer between our two reads go with them)
            self.reconcile(touched)

    def rebuild(self, target: Index, advance: Callable[[int], object]) -> None:
        """Fill ``target`` (emptied first) from the log's vectors; it becomes the index kept in sync.
        Call it holding :attr:`lock`."""
        top, pending = self.store.max_chunk_id(), self.store.pending_chunk_ids()
        for ns in target.namespaces():
            target.drop(ns)
        for ns, ids, sessions, vecs in self.store.chunk_vectors():
            target.add(ids, vecs, namespace=ns, sessions=sessions)
            advance(len(ids))
        target.persist()
        self.index = target
        self.synced_chunk = 0
        self.mark(top, pending)
        self.synced_deletion = self.store.max_deletion_id()
