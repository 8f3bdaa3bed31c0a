"""``MemoryParts``: what a :class:`memory.memory.Memory` wires, as its mixins see it.

``Memory`` is assembled from one mixin per concern (:mod:`memory.write.writes`,
:mod:`memory.session.rolling`, :mod:`memory.read.reads`, :mod:`memory.session.states`); each
subclasses this base, which names the parts ``Memory.__init__`` sets and holds the two things
every concern uses: catching the index up with the log, and the default retriever. A mixin
reaches another mixin's methods through ``self`` (they are all methods of one ``Memory``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from indexers.base import Index
from memory.embedders import Embedder
from memory.read.assemble import AssembleConfig
from memory.session.summaries import RollingSummary
from memory.stores.base import Store
from memory.tokens import TokenCounter
from memory.write.chunking import Chunker
from memory.write.index_sync import IndexSync
from memory.write.indexer import IndexWorker
from retrievers.base import Retriever
from retrievers.dense import DenseRetriever
from retrievers.fusion import HybridRetriever
from retrievers.lexical import FTSRetriever


class MemoryParts:
    """The parts of a memory (set by :meth:`memory.memory.Memory.__init__`) and the index catch-up."""

    store: Store
    embedder: Embedder
    _index_embedder: Embedder  # what the background indexer embeds with
    counter: TokenCounter
    chunker: Chunker
    config: AssembleConfig
    dense: DenseRetriever
    lexical: FTSRetriever
    custom_retriever: bool
    retriever: Retriever
    rolling_summary: RollingSummary | None
    idempotency_ttl_s: float | None
    index_writes: str
    live: bool  # the index is the store's own rows: nothing to catch up
    _sync: IndexSync | None
    _index: Index
    _lock: threading.RLock
    _indexer: IndexWorker
    _owner: str  # this memory's name in claims on chunks (a store shared by replicas)
    pending_timeout_s: float | None

    @property
    def index(self) -> Index:
        """The vector index searched for dense retrieval (derived from the log, or the log itself)."""
        return self._index

    def reconcile(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Make the index agree with the log exactly (in ``namespaces``, default all of them);
        returns what was added and removed."""
        return {"added": 0, "removed": 0} if self._sync is None else self._sync.reconcile(namespaces)

    def _catch_up(self, *, wait: bool = True) -> None:
        """Apply to the index what the log gained since we last looked (:meth:`IndexSync.catch_up`)."""
        if self._sync is not None:
            self._sync.catch_up(wait=wait)

    def retriever_for(self, cfg: AssembleConfig) -> Retriever:
        """The default hybrid retriever as ``cfg`` sets it (dense + FTS5, fused)."""
        if cfg.lexical_weight == 0:
            return self.dense
        return HybridRetriever(
            [self.dense, self.lexical], method=cfg.fusion, weights=[1.0, cfg.lexical_weight], rrf_k=cfg.rrf_k
        )
