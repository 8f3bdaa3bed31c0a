"""``Memory``: the facade that opens a memory and wires its parts.

A thin object on purpose: this module opens a memory (store by location, index, identity checks of
the embedder and token counter), rebuilds its index and closes it. The rest is done by the parts
``Memory.__init__`` builds, each in its own module and given its collaborators explicitly, to which
each public method delegates in one line: :class:`~memory.write.index_handle.IndexHandle` (the
index, its sync with the log, the lock), :class:`~memory.write.writer.Writer` (``add``, ``flush``,
``delete``, the background indexer), :class:`~memory.read.reader.Reader` (``assemble``, ``search``,
history, listings), :class:`~memory.session.session_states.SessionStates` (pinned state, stage
machine) and :class:`~memory.session.rolling.Summaries` (rolling summaries). The hooks between
them are written out once, in ``__init__``.

A write is acknowledged when the log commits; its chunks are embedded right after, off the caller's
path (``index_writes="sync"``: before the commit). A context or search first waits (up to
``read_wait_s``) for the vectors of this memory's writes acknowledged before it, catches the index
up with what other writers committed, then builds without the memory's lock. On SQLite the index (FAISS, Chroma)
is derived state, reconciled with the log on open, so a crash between the log's commit and the
index's persist loses nothing; on PostgreSQL it is the log's own rows (pgvector, a ``LiveIndex``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from indexers import open_index
from indexers.base import Index
from memory.embedders import Embedder, default_embedder, identity
from memory.errors import IndexingFailed, InvalidArgument
from memory.models import Context, Hit, MessageInput, StoredMessage, ToolCallState
from memory.read.assemble import AssembleConfig
from memory.read.reader import READ_WAIT_S, Reader
from memory.session.rolling import Summaries
from memory.session.session_states import SessionStates
from memory.session.state import StateBlock, StateMachine
from memory.session.summaries import RollingSummary, Summarizer
from memory.stores import open_store, parse_location
from memory.stores.base import Store
from memory.stores.rows import PreparedMessage
from memory.tokens import TokenCounter, count_message, counting_id, get_counter
from memory.validation import DEFAULT_NAMESPACE as DEFAULT_NAMESPACE  # where callers import it from
from memory.write.chunking import Chunker
from memory.write.index_handle import IndexHandle
from memory.write.indexer import MAX_PENDING, PENDING_TIMEOUT_S
from memory.write.writer import Writer
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


class Memory:
    """Conversation memory: ``add`` what happens, ``assemble`` a context for each turn.

    Open one with :meth:`Memory.open`. Safe to share between threads; several processes
    may open the same folder (SQLite serializes their writes; each process's index
    catches up from the log before it searches).
    """

    _summaries: Summaries  # built after the writer, whose rolling hook reads it when a write runs

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
        read_wait_s: float = READ_WAIT_S,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.counter = counter
        self.chunker = chunker or Chunker(counter)
        self._index_handle = IndexHandle(store, index, persist_every=persist_every)
        self._lock = self._index_handle.lock
        # The hooks between the parts: after a write, the writer runs the summaries' rolling step
        # (built below, before any write), which stores its summary through the writer and reads
        # through the reader; the reader catches the index up and asks the session states for the pinned block.
        roll = None if rolling_summary is None else lambda ns, s, last: self._summaries.roll(ns, s, last)
        self._writer = Writer(
            store,
            self._index_handle,
            embedder=embedder,
            counter=counter,
            chunker=self.chunker,
            index_writes=index_writes,
            idempotency_ttl_s=idempotency_ttl_s,
            max_pending=max_pending,
            pending_timeout_s=pending_timeout_s,
            after_write=roll,
        )
        self._indexer = self._writer.indexer
        self._states = SessionStates(store)
        self._reader = Reader(
            store,
            index,
            embedder=embedder,
            counter=counter,
            config=config or AssembleConfig(),
            retriever=retriever,
            catch_up=partial(self._index_handle.catch_up, wait=False),
            states=self._states,
            wait_writes=self._writer.wait_for_reads,
            read_wait_s=read_wait_s,
        )
        self._summaries = Summaries(store, counter, rolling_summary, write=self._writer.write, since=self._reader.since)
        self._check_models()
        self.reconcile()
        left = self.store.pending_chunk_ids()  # stored, never embedded: a writer ended after its commit
        if left.size:
            log.info("indexing %d chunks stored without vectors (a writer ended before indexing them)", left.size)
            self._indexer.submit(self._writer.drain_pending)
        self._indexer.start_sweeping()

    # -- what the parts own ----------------------------------------------------------------

    @property
    def index(self) -> Index:
        """The vector index searched for dense retrieval (derived from the log, or the log itself)."""
        return self._index_handle.index

    @property
    def live(self) -> bool:
        """The index is the store's own rows (pgvector): nothing to catch up."""
        return self._index_handle.live

    @property
    def config(self) -> AssembleConfig:
        return self._reader.config

    @property
    def retriever(self) -> Retriever:
        return self._reader.retriever

    @property
    def custom_retriever(self) -> bool:
        return self._reader.custom_retriever

    @property
    def dense(self) -> DenseRetriever:
        return self._reader.dense

    @property
    def lexical(self) -> FTSRetriever:
        return self._reader.lexical

    @property
    def index_writes(self) -> str:
        return self._writer.index_writes

    @property
    def idempotency_ttl_s(self) -> float | None:
        return self._writer.idempotency_ttl_s

    @property
    def pending_timeout_s(self) -> float | None:
        return self._writer.pending_timeout_s

    @property
    def read_wait_s(self) -> float:
        return self._reader.read_wait_s

    @property
    def rolling_summary(self) -> RollingSummary | None:
        return self._summaries.policy

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
        read_wait_s: float = READ_WAIT_S,
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
        ``read_wait_s`` (default 2): how long a context or search waits for the vectors of the
        writes this memory acknowledged before it (read-your-writes; 0: never wait); past it, it
        answers with what is indexed and says how many chunks were not (``Context.unindexed``).
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
                read_wait_s=read_wait_s,
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

    # -- writes (memory.write.writer) ------------------------------------------------------

    def prepare(self, messages: Iterable[MessageInput], *, timestamp: Any = None) -> list[PreparedMessage]:
        """Validate, timestamp, count and chunk messages (and embed them, with ``index_writes="sync"``);
        touches no stored state."""
        return self._writer.prepare(messages, timestamp=timestamp)

    def add(
        self,
        messages: Iterable[MessageInput],
        *,
        session: str,
        namespace: str = DEFAULT_NAMESPACE,
        timestamp: Any = None,
        idempotency_key: str | None = None,
        base_seq: int | None = None,
        wait_indexed: bool = False,
    ) -> list[int]:
        """Append messages to a session; returns the seq of each message, in order.

        Everything in one call is stored atomically or not at all. ``timestamp`` applies to
        messages without their own (default: now). The same ``idempotency_key`` again, or
        a message ``id`` already stored, stores nothing twice. With ``base_seq``, the write
        only succeeds if the session is still at that seq (else :class:`memory.errors.Conflict`).

        Returns once the write is committed; its chunks are embedded and indexed right after, in
        the background (contexts see the turns at once through the window and full text).
        ``wait_indexed=True`` returns once they are (see :meth:`flush`). If earlier background
        indexing failed, this raises :class:`IndexingFailed` first and stores nothing.
        """
        return self._writer.add(messages, session, namespace, timestamp, idempotency_key, base_seq, wait_indexed)

    def add_prepared(
        self,
        prepared: Sequence[PreparedMessage],
        *,
        session: str,
        namespace: str = DEFAULT_NAMESPACE,
        idempotency_key: str | None = None,
        base_seq: int | None = None,
        wait_indexed: bool = False,
    ) -> list[int]:
        """Store what :meth:`prepare` made (``add`` in two steps: the REST service prepares outside its lock)."""
        return self._writer.add_prepared(prepared, session, namespace, idempotency_key, base_seq, wait_indexed)

    def has_room(self, prepared: Sequence[PreparedMessage]) -> bool:
        """Whether :meth:`add_prepared` of ``prepared`` would go ahead now, without waiting for the
        background indexer to make room (``max_pending``)."""
        return self._writer.has_room(prepared)

    def wait_room(self, prepared: Sequence[PreparedMessage]) -> None:
        """Wait until the indexer has room for ``prepared`` (up to ``pending_timeout_s``, then
        :class:`TimedOut`): the REST service waits so before taking its write lock."""
        self._writer.wait_room(prepared)

    def write_mark(self) -> int:
        """A mark for the writes stored so far (:meth:`wait_indexed`)."""
        return self._writer.write_mark()

    def wait_indexed(self, mark: int, timeout: float | None = None) -> None:
        """Wait until the writes stored before :meth:`write_mark` gave ``mark`` are embedded and
        indexed, not those stored after (a service's ``wait_indexed`` write waits for its own write and
        the ones before it while other clients keep writing; :meth:`flush` waits until nothing is left)."""
        self._writer.wait_indexed(mark, timeout)

    def flush(self, timeout: float | None = None, *, namespace: str | None = None) -> None:
        """Wait until every write of this memory so far is embedded and indexed (and its rolling
        summaries are stored). With ``namespace``, on a store shared by replicas (PostgreSQL), also
        until every chunk of that namespace committed before the call by any process has its vector.
        Raises :class:`TimedOut` after ``timeout`` seconds, and :class:`IndexingFailed` if
        background work failed (its chunks are queued again)."""
        self._writer.flush(timeout, namespace=namespace)

    @staticmethod
    def check_write(session: str, namespace: str, idempotency_key: str | None, base_seq: int | None) -> None:
        """Validate the arguments of a write before any costly work (the REST service calls it before embedding)."""
        Writer.check_write(session, namespace, idempotency_key, base_seq)

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace, or one session of it with its ``::summaries`` companion: log rows,
        chunks, full text, vectors, state, tool-call links and idempotency keys (see
        :meth:`memory.stores.base.Store.delete`). Only the touched namespace's index files are saved."""
        return self._writer.delete(namespace, session)

    def reconcile(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Make the index agree with the log exactly (in ``namespaces``, default all of them);
        returns what was added and removed."""
        return self._index_handle.reconcile(namespaces)

    # -- reads (memory.read.reader) --------------------------------------------------------

    def assemble(
        self,
        query: str | None = None,
        *,
        session: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        budget: int = 4000,
        system: str | None = None,
        config: AssembleConfig | None = None,
        query_vector: np.ndarray | None = None,
        now: Any = None,
        timezone: str | None = None,
        as_of: Any = None,
        **overrides: Any,
    ) -> Context:
        """The context for the next model call, within ``budget`` tokens.

        ``query=None`` means no retrieval: the recent window only. ``session=None`` takes
        the window from the namespace's whole timeline. Config fields may be overridden per
        call (``window_share=0.5``); ``query_vector`` skips embedding the query.
        ``timezone`` (an IANA name, e.g. ``"America/Los_Angeles"``) is the user's: "yesterday"
        or "last Tuesday" in the query are that zone's days (default: UTC). ``as_of`` builds it from
        what existed at a point in the history: a seq of ``session`` (the last message the asker had
        seen) or a time (as ``now``; ``now`` defaults to the point's time), or a resolved
        :class:`memory.read.as_of.Point`; see :mod:`memory.read.as_of`.

        It reads its writes: every turn this memory acknowledged before it is searched by vector
        too, waiting up to ``read_wait_s`` for the indexer (which takes them first); past that,
        ``Context.unindexed`` says how many chunks were found by full text only.
        """
        return self._reader.assemble(
            query, session, namespace, budget, system, config, query_vector, now, timezone, overrides, as_of
        )

    def retriever_for(self, cfg: AssembleConfig) -> Retriever:
        """The default hybrid retriever as ``cfg`` sets it (dense + FTS5, fused)."""
        return self._reader.retriever_for(cfg)

    def search(
        self,
        query: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        k: int = 10,
        sessions: Sequence[str] | None = None,
        as_of: Any = None,
    ) -> list[Hit]:
        """Retrieval alone: the top ``k`` chunks for ``query`` with their scores (``as_of``: among the
        chunks stored by a point, a time or a seq of the one session in ``sessions``)."""
        return self._reader.search(query, namespace=namespace, k=k, sessions=sessions, as_of=as_of)

    def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        """The lifecycle of every tool call of a session, in call order (see :class:`ToolCallState`)."""
        return self._reader.tool_calls(session, namespace=namespace)

    def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        """The messages of a session after ``seq``: what a client that saw ``seq`` missed."""
        return self._reader.since(session, seq, namespace=namespace, limit=limit)

    def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        """Every stored message of a session, or of a namespace in order."""
        return self._reader.messages(namespace=namespace, session=session)

    def messages_page(
        self, *, namespace: str = DEFAULT_NAMESPACE, after: int = 0, limit: int = 1000
    ) -> tuple[list[StoredMessage], int | None]:
        """Up to ``limit`` messages of a namespace in the order they were stored, after the
        cursor ``after`` (0: from the start); and the cursor of the next page (None: the last).

        Reads positions in windows (deleted sessions leave gaps, so a window grows while it
        comes back short) until a store query by position range replaces it.
        """
        return self._reader.messages_page(namespace=namespace, after=after, limit=limit)

    def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return self._reader.last_seq(session, namespace=namespace)

    def namespaces(self) -> list[str]:
        return self._reader.namespaces()

    def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return self._reader.sessions(namespace)

    # -- session state (memory.session.session_states) and summaries (memory.session.rolling) --

    def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expected: dict[str, int] | None = None,
    ) -> dict[str, StateBlock]:
        """Set named state blocks of a session atomically; each gets its next version.

        ``blocks`` maps names to JSON values (None removes a block; its history stays).
        ``expected`` maps names to the versions you read (0: absent): if any moved, nothing is
        written and :class:`Conflict` says the current version. With a state machine attached,
        a ``stage`` change it does not allow raises :class:`InvalidTransition`. Every block is
        pinned in each context of the session.
        """
        return self._states.set_state(session, blocks, namespace=namespace, expected=expected)

    def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        """The session's current state blocks (removed ones left out)."""
        return self._states.state(session, namespace=namespace)

    def state_history(self, session: str, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StateBlock]:
        """Every version of one block, oldest first (value None where it was removed)."""
        return self._states.state_history(session, name, namespace=namespace)

    def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any] | None, *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        """Attach a :class:`StateMachine` to the session (None detaches it). The ``stage`` block
        starts at the machine's ``initial`` stage unless it is set already."""
        self._states.set_state_machine(session, machine, namespace=namespace)

    def state_machine(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> StateMachine | None:
        return self._states.state_machine(session, namespace=namespace)

    def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        """Move the session to ``stage`` (checked by its state machine, if any)."""
        return self._states.transition(session, stage, namespace=namespace, expected_version=expected_version)

    def summaries(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StoredMessage]:
        """The session's summaries, oldest first (each covers ``metadata["summary_of"]``)."""
        return self._summaries.summaries(session, namespace=namespace)

    def summarize(
        self,
        session: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        keep_last: int = 50,
        min_turns: int = 20,
        max_tokens: int = 400,
        summarizer: Summarizer | None = None,
    ) -> StoredMessage | None:
        """Condense the turns after the last summary, except the newest ``keep_last``, into one
        summary message (if there are at least ``min_turns`` of them); returns it, or None.

        The summary lives in the companion session ``<session>::summaries``, is indexed like a
        turn, and says which seqs it covers. Concurrent calls store one summary per range:
        the write is conditional on the companion session not having moved.
        """
        return self._summaries.summarize(session, namespace, keep_last, min_turns, max_tokens, summarizer)

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
            if self._index_handle.sync is None:  # the vectors just replaced are the index
                return self.index
            target = index if index is not None else self.index
            task = bar.add_task("indexing", total=total)
            self._index_handle.rebuild(target, lambda n: bar.advance(task, n))  # closes the index it replaces
            self._reader.dense.index = target
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
