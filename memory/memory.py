"""``Memory``: the facade that wires the log, chunker, embedder, index and assembler.

A thin object on purpose: each part lives in its own module and can be replaced. This module
opens a memory (store by location, index, identity checks of the embedder and token counter),
rebuilds its index and closes it; the methods of each concern come from a mixin:
:mod:`memory.write.writes` (``add``, ``flush``, ``delete``), :mod:`memory.session.rolling`,
:mod:`memory.read.reads` (``assemble``, ``search``, history) and :mod:`memory.session.states`
(pinned state, stage machine), over the parts named in :mod:`memory.parts`.

Write path (``add``): validate and chunk, then one store transaction stores the messages,
chunks, full-text rows and tool-call links; the write is acknowledged there. Its chunks are
embedded and indexed right after on the memory's background indexer (:mod:`memory.write.indexer`;
``index_writes="sync"`` embeds before the commit instead, as turnmem first did), and so are
rolling summaries. A context built before that still sees the turns: the recent window reads the
log and full-text search has them. ``add(wait_indexed=True)`` and :meth:`Memory.flush` wait for
the vectors. Read path (``assemble``): catch the index up with anything other writers (threads or
processes) committed, then run :func:`memory.read.assemble.assemble` without the memory's lock:
contexts build concurrently with each other and with writes (each thread reads SQLite on its own
WAL connection, PostgreSQL through the pool; the index and the store's caches guard their own state).

On SQLite the index (FAISS, Chroma) is derived state. On open, it is reconciled with the log
(missing chunks are added from the vectors stored in the log, stale ones removed), so a crash
between the log's commit and the index's persist loses nothing; chunks a crash left without a
vector are queued for the indexer. On PostgreSQL the index is the log's own rows (pgvector, a
``LiveIndex``): there is nothing to catch up or reconcile; a vector the indexer writes is seen by
every process once it commits.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from rich.progress import Progress

from indexers import open_index
from indexers.base import Index, LiveIndex
from memory.embedders import BatchingEmbedder, Embedder, default_embedder, identity
from memory.errors import IndexingFailed, InvalidArgument
from memory.models import Message
from memory.read.assemble import AssembleConfig
from memory.read.reads import Reads
from memory.session.rolling import Summaries
from memory.session.states import SessionState
from memory.session.summaries import RollingSummary
from memory.stores import open_store, parse_location
from memory.stores.base import Store
from memory.tokens import TokenCounter, count_message, counting_id, get_counter
from memory.validation import DEFAULT_NAMESPACE as DEFAULT_NAMESPACE  # where callers import it from
from memory.validation import check_ttl
from memory.write.chunking import Chunker
from memory.write.index_sync import IndexSync
from memory.write.indexer import INDEX_WRITES, MAX_PENDING, PENDING_TIMEOUT_S, IndexWorker, embed_text, indexer_id
from memory.write.writes import Writes
from retrievers.base import Retriever
from retrievers.dense import DenseRetriever
from retrievers.lexical import FTSRetriever

log = logging.getLogger("turnmem.memory")

LOG_FILE = "turnmem.db"


def _deployment_id(store: Store) -> str:
    """This memory's random id, made once and kept in its log: a shared Chroma server tells
    its collections from other memories' by it. (Two processes creating the same folder at
    once may each make one; the store's insert-if-absent will close that gap.)"""
    found = store.get_meta("deployment")
    if found is None:
        found = uuid.uuid4().hex
        store.set_meta("deployment", found)
    return found


