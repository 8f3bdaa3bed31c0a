"""Write-behind indexing and concurrent contexts: ``add`` is acknowledged once the log commits and
its chunks are embedded on the memory's background indexer; a context built before that finds the
turn by full text; ``wait_indexed``/``flush`` give the vectors; a failure is raised, not lost; a
crash between the commit and the indexing is repaired on the next open (a real process, killed);
contexts build at the same time as each other and as writes, with the serial results."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from memory import Memory
from memory.embedders import BatchingEmbedder, Embedder
from memory.errors import IndexingFailed
from memory.session.summaries import RollingSummary
from memory.write.indexer import IndexWorker
from retrievers.base import Candidates, Query

# the indexing machinery on the fake embedder (unit tier); the crash and PostgreSQL tests take the real one
pytestmark = pytest.mark.fake_embedder
ROOT = Path(__file__).resolve().parents[2]
FACT = {"role": "user", "content": "The locker code at the climbing gym is 4471."}
NARROW = {"budget": 300, "window_share": 0.0, "fill_window": False}  # only retrieval can bring a turn


def on_indexer() -> bool:
    return threading.current_thread().name.startswith("turnmem-indexer")


class GatedEmbedder:
    """The memory's embedder; on the indexer's thread it first waits for ``gate`` (and raises
    ``fail`` times first): the test decides when background indexing happens. ``entered`` is set
    once the indexer waits there: it holds that job, which a reader then cannot run itself."""

    def __init__(self, inner: Embedder, *, fail: int = 0) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail = fail

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if on_indexer():
            self.entered.set()
            assert self.gate.wait(timeout=60), "the test never opened the gate"
            if self.fail:
                self.fail -= 1
                raise RuntimeError("embedder unavailable")
        return self.inner.embed(texts)


@pytest.fixture
def gated(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> Iterator[tuple[Memory, GatedEmbedder]]:
    emb = GatedEmbedder(memory_embedder)
    mem = open_memory("gated", embedder=emb, read_wait_s=0)  # a context does not wait for the held vectors
    yield mem, emb
    emb.gate.set()  # let close() finish what is queued


def test_a_write_is_acknowledged_before_its_vectors_and_found_by_full_text(gated: tuple[Memory, GatedEmbedder]) -> None:
    mem, emb = gated
    [seq] = mem.add([FACT], session="s")  # returns with the indexer blocked: nothing waited for it
    mem.add([{"role": "assistant", "content": f"Noted, turn {i}."} for i in range(6)], session="s")
    pending = mem.store.pending_chunk_ids().tolist()
    assert seq == 1 and len(pending) == 7 and len(mem.index.ids("default")) == 0
    assert mem.store.vectors(pending) == {}  # a chunk without its vector is in no read of vectors
    ctx = mem.assemble("what is the locker code at the gym?", session="s", **NARROW)
    hit = next(h for h in ctx.hits if "4471" in h.text)
    assert "lexical" in hit.scores and "dense" not in hit.scores and "4471" in str(ctx.messages)
    assert ctx.unindexed == 7  # and it says so
    names, _ = mem.store.session_centroids("default")
    assert names == []  # the centroids wait for the vectors

    emb.gate.set()
    mem.flush()
    assert mem.store.pending_chunk_ids().size == 0
    assert sorted(mem.index.ids("default").tolist()) == mem.store.chunk_ids("default").tolist()
    hit = next(h for h in mem.search("locker code at the gym", k=3) if "4471" in h.text)
    assert hit.scores["dense"] > 0.5
    names, cents = mem.store.session_centroids("default")
    vecs = mem.store.vectors(mem.store.chunk_ids("default").tolist())
    np.testing.assert_allclose(cents[0], np.mean(np.stack(list(vecs.values())), axis=0), rtol=1e-5, atol=1e-6)


def test_wait_indexed_returns_with_the_vectors(mem: Memory) -> None:
    mem.add([FACT], session="s", wait_indexed=True)
    assert mem.store.pending_chunk_ids().size == 0 and len(mem.index.ids("default")) == 1
    assert "dense" in mem.search("gym locker", k=1)[0].scores


def test_a_caller_waiting_for_vectors_does_not_wait_out_the_indexers_linger(mem: Memory) -> None:
    """The worker lingers after a write so the writer's ``add`` returns first; a caller that
    waits for the vectors (``wait_indexed``, ``flush``) is served at once instead."""
    mem._indexer.linger = 3600.0  # an hour: only a waiter can cut it short
    seqs = mem.add([{"role": "user", "content": "The spare key is under the blue flowerpot."}], session="s")
    mem.flush(timeout=30)  # raises TimedOut if it waited for the linger
    assert mem._indexer.waiting_chunks == 0 and mem.store.pending_chunk_ids().size == 0
    assert "dense" in mem.search("where is the spare key?", k=1)[0].scores
    assert [h.seq for h in mem.search("where is the spare key?", k=1)] == seqs


def test_a_query_does_not_queue_behind_background_indexing(
    open_memory: Callable[..., Memory], memory_embedder: Embedder
) -> None:
    """Behind a server's BatchingEmbedder (one forward pass at a time), the indexer embeds around
    the batcher: a context's query is embedded while a long answer's chunks still are."""
    entered, stuck = threading.Event(), threading.Event()

    class SlowOnAnswers:  # the memory's embedder; a batch holding the long answer waits for the test
        name, dim = memory_embedder.name, memory_embedder.dim

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if any("LONG ANSWER" in t for t in texts):
                entered.set()
                assert stuck.wait(timeout=60), "the test never released the answer's batch"
            return memory_embedder.embed(texts)

    batching = BatchingEmbedder(SlowOnAnswers(), timeout=20)
    mem = open_memory("batched", embedder=batching, read_wait_s=0.05)  # the held answer outlasts the read's wait
    try:
        mem.add([FACT], session="s", wait_indexed=True)
        mem.add([{"role": "assistant", "content": "LONG ANSWER " + "about climbing gyms " * 200}], session="s")
        assert entered.wait(timeout=60)  # the indexer is embedding the answer, and stays there
        ctx = mem.assemble("what is the locker code?", session="s", budget=300)  # TimedOut if it queued
        assert any("4471" in str(m.get("content")) for m in ctx.to_openai())
        assert ctx.unindexed == len(mem.store.pending_chunk_ids()) > 0  # the answer's chunks: said, not hidden
    finally:
        stuck.set()


def test_sync_index_writes_embed_before_the_commit(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("sync", index_writes="sync")
    mem.add([FACT], session="s")
    assert mem.store.pending_chunk_ids().size == 0 and len(mem.index.ids("default")) == 1
    with pytest.raises(Exception, match="index_writes"):
        open_memory("bad", index_writes="later")


def test_a_background_failure_is_raised_once_logged_and_retried(
    open_memory: Callable[..., Memory], memory_embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    emb = GatedEmbedder(memory_embedder, fail=2)
    emb.gate.set()
    mem = open_memory("failing", embedder=emb)
    with caplog.at_level(logging.ERROR, logger="turnmem.indexing"):
        mem.add([FACT], session="s")
        with pytest.raises(IndexingFailed, match="embedder unavailable") as err:
            mem.flush()
    assert err.value.chunk_ids == [1] and "background indexing failed" in caplog.text
    assert mem.search("locker code", k=1)[0].text == FACT["content"]  # stored, found by full text
    # the failed chunk was queued again and fails once more: the next add says so and stores nothing
    mem._indexer.wait()
    with pytest.raises(IndexingFailed):
        mem.add([{"role": "user", "content": "another turn"}], session="s")
    assert mem.last_seq("s") == 1
    mem.flush()  # the third try works
    assert mem.store.pending_chunk_ids().size == 0 and len(mem.index.ids("default")) == 1
    assert mem.add([{"role": "user", "content": "another turn"}], session="s", wait_indexed=True) == [2]


def test_an_index_catches_up_with_chunks_another_writer_embedded_out_of_order(
    tmp_path: Path, memory_embedder: Embedder
) -> None:
    """Two memories on one folder (as two processes): A's chunk waits for its vector while B's
    later one is indexed; B's index takes A's chunk once A's indexer has written its vector."""
    gated = GatedEmbedder(memory_embedder)
    a = Memory.open(tmp_path / "shared", embedder=gated)
    b = Memory.open(tmp_path / "shared", embedder=memory_embedder)
    try:
        a.add([FACT], session="a")  # chunk 1: no vector yet
        b.add([{"role": "user", "content": "The train to Porto leaves at nine."}], session="b", wait_indexed=True)
        assert b.index.ids("default").tolist() == [2] and b.store.pending_chunk_ids().tolist() == [1]
        gated.gate.set()
        a.flush()
        hit = next(h for h in b.search("locker code at the gym", k=2) if "4471" in h.text)  # B catches up
        assert hit.scores["dense"] > 0.5 and sorted(b.index.ids("default").tolist()) == [1, 2]
    finally:
        gated.gate.set()
        a.close()
        b.close()


