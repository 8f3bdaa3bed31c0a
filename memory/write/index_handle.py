"""``IndexHandle``: the vector index a memory searches, and how it is kept equal to the log.

On SQLite the index (FAISS, Chroma) is derived state, caught up from the log by an
:class:`memory.write.index_sync.IndexSync`; on PostgreSQL it is the log's own rows (pgvector, a
live :class:`indexers.base.LiveIndex`), so there is nothing to catch up, reconcile or rebuild from.
Either way one lock guards every change to the index (the sync's, or one of its own).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from indexers.base import Index, LiveIndex
from memory.stores.base import Store
from memory.write.index_sync import IndexSync


class IndexHandle:
    """The index, its sync with the log (None for a live index) and the lock over both."""

    def __init__(self, store: Store, index: Index, *, persist_every: int = 5000) -> None:
        self.index = index
        # an index that is the store's own rows needs no catch-up: the indexer writes vectors there
        self.live = isinstance(index, LiveIndex) and bool(index.live)
        self.sync = None if self.live else IndexSync(store, index, persist_every=persist_every)
        self.lock = self.sync.lock if self.sync is not None else threading.RLock()

    def catch_up(self, *, wait: bool = True) -> None:
        """Apply to the index what the log gained since we last looked (:meth:`IndexSync.catch_up`)."""
        if self.sync is not None:
            self.sync.catch_up(wait=wait)

    def reconcile(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Make the index agree with the log exactly (in ``namespaces``, default all of them);
        returns what was added and removed."""
        return {"added": 0, "removed": 0} if self.sync is None else self.sync.reconcile(namespaces)

    def rebuild(self, target: Index, advance: Callable[[int], object]) -> None:
        """Fill ``target`` from the log's vectors (:meth:`IndexSync.rebuild`); it becomes the index
        (the one it replaces is closed). Call it holding :attr:`lock`, on a derived index only."""
        assert self.sync is not None, "a live index is the log: there is nothing to rebuild it from"
        old = self.index
        self.sync.rebuild(target, advance)
        if target is not old:
            old.close()
            self.index = target
