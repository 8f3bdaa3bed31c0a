"""The chat loop: append a turn, build the next context, store the answer. Contexts build
without the memory's lock (concurrently with each other and with writes), and a context right
after an append reads only the new rows into the store's caches."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from memory import Memory

pytestmark = pytest.mark.fake_embedder  # locks, concurrency and caches: the model is not the point
TOPICS = ["the Lisbon hotel", "the train to Porto", "dinner on Friday", "the museum tickets", "the invoice"]


def turn(i: int) -> dict[str, str]:
    role = "user" if i % 2 == 0 else "assistant"
    return {"role": role, "content": f"Turn {i}: a note about {TOPICS[i % len(TOPICS)]}, number {i * 7}."}


def seqs_of(ctx: object, session: str) -> set[int]:
    return {s.ref.seq for s in ctx.sources if s.ref is not None and s.ref.session == session}  # type: ignore[attr-defined]


def test_contexts_build_while_another_thread_holds_the_memory_lock(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory()
    mem.add([turn(i) for i in range(12)], session="s")
    mem.assemble("what about the hotel?", session="s", budget=400)  # index caught up, caches warm
    out: list[object] = []
    with mem._lock:  # what a writer catching the index up holds
        worker = threading.Thread(target=lambda: out.append(mem.assemble("the hotel?", session="s", budget=400)))
        worker.start()
        worker.join(timeout=30)
        finished = not worker.is_alive()
    worker.join()
    assert finished, "assemble waited for the memory's lock"
    assert len(out) == 1 and 0 < out[0].tokens <= 400  # type: ignore[attr-defined]


def test_two_readers_and_a_writer(open_memory: Callable[..., Memory]) -> None:
    """Two threads build contexts while a third appends: no errors, every context within its
    budget, and each context is at least as new as every write acknowledged before it started."""
    mem = open_memory()
    mem.add([turn(i) for i in range(20)], session="s")
    acked = [20]  # the last seq whose add has returned
    done = threading.Event()
    errors: list[BaseException] = []
    built = [0, 0]

    def writer() -> None:
        try:
            for i in range(20, 44):
                [seq] = mem.add([turn(i)], session="s")
                acked[0] = seq
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()

    def reader(r: int) -> None:
        budget = 300 + 200 * r
        try:
            while not done.is_set() or built[r] < 3:
                seen = acked[0]
                ctx = mem.assemble(f"what about {TOPICS[built[r] % len(TOPICS)]}?", session="s", budget=budget)
                assert ctx.tokens <= budget
                # the newest turn in the context is at least the last one acknowledged (writes are
                # fast: older acknowledged turns may have left a small window already)
                assert max(seqs_of(ctx, "s")) >= seen, f"context missed acknowledged seq {seen}"
                built[r] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader, args=(r,)) for r in (0, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert min(built) >= 3
    assert mem.last_seq("s") == 44
    final = mem.assemble(None, session="s", budget=4000)
    assert 44 in seqs_of(final, "s")


def test_a_context_after_an_append_reads_only_the_new_rows(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory()
    mem.add([{**turn(i), "name": "Ana" if i % 2 == 0 else "Bot"} for i in range(30)], session="s")
    mem.add([turn(i) for i in range(10)], session="t", wait_indexed=True)
    query = "what did Ana say about the hotel?"
    mem.assemble(query, session="s", budget=500)  # warm: the whole namespace read once
    before = mem.store.cache_rows_read()
    mem.assemble(query, session="s", budget=500)
    assert mem.store.cache_rows_read() == before
    answer = {"role": "assistant", "name": "Bot", "content": "A long answer. " + "More detail here. " * 300}
    mem.add([answer], session="s", wait_indexed=True)  # the centroids fold a chunk once it has its vector
    [new] = mem.store.tail("default", "s", limit=1)
    n_chunks = len(mem.store.chunks_of_message(new.id))
    assert n_chunks > 1
    ctx = mem.assemble(query, session="s", budget=500)
    # the new message's chunks (centroids) and its one name (speakers): not the 40 messages before
    assert mem.store.cache_rows_read() - before == n_chunks + 1
    assert ctx.tokens <= 500