CHILD = """
import os, sys
import memory.embedders.identity, memory.write.writer
from memory import Memory


class Unused:  # never called: the identity check is skipped and the indexer never gets to embed
    name, dim = sys.argv[2], int(sys.argv[3])


memory.embedders.identity.check = lambda store, embedder: None  # the parent made the log with the real model
memory.write.writer.embed_pending = lambda *args, **kwargs: __import__("time").sleep(3600)
mem = Memory.open(sys.argv[1], embedder=Unused())
[seq] = mem.add([{"role": "user", "content": "The locker code at the climbing gym is 4471."}], session="s")
print(seq, flush=True)
os._exit(0)  # killed between the commit and the indexing
"""


def test_a_crash_between_commit_and_indexing_is_indexed_on_the_next_open(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "crashed"
    Memory.open(folder, embedder=embedder).close()  # the log, with the model's identity
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    args = [str(folder), embedder.name, str(embedder.dim)]
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "1", proc.stderr[-2000:]
    with Memory.open(folder, embedder=embedder) as mem:
        assert mem.last_seq("s") == 1  # acknowledged, so durable
        assert mem.store.pending_chunk_ids().tolist() == [1] or mem.store.vectors([1])  # queued by the open
        mem.flush()
        assert mem.store.pending_chunk_ids().size == 0
        assert mem.index.ids("default").tolist() == [1]
        hit = mem.search("what is the gym locker code?", k=1)[0]
        assert "4471" in hit.text and hit.scores["dense"] > 0.5


def test_a_rolling_summary_runs_on_the_indexer_not_in_add(open_memory: Callable[..., Memory]) -> None:
    threads: list[str] = []
    release = threading.Event()

    class SlowSummarizer:  # an LLM call, say
        def summarize(self, turns: list, *, max_tokens: int, counter: object) -> str:
            threads.append(threading.current_thread().name)
            assert release.wait(timeout=60)
            return f"{len(turns)} turns about plants"

    policy = RollingSummary(every=5, keep_last=2, max_tokens=100, summarizer=SlowSummarizer())  # type: ignore[arg-type]
    mem = open_memory("rolling", rolling_summary=policy)
    for i in range(12):  # due after the 8th: the later adds return while the summary is being written
        mem.add([{"role": "user", "content": f"day {i}: watered the plants"}], session="s")
    assert mem.summaries("s") == []
    release.set()
    mem.flush()
    assert threads and all(t.startswith("turnmem-indexer") for t in threads)
    spans = [s.metadata["summary_of"] for s in mem.summaries("s")]
    assert spans and spans[0]["from_seq"] == 1
    assert all(b["from_seq"] == a["to_seq"] + 1 for a, b in zip(spans, spans[1:]))  # one summary per range


class BarrierRetriever:
    """Retrieval that only returns once two contexts are inside it at the same time."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=30)

    def retrieve(self, query: Query, k: int) -> Candidates:
        self.barrier.wait()  # BrokenBarrierError if contexts were built one at a time
        return Candidates.empty()


def test_two_contexts_are_built_at_the_same_time(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("overlap", retriever=BarrierRetriever())
    mem.add([FACT], session="s", wait_indexed=True)
    out: list[object] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            out.append(mem.assemble("the locker code?", session="s", budget=200))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=build) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    assert errors == [] and len(out) == 2


TOPICS = ["hotel in Lisbon", "train to Porto", "museum tickets", "dinner on Friday", "the invoice", "bike tyre"]


def test_contexts_from_threads_during_appends_equal_the_serial_ones(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("concurrent")
    for s in range(3):
        mem.add(
            [{"role": "user", "content": f"Session {s} turn {i}: the {TOPICS[(s + i) % 6]}."} for i in range(16)],
            session=f"s{s}",
        )
    mem.flush()
    # dense retrieval (per-namespace index, centroids and speakers): another namespace's writes change nothing
    kw = {"budget": 300, "lexical_weight": 0.0, "now": 2e9}
    jobs = [(f"what about the {t}?", f"s{i % 3}") for i, t in enumerate(TOPICS[:4])]
    serial = {job: mem.assemble(job[0], session=job[1], **kw).to_json() for job in jobs}
    stop = threading.Event()
    errors: list[BaseException] = []
    built = [0]

    def writer() -> None:
        i = 0
        while not stop.is_set():  # other namespace, indexed in the background meanwhile
            note = {"role": "user", "content": f"unrelated note {i} about the {TOPICS[i % 6]}"}
            mem.add([note], session="w", namespace="other")
            i += 1

    def reader(r: int) -> None:
        try:
            for n in range(len(jobs)):
                job = jobs[(n + r) % len(jobs)]
                assert mem.assemble(job[0], session=job[1], **kw).to_json() == serial[job], job
                built[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    w = threading.Thread(target=writer)
    readers = [threading.Thread(target=reader, args=(r,)) for r in range(2)]
    w.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=120)
    stop.set()
    w.join(timeout=60)
    mem.flush()
    assert errors == [] and built[0] == 2 * len(jobs)
    assert mem.store.pending_chunk_ids().size == 0 and mem.last_seq("w", namespace="other") > 0


def test_on_postgres_another_instance_sees_the_turn_by_text_at_once_and_by_vector_after(
    pg_dsn: str, embedder: Embedder
) -> None:
    emb = GatedEmbedder(embedder)
    writer = Memory.open(pg_dsn, embedder=emb)
    reader = Memory.open(pg_dsn, embedder=embedder)
    try:
        writer.add([FACT], session="s")
        assert reader.store.pending_chunk_ids().tolist() == [1]
        hit = next(h for h in reader.search("locker code at the gym", k=3) if "4471" in h.text)
        assert "lexical" in hit.scores and "dense" not in hit.scores
        ctx = reader.assemble("what is the locker code at the gym?", session="s", **NARROW)
        assert "4471" in str(ctx.messages)
        # another process's write: not waited for (the reader's own indexer has nothing of it), counted
        assert reader._writer.indexer.mark("default") == 0 and ctx.unindexed == 1
        emb.gate.set()
        writer.flush()  # the writer's indexer wrote the vector into the row: the reader catches nothing up
        hit = next(h for h in reader.search("locker code at the gym", k=3) if "4471" in h.text)
        assert hit.scores["dense"] > 0.5
        assert reader.store.session_centroids("default")[0] == ["s"]
    finally:
        emb.gate.set()
        writer.close()
        reader.close()


def test_the_indexer_thread_runs_at_niceness_10(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> None:
    """README, "Contexts in parallel": the indexer runs at a lower CPU priority (niceness 10) than
    the threads that build contexts."""
    seen: list[tuple[int, int]] = []

    class Recording(GatedEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if on_indexer():
                seen.append((os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), threading.get_native_id()))
            return self.inner.embed(texts)

    mem = open_memory("nice", embedder=Recording(memory_embedder))
    mem.add([FACT], session="s", wait_indexed=True)
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen and seen[0][1] != threading.get_native_id()
    assert seen[0][0] == max(10, caller)  # 10, unless the whole process already runs nicer
    assert caller < 10 or caller == seen[0][0]  # the caller's own priority is left alone


def test_waiting_for_a_mark_does_not_wait_for_later_writes() -> None:
    """A service write with ``wait_indexed`` waits for its own write and those before it: a later
    write still being embedded (here: held) does not keep it waiting, while a flush would."""
    release = threading.Event()
    done: list[list[int]] = []

    def index(ids: list[int]) -> None:
        if 2 in ids:
            release.wait(10)
        done.append(ids)

    worker = IndexWorker(index, batch=1)
    try:
        first = worker.submit([1])
        mark = worker.mark()
        assert mark == first
        worker.submit([2])  # a later write, still being indexed when the first one's caller waits
        assert worker.wait(mark, timeout=5) and [1] in done
        assert not worker.wait(None, timeout=0.2)  # flush: everything queued, held by the later write
        release.set()
        assert worker.wait(None, timeout=5) and [2] in done
    finally:
        release.set()
        worker.close()
