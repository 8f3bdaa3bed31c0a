"""The store protocols: what ``Memory``, ``assemble``, the indexer, the index sync, the embedder
identity checks, the REST service and the eval harness ask of the durable log, split into named
capabilities so that each consumer takes only the part it uses (as LangGraph's checkpointers take
one small base protocol). ``Store`` is their union: what a store implements, and what ``Memory``
takes. Two stores implement it and pass one conformance suite (``tests/memory/stores/conformance.py``,
run on each by ``tests/memory/stores/sqlite/`` and ``tests/memory/stores/postgres/``):
:class:`memory.stores.sqlite.SQLiteStore` (embedded default, one file) and
:class:`memory.stores.postgres.PostgresStore` (one database shared by any number of processes and hosts).

The capabilities (each method is declared in exactly one of them), and who takes each:

- :class:`Lifecycle`: ``close``, ``live_index`` (``Memory``);
- :class:`MetaStore`: ``get_meta``, ``set_meta``, ``reembed`` (:mod:`memory.embedders.identity`);
- :class:`LogWriter`: ``append`` (idempotency keys, ``base_seq``), ``delete``,
  ``update_message_tokens`` (the writer; ``Memory`` recounting under a new counter);
- :class:`LogReader`: messages by seq, position and key, since, tail, all of them, tool-call links,
  the listings of namespaces and sessions (the reads, the packer, the rolling summaries);
- :class:`ChunkReader`: the search rows: chunks, candidates and first candidates, their vectors,
  the corpus for bm25s, full-text search (retrieval; :class:`retrievers.lexical.FTSRetriever`
  takes its ``search_text`` alone, as a :class:`retrievers.base.TextSearcher`);
- :class:`PendingChunks`: the chunks stored before their vector and the writes that fill them in
  (:mod:`memory.write.indexer`);
- :class:`IndexSource`: what a derived vector index is built and caught up from;
- :class:`StateStore`: versioned state blocks and the stage machine (the session state part);
- :class:`NamespaceCaches`: the speakers and session centroids retrieval's priors read.

Two intersections name what one consumer reads across capabilities: :class:`ContextStore`
(:func:`memory.read.assemble.assemble`, :class:`memory.read.packing.Packer`, retrieval) and
:class:`IndexSyncStore` (:class:`memory.write.index_sync.IndexSync`).

Promises every store keeps:

- ``append`` is one transaction: every message of the call with its chunks, vectors, full-text
  rows, tool-call links and idempotency record, or nothing. A chunk given an empty vector is stored
  without one (write-behind indexing: ``Memory`` embeds it right after the commit and
  ``fill_vectors`` writes it); until then it is left out of every read of vectors
  (``vectors``, ``chunk_vectors``, dense search, session centroids) but is in full-text search;
  an indexer takes such chunks with ``claim_pending``, which on a store shared by processes
  (``claims_pending``) gives each chunk to one live indexer at a time;
- ``seq`` is per session and ``pos`` per namespace, both gap-free from 1 in commit order,
  whatever the number of concurrent writers;
- an idempotency key, or a message ``id``, seen before stores nothing twice (a key reused for
  another request is an :class:`memory.errors.IdempotencyConflict`); a ``base_seq``
  that is not the session's last seq is a :class:`memory.errors.Conflict`;
- state writes are conditional (``expected`` versions, the stage machine's ``check``) and atomic;
- ``search_text`` sees a write as soon as it commits (the lexical index is in the same
  transaction); so does the vector index of a store whose ``live_index`` is not None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from indexers.base import Index
from memory.stores.rows import (
    AppendResult,
    CandidateRow,
    ChunkRow,
    MessageRow,
    PendingClaim,
    PreparedMessage,
    StateCheck,
    StateRow,
    ToolLink,
)
from retrievers.base import TextSearcher

EmbedFn = Callable[[list[str]], np.ndarray]


@runtime_checkable
class Lifecycle(Protocol):
    """Closing a store, and the vector index that lives in its rows, if it has one (opening is the
    class's own: a file, a DSN)."""

    def close(self) -> None: ...

    def live_index(self, dim: int) -> Index | None:
        """The vector index that lives in the store's own rows (a chunk's vector is written into its
        row by ``fill_vectors``, and every process reads it from there: no per-process catch-up),
        or None when vectors go to a separate, derived index."""
        ...


@runtime_checkable
class MetaStore(Protocol):
    """What a memory records about itself (embedder, dim, counter, deployment), and the re-embedding
    that changes the embedder together with every vector."""

    def get_meta(self, key: str) -> str | None:
        """A value the memory keeps about itself (embedder, dim, counter), or None."""
        ...

    def set_meta(self, key: str, value: str) -> None: ...

    def reembed(self, embed: EmbedFn, meta: Mapping[str, str], advance: Callable[[int], None] | None = None) -> int:
        """Replace every chunk's vector with ``embed(texts)`` (any one dimension) and write ``meta``
        (the new embedder's identity), in one transaction: a failure leaves the old vectors and
        identity, and no reader sees a mix of models. Returns the chunks re-embedded."""
        ...


@runtime_checkable
class LogWriter(Protocol):
    """The log's writes: appends (with their idempotency keys and ``base_seq``), deletes, recounts."""

    def append(
        self,
        namespace: str,
        session: str,
        messages: Sequence[PreparedMessage],
        *,
        base_seq: int | None = None,
        idempotency_key: str | None = None,
        idempotency_ttl_s: float | None = None,
    ) -> AppendResult:
        """Append messages to a session in one transaction and return their seqs. An
        ``idempotency_key`` seen before (within ``idempotency_ttl_s``; None: forever) replays the
        first answer if the request (messages without timestamps, ``base_seq``) is the same, and
        raises :class:`memory.errors.IdempotencyConflict` if it is not."""
        ...

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace, or one session with its ``<session>::summaries`` companion: messages,
        chunks, full-text rows, vectors, tool-call links, idempotency keys, state blocks and stage
        machine, in one transaction; records a deletion per session removed (the session's last).
        Returns the messages removed (NotFound if there was nothing)."""
        ...

    def update_message_tokens(self, tokens: dict[int, int]) -> None: ...


@runtime_checkable
class LogReader(Protocol):
    """The log's messages (by seq, position or key; since a seq; newest first), tool-call links,
    and the listings of namespaces and sessions."""

    def last_seq(self, namespace: str, session: str) -> int: ...

    def last_pos(self, namespace: str) -> int: ...

    def namespaces(self) -> list[str]: ...

    def sessions(self, namespace: str) -> list[dict[str, Any]]: ...

    def messages_since(
        self, namespace: str, session: str, since: int = 0, limit: int | None = None
    ) -> list[MessageRow]: ...

    def tail(
        self, namespace: str, session: str | None, before_pos: int | None = None, limit: int = 64
    ) -> list[MessageRow]:
        """The latest messages (newest first) of a session, or of the whole namespace."""
        ...

    def messages_by_pos(self, namespace: str, positions: Iterable[int]) -> dict[int, MessageRow]: ...

    def pos_at(self, namespace: str, ts: float) -> int:
        """The last position of the namespace holding a message timestamped at or before ``ts`` (0: none)."""
        ...

    def messages_by_seq(self, namespace: str, session: str, seqs: Iterable[int]) -> dict[int, MessageRow]: ...

    def messages_by_keys(
        self, namespace: str, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], MessageRow]: ...

    def all_messages(self, namespace: str, session: str | None = None) -> list[MessageRow]: ...

    def iter_message_rows(self) -> Iterator[MessageRow]: ...

    def tool_links(
        self, namespace: str, session: str, *, call_seqs: Iterable[int] = (), call_ids: Iterable[str] = ()
    ) -> list[ToolLink]: ...

    def session_tool_links(self, namespace: str, session: str) -> list[ToolLink]: ...


@runtime_checkable
class ChunkReader(TextSearcher, Protocol):
    """The search rows: chunks by id with their message's meta, their vectors, a namespace's corpus,
    and full-text search over chunk text within a namespace (``search_text``, declared by
    :class:`retrievers.base.TextSearcher`: ``(ids, scores)``, higher is better)."""

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]: ...

    def candidates(self, ids: Sequence[int], *, names: bool = False) -> dict[int, CandidateRow]:
        """Chunks by id with their message's position, time and role (and speaker ``name`` if
        ``names``), in one read that leaves the messages' bodies where they are."""
        ...

    def chunks_of_message(self, message_id: int) -> list[ChunkRow]: ...

    def first_candidates(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], CandidateRow]:
        """The first chunk (part 0) of each (session, seq) message that exists, with its message's
        position, time, role and tokens (as :meth:`candidates`, without the name)."""
        ...

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]: ...

    def chunks_until(self, namespace: str, max_pos: int, max_ts: float | None = None) -> tuple[np.ndarray, list[str]]:
        """The ids (sorted int64) and sessions of the chunks whose message is at or before position
        ``max_pos`` (and timestamped at or before ``max_ts``): the chunks a point in the history had."""
        ...

    def chunk_texts(self, namespace: str) -> tuple[np.ndarray, list[str], list[str]]:
        """``(ids, texts, sessions)`` of a namespace's chunks in id order (a corpus for bm25s)."""
        ...

    def chunk_count(self, namespace: str | None = None) -> int: ...


