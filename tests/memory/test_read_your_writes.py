"""Read-your-writes (README, "Sync semantics"): a context or search right after ``add`` finds the
turn by vector too, waiting for this memory's indexer up to ``read_wait_s`` (which then takes that
namespace's chunks first and does not linger); past the bound it answers anyway and
``Context.unindexed`` says how many chunks in scope had no vector; ``0`` never waits; another
process's writes are not waited for, only counted; a long history imported, then asked about at
once, gives the context that ``flush()`` then asking gives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eval.datasets import load_locomo
from memory import Memory
from memory.embedders import Embedder
from memory.errors import InvalidArgument
from memory.write.indexer import IndexWorker
from tests.conftest import LOCOMO
from tests.memory.test_write_behind import FACT, NARROW, GatedEmbedder

QUESTION = "what is the locker code at the gym?"


@pytest.mark.fake_embedder
def test_a_context_right_after_add_finds_the_turn_by_vector(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("ryw")  # the default bound
    mem._indexer.linger = 3600.0  # an hour: only a reader that asks the indexer to start now is served
    mem.add([FACT], session="s")
    ctx = mem.assemble(QUESTION, session="s", **NARROW)
    hit = next(h for h in ctx.hits if "4471" in h.text)
    assert "dense" in hit.scores and ctx.unindexed == 0
    mem.add([{"role": "user", "content": "The spare key is under the blue flowerpot."}], session="s")
    assert "dense" in mem.search("where is the spare key?", k=1)[0].scores  # search too


@pytest.mark.fake_embedder
def test_past_the_bound_a_context_answers_and_says_what_was_not_indexed(
    open_memory: Callable[..., Memory], memory_embedder: Embedder
) -> None:
    emb = GatedEmbedder(memory_embedder)  # the indexer's thread embeds nothing until the gate opens
    mem = open_memory("bounded", embedder=emb, read_wait_s=0.05)
    try:
        mem.add([FACT], session="s")
        assert emb.entered.wait(10)  # the indexer holds this job (a reader cannot take it over)
        mem.add([{"role": "assistant", "content": f"Noted, turn {i}."} for i in range(3)], session="other")
        ctx = mem.assemble(QUESTION, session="s", **NARROW)  # returns (the gate never opens by itself)
        hit = next(h for h in ctx.hits if "4471" in h.text)
        assert "dense" not in hit.scores and ctx.unindexed == 1
        assert mem.store.pending_chunk_ids().tolist() == [1]  # the queued write: embedded by the reader itself
        emb.gate.set()
        mem.flush(timeout=30)  # the held job (the worker's, niced: it may take longer than the bound)
        ctx = mem.assemble(QUESTION, session="s", **NARROW)
        assert "dense" in next(h for h in ctx.hits if "4471" in h.text).scores and ctx.unindexed == 0
    finally:
        emb.gate.set()


@pytest.mark.fake_embedder
def test_unindexed_counts_the_retrievals_scope(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> None:
    emb = GatedEmbedder(memory_embedder)
    mem = open_memory("scope", embedder=emb, read_wait_s=0)
    try:
        mem.add([FACT], session="s")
        mem.add([{"role": "assistant", "content": f"Noted, turn {i}."} for i in range(3)], session="other")
        assert mem.assemble(QUESTION, session="s", **NARROW).unindexed == 4  # the namespace
        assert mem.assemble(QUESTION, session="s", scope="session", **NARROW).unindexed == 1
        assert mem.assemble(None, session="s", budget=300).unindexed == 0  # no query: no retrieval
    finally:
        emb.gate.set()


@pytest.mark.fake_embedder
def test_a_bound_of_zero_never_waits(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> None:
    emb = GatedEmbedder(memory_embedder)
    mem = open_memory("nowait", embedder=emb, read_wait_s=0)
    waits: list[object] = []
    mem._reader._wait_writes = lambda *a: waits.append(a)
    try:
        mem.add([FACT], session="s")
        assert mem.assemble(QUESTION, session="s", **NARROW).unindexed == 1
        assert "dense" not in next(h for h in mem.search("locker code gym", k=3) if "4471" in h.text).scores
        assert waits == [] and mem.read_wait_s == 0.0
    finally:
        emb.gate.set()


@pytest.mark.fake_embedder
@pytest.mark.parametrize("bad", [-1, "2", True, float("nan"), float("inf")])
def test_read_wait_s_is_checked(open_memory: Callable[..., Memory], bad: object) -> None:
    with pytest.raises(InvalidArgument) as err:
        open_memory(f"bad-{bad}", read_wait_s=bad)
    assert err.value.field == "read_wait_s"


def test_a_reader_waits_for_its_own_namespace_which_goes_first() -> None:
    """Another namespace's backlog (here: held) does not keep a reader waiting: the worker takes
    the chunk jobs of the namespace a reader waits for ahead of the queue, and only those count."""
    entered, first_gate, backlog = threading.Event(), threading.Event(), threading.Event()
    done: list[list[int]] = []

    def index(ids: list[int]) -> None:
        if 0 in ids:
            entered.set()
            first_gate.wait(10)
        if any(i >= 100 for i in ids):  # tenant b's import
            backlog.wait(10)
        done.append(ids)

    worker = IndexWorker(index, batch=4)
    try:
        worker.submit([0], group="b")
        assert entered.wait(10)  # the worker is busy on b's first job
        for i in range(5):
            worker.submit([100 + 2 * i, 101 + 2 * i], group="b")
        worker.submit(lambda: done.append([-1]))  # a task (a rolling summary) queued before a's write
        worker.submit([7], group="a")
        mark = worker.mark("a")
        assert worker.mark("nobody") == 0 and worker.wait(0, timeout=0, group="nobody")
        waited: list[bool] = []
        reader = threading.Thread(target=lambda: waited.append(worker.wait(mark, timeout=10, group="a")))
        reader.start()
        while "a" not in worker._hurry:
            time.sleep(0.001)
        first_gate.set()
        reader.join(10)
        assert waited == [True] and done == [[0], [7]]  # a's job right after the one in progress
        assert not worker.wait(timeout=0.05) and worker.mark("a") == 0  # b's import still held
        backlog.set()
        assert worker.wait(timeout=10)
        assert done[2:] == [[100, 101, 102, 103], [104, 105, 106, 107], [108, 109], [-1]]  # the rest in order
    finally:
        first_gate.set()
        backlog.set()
        worker.close()


def test_a_history_imported_then_asked_at_once_gives_the_flushed_context(tmp_path: Path, embedder: Embedder) -> None:
    """ "Import a history, then ask": a few hundred LoCoMo turns (real MiniLM), the context built
    right after the last ``add`` equals the one built after ``flush()``. The bound is raised so
    that a loaded machine cannot make it run out (the default, 2 s, covers about as many turns on
    idle cores: benchmarks/bench_ryw.py)."""
    conv = load_locomo(LOCOMO, images="caption").select(conversations=["conv-26"]).conversations[0]
    emb = GatedEmbedder(embedder)  # the whole import still waits for its vectors when the question comes
    mem = Memory.open(tmp_path / "m", embedder=emb, read_wait_s=300)
    try:
        turns = 0
        for sess in conv.sessions:
            if turns >= 300:
                break
            batch = [{**t.message, **({} if t.timestamp is None else {"timestamp": t.timestamp})} for t in sess.turns]
            mem.add(batch, session=sess.id, namespace=conv.id)
            turns += len(batch)
        assert mem.store.pending_chunk_ids().size >= 300
        emb.gate.set()
        questions = [q.question for q in conv.questions[:3]]
        now = conv.questions[0].date
        at_once = [mem.assemble(q, namespace=conv.id, budget=1024, now=now) for q in questions]
        mem.flush()
        flushed = [mem.assemble(q, namespace=conv.id, budget=1024, now=now) for q in questions]
        assert turns >= 300 and all(c.unindexed == 0 for c in at_once)
        for a, f in zip(at_once, flushed):
            assert a.messages == f.messages
            assert [(h.session, h.seq, h.scores) for h in a.hits] == [(h.session, h.seq, h.scores) for h in f.hits]
            assert sum("dense" in h.scores for h in a.hits) >= len(a.hits) // 2  # found by vector, not text alone
    finally:
        emb.gate.set()
        mem.close()


def test_a_reader_runs_a_queued_job_itself_and_the_worker_keeps_running() -> None:
    done: list[tuple[str, list[int]]] = []

    def index(ids: list[int]) -> None:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.3)  # the reader's job: meanwhile the worker wakes (a waiter is there) to an empty queue
        done.append((threading.current_thread().name, ids))

    worker = IndexWorker(index, name="turnmem-indexer-t")
    worker.linger = 3600.0  # the worker lingers: the reader, holding the lock from its wait on, takes the job
    try:
        worker.submit([1], group="a")
        time.sleep(0.2)  # the worker is lingering now (if not yet, the test proves less, never fails wrongly)
        assert worker.wait(worker.mark("a"), timeout=10, group="a", run=True)
        assert done == [(threading.current_thread().name, [1])]  # on the reader's thread
        worker.submit([2], group="a")  # the worker, woken for a job it found gone, still serves the next
        assert worker.wait(timeout=10) and done[-1] == ("turnmem-indexer-t", [2])
    finally:
        worker.close(timeout=5)
