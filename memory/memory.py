"""``Memory``: the facade that wires the log, chunker, embedder, index and assembler.

A thin object on purpose: each part lives in its own module and can be replaced.

Write path (``add``): validate and chunk, then one store transaction stores the messages,
chunks, full-text rows and tool-call links; the write is acknowledged there. Its chunks are
embedded and indexed right after on the memory's background indexer (:mod:`memory.indexing`;
``index_writes="sync"`` embeds before the commit instead, as turnmem first did), and so are
rolling summaries. A context built before that still sees the turns: the recent window reads the
log and full-text search has them. ``add(wait_indexed=True)`` and :meth:`Memory.flush` wait for
the vectors. Read path (``assemble``): catch the index up with anything other writers (threads or
processes) committed, then run :func:`memory.assemble.assemble` without the memory's lock:
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

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from indexers.base import Index, LiveIndex
from memory import identity
from memory.assemble import AssembleConfig, assemble
from memory.chunking import Chunker
from memory.embedders import BatchingEmbedder, Embedder, default_embedder
from memory.errors import Conflict, IndexingFailed, InvalidArgument, InvalidMessage, InvalidTransition, TimedOut
from memory.index_sync import IndexSync
from memory.indexing import (
    INDEX_WRITES,
    MAX_PENDING,
    PENDING_TIMEOUT_S,
    IndexWorker,
    drain_pending,
    embed_pending,
    embed_text,
    indexer_id,
    settle,
)
from memory.models import Context, Hit, Message, MessageInput, StoredMessage, ToolCallState, parse_message
from memory.state import STAGE, StateBlock, StateMachine, block_from_row, check_block_name, encode_value
from memory.state import render as render_state
from memory.store import PreparedChunk, PreparedMessage, Store, check_name
from memory.stores import open_store, parse_location
from memory.summaries import SUFFIX as SUMMARY_SUFFIX
from memory.summaries import ExtractiveSummarizer, RollingSummary, Summarizer, summary_session
from memory.tokens import TokenCounter, count_message, counting_id, get_counter
from memory.validation import (
    apply_overrides,
    as_timestamp,
    check_base_seq,
    check_budget,
    check_k,
    check_limit,
    check_query,
    check_seq,
    check_ttl,
)
from retrievers.base import Candidates, Query, Retriever
from retrievers.dense import DenseRetriever
from retrievers.fusion import HybridRetriever
from retrievers.lexical import FTSRetriever

log = logging.getLogger("turnmem.memory")

DEFAULT_NAMESPACE = "default"
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
        self._index_embedder: Embedder = embedder.inner if isinstance(embedder, BatchingEmbedder) else embedder
        self.counter = counter
        self.chunker = chunker or Chunker(counter)
        self.config = config or AssembleConfig()
        self.dense = DenseRetriever(index, embedder)
        self.lexical = FTSRetriever(store)
        self.custom_retriever = retriever is not None
        self.retriever: Retriever = retriever or self.retriever_for(self.config)
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
                    from indexers import open_index

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
        :mod:`memory.identity`) and which counter its counts."""
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

    # -- index sync ------------------------------------------------------------------------

    def reconcile(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Make the index agree with the log exactly (in ``namespaces``, default all of them);
        returns what was added and removed."""
        return {"added": 0, "removed": 0} if self._sync is None else self._sync.reconcile(namespaces)

    def _catch_up(self, *, wait: bool = True) -> None:
        """Apply to the index what the log gained since we last looked (:meth:`IndexSync.catch_up`)."""
        if self._sync is not None:
            self._sync.catch_up(wait=wait)

    # -- writes ----------------------------------------------------------------------------

    def prepare(self, messages: Iterable[MessageInput], *, timestamp: Any = None) -> list[PreparedMessage]:
        """Validate, timestamp, count and chunk messages (and embed them, with ``index_writes="sync"``);
        touches no stored state."""
        if isinstance(messages, (dict, Message)):
            raise InvalidMessage("messages: pass a list of messages (wrap a single message in [...])", field="messages")
        try:
            items = list(messages)
        except TypeError:
            raise InvalidMessage("messages: pass a list of OpenAI chat messages", field="messages") from None
        if not items:
            raise InvalidMessage("messages: the list is empty; pass at least one message", field="messages")
        default_ts = time.time() if timestamp is None else as_timestamp(timestamp, "timestamp")
        parsed = [parse_message(m, index=i) for i, m in enumerate(items)]
        prepared: list[PreparedMessage] = []
        texts: list[str] = []
        for msg in parsed:
            ts = msg.timestamp.timestamp() if msg.timestamp is not None else default_ts
            if msg.timestamp is None:
                msg = msg.model_copy(update={"timestamp": datetime.fromtimestamp(ts, tz=timezone.utc)})
            tokens = count_message(self.counter, msg.to_openai(priced=True))
            pieces = self.chunker.split(msg)
            chunks = [
                PreparedChunk(
                    part=p,
                    parts=len(pieces),
                    kind=piece.kind,
                    text=piece.text,
                    tokens=piece.tokens,
                    vector=np.zeros(0, dtype=np.float32),  # empty: embedded after the commit
                )
                for p, piece in enumerate(pieces)
            ]
            texts.extend(embed_text(msg.name, piece.text) for piece in pieces)
            prepared.append(PreparedMessage(message=msg, ts=ts, tokens=tokens, chunks=chunks))
        if self.index_writes == "sync" and texts:
            vectors = self.embedder.embed(texts)
            for ch, vec in zip((ch for pm in prepared for ch in pm.chunks), vectors):
                ch.vector = vec
        return prepared

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
        self.check_write(session, namespace, idempotency_key, base_seq)
        prepared = self.prepare(messages, timestamp=timestamp)
        return self.add_prepared(
            prepared,
            session=session,
            namespace=namespace,
            idempotency_key=idempotency_key,
            base_seq=base_seq,
            wait_indexed=wait_indexed,
        )

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
        self.check_write(session, namespace, idempotency_key, base_seq)
        self._indexer.raise_failed()  # an earlier write's indexing failed: say so before storing more
        behind = sum(len(pm.chunks) for pm in prepared) if self.index_writes == "background" else 0
        with self._indexer.room(behind, self.pending_timeout_s):  # backpressure: the queue stays bounded
            seqs, ticket = self._store(prepared, session, namespace, idempotency_key=idempotency_key, base_seq=base_seq)
        if wait_indexed:  # this write's chunks (a replay or a write without new chunks: all queued)
            self._indexer.wait(ticket)
            self._indexer.raise_failed()
        return seqs

    def _store(
        self,
        prepared: Sequence[PreparedMessage],
        session: str,
        namespace: str,
        *,
        idempotency_key: str | None,
        base_seq: int | None,
    ) -> tuple[list[int], int | None]:
        """Append to the log, then index (now, or queue it) and see to the rolling summary;
        returns the seqs and the indexer's ticket for this write's chunks (None: nothing queued)."""
        result = self.store.append(
            namespace,
            session,
            prepared,
            base_seq=base_seq,
            idempotency_key=idempotency_key,
            idempotency_ttl_s=self.idempotency_ttl_s,
        )
        ticket = None
        if result.new_chunk_ids:
            if result.new_vectors is None:  # stored without vectors: write-behind
                ticket = self._indexer.submit(list(result.new_chunk_ids))
            else:
                self._catch_up()
        if self.rolling_summary is not None and not session.endswith(SUMMARY_SUFFIX) and result.seqs:
            if not result.replayed:
                last = max(result.seqs)
                if self.index_writes == "background":
                    self._indexer.submit(lambda: self._roll_summary(namespace, session, last))
                else:
                    self._roll_summary(namespace, session, last)
        return result.seqs, ticket

    def _index_chunks(self, ids: list[int]) -> None:
        """The indexer's step: embed these chunks, store their vectors, bring the index up to date."""
        if embed_pending(self.store, self._index_embedder, ids, owner=self._owner):
            self._catch_up()

    def _drain_pending(self) -> None:
        """Embed the chunks the log holds without a vector that no indexer holds (on open, and the
        idle sweep of a shared store)."""
        worker = self._indexer
        if drain_pending(
            self.store, self._index_embedder, owner=self._owner, batch=worker.batch, stop=lambda: worker.closing
        ):
            self._catch_up()

    def flush(self, timeout: float | None = None, *, namespace: str | None = None) -> None:
        """Wait until every write of this memory so far is embedded and indexed (and its rolling
        summaries are stored). With ``namespace``, on a store shared by replicas (PostgreSQL), also
        until every chunk of that namespace committed before the call by any process has its vector.
        Raises :class:`TimedOut` after ``timeout`` seconds, and :class:`IndexingFailed` if
        background work failed (its chunks are queued again)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._indexer.wait(timeout=timeout):
            waiting = self._indexer.waiting_chunks
            raise TimedOut(f"flush: {waiting} chunks still waiting for their vectors after {timeout} s")
        self._indexer.raise_failed()
        if namespace is not None and self.store.claims_pending:
            try:
                settle(
                    self.store,
                    self._index_embedder,
                    owner=f"{self._owner}/flush",
                    namespace=namespace,
                    deadline=deadline,
                )
            except TimedOut as exc:
                raise TimedOut(f"flush: after {timeout} s, {exc}") from None

    def _roll_summary(self, namespace: str, session: str, last_seq: int) -> None:
        policy = self.rolling_summary
        assert policy is not None
        if last_seq - self._last_summary(namespace, session)[1] > policy.every + policy.keep_last:
            self.summarize(
                session,
                namespace=namespace,
                keep_last=policy.keep_last,
                min_turns=policy.every,
                max_tokens=policy.max_tokens,
                summarizer=policy.summarizer,
            )

    # -- rolling summaries -------------------------------------------------------------------

    def _last_summary(self, namespace: str, session: str) -> tuple[int, int]:
        """``(seq of the session's latest summary, last turn it covers)``; ``(0, 0)`` before the first."""
        last = self.store.tail(namespace, summary_session(session), limit=1)
        if not last:
            return 0, 0
        return last[0].seq, int(last[0].message().metadata.get("summary_of", {}).get("to_seq", 0))

    def summaries(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StoredMessage]:
        """The session's summaries, oldest first (each covers ``metadata["summary_of"]``)."""
        return self.since(summary_session(session), 0, namespace=namespace)

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
        check_name(session, "session")
        check_name(namespace, "namespace")
        for name, value, low in (
            ("keep_last", keep_last, 0),
            ("min_turns", min_turns, 1),
            ("max_tokens", max_tokens, 16),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InvalidArgument(f"{name}: give an int >= {low} (got {value!r})", field=name)
        target = summary_session(session)
        base, covered = self._last_summary(namespace, session)  # one read: the write below is conditional on it
        start = covered + 1
        end = self.store.last_seq(namespace, session) - keep_last
        if end - start + 1 < min_turns:
            return None
        turns = [m for m in self.since(session, start - 1, namespace=namespace) if m.seq <= end]
        text = (summarizer or ExtractiveSummarizer()).summarize(turns, max_tokens=max_tokens, counter=self.counter)
        first, last = turns[0].timestamp, turns[-1].timestamp
        when = f", {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else ""
        message = {
            "role": "system",
            "content": f"Summary of session {session}, turns {start}-{end}{when}:\n{text}",
            "timestamp": last,
            "metadata": {"kind": "summary", "summary_of": {"session": session, "from_seq": start, "to_seq": end}},
        }
        try:
            [seq], _ = self._store(
                self.prepare([message]), target, namespace, base_seq=base, idempotency_key=f"summary-{end}"
            )
        except Conflict:
            return None  # another writer summarized first; its summary stands
        return self.since(target, seq - 1, namespace=namespace, limit=1)[0]

    @staticmethod
    def check_write(session: str, namespace: str, idempotency_key: str | None, base_seq: int | None) -> None:
        """Validate the arguments of a write before any costly work (the REST service calls it before embedding)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        if idempotency_key is not None:
            check_name(idempotency_key, "idempotency_key")
        check_base_seq(base_seq)

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace, or one session of it with its ``::summaries`` companion: log rows,
        chunks, full text, vectors, state, tool-call links and idempotency keys (see
        :meth:`memory.stores.base.Store.delete`). Only the touched namespace's index files are saved."""
        check_name(namespace, "namespace")
        if session is not None:
            check_name(session, "session")
        n = self.store.delete(namespace, session)
        self._catch_up()
        self.index.persist()
        return n

    # -- reads -----------------------------------------------------------------------------

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
        **overrides: Any,
    ) -> Context:
        """The context for the next model call, within ``budget`` tokens.

        ``query=None`` means no retrieval: the recent window only. ``session=None`` takes
        the window from the namespace's whole timeline. Config fields may be overridden per
        call (``window_share=0.5``); ``query_vector`` skips embedding the query.
        ``timezone`` (an IANA name, e.g. ``"America/Los_Angeles"``) is the user's: "yesterday"
        or "last Tuesday" in the query are that zone's days (default: UTC).
        """
        if timezone is not None:
            overrides["timezone"] = timezone
        check_name(namespace, "namespace")
        if session is not None:
            check_name(session, "session")
        check_query(query)
        cfg = apply_overrides(config or self.config, overrides)
        check_budget(budget)  # before embedding the query
        self._catch_up(wait=False)
        retriever = self.retriever if (self.custom_retriever or cfg == self.config) else self.retriever_for(cfg)
        if query_vector is None and query is not None and query.strip() and not self.custom_retriever:
            query_vector = self.embedder.embed([query])[0]  # once, for dense search and session scores
        return assemble(
            store=self.store,
            retriever=retriever,
            counter=self.counter,
            namespace=namespace,
            session=session,
            query=query,
            budget=budget,
            system=system,
            config=cfg,
            query_vector=query_vector,
            now=None if now is None else as_timestamp(now, "now"),
            state=self._pinned_state(namespace, session) if cfg.pin_state else None,
        )

    def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        """The lifecycle of every tool call of a session, in call order (see :class:`ToolCallState`)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        links = self.store.session_tool_links(namespace, session)
        seqs = {s for _, c, r in links for s in (c, r) if s is not None}
        rows = self.store.messages_by_seq(namespace, session, sorted(seqs))
        states: list[ToolCallState] = []
        for call_id, call_seq, result_seq in links:
            call = next(c for c in rows[call_seq].message().tool_calls or () if c.id == call_id)
            status = "pending"
            if result_seq is not None:
                failed = bool(rows[result_seq].message().metadata.get("is_error"))
                status = "error" if failed else "completed"
            states.append(
                ToolCallState(
                    id=call_id,
                    name=call.function.name,
                    arguments=call.function.arguments,
                    call_seq=call_seq,
                    result_seq=result_seq,
                    status=status,
                )
            )
        for i, st in enumerate(states):  # a failed call followed by another call of the same function
            if st.status == "error":
                later = next((t for t in states[i + 1 :] if t.name == st.name and t.call_seq > st.call_seq), None)
                if later is not None:
                    states[i] = st.model_copy(update={"status": "retried", "retried_by": later.id})
        return states

    # -- pinned session state ----------------------------------------------------------------

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
        check_name(session, "session")
        check_name(namespace, "namespace")
        if not isinstance(blocks, dict) or not blocks:
            raise InvalidArgument("state: give a dict of block name -> JSON value, e.g. {'task': '...'}", field="state")
        encoded = {check_block_name(k): (None if v is None else encode_value(k, v)) for k, v in blocks.items()}
        for name, version in (expected or {}).items():
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise InvalidArgument(
                    f"expected.{name}: give the version you read, an int >= 0", field=f"expected.{name}"
                )

        def check(current: dict[str, tuple[int, str | None, float]], spec: str | None) -> None:
            if spec is None or STAGE not in blocks:
                return
            machine = StateMachine.model_validate_json(spec)
            row = current.get(STAGE)
            now_stage = json.loads(row[1]) if row and row[1] is not None else None
            if blocks[STAGE] is None:
                raise InvalidTransition(
                    "stage: a state machine governs this session's stage; move it to another stage instead of "
                    "removing it (or detach the machine first)",
                    current=now_stage,
                    allowed=machine.stages[now_stage].next if now_stage in machine.stages else [],
                )
            machine.check(now_stage, blocks[STAGE])

        written = self.store.set_state(namespace, session, encoded, expected=expected, check=check)
        return {name: block_from_row(name, *row) for name, row in written.items()}

    def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        """The session's current state blocks (removed ones left out)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        rows = self.store.state(namespace, session)
        return {name: block_from_row(name, *row) for name, row in sorted(rows.items()) if row[1] is not None}

    def state_history(self, session: str, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StateBlock]:
        """Every version of one block, oldest first (value None where it was removed)."""
        return [block_from_row(name, *row) for row in self.store.state_history(namespace, session, name)]

    def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any] | None, *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        """Attach a :class:`StateMachine` to the session (None detaches it). The ``stage`` block
        starts at the machine's ``initial`` stage unless it is set already."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        if machine is None:
            self.store.set_state_machine(namespace, session, None, None)
            return
        try:
            m = machine if isinstance(machine, StateMachine) else StateMachine.model_validate(machine)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            loc = ".".join(str(p) for p in err.get("loc", ()))
            raise InvalidArgument(f"machine{'.' + loc if loc else ''}: {msg}", field="machine") from None
        self.store.set_state_machine(namespace, session, m.model_dump_json(), m.initial)

    def state_machine(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> StateMachine | None:
        spec = self.store.state_machine(namespace, session)
        return None if spec is None else StateMachine.model_validate_json(spec)

    def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        """Move the session to ``stage`` (checked by its state machine, if any)."""
        expected = None if expected_version is None else {STAGE: expected_version}
        return self.set_state(session, {STAGE: stage}, namespace=namespace, expected=expected)[STAGE]

    def _pinned_state(self, namespace: str, session: str | None) -> str | None:
        if session is None:
            return None
        blocks = self.state(session, namespace=namespace)
        if not blocks:
            return None
        return render_state(blocks, self.state_machine(session, namespace=namespace))

    def retriever_for(self, cfg: AssembleConfig) -> Retriever:
        """The default hybrid retriever as ``cfg`` sets it (dense + FTS5, fused)."""
        if cfg.lexical_weight == 0:
            return self.dense
        return HybridRetriever(
            [self.dense, self.lexical], method=cfg.fusion, weights=[1.0, cfg.lexical_weight], rrf_k=cfg.rrf_k
        )

    def search(
        self, query: str, *, namespace: str = DEFAULT_NAMESPACE, k: int = 10, sessions: Sequence[str] | None = None
    ) -> list[Hit]:
        """Retrieval alone: the top ``k`` chunks for ``query`` with their scores."""
        check_name(namespace, "namespace")
        check_query(query, optional=False)
        check_k(k)
        self._catch_up(wait=False)
        cands: Candidates = self.retriever.retrieve(Query(query, namespace, sessions), k)
        rows = self.store.chunks(cands.ids.tolist())
        hits = []
        for rank, (cid, score) in enumerate(zip(cands.ids.tolist(), cands.scores.tolist()), 1):
            c = rows.get(int(cid))
            if c is None:
                continue
            comps = {n: float(v[rank - 1]) for n, v in cands.components.items() if not np.isnan(v[rank - 1])}
            msg = self.store.messages_by_seq(namespace, c.session, [c.seq]).get(c.seq)
            role = msg.role if msg else "unknown"
            hits.append(c.hit(role=role, rank=rank, scores={**comps, "final": float(score)}))
        return hits

    def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        """The messages of a session after ``seq``: what a client that saw ``seq`` missed."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        check_seq(seq)
        check_limit(limit)
        return [r.stored() for r in self.store.messages_since(namespace, session, seq, limit)]

    def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        """Every stored message of a session, or of a namespace in order."""
        return [r.stored() for r in self.store.all_messages(namespace, session)]

    def messages_page(
        self, *, namespace: str = DEFAULT_NAMESPACE, after: int = 0, limit: int = 1000
    ) -> tuple[list[StoredMessage], int | None]:
        """Up to ``limit`` messages of a namespace in the order they were stored, after the
        cursor ``after`` (0: from the start); and the cursor of the next page (None: the last).

        Reads positions in windows (deleted sessions leave gaps, so a window grows while it
        comes back short) until a store query by position range replaces it.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidArgument(f"limit: give an int >= 1 (got {limit!r})", field="limit")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise InvalidArgument(f"after: give a cursor >= 0 (got {after!r})", field="after")
        last = self.store.last_pos(namespace)
        rows: list[Any] = []
        start, span = after + 1, limit
        while len(rows) < limit and start <= last:
            got = self.store.messages_by_pos(namespace, range(start, min(start + span, last + 1)))
            rows.extend(got[p] for p in sorted(got))
            start += span
            span = min(span * 2, 64 * limit)
        rows = rows[:limit]
        cursor = rows[-1].pos if rows and rows[-1].pos < last else None
        return [r.stored() for r in rows], cursor

    def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return self.store.last_seq(namespace, session)

    def namespaces(self) -> list[str]:
        return self.store.namespaces()

    def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return self.store.sessions(namespace)

    # -- maintenance -----------------------------------------------------------------------

    def rebuild_index(self, *, reembed: bool = False, index: Index | None = None, progress: bool = False) -> Index:
        """Recreate the index from the log (into ``index`` if given, e.g. another backend).

        ``reembed=True`` recomputes every vector with this memory's embedder first (after
        a model change).
        """
        from rich.progress import Progress

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

    @property
    def index(self) -> Index:
        """The vector index searched for dense retrieval (derived from the log, or the log itself)."""
        return self._index

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _embed_text(msg: Message, text: str) -> str:
    """Kept for callers of the old private name (benchmarks): :func:`memory.indexing.embed_text`."""
    return embed_text(msg.name, text)
