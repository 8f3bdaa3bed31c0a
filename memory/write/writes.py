"""The write path of :class:`memory.memory.Memory`: validate, chunk, store, hand off to the indexer.

``add`` validates and chunks the messages (:meth:`Writes.prepare`, no stored state touched), then
one store transaction appends them with their chunks, full text and tool-call links, honouring the
idempotency key and ``base_seq``; the write is acknowledged there. The new chunks go to the
background indexer (write-behind: :mod:`memory.write.indexer`), or were embedded before the commit with
``index_writes="sync"``; a rolling summary that falls due is queued there too
(:mod:`memory.session.rolling`). ``flush`` waits for the indexer; ``delete`` forgets a namespace
or session.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from memory.errors import TimedOut
from memory.models import MessageInput
from memory.parts import MemoryParts
from memory.session.summaries import SUFFIX as SUMMARY_SUFFIX
from memory.stores.rows import PreparedMessage
from memory.validation import DEFAULT_NAMESPACE, check_base_seq, check_name
from memory.write.indexer import drain_pending, embed_pending, settle
from memory.write.prepare import prepare


class Writes(MemoryParts):
    """``add`` and its two steps (``prepare``, ``add_prepared``), ``flush`` and ``delete``."""

    def prepare(self, messages: Iterable[MessageInput], *, timestamp: Any = None) -> list[PreparedMessage]:
        """Validate, timestamp, count and chunk messages (and embed them, with ``index_writes="sync"``);
        touches no stored state."""
        embedder = self.embedder if self.index_writes == "sync" else None
        return prepare(messages, counter=self.counter, chunker=self.chunker, embedder=embedder, timestamp=timestamp)

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
        if wait_indexed:  # this write's chunks (a replay or a write without new chunks: all queued so far)
            self.wait_indexed(ticket if ticket is not None else self.write_mark())
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

    def write_mark(self) -> int:
        """A mark for the writes stored so far (:meth:`wait_indexed`)."""
        return self._indexer.mark()

    def wait_indexed(self, mark: int, timeout: float | None = None) -> None:
        """Wait until the writes stored before :meth:`write_mark` gave ``mark`` are embedded and
        indexed, not those stored after (a service's ``wait_indexed`` write waits for its own write and
        the ones before it while other clients keep writing; :meth:`flush` waits until nothing is left)."""
        if not self._indexer.wait(mark, timeout=timeout):
            raise TimedOut(f"wait_indexed: the write's chunks still wait for their vectors after {timeout} s")
        self._indexer.raise_failed()

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
