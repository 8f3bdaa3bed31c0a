"""Write-behind indexing: a write is acknowledged once the log commits; its chunks are embedded
and indexed right after, off the caller's path, on one background thread per ``Memory``.

Why: embedding is most of the cost of a write (MiniLM does ~14 chunks/s of 200-token chunks on
two idle cores), and a chatbot that stores a 1,000-word answer should not wait half a second for
it. What a write needs to be found at once is in its transaction: the recent window reads the
log, and full-text search (FTS5, tsvector) is written with the chunks. Only the vector comes later.

How: the store keeps a chunk without a vector (SQLite: an empty blob; PostgreSQL: NULL) until
:func:`embed_pending` fills it in; every read of vectors leaves such chunks out. The worker takes
the queued chunk ids in batches (several writes' chunks in one embedder call), embeds them, writes
the vectors to the log in one transaction, then lets the memory index them (a derived FAISS or
Chroma index catches up from the log; pgvector is the log itself). Rolling summaries run on the
same thread, after the write that made them due.

Durability: the queue is in memory, the truth is in the log. A crash between the commit and the
indexing leaves chunks without vectors; the next ``Memory`` to open the store queues them again
(:meth:`memory.memory.Memory` on open). A batch that fails is logged, kept, and raised once by the
next :meth:`IndexWorker.raise_failed` (the next ``add``, ``flush``), which queues it again.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence

from memory.embedders import Embedder
from memory.errors import IndexingFailed
from memory.stores.base import Store

log = logging.getLogger("turnmem.indexing")

INDEX_WRITES = ("background", "sync")
BATCH_CHUNKS = 64  # chunks per embedder call: several writes' chunks at once, a short wait for any one
LINGER_S = 0.005  # the worker waits this long after waking: the writer's add returns first (and more writes join)
EXIT_WAIT_S = 30.0  # at interpreter exit, how long a worker may finish what is queued
NICENESS = 10  # the indexer thread's CPU priority below the threads that build contexts (Linux: per thread)

_RUNNING: weakref.WeakSet[IndexWorker] = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    """A script that never closes its memory still has its last writes indexed (the thread is a
    daemon: it would die mid-queue). Whatever is still queued after the wait is indexed on the next open."""
    for worker in list(_RUNNING):
        worker.close(timeout=EXIT_WAIT_S)


def embed_text(name: str | None, text: str) -> str:
    """What gets embedded for a chunk: the speaker's name, when there is one, then the text."""
    return f"{name}: {text}" if name else text


def embed_pending(store: Store, embedder: Embedder, ids: Sequence[int]) -> list[int]:
    """Embed those of ``ids`` still without a vector and store their vectors; returns the ids written
    (chunks deleted meanwhile, or already embedded by another process, are skipped)."""
    rows = store.pending_chunks(ids)
    if not rows:
        return []
    vectors = embedder.embed([embed_text(name, text) for _, text, name in rows])
    return store.fill_vectors([(cid, vec) for (cid, _, _), vec in zip(rows, vectors)])


Job = list[int] | Callable[[], object]  # chunk ids to index, or a task (a rolling summary)


class IndexWorker:
    """One background thread that runs ``index(ids)`` on queued chunk ids, in batches, and queued
    tasks, in submission order. Each submission gets a ticket; :meth:`wait` waits for one."""

    def __init__(self, index: Callable[[list[int]], object], *, batch: int = BATCH_CHUNKS, name: str = "") -> None:
        self._index = index
        self.batch = batch
        self.linger = LINGER_S
        self.name = name or "turnmem-indexer"
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, Job]] = deque()
        self._submitted = 0
        self._done = 0
        self._waiting_chunks = 0
        self._waiters = 0  # callers in wait(): the worker starts at once instead of lingering
        self._failed: list[tuple[BaseException, list[int]]] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, job: Job) -> int:
        """Queue chunk ids (a list) or a task (a callable); returns its ticket."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the indexer is closed")
            self._submitted += 1
            self._queue.append((self._submitted, job))
            if isinstance(job, list):
                self._waiting_chunks += len(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
                _RUNNING.add(self)
            self._cond.notify_all()
            return self._submitted

    @property
    def waiting_chunks(self) -> int:
        """Chunks queued and not indexed yet (in this process)."""
        return self._waiting_chunks

    # -- waiting -------------------------------------------------------------------------------

    def wait(self, ticket: int | None = None, timeout: float | None = None) -> bool:
        """Wait until the job with ``ticket`` is done (None: everything queued, including what the
        jobs themselves queue); False if ``timeout`` seconds passed first."""
        with self._cond:
            self._waiters += 1
            self._cond.notify_all()
            try:
                while True:
                    target = self._submitted if ticket is None else ticket
                    if not self._cond.wait_for(lambda t=target: self._done >= t, timeout):  # type: ignore[misc]
                        return False
                    if ticket is not None or self._done >= self._submitted:
                        return True
            finally:
                self._waiters -= 1

    def raise_failed(self) -> None:
        """Raise :class:`IndexingFailed` for work that failed since the last call (once), after
        queueing its chunks again; nothing if all went well."""
        with self._cond:
            failed, self._failed = self._failed, []
        if not failed:
            return
        ids = sorted({i for _, chunk_ids in failed for i in chunk_ids})
        if ids:
            self.submit(ids)
        first = failed[0][0]
        what = f"indexing {len(ids)} stored chunks" if ids else "a rolling summary"
        raise IndexingFailed(
            f"{what} in the background failed ({type(first).__name__}: {first}); the turns are stored and "
            "found by full text; their chunks are queued again (and indexed on the next open if this process ends)",
            chunk_ids=ids,
        ) from first

    # -- the thread ----------------------------------------------------------------------------

    def _take(self) -> tuple[int, Job] | None:
        """The next job: consecutive chunk jobs merged up to ``batch`` chunks; None when closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closed)
            # Woken by a write, do not take the GIL from the writer while its add returns: Python
            # hands the GIL to a woken thread within 5 ms, which put that much on every add. Unless
            # a caller already waits for the vectors (wait_indexed, flush): then it is all it waits for.
            self._cond.wait_for(lambda: self._waiters > 0 or self._closed, self.linger)
            if not self._queue:
                return None
            ticket, job = self._queue.popleft()
            if not isinstance(job, list):
                return ticket, job
            ids = list(job)
            while self._queue and isinstance(self._queue[0][1], list) and len(ids) < self.batch:
                ticket, more = self._queue.popleft()
                ids += more
            return ticket, ids

    def _run(self) -> None:
        try:  # contexts are what a user waits for: when the cores are short, they go first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except (AttributeError, OSError):  # pragma: no cover - not Linux, or not allowed
            pass
        while (item := self._take()) is not None:
            ticket, job = item
            try:
                if isinstance(job, list):
                    for start in range(0, len(job), self.batch):
                        self._step(job[start : start + self.batch])
                else:
                    self._step(job)
            finally:
                with self._cond:
                    self._done = ticket
                    if isinstance(job, list):
                        self._waiting_chunks -= len(job)
                    self._cond.notify_all()

    def _step(self, job: Job) -> None:
        try:
            if isinstance(job, list):
                self._index(job)
            else:
                job()
        except Exception as exc:  # kept and raised to a caller: a background failure is never silent
            ids = list(job) if isinstance(job, list) else []
            log.error("background %s failed: %s", "indexing" if ids else "summary", exc, exc_info=exc)
            with self._cond:
                self._failed.append((exc, ids))

    def close(self, timeout: float | None = None) -> None:
        """Finish what is queued (up to ``timeout`` seconds), then stop the thread."""
        self.wait(timeout=timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
