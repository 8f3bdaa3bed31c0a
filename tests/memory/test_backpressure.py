"""Backpressure on write-behind indexing: a writer faster than the embedder never queues more than
``max_pending`` chunks (its ``add`` waits for the indexer), loses nothing, and an indexer that makes
no room in ``pending_timeout_s`` turns the ``add`` into :class:`TimedOut` with nothing stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from memory import Memory
from memory.embedders import Embedder
from memory.errors import InvalidArgument, TimedOut
from tests.memory.test_write_behind import GatedEmbedder, on_indexer

pytestmark = pytest.mark.fake_embedder  # the indexer's queue: the model is not the point


class Slow:
    """The memory's embedder, 50 ms slower per call on the indexer's thread: a writer outruns it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if on_indexer():
            time.sleep(0.05)
        return self.inner.embed(texts)


def test_a_writer_faster_than_the_embedder_waits_and_the_queue_stays_bounded(
    open_memory: Callable[..., Memory], memory_embedder: Embedder
) -> None:
    bound, writes = 6, 48
    mem = open_memory("bounded", embedder=Slow(memory_embedder), max_pending=bound)
    seen: list[int] = []
    stop = threading.Event()

    def sample() -> None:  # what the queue holds, looked at from outside while the writers run
        while not stop.is_set():
            seen.append(mem._indexer.waiting_chunks)
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()

    def writer(w: int) -> None:
        for i in range(writes // 2):
            mem.add(
                [{"role": "user", "content": f"writer {w} note {i}: the parcel number is {w}{i:03d}"}], session=f"w{w}"
            )

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    took = time.monotonic() - started
    stop.set()
    sampler.join()
    assert max(seen) <= bound and mem._indexer.peak_chunks == bound  # filled up to the bound, never past it
    assert took > (writes - bound) / bound * 0.05  # the writers waited for the embedder's batches
    mem.flush()
    assert mem.last_seq("w0") == mem.last_seq("w1") == writes // 2  # nothing lost
    assert mem.store.pending_chunk_ids().size == 0 and len(mem.index.ids("default")) == writes  # every vector


def test_an_indexer_that_makes_no_room_times_the_add_out_and_stores_nothing(
    open_memory: Callable[..., Memory], memory_embedder: Embedder
) -> None:
    emb = GatedEmbedder(memory_embedder)  # the indexer is stuck until the gate opens
    mem = open_memory("stuck", embedder=emb, max_pending=2, pending_timeout_s=0.3)
    try:
        mem.add([{"role": "user", "content": "one"}, {"role": "user", "content": "two"}], session="s")
        started = time.monotonic()
        with pytest.raises(TimedOut, match=r"max_pending=2.*nothing was stored"):
            mem.add([{"role": "user", "content": "three"}], session="s")
        assert 0.3 <= time.monotonic() - started < 5 and mem.last_seq("s") == 2
        assert mem._indexer.waiting_chunks == 2
        emb.gate.set()
        assert mem.add([{"role": "user", "content": "three"}], session="s", wait_indexed=True) == [3]
    finally:
        emb.gate.set()
    # a write larger than the bound is admitted once the queue is empty, not refused forever
    long = {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "\n\n".join(f"row {i}: " + "data " * 150 for i in range(6)),
    }
    mem.add(
        [{"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "q", "arguments": "{}"}}]}, long],
        session="s",
    )
    mem.flush()
    assert mem.store.pending_chunk_ids().size == 0 and len(mem.index.ids("default")) > 5


def test_max_pending_must_be_a_positive_int(open_memory: Callable[..., Memory]) -> None:
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidArgument, match="max_pending") as err:
            open_memory(f"bad-{bad}", max_pending=bad)
        assert err.value.field == "max_pending"
