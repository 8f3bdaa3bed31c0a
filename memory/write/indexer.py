"""Write-behind indexing: a write is acknowledged once the log commits; its chunks are embedded
and indexed right after, off the caller's path, on one background thread per ``Memory``.

Why: embedding is most of the cost of a write (MiniLM does ~14 chunks/s of 200-token chunks on
two idle cores), and a chatbot that stores a 1,000-word answer should not wait half a second for
it. What a write needs to be found at once is in its transaction: the recent window reads the
log, and full-text search (FTS5, tsvector) is written with the chunks. Only the vector comes later.

How: the store keeps a chunk without a vector (SQLite: an empty blob; PostgreSQL: NULL) until
:func:`memory.write.pending.embed_pending` fills it in; every read of vectors leaves such chunks out. The worker takes
the queued chunk ids in batches (several writes' chunks in one embedder call), embeds them, writes
the vectors to the log in one transaction, then lets the memory index them (a derived FAISS or
Chroma index catches up from the log; pgvector is the log itself). Rolling summaries run on the
same thread, after the write that made them due.

Durability: the queue holds chunk ids only, the truth is in the log. A crash between the commit
and the indexing leaves chunks without vectors; the next ``Memory`` to open the store embeds them
(:func:`memory.write.pending.drain_pending`, a page of the log at a time, not a list of every id). A batch that fails is
logged, kept, and raised once by the next :meth:`IndexWorker.raise_failed` (the next ``add``,
``flush``), which queues it again.

Backpressure: a writer faster than the embedder would grow the queue without end, so it holds at
most ``max_pending`` chunks (default :data:`MAX_PENDING`); an ``add`` that would go past it waits
for the indexer to make room, up to ``pending_timeout_s`` (:data:`PENDING_TIMEOUT_S`), and then
raises :class:`memory.errors.TimedOut` having stored nothing (the service answers 503 with
``Retry-After``, which the client retries under the same idempotency key). Waiting is what a chat
app expects: a burst is absorbed, a sustained overload slows writers to the embedder's pace, and
only an indexer that makes no progress at all turns into an error.

Reads (read-your-writes): a chunk job carries its namespace (its ``group``); a context or search
waits for the chunk jobs of its namespace queued before it (:meth:`IndexWorker.mark` and
:meth:`IndexWorker.wait` with ``group``): it runs those still queued on its own thread (at the
reader's CPU priority, not the niced worker's), while the worker, without lingering, takes that
namespace's jobs first (ahead of other namespaces' and of queued tasks).

Replicas (stores with ``claims_pending``, PostgreSQL): every indexer claims chunks before it
embeds them (a lease, :mod:`memory.stores.postgres.pending`), so a replica that opens, or sweeps
while idle (every :data:`SWEEP_S`), takes only chunks no live indexer holds; one that finds its
own chunks held by another waits for their vectors rather than embedding them again; a killed
replica's claims run out after :data:`memory.write.pending.CLAIM_LEASE_S` and are taken over.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain, takewhile

from memory.errors import IndexingFailed, InvalidArgument, TimedOut
from memory.write.pending import BATCH_CHUNKS

log = logging.getLogger("turnmem.indexing")

INDEX_WRITES = ("background", "sync")
LINGER_S = 0.005  # the worker waits this long after waking: the writer's add returns first (and more writes join)
EXIT_WAIT_S = 30.0  # at interpreter exit, how long a worker may finish what is queued
STOP_WAIT_S = 300.0  # then how long its current batch may take to end (one embedder call: seconds)
READ_BATCH = 16  # chunks a waiting reader merges into one embedder call: its bound is checked between them
NICENESS = 10  # the indexer thread's CPU priority below the threads that build contexts (Linux: per thread)
MAX_PENDING = 10_000  # chunks queued at most; an add beyond it waits for room (MiniLM: ~10 min of embedding)
PENDING_TIMEOUT_S = 60.0  # how long an add waits for room before TimedOut (the service's embed timeout too)
SWEEP_S = 30.0  # an idle indexer on a shared store looks for chunks nobody holds this often

_RUNNING: weakref.WeakSet[IndexWorker] = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    """A script that never closes its memory still has its last writes indexed: each worker gets
    :data:`EXIT_WAIT_S` to finish its queue, then stops after its current batch, and the exit waits
    for that batch. The thread is a daemon: left running, the interpreter would end inside the
    embedder's native code (ONNX Runtime aborts the process then: ``terminate called without an
    active exception``, exit 134). What is still queued stays in the log without vectors and is
    indexed on the next open."""
    for worker in list(_RUNNING):
        worker.close(timeout=EXIT_WAIT_S)


Job = list[int] | Callable[[], object]  # chunk ids to index, or a task (a rolling summary)
Entry = tuple[int, str | None]  # a job's ticket and group (its namespace, for chunk jobs of a write)
QueuedJob = tuple[int, Job, str | None]


class IndexWorker:
    """One background thread that runs ``index(ids)`` on queued chunk ids, in batches, and queued
    tasks, in submission order (a namespace a reader waits for first). Each submission gets a
    ticket; :meth:`wait` waits for one (of a group: for that group's jobs up to it)."""

    def __init__(
        self,
        index: Callable[[list[int]], object],
        *,
        batch: int = BATCH_CHUNKS,
        name: str = "",
        max_pending: int = MAX_PENDING,
        idle: Callable[[], object] | None = None,
        idle_s: float | None = None,
    ) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise InvalidArgument(
                f"max_pending: give the most chunks the indexer may queue, an int >= 1 (got {max_pending!r})",
                field="max_pending",
            )
        self._index = index
        self.batch = batch
        self.linger = LINGER_S
        self.name = name or "turnmem-indexer"
        self.max_pending = max_pending
        self._idle = idle  # run when the queue stayed empty for idle_s (a sweep of the log)
        self.idle_s = SWEEP_S if idle_s is None else idle_s
        self._cond = threading.Condition()
        self._queue: deque[QueuedJob] = deque()  # in ticket order
        self._running: list[Entry] = []  # the jobs being done now (several merged into one batch)
        self._last: dict[str, int] = {}  # a group's newest ticket not done yet
        self._hurry: dict[str, int] = {}  # groups readers wait for, and how many readers
        self._submitted = 0
        self._waiting_chunks = 0
        self._reserved = 0  # chunks of writes admitted by room() and not queued yet
        self.peak_chunks = 0  # the most chunks ever queued at once
        self._waiters = 0  # callers in wait() or room(): the worker starts at once instead of lingering
        self._failed: list[tuple[BaseException, list[int]]] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stopping = False  # close() waited its timeout: the thread ends after its current batch
        self._skipped = 0  # chunks of a job cut short by the stop
        self.closing = False  # close() has begun: a sweep stops after its current page

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, job: Job, group: str | None = None) -> int:
        """Queue chunk ids (a list) or a task (a callable), in ``group`` (a write's namespace); returns its ticket."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the indexer is closed")
            self._submitted += 1
            self._queue.append((self._submitted, job, group))
            if group is not None:
                self._last[group] = self._submitted
            if isinstance(job, list):
                self._waiting_chunks += len(job)
                self.peak_chunks = max(self.peak_chunks, self._waiting_chunks)
            self._start()
            self._cond.notify_all()
            return self._submitted

    def mark(self, group: str | None = None) -> int:
        """The ticket of the last job queued so far (of ``group``: 0 if it has none left): :meth:`wait`
        on it waits for everything queued up to now (in that group), and not for what is queued later."""
        with self._cond:
            return self._submitted if group is None else self._last.get(group, 0)

    def start_sweeping(self) -> None:
        """Start the thread now if there is an idle task (it sweeps before any write comes)."""
        if self._idle is not None:
            with self._cond:
                self._start()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            _RUNNING.add(self)

    @contextmanager
    def room(self, chunks: int, timeout: float | None) -> Iterator[None]:
        """Admit a write of ``chunks`` chunks: wait until the queue has room for them under
        ``max_pending`` (a write larger than the bound waits for an empty queue), for up to
        ``timeout`` seconds, else raise :class:`TimedOut`. Inside, the write stores and submits
        its chunks; its room is given back on exit (the queue holds them by then)."""
        if chunks <= 0:
            yield
            return

        def busy() -> int:
            return self._waiting_chunks + self._reserved

        with self._cond:
            self._waiters += 1
            self._cond.notify_all()
            try:
                if not self._cond.wait_for(lambda: busy() == 0 or busy() + chunks <= self.max_pending, timeout):
                    raise TimedOut(
                        f"add: the background indexer still has {busy()} chunks to embed (max_pending="
                        f"{self.max_pending}) and made no room for this write's {chunks} in {timeout} s; "
                        "nothing was stored: retry later, or give the embedder more capacity"
                    )
            finally:
                self._waiters -= 1
            self._reserved += chunks
        try:
            yield
        finally:
            with self._cond:
                self._reserved -= chunks
                self._cond.notify_all()

    def has_room(self, chunks: int) -> bool:
        """Whether a write of ``chunks`` chunks would be admitted by :meth:`room` without waiting."""
        with self._cond:
            busy = self._waiting_chunks + self._reserved
            return chunks <= 0 or busy == 0 or busy + chunks <= self.max_pending

    @property
    def waiting_chunks(self) -> int:
        """Chunks queued and not indexed yet (in this process)."""
        return self._waiting_chunks

    # -- waiting -------------------------------------------------------------------------------

    def wait(
        self, ticket: int | None = None, timeout: float | None = None, group: str | None = None, *, run: bool = False
    ) -> bool:
        """Wait until the jobs up to ``ticket`` are done (None: everything queued, including what
        the jobs themselves queue); of ``group`` only, if given: the worker takes them first
        meanwhile, and with ``run`` this thread does those still queued itself (a reader, at its
        own CPU priority, does not wait for the niced worker's turn on the cores). False if
        ``timeout`` seconds passed first (checked between batches)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._waiters += 1
            if group is not None:
                self._hurry[group] = self._hurry.get(group, 0) + 1
            self._cond.notify_all()
            try:
                if ticket is None:
                    return self._cond.wait_for(lambda: not self._queue and not self._running, timeout)
                while self._open(ticket, group):
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    mine = (lambda e: isinstance(e[1], list) and e[2] == group and e[0] <= ticket) if run else None
                    taken = None if mine is None else self._pick(mine, limit=READ_BATCH)
                    if taken is None:
                        self._cond.wait(left)
                        continue
                    self._cond.release()  # do the job here, as the worker would, without the lock
                    try:
                        self._do(*taken)
                    finally:
                        self._cond.acquire()
                return True
            finally:
                self._waiters -= 1
                if group is not None:
                    self._hurry[group] -= 1
                    if not self._hurry[group]:
                        del self._hurry[group]

    def _open(self, ticket: int, group: str | None) -> bool:
        """A job up to ``ticket`` (of ``group``, if given) is queued or running."""
        if group is None:
            return bool(self._queue and self._queue[0][0] <= ticket) or any(t <= ticket for t, _ in self._running)
        queued = ((t, g) for t, _, g in self._queue)
        return any(t <= ticket and g == group for t, g in chain(queued, self._running))

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
        what = f"indexing {len(ids)} stored chunks" if ids else "a background task (a rolling summary, or a sweep)"
        raise IndexingFailed(
            f"{what} in the background failed ({type(first).__name__}: {first}); the turns are stored and "
            "found by full text; their chunks are queued again (and indexed on the next open if this process ends)",
            chunk_ids=ids,
        ) from first

    # -- the thread ----------------------------------------------------------------------------

    def _take(self) -> tuple[list[Entry], Job] | None:
        """The next job and the entries it does: consecutive chunk jobs merged up to ``batch``
        chunks (the first chunk jobs of a group a reader waits for, if any); None when closed and
        empty; the idle task (no entries) when the queue stayed empty for ``idle_s``."""
        with self._cond:
            while True:  # a reader may have done the job that woke the worker: then it waits again
                idle_s = self.idle_s if self._idle is not None else None
                if not self._cond.wait_for(lambda: self._queue or self._closed, idle_s):
                    assert self._idle is not None
                    return [], self._idle
                # Woken by a write, do not take the GIL from the writer while its add returns: Python
                # hands the GIL to a woken thread within 5 ms, which put that much on every add. Unless
                # a caller already waits for the vectors (wait_indexed, flush): then it is all it waits for.
                self._cond.wait_for(lambda: self._waiters > 0 or self._closed, self.linger)
                if self._stopping:
                    return None
                if self._queue:
                    break
                if self._closed:
                    return None
            first = self._queue[0]
            if not isinstance(first[1], list):  # a task: alone, in its turn
                self._queue.popleft()
                self._running.append((first[0], first[2]))
                return [(first[0], first[2])], first[1]
            hurried = next((e[2] for e in self._queue if isinstance(e[1], list) and e[2] in self._hurry), None)
            if hurried is not None:  # a reader waits for this group: its chunk jobs go first
                taken = self._pick(lambda e: isinstance(e[1], list) and e[2] == hurried)
            else:
                taken = self._pick(lambda e: isinstance(e[1], list), consecutive=True)
            assert taken is not None  # the queue's first job is chunks, or a hurried group's are queued
            return taken

    def _pick(
        self, match: Callable[[QueuedJob], bool], *, consecutive: bool = False, limit: int | None = None
    ) -> tuple[list[Entry], Job] | None:
        """Take the first queued chunk jobs that ``match`` (only those right at the queue's head with
        ``consecutive``), merged while under ``limit`` (default ``batch``) chunks, and mark them
        running (under the lock)."""
        limit = self.batch if limit is None else limit
        picked = takewhile(match, self._queue) if consecutive else (e for e in self._queue if match(e))
        taken: list[QueuedJob] = []
        ids: list[int] = []
        for entry in picked:
            if len(ids) >= limit:
                break
            taken.append(entry)
            ids += entry[1] if isinstance(entry[1], list) else []
        if not taken:
            return None
        for entry in taken:
            self._queue.remove(entry)
        entries = [(t, g) for t, _, g in taken]
        self._running += entries
        return entries, ids

    def _do(self, entries: list[Entry], job: Job) -> None:
        """Run a taken job (chunk ids a batch at a time), then mark its entries done."""
        try:
            if isinstance(job, list):
                for start in range(0, len(job), self.batch):
                    if self._stopping:  # a long write's chunks: the rest is indexed on the next open
                        self._skipped += len(job) - start
                        break
                    self._step(job[start : start + self.batch])
            else:
                self._step(job)
        finally:
            with self._cond:
                for ticket, group in entries:
                    self._running.remove((ticket, group))
                    if group is not None and self._last.get(group) == ticket:
                        del self._last[group]
                if isinstance(job, list):
                    self._waiting_chunks -= len(job)
                self._cond.notify_all()

    def _run(self) -> None:
        try:  # contexts are what a user waits for: when the cores are short, they go first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except (AttributeError, OSError):  # pragma: no cover - not Linux, or not allowed
            pass
        while (item := self._take()) is not None:
            entries, job = item
            if not entries:  # the idle sweep: nobody waits for it, and the next one retries it
                try:
                    if self._idle is not None:
                        self._idle()
                except Exception as exc:  # noqa: BLE001 - logged; the log keeps the chunks
                    log.warning("background sweep for chunks without vectors failed: %s", exc, exc_info=exc)
                continue
            self._do(entries, job)

    def _step(self, job: Job) -> None:
        try:
            if isinstance(job, list):
                self._index(job)
            else:
                job()
        except Exception as exc:  # kept and raised to a caller: a background failure is never silent
            ids = list(job) if isinstance(job, list) else []
            log.error("background %s failed: %s", "indexing" if ids else "task", exc, exc_info=exc)
            with self._cond:
                self._failed.append((exc, ids))

    def close(self, timeout: float | None = None) -> None:
        """Finish what is queued (up to ``timeout`` seconds), then stop the thread: past the timeout
        it stops after its current batch, and this waits for that batch to end (up to
        :data:`STOP_WAIT_S`), so no thread is left inside the embedder; the chunks still queued
        keep no vector in the log and are indexed on the next open."""
        self.closing = True
        finished = self.wait(timeout=timeout)
        with self._cond:
            self._closed = True
            self._stopping = not finished
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return
        thread.join(STOP_WAIT_S)
        if thread.is_alive():  # pragma: no cover - an embedder call that hangs for minutes
            log.warning("the indexer's current batch did not end within %s s; exiting without it", STOP_WAIT_S)
        elif not finished:
            left = self._skipped + sum(len(job) for _, job, _group in self._queue if isinstance(job, list))
            log.warning(
                "stopped the indexer after %s s with %d chunks not indexed: they keep no vector until the next "
                "open of this memory embeds them (call flush() or close() to wait for them)",
                timeout,
                left,
            )