class Memory(Writes, Summaries, Reads, SessionState):
    """Conversation memory: ``add`` what happens, ``assemble`` a context for each turn.

    Open one with :meth:`Memory.open`. Safe to share between threads; several processes
    may open the same folder (SQLite serializes their writes; each process's index
    catches up from the log before it searches).
    """

    def __init__(
        self,
        store: Store,
        *,
        embedder: Embedder,
        index: Index,
        counter: TokenCounter,
        chunker: Chunker | None = None,
        retriever: Retriever | None = None,
        config: AssembleConfig | None = None,
        persist_every: int = 5000,
        rolling_summary: RollingSummary | None = None,
        idempotency_ttl_s: float | None = None,
        index_writes: str = "background",
        max_pending: int = MAX_PENDING,
        pending_timeout_s: float | None = PENDING_TIMEOUT_S,
    ) -> None:
        if index_writes not in INDEX_WRITES:
            raise InvalidArgument(
                f"index_writes: give 'background' (embed after the commit) or 'sync' (before it); got {index_writes!r}",
                field="index_writes",
            )
        self.index_writes = index_writes
        self.store = store
        self.embedder = embedder
        # The indexer embeds around a batching wrapper (a server's BatchingEmbedder): a context's query
        # must not queue behind a batch of long answers; the two run side by side, the indexer niced.
        self._index_embedder = embedder.inner if isinstance(embedder, BatchingEmbedder) else embedder
        self.counter = counter
        self.chunker = chunker or Chunker(counter)
        self.config = config or AssembleConfig()
        self.dense = DenseRetriever(index, embedder)
        self.lexical = FTSRetriever(store)
        self.custom_retriever = retriever is not None
        self.retriever = retriever or self.retriever_for(self.config)
        self.rolling_summary = rolling_summary
        self.idempotency_ttl_s = check_ttl(idempotency_ttl_s)
        # an index that is the store's own rows needs no catch-up: the indexer writes vectors there
        self.live = isinstance(index, LiveIndex) and bool(index.live)
        self._sync = None if self.live else IndexSync(store, index, persist_every=persist_every)
        self._index = index
        self._lock = self._sync.lock if self._sync is not None else threading.RLock()
        self._owner = indexer_id()  # this memory's name in claims on chunks (a store shared by replicas)
        self.pending_timeout_s = pending_timeout_s
        sweep = self._drain_pending if store.claims_pending else None  # chunks a killed replica left
        self._indexer = IndexWorker(
            self._index_chunks, name=f"turnmem-indexer-{id(self):x}", max_pending=max_pending, idle=sweep
        )
        self._check_models()
        self.reconcile()
        left = self.store.pending_chunk_ids()  # stored, never embedded: a writer ended after its commit
        if left.size:
            log.info("indexing %d chunks stored without vectors (a writer ended before indexing them)", left.size)
            self._indexer.submit(self._drain_pending)
        self._indexer.start_sweeping()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        embedder: Embedder | None = None,
        index: Index | str | None = None,
        counter: TokenCounter | str = "o200k_base",
        config: AssembleConfig | None = None,
        retriever: Retriever | None = None,
        rolling_summary: RollingSummary | None = None,
        idempotency_ttl_s: float | None = None,
        index_writes: str = "background",
        max_pending: int = MAX_PENDING,
        pending_timeout_s: float | None = PENDING_TIMEOUT_S,
    ) -> Memory:
        """Open (or create) a memory at ``path``, with the bundled MiniLM by default.

        ``path`` is a folder (SQLite log and a derived index in it) or a PostgreSQL DSN
        (``postgresql://USER@HOST/DB``: log, full text and pgvector in the database, shared by
        every process that opens it); None reads ``$TURNMEM_DATABASE_URL``. Other URLs are refused.

        ``index`` (folders only) is an :class:`indexers.Index` or a spec: ``"faiss"`` (default,
        persisted in the folder), ``"faiss-hnsw"``, ``"chroma"`` (persistent, in the folder) or
        ``"chroma-http://HOST:PORT"``. ``counter`` is a TokenCounter or an encoding name.
        ``idempotency_ttl_s``: how long an idempotency key is remembered (None: forever).
        ``index_writes``: ``"background"`` (default) acknowledges a write once the log commits and
        embeds its chunks right after on a background thread; ``"sync"`` embeds them before the
        commit (``add`` returns with the vectors indexed). ``max_pending``: the most chunks the
        background indexer may have queued; an ``add`` past it waits for room up to
        ``pending_timeout_s`` seconds, then raises :class:`TimedOut` and stores nothing.
        """
        where = parse_location(path)
        emb = embedder or default_embedder()
        tok = get_counter(counter) if isinstance(counter, str) else counter
        if where.kind == "postgres" and index is not None:
            raise InvalidArgument(
                "index: on PostgreSQL the vectors live in the database (pgvector); leave index unset",
                field="index",
            )
        store = open_store(where, log_file=LOG_FILE)
        try:
            idx = store.live_index(emb.dim)
            if idx is None:
                if isinstance(index, str) or index is None:
                    assert where.folder is not None
                    deployment = _deployment_id(store)
                    idx = open_index(index or "faiss", where.folder / "index", emb.dim, deployment=deployment)
                else:
                    idx = index
            return cls(
                store,
                embedder=emb,
                index=idx,
                counter=tok,
                config=config,
                retriever=retriever,
                rolling_summary=rolling_summary,
                idempotency_ttl_s=idempotency_ttl_s,
                index_writes=index_writes,
                max_pending=max_pending,
                pending_timeout_s=pending_timeout_s,
            )
        except BaseException:
            store.close()
            raise

    def _check_models(self) -> None:
        """The log remembers which embedder made its vectors (name, dim, fingerprint: see
        :mod:`memory.embedders.identity`) and which counter its counts."""
        identity.check(self.store, self.embedder)
        counted_by = self.store.get_meta("counter")  # counter name and counting rules' version
        if counted_by != counting_id(self.counter):
            if counted_by is not None:
                self._recount()
            self.store.set_meta("counter", counting_id(self.counter))

    def _recount(self) -> None:
        tokens = {
            row.id: count_message(self.counter, row.message().to_openai(priced=True))
            for row in self.store.iter_message_rows()
        }
        self.store.update_message_tokens(tokens)

    # -- maintenance -----------------------------------------------------------------------

    def rebuild_index(self, *, reembed: bool = False, index: Index | None = None, progress: bool = False) -> Index:
        """Recreate the index from the log (into ``index`` if given, e.g. another backend).

        ``reembed=True`` recomputes every vector with this memory's embedder first (after
        a model change).
        """
        if self.live and index is not None:
            raise InvalidArgument(
                "index: this memory's vectors live in its database (pgvector); there is no other index to build",
                field="index",
            )
        total = self.store.chunk_count()
        with self._lock, Progress(disable=not progress, transient=True) as bar:
            if reembed:
                task = bar.add_task("re-embedding", total=total)
                identity.reembed(self.store, self.embedder, lambda n: bar.advance(task, n))
            if self._sync is None:  # the vectors just replaced are the index
                return self.index
            old, target = self.index, index if index is not None else self.index
            task = bar.add_task("indexing", total=total)
            self._sync.rebuild(target, lambda n: bar.advance(task, n))
            if target is not old:
                old.close()
                self._index = self.dense.index = target
            return target

    def close(self) -> None:
        """Finish the background indexing (:meth:`flush`), then save the index and close everything.
        A failure there is logged, not raised: its chunks stay in the log and are indexed on the next open."""
        try:
            self.flush()
        except IndexingFailed as exc:
            log.warning("closing with %d chunks not indexed (indexed on the next open): %s", len(exc.chunk_ids), exc)
        finally:
            self._indexer.close()
        with self._lock:
            try:
                self.index.persist()
            finally:
                self.index.close()
                self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _embed_text(msg: Message, text: str) -> str:
    """Kept for callers of the old private name (benchmarks): :func:`memory.write.indexer.embed_text`."""
    return embed_text(msg.name, text)
