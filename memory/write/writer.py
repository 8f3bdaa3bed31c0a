"""``Writer``: a memory's write path: validate, chunk, store, hand off to the indexer.

``add`` checks its arguments and prepares the messages (:func:`memory.write.prepare.prepare`, no
stored state touched), then one store transaction appends them with their chunks, full text and
tool-call links, honouring the idempotency key and ``base_seq``; the write is acknowledged there.
The new chunks go to the background indexer (write-behind, :mod:`memory.write.indexer`), which the
writer owns and whose steps (embed queued chunks, drain what a crash left) it supplies; with
``index_writes="sync"`` they were embedded before the commit. After a write, the ``after_write``
hook it was given (the rolling summaries' step, :mod:`memory.session.rolling`) is queued on the
indexer, or run at once with ``index_writes="sync"``. ``flush`` waits for the indexer,
``wait_for_reads`` for one namespace's chunks (a context's read-your-writes); ``delete`` forgets a
namespace or session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from memory.embedders import BatchingEmbedder, Embedder
from memory.errors import InvalidArgument, TimedOut
from memory.models import MessageInput
from memory.stores.base import Store
from memory.stores.rows import SUMMARY_SUFFIX, PreparedMessage
from memory.tokens import TokenCounter
from memory.validation import check_base_seq, check_key, check_name, check_ttl
from memory.write.chunking import Chunker
from memory.write.index_handle import IndexHandle
from memory.write.indexer import INDEX_WRITES, IndexWorker
from memory.write.pending import drain_pending, embed_pending, indexer_id, settle
from memory.write.prepare import prepare

log = logging.getLogger("turnmem.writer")

AfterWrite = Callable[[str, str, int], object]  # (namespace, session, last seq of the write)


class Writer:
    """Stores writes in ``store`` and gets their chunks embedded and indexed (``index``: the memory's index handle).

    ``after_write(namespace, session, last_seq)`` runs after each write that stored new messages in
    a session (not a ``::summaries`` one): on the indexer, or at once with ``index_writes="sync"``.
    """

    def __init__(
        self,
        store: Store,
        index: IndexHandle,
        *,
        embedder: Embedder,
        counter: TokenCounter,
        chunker: Chunker,
        index_writes: str,
        idempotency_ttl_s: float | None,
        max_pending: int,
        pending_timeout_s: float | None,
        after_write: AfterWrite | None,
    ) -> None:
        if index_writes not in INDEX_WRITES:
            raise InvalidArgument(
                f"index_writes: give 'background' (embed after the commit) or 'sync' (before it); got {index_writes!r}",
                field="index_writes",
            )
        self.store = store
        self.index_handle = index
        self.embedder = embedder
        # The indexer embeds around a batching wrapper (a server's BatchingEmbedder): a context's query
        # must not queue behind a batch of long answers; the two run side by side, the indexer niced.
        self.index_embedder = embedder.inner if isinstance(embedder, BatchingEmbedder) else embedder
        self.counter = counter
        self.chunker = chunker
        self.index_writes = index_writes
        self.idempotency_ttl_s = check_ttl(idempotency_ttl_s)
        self.pending_timeout_s = pending_timeout_s
        self.after_write = after_write
        self.owner = indexer_id()  # this memory's name in claims on chunks (a store shared by replicas)
        sweep = self.drain_pending if store.claims_pending else None  # chunks a killed replica left
        self.indexer = IndexWorker(
            self.index_chunks, name=f"turnmem-indexer-{id(self):x}", max_pending=max_pending, idle=sweep
        )

    def prepare(self, messages: Iterable[MessageInput], *, timestamp: Any = None) -> list[PreparedMessage]:
        """:func:`memory.write.prepare.prepare` with this writer's counter and chunker (and its
        embedder with ``index_writes="sync"``)."""
        embedder = self.embedder if self.index_writes == "sync" else None
        return prepare(messages, counter=self.counter, chunker=self.chunker, embedder=embedder, timestamp=timestamp)

    def add(
        self,
        messages: Iterable[MessageInput],
        session: str,
        namespace: str,
        timestamp: Any,
        idempotency_key: str | None,
        base_seq: int | None,
        wait_indexed: bool,
    ) -> list[int]:
        """Check, prepare and store (:meth:`memory.memory.Memory.add`)."""
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

    def behind(self, prepared: Sequence[PreparedMessage]) -> int:
        """The chunks a write of ``prepared`` leaves to the indexer (none with ``index_writes="sync"``)."""
        return sum(len(pm.chunks) for pm in prepared) if self.index_writes == "background" else 0

    def has_room(self, prepared: Sequence[PreparedMessage]) -> bool:
        """Whether storing ``prepared`` now would go ahead without waiting for the indexer."""
        return self.indexer.has_room(self.behind(prepared))

    def wait_room(self, prepared: Sequence[PreparedMessage]) -> None:
        """Wait, as :meth:`add_prepared` would, until the indexer has room for ``prepared`` (up to
        ``pending_timeout_s``, then :class:`TimedOut`); reserves nothing."""
        with self.indexer.room(self.behind(prepared), self.pending_timeout_s):
            pass

    def add_prepared(
        self,
        prepared: Sequence[PreparedMessage],
        session: str,
        namespace: str,
        idempotency_key: str | None,
        base_seq: int | None,
        wait_indexed: bool,
    ) -> list[int]:
        """Store what :meth:`prepare` made, once the indexer has room for its chunks."""
        self.check_write(session, namespace, idempotency_key, base_seq)
        self.indexer.raise_failed()  # an earlier write's indexing failed: say so before storing more
        behind = self.behind(prepared)
        with self.indexer.room(behind, self.pending_timeout_s):  # backpressure: the queue stays bounded
            seqs, ticket = self._commit(
                prepared, session, namespace, idempotency_key=idempotency_key, base_seq=base_seq
            )
        if wait_indexed:  # this write's chunks (a replay or a write without new chunks: all queued so far)
            self.wait_indexed(ticket if ticket is not None else self.write_mark())
        return seqs

    def write(
        self, messages: Sequence[MessageInput], session: str, namespace: str, *, base_seq: int, idempotency_key: str
    ) -> list[int]:
        """Prepare and store ``messages`` without the argument checks and the wait for room of
        :meth:`add` (the rolling summaries store their summary message so); returns the seqs."""
        seqs, _ = self._commit(
            self.prepare(messages), session, namespace, base_seq=base_seq, idempotency_key=idempotency_key
        )
        return seqs

    def _commit(
        self,
        prepared: Sequence[PreparedMessage],
        session: str,
        namespace: str,
        *,
        idempotency_key: str | None,
        base_seq: int | None,
    ) -> tuple[list[int], int | None]:
        """Append to the log, then index (now, or queue it) and run the ``after_write`` hook;
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
                ticket = self.indexer.submit(list(result.new_chunk_ids), group=namespace)
            else:
                self.index_handle.catch_up()
        hook = self.after_write
        if hook is not None and not session.endswith(SUMMARY_SUFFIX) and result.seqs:
            if not result.replayed:
                last = max(result.seqs)
                if self.index_writes == "background":
                    self.indexer.submit(lambda: hook(namespace, session, last))
                else:
                    hook(namespace, session, last)
        return result.seqs, ticket

    def write_mark(self) -> int:
        """A mark for the writes stored so far (:meth:`wait_indexed`)."""
        return self.indexer.mark()

    def wait_indexed(self, mark: int, timeout: float | None = None) -> None:
        """Wait until the writes stored before :meth:`write_mark` gave ``mark`` are indexed."""
        if not self.indexer.wait(mark, timeout=timeout):
            raise TimedOut(f"wait_indexed: the write's chunks still wait for their vectors after {timeout} s")
        self.indexer.raise_failed()

    def wait_for_reads(self, namespace: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every chunk of ``namespace`` this memory acknowledged
        so far has its vector and is in the index (embedding those still queued on this thread, while
        the indexer takes the others first); False if the time ran out. A read's wait
        (read-your-writes): it raises nothing, a failed batch leaves its chunks without vectors,
        which the read counts."""
        mark = self.indexer.mark(namespace)
        return mark == 0 or self.indexer.wait(mark, timeout=timeout, group=namespace, run=True)

    def index_chunks(self, ids: list[int]) -> None:
        """The indexer's step: embed these chunks, store their vectors, bring the index up to date."""
        if embed_pending(self.store, self.index_embedder, ids, owner=self.owner):
            self.index_handle.catch_up()

    def drain_pending(self) -> None:
        """Embed the chunks the log holds without a vector that no indexer holds (on open, and the
        idle sweep of a shared store)."""
        worker = self.indexer
        if drain_pending(
            self.store, self.index_embedder, owner=self.owner, batch=worker.batch, stop=lambda: worker.closing
        ):
            self.index_handle.catch_up()

    def flush(self, timeout: float | None = None, *, namespace: str | None = None) -> None:
        """Wait for the indexer (and, with ``namespace`` on a shared store, for every process's
        chunks of it): :meth:`memory.memory.Memory.flush`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.indexer.wait(timeout=timeout):
            waiting = self.indexer.waiting_chunks
            raise TimedOut(f"flush: {waiting} chunks still waiting for their vectors after {timeout} s")
        self.indexer.raise_failed()
        if namespace is not None and self.store.claims_pending:
            try:
                settle(
                    self.store,
                    self.index_embedder,
                    owner=f"{self.owner}/flush",
                    namespace=namespace,
                    deadline=deadline,
                )
            except TimedOut as exc:
                raise TimedOut(f"flush: after {timeout} s, {exc}") from None

    @staticmethod
    def check_write(session: str, namespace: str, idempotency_key: str | None, base_seq: int | None) -> None:
        """Validate the arguments of a write before any costly work."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        if idempotency_key is not None:
            check_key(idempotency_key, "idempotency_key")
        check_base_seq(base_seq)

    def delete(self, namespace: str, session: str | None) -> int:
        """Forget a namespace or one session (with its summaries) everywhere; save the touched index files."""
        check_name(namespace, "namespace", existing=True)  # data under a name from before the rule too
        if session is not None:
            check_name(session, "session", existing=True)
        n = self.store.delete(namespace, session)
        self.index_handle.catch_up()
        try:
            self.index_handle.index.persist()
        except OSError as exc:  # the delete is committed; the index files are derived, saved again later
            log.warning("deleted in %s; saving the index failed (saved on the next write or close): %s", namespace, exc)
        return n