@runtime_checkable
class PendingChunks(Protocol):
    """The chunks committed before their vector (write-behind indexing): finding them, taking them
    to embed, and writing their vectors."""

    def max_chunk_id(self) -> int: ...

    def pending_chunk_ids(self, after_id: int = 0, *, namespace: str | None = None) -> np.ndarray:
        """Ids (ascending) of the chunks with id > ``after_id`` (in ``namespace`` if given) stored
        without a vector yet."""
        ...

    claims_pending: bool
    """True when several processes share the pending chunks and ``claim_pending`` records a claim
    (PostgreSQL: a lease per chunk); False when it only reads them (SQLite: one writing process)."""

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
        """Take chunks still without a vector to embed: those of ``ids``, or (None) the first
        ``limit`` above ``after_id`` (in ``namespace`` if given), skipping any another indexer holds
        (``busy`` lists those of ``ids``). The claim lasts ``lease_s`` seconds or until ``fill_vectors``."""
        ...

    def fill_vectors(self, items: Sequence[tuple[int, np.ndarray]]) -> list[int]:
        """Write the vectors of chunks still without one, in one transaction; returns the ids written."""
        ...


@runtime_checkable
class IndexSource(Protocol):
    """What a derived vector index (FAISS, Chroma) is built from and caught up with: each namespace's
    chunk ids, the vectors in id order, and the deletions since a mark."""

    def chunk_ids(self, namespace: str) -> np.ndarray: ...

    def chunk_vectors(
        self, *, after_id: int = 0, namespace: str | None = None, batch: int = 4096
    ) -> Iterator[tuple[str, np.ndarray, list[str], np.ndarray]]:
        """Stream ``(namespace, ids, sessions, vectors)`` batches of chunks with id > after_id."""
        ...

    def deletions_after(self, after_id: int) -> list[tuple[int, str]]:
        """``(id, namespace key)`` of each delete after ``after_id``: no name (memory/stores/tombstones.py)."""
        ...

    def namespace_key(self, namespace: str) -> str:
        """The key a delete in ``namespace`` leaves in ``deletions_after``."""
        ...

    def max_deletion_id(self) -> int: ...


