"""Wrappers around any embedder: a cache of recent texts, and batching of concurrent callers."""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from memory.embedders.base import Embedder
from memory.errors import InvalidArgument, TimedOut


class CachedEmbedder:
    """An LRU cache in front of another embedder (queries repeat: evals, retries, reloads)."""

    def __init__(self, inner: Embedder, maxsize: int = 4096) -> None:
        self.inner = inner
        self.name = inner.name
        self.maxsize = maxsize
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.inner.embed(missing)
            with self._lock:
                for text, vec in zip(missing, vecs):
                    self._cache[text] = vec
                    self._cache.move_to_end(text)
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for t in texts:
                vec = self._cache.get(t)
                if vec is None:  # evicted between the two locks: recompute
                    vec = self.inner.embed([t])[0]
                rows.append(vec)
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)


class BatchingEmbedder:
    """Coalesces concurrent ``embed`` calls into one forward pass (the service's write path).

    A single-text call pays the model's fixed cost once per call; eight concurrent requests
    embedding one message each cost about as much as one request when their texts share a
    batch. One worker thread takes whatever is queued (up to ``max_batch`` texts) while the
    previous batch runs, so an idle service adds no waiting and a busy one batches by itself.

    - **Batch cap**: no forward pass holds more than ``max_batch`` texts; a larger call is
      embedded in passes of ``max_batch``.
    - **Isolation**: when a shared pass fails, each call in it is embedded again on its own,
      so one bad input fails only its own call.
    - **Timeout**: a call waiting longer than ``timeout`` seconds (queue and model together)
      raises :class:`TimedOut`; if it has not started yet it is dropped from the queue.
    """

    def __init__(self, inner: Embedder, max_batch: int = 128, timeout: float | None = 60.0) -> None:
        if not isinstance(max_batch, int) or max_batch < 1:
            raise InvalidArgument(f"max_batch: give an int >= 1 (got {max_batch!r})", field="max_batch")
        if timeout is not None and not timeout > 0:
            raise InvalidArgument(f"timeout: give seconds > 0 or None (got {timeout!r})", field="timeout")
        self.inner = inner
        self.name = inner.name
        self.max_batch = max_batch
        self.timeout = timeout
        self._queue: queue.SimpleQueue[tuple[list[str], Future[np.ndarray]]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # forward passes run (for tests and benchmarks)
        self.calls = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._worker is None:
            with self._start_lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="turnmem-embed", daemon=True)
                    self._worker.start()
        fut: Future[np.ndarray] = Future()
        self._queue.put((texts, fut))
        try:
            return fut.result(timeout=self.timeout)
        except FutureTimeout:
            fut.cancel()  # not started yet: the worker skips it
            raise TimedOut(
                f"embedding: {len(texts)} texts waited more than {self.timeout:g} s for the model; retry later"
            ) from None

    def _take(self) -> list[tuple[list[str], Future[np.ndarray]]]:
        """The next calls to embed together (at most ``max_batch`` texts, unless one call alone is larger)."""
        batch: list[tuple[list[str], Future[np.ndarray]]] = []
        size = 0
        while size < self.max_batch:
            try:
                item = self._queue.get() if not batch else self._queue.get_nowait()
            except queue.Empty:
                break
            if not item[1].set_running_or_notify_cancel():
                continue  # its caller gave up waiting
            batch.append(item)
            size += len(item[0])
        return batch

    def _forward(self, texts: list[str]) -> np.ndarray:
        """Embed in passes of at most ``max_batch`` texts."""
        parts = [self.inner.embed(texts[i : i + self.max_batch]) for i in range(0, len(texts), self.max_batch)]
        self.batches += len(parts)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                vecs = self._forward([t for texts, _ in batch for t in texts])
            except BaseException as exc:  # one bad call must not fail the others: each on its own
                if len(batch) == 1:
                    batch[0][1].set_exception(exc)
                    continue
                for texts, fut in batch:
                    try:
                        fut.set_result(self._forward(texts))
                    except BaseException as own:  # the worker lives on
                        fut.set_exception(own)
                self.calls += len(batch)
                continue
            self.calls += len(batch)
            k = 0
            for texts, fut in batch:
                fut.set_result(vecs[k : k + len(texts)])
                k += len(texts)
