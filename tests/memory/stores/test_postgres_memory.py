"""``Memory`` on PostgreSQL: opened by DSN, sharing one database between instances (as replicas or
processes would) with no catch-up, the Memory behaviour tests rerun on it, pgvector search plans,
and the locations turnmem refuses."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from memory.embedders import Embedder
from memory.errors import InvalidArgument
from memory.memory import Memory
from memory.stores.postgres import PgVectorIndex, PostgresStore
from memory.tokens import get_counter
from tests.memory import test_conversation_state as conversation
from tests.memory import test_memory as memory_tests
from tests.memory import test_session_state as session_state
from tests.memory.stores.test_contract import prepared, user


@pytest.fixture
def open_pg(pg_dsn: str, embedder: Embedder) -> Iterator[Callable[..., Memory]]:
    """Opens Memory instances on one PostgreSQL database (each with its own pool, like a replica)."""
    opened: list[Memory] = []

    def factory(**kwargs: Any) -> Memory:
        kwargs.setdefault("embedder", embedder)
        m = Memory.open(pg_dsn, **kwargs)
        opened.append(m)
        return m

    yield factory
    for m in opened:
        m.close()


@pytest.fixture
def pg_mem(open_pg: Callable[..., Memory]) -> Memory:
    return open_pg()


def test_a_turn_written_by_one_instance_is_in_the_next_context_of_another(open_pg: Callable[..., Memory]) -> None:
    a, b = open_pg(), open_pg()
    assert isinstance(a.store, PostgresStore) and isinstance(a.index, PgVectorIndex) and a.live and b.live
    b.assemble("warm up", session="trip", budget=500)  # b has looked before a writes
    a.add(
        [{"role": "user", "content": "My passport number is X1234567 and I fly to Lisbon on May 3."}],
        session="trip",
        wait_indexed=True,  # a's indexer has written the vector into the row: b needs no catch-up
    )
    for i in range(30):  # push the fact out of the recent window
        a.add([{"role": "user", "content": f"small talk about the weather, day {i}"}], session="trip")
    ctx = b.assemble("what is my passport number?", session="trip", budget=400, window_share=0.1)
    assert any("X1234567" in str(m.get("content")) for m in ctx.messages)
    hit = next(h for h in ctx.hits if "X1234567" in h.text)
    assert hit.reason == "retrieved" and hit.scores.get("dense", 0) > 0 and hit.scores.get("lexical", 0) > 0
    assert b.search("Lisbon flight", k=1)[0].text.startswith("My passport number")
    assert b.last_seq("trip") == 31 and b.since("trip", 30)[0].content == "small talk about the weather, day 29"


def test_writes_from_several_threads_and_instances_interleave_without_gaps(open_pg: Callable[..., Memory]) -> None:
    instances = [open_pg() for _ in range(3)]
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(m: Memory, w: int) -> None:
        for i in range(6):
            [seq] = m.add([{"role": "user", "content": f"writer {w} note {i}: ticket T{w}{i}Q"}], session="s")
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=writer, args=(instances[w % 3], w)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 37))
    # every write, from every instance, is in full-text search the moment it is acknowledged
    assert len(instances[1].search("writer note ticket", k=100)) == 36
    for m in instances:
        m.flush()  # and in the vectors once each writer's indexer has written them
    assert instances[2].search("ticket T45Q", k=1)[0].text == "writer 4 note 5: ticket T45Q"
    assert all("dense" in h.scores for h in instances[1].search("writer note ticket", k=100))


@pytest.mark.parametrize(
    "case",
    [
        memory_tests.test_seqs_continue_and_message_objects,
        memory_tests.test_openai_fields_survive_round_trip,
        memory_tests.test_no_query_is_recent_window_only,
        memory_tests.test_idempotency_and_conflicts,
        memory_tests.test_tool_result_must_answer_an_open_call,
        memory_tests.test_old_fact_is_retrieved_beyond_the_window,
        memory_tests.test_retrieved_tool_result_brings_its_call,
        memory_tests.test_pending_tool_call_is_reported_not_emitted,
        memory_tests.test_delete_session_and_namespace,
        memory_tests.test_namespaces_are_isolated,
        memory_tests.test_late_tool_result_travels_with_its_call,
        memory_tests.test_window_without_session_spans_the_namespace,
        memory_tests.test_neighbor_expansion_brings_the_answer_after_a_question,
        session_state.test_blocks_are_versioned_atomic_and_pinned_first,
        session_state.test_conditional_update_conflicts_and_writes_nothing,
        session_state.test_racing_conditional_updates_one_winner_per_version,
        session_state.test_state_machine_validates_transitions_and_pins_instructions,
        session_state.test_deleting_the_session_forgets_its_state,
        conversation.test_tool_call_lifecycle,
        conversation.test_a_fact_inside_a_5000_token_tool_output_comes_back_with_its_call,
        conversation.test_concurrent_summarizers_store_one_summary_per_range,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
def test_memory_behaviour_holds_on_postgres(case: Callable[..., None], pg_mem: Memory) -> None:
    if "open_memory" in inspect.signature(case).parameters:  # a case that opens its memory with the real model
        case(lambda **_: pg_mem, pg_mem.embedder)
    else:
        case(pg_mem)


def test_the_vector_index_is_the_log(pg_mem: Memory) -> None:
    pg_mem.add([{"role": "user", "content": "the red car"}, {"role": "user", "content": "a blue boat"}], session="a")
    pg_mem.add([{"role": "user", "content": "the red car again"}], session="b", namespace="other")
    assert pg_mem.reconcile() == {"added": 0, "removed": 0}
    assert sorted(pg_mem.index.ids("default").tolist()) == sorted(pg_mem.store.chunk_ids("default").tolist())
    assert pg_mem.index.namespaces() == ["default", "other"]
    with pytest.raises(InvalidArgument, match="Memory.delete"):
        pg_mem.index.drop("default")
    with pytest.raises(ValueError, match="not chunks of namespace"):
        pg_mem.index.add([999999], np.ones((1, pg_mem.embedder.dim), dtype=np.float32), namespace="x", sessions=["s"])
    with pytest.raises(InvalidArgument, match="no other index"):
        pg_mem.rebuild_index(index=pg_mem.index)
    assert pg_mem.rebuild_index(reembed=True) is pg_mem.index
    assert pg_mem.search("red car", k=1)[0].text == "the red car"


def test_exact_and_hnsw_plans_agree_and_filter_by_namespace(pg_dsn: str) -> None:
    store = PostgresStore(pg_dsn)
    try:
        exact = PgVectorIndex(store, 8, hnsw_min_rows=10**9)
        graph = PgVectorIndex(store, 8, hnsw_min_rows=0)
        rng = np.random.default_rng(7)
        counter = get_counter("o200k_base")
        for ns in ("a", "b"):
            for s in range(3):
                store.append(ns, f"s{s}", prepared(counter, [user(f"{ns} {s} {i}") for i in range(20)], seed=s))
        q = rng.normal(size=8).astype(np.float32)
        q /= np.linalg.norm(q)
        ids_e, sc_e = exact.search(q, 5, namespace="a")
        ids_g, sc_g = graph.search(q, 5, namespace="a")
        assert ids_e.tolist() == ids_g.tolist()  # 120 vectors: the graph search is exact here
        np.testing.assert_allclose(sc_e, sc_g, rtol=1e-5)
        vecs = store.vectors(ids_e.tolist())
        np.testing.assert_allclose(sc_e, [float(vecs[i] @ q) for i in ids_e.tolist()], rtol=1e-5)
        assert {store.chunks(ids_e.tolist())[i].namespace for i in ids_e.tolist()} == {"a"}
        only, _ = exact.search(q, 50, namespace="a", sessions=["s1"])
        assert len(only) == 20 and {store.chunks(only.tolist())[i].session for i in only.tolist()} == {"s1"}
        assert exact.search(q, 5, namespace="nowhere")[0].size == 0
        # a namespace that is a sliver of the table: the graph walk would find none of it, so exact
        store.append("tiny", "s", prepared(counter, [user("t1"), user("t2")], seed=9))
        assert sorted(graph.search(q, 5, namespace="tiny")[0].tolist()) == sorted(store.chunk_ids("tiny").tolist())
    finally:
        store.close()