@runtime_checkable
class StateStore(Protocol):
    """A session's versioned state blocks, written conditionally, and its stage machine."""

    def state(self, namespace: str, session: str) -> dict[str, StateRow]: ...

    def state_history(self, namespace: str, session: str, name: str) -> list[StateRow]: ...

    def set_state(
        self,
        namespace: str,
        session: str,
        values: dict[str, str | None],
        *,
        expected: dict[str, int] | None = None,
        check: StateCheck | None = None,
    ) -> dict[str, StateRow]:
        """Write new versions of several blocks in one transaction (JSON text, None removes)."""
        ...

    def state_machine(self, namespace: str, session: str) -> str | None: ...

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None: ...


@runtime_checkable
class NamespaceCaches(Protocol):
    """Per-namespace values folded forward from the log (:mod:`memory.stores.cache`)."""

    def speakers(self, namespace: str) -> dict[str, str]:
        """The participants' ``name`` values, keyed by lowercased name."""
        ...

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean chunk vector, sessions in name order."""
        ...

    def cache_rows_read(self) -> int:
        """Rows the two caches above have read since the store opened: a diagnostic (after an
        append they read the new rows only, :mod:`memory.stores.cache`)."""
        ...


@runtime_checkable
class ContextStore(LogReader, ChunkReader, NamespaceCaches, Protocol):
    """What assembling a context reads: the window's messages and tool-call units, the candidates
    with their neighbours and vectors, and the caches behind the speaker and session priors."""


@runtime_checkable
class IndexSyncStore(LogReader, IndexSource, PendingChunks, Protocol):
    """What keeping a derived index equal to the log reads: the namespaces, their chunks and vectors,
    the deletions, and the chunks still waiting for a vector (the index's watermark stops below them)."""


@runtime_checkable
class Store(
    Lifecycle,
    MetaStore,
    LogWriter,
    LogReader,
    ChunkReader,
    PendingChunks,
    IndexSource,
    StateStore,
    NamespaceCaches,
    Protocol,
):
    """The durable log of namespaces, sessions, messages, chunks, tool calls and state: every capability."""


CAPABILITIES: tuple[type, ...] = (
    Lifecycle,
    MetaStore,
    LogWriter,
    LogReader,
    ChunkReader,
    PendingChunks,
    IndexSource,
    StateStore,
    NamespaceCaches,
)
"""The capability protocols ``Store`` is the union of, each method declared in exactly one."""
