"""The store conformance suite: every case a store must pass, written once against the protocols of
:mod:`memory.stores.base` and run on each store (as LangGraph's ``checkpoint-conformance`` runs on
every checkpointer): seqs, atomicity, retries, conflicts, tool-call links, state, search rows,
vectors written behind, deletes, reopening, and writers in several threads and processes.

A backend runs it by defining a ``backend`` fixture that returns a :class:`Backend` (how to open
another handle on one fresh store, how to count a table's rows behind the protocol's back, which
optional capabilities it has) and importing this module's names into its test module, where pytest
collects the cases on that store: ``tests/memory/stores/sqlite/test_conformance.py`` (a real file)
and ``tests/memory/stores/postgres/test_conformance.py`` (a real PostgreSQL from pgserver) do.

Named optional capabilities (:data:`OPTIONAL`): a case that needs one calls
:meth:`Backend.requires`, and on a backend without it the case is skipped, saying so (LangGraph
skips the extended capabilities a saver lacks the same way); a case checks that a backend declares
exactly what its store says of itself. ``claims_pending``: the chunks waiting for their vector are
claimed (a lease per chunk, PostgreSQL), so two indexers never embed one chunk at once.

Why a module in ``tests/`` and not in the package: the cases are pytest functions over the test
session's fixtures (``counter``, a tmp folder, pgserver's ``pg_dsn``) and build their messages with
:func:`tests.memory.stores.test_contract.prepared`, the one helper every store test uses; both
stores are in this repository, so nothing outside it imports the suite. It imports only ``memory``,
pytest, numpy and those helpers: the day a store lives in another distribution, it moves into the
package as it is.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

from memory.errors import Conflict, IdempotencyConflict, InvalidMessage, NotFound
from memory.stores.base import CAPABILITIES, ContextStore, IndexSyncStore, Store
from memory.stores.rows import PreparedMessage
from memory.tokens import TokenCounter, get_counter
from tests.memory.stores.test_contract import DIM, call, prepared, user

CLAIMS_PENDING = "claims_pending"
OPTIONAL = frozenset({CLAIMS_PENDING})
"""The capabilities a store may lack: the cases that need one run only where the backend declares it."""


@dataclass(frozen=True)
class Backend:
    """One store under test: ``open()`` gives another handle on it (a new connection, as another
    process would), ``count_rows(store, table)`` reads a table's row count behind the protocol's
    back, ``own_tables`` are the backend's tables an append also writes (SQLite's FTS5 table).
    Picklable (the class and a module-level function go by reference): a case that spawns
    processes hands it to them."""

    name: str
    cls: Callable[[Any], Store]
    target: Any  # the store's file, or its DSN
    count_rows: Callable[[Store, str], int]
    own_tables: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = self.capabilities - OPTIONAL
        if unknown:
            raise ValueError(f"capabilities: {sorted(unknown)} are not optional capabilities ({sorted(OPTIONAL)})")

    def open(self) -> Store:
        return self.cls(self.target)

    def requires(self, capability: str) -> None:
        """Skip the calling case on a backend without ``capability`` (one of :data:`OPTIONAL`)."""
        assert capability in OPTIONAL, capability
        if capability not in self.capabilities:
            pytest.skip(f"{self.name} has no {capability}")


TABLES = ("messages", "chunks", "tool_calls", "idempotency", "sessions", "namespaces", "state_blocks")


def table_counts(backend: Backend, store: Store) -> tuple[int, ...]:
    """Rows per table, read behind the protocol's back (what an append must leave as it was)."""
    return tuple(backend.count_rows(store, t) for t in (*TABLES, *backend.own_tables))


def snapshot(backend: Backend, store: Store) -> tuple[Any, ...]:
    """Everything an append may change."""
    return table_counts(backend, store) + tuple(
        (ns, store.last_pos(ns), tuple((s["session"], s["last_seq"]) for s in store.sessions(ns)))
        for ns in store.namespaces()
    )


def without_vectors(messages: list[PreparedMessage]) -> list[PreparedMessage]:
    """The same messages with every chunk's vector left to be written later (write-behind)."""
    empty = np.zeros(0, dtype=np.float32)
    return [replace(m, chunks=[replace(c, vector=empty) for c in m.chunks]) for m in messages]


Opener = Callable[[], Store]


@pytest.fixture
def open_store(backend: Backend) -> Iterator[Opener]:
    """Opens another handle on one store (a new connection, as another process would)."""
    opened: list[Store] = []

    def opener() -> Store:
        s = backend.open()
        opened.append(s)
        return s

    yield opener
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Opener) -> Store:
    return open_store()


def test_every_store_implements_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)
    for protocol in (*CAPABILITIES, ContextStore, IndexSyncStore):  # each capability, and what consumers take
        assert isinstance(store, protocol), protocol.__name__
    missing = [n for n in dir(Store) if not n.startswith("_") and not callable(getattr(store, n, None))]
    assert missing == []


def test_seqs_are_per_session_gap_free_from_one(store: Store, counter: TokenCounter) -> None:
    got: dict[str, list[int]] = {"a": [], "b": []}
    for i, session in enumerate(["a", "b", "a", "a", "b"]):
        n = i % 3 + 1
        got[session] += store.append("ns", session, prepared(counter, [user(f"m{i}.{j}") for j in range(n)])).seqs
    assert got["a"] == list(range(1, len(got["a"]) + 1))
    assert got["b"] == list(range(1, len(got["b"]) + 1))
    assert store.last_seq("ns", "a") == len(got["a"]) and store.last_seq("ns", "b") == len(got["b"])
    # The namespace timeline interleaves both sessions in commit order, also gap-free.
    rows = store.all_messages("ns")
    assert [r.pos for r in rows] == list(range(1, len(rows) + 1))
    assert store.last_pos("ns") == len(rows)
    assert [r.seq for r in store.messages_since("ns", "a", 2)] == got["a"][2:]
    # Another namespace starts its own numbering.
    assert store.append("other", "a", prepared(counter, [user("x")])).seqs == [1]


def test_concurrent_writers_get_distinct_gap_free_seqs(open_store: Opener, counter: TokenCounter) -> None:
    open_store()
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        s = open_store()  # its own connection, like another process
        try:
            for i in range(8):
                seqs = s.append("ns", "shared", prepared(counter, [user(f"w{w} m{i}")], seed=w * 100 + i)).seqs
                with lock:
                    results.extend(seqs)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == list(range(1, 33))
    check = open_store()
    assert [r.seq for r in check.all_messages("ns", "shared")] == list(range(1, 33))
    assert [r.pos for r in check.all_messages("ns")] == list(range(1, 33))


def test_batch_with_orphan_tool_result_stores_nothing(backend: Backend, store: Store, counter: TokenCounter) -> None:
    store.append(
        "ns",
        "s",
        prepared(counter, [user("hello"), call("c0"), {"role": "tool", "tool_call_id": "c0", "content": "ok"}]),
    )
    before = snapshot(backend, store)
    batch = [
        user("find me a hotel in Lisbon"),
        call("c1"),
        {"role": "tool", "tool_call_id": "c1", "content": '[{"name": "Casa Azul"}]'},
        {"role": "tool", "tool_call_id": "nope", "content": "orphan"},
    ]
    with pytest.raises(InvalidMessage) as err:
        store.append("ns", "s", prepared(counter, batch))
    assert err.value.field == "messages[3].tool_call_id"
    assert "'nope'" in str(err.value)
    assert snapshot(backend, store) == before
    assert store.search_text(["Lisbon"], "ns", 10)[0].size == 0  # no full-text rows either
    assert store.tool_links("ns", "s", call_ids=["c1"]) == []  # the call was not registered
    # The same calls, valid this time, go through with the next seqs.
    assert store.append("ns", "s", prepared(counter, batch[:3])).seqs == [4, 5, 6]


def test_result_must_follow_its_call_and_answer_it_once(backend: Backend, store: Store, counter: TokenCounter) -> None:
    with pytest.raises(InvalidMessage) as err:  # the result before its call, in one batch
        store.append("ns", "s", prepared(counter, [{"role": "tool", "tool_call_id": "c1", "content": "x"}, call("c1")]))
    assert err.value.field == "messages[0].tool_call_id"
    assert store.namespaces() == []
    store.append("ns", "s", prepared(counter, [call("c1"), {"role": "tool", "tool_call_id": "c1", "content": "x"}]))
    before = snapshot(backend, store)
    with pytest.raises(InvalidMessage, match="already has its result"):
        store.append("ns", "s", prepared(counter, [{"role": "tool", "tool_call_id": "c1", "content": "again"}]))
    with pytest.raises(InvalidMessage) as err:
        store.append("ns", "s", prepared(counter, [user("again"), call("c1")]))
    assert err.value.field == "messages[1].tool_calls"
    assert snapshot(backend, store) == before
    # Call ids are per session: another session may use c1.
    assert store.append("ns", "t", prepared(counter, [call("c1")])).seqs == [1]
    assert store.tool_links("ns", "t", call_seqs=[1]) == [("c1", 1, None)]


def test_idempotency_key_replays_the_first_seqs(backend: Backend, store: Store, counter: TokenCounter) -> None:
    first = store.append("ns", "s", prepared(counter, [user("a"), user("b")]), idempotency_key="req-1")
    assert first.seqs == [1, 2] and not first.replayed and len(first.new_chunk_ids) == 2
    before = snapshot(backend, store)
    again = store.append("ns", "s", prepared(counter, [user("a"), user("b")]), idempotency_key="req-1")
    assert again.seqs == [1, 2] and again.replayed
    assert again.new_chunk_ids == [] and again.new_vectors is None
    assert snapshot(backend, store) == before
    # A replay wins over a stale base_seq: the retry of a write that did go through.
    assert store.append("ns", "s", prepared(counter, [user("c")]), idempotency_key="req-2", base_seq=2).seqs == [3]
    store.append("ns", "s", prepared(counter, [user("d")]))
    assert store.append("ns", "s", prepared(counter, [user("c")]), idempotency_key="req-2", base_seq=2).seqs == [3]
    # Keys are per session.
    assert store.append("ns", "t", prepared(counter, [user("a")]), idempotency_key="req-1").seqs == [1]


def test_an_idempotency_key_with_another_request_conflicts(
    backend: Backend, store: Store, counter: TokenCounter
) -> None:
    """The key remembers a fingerprint of its request: another body, or another base_seq, is an
    IdempotencyConflict naming idempotency_key, and nothing is stored."""
    store.append("ns", "s", prepared(counter, [user("a"), user("b")]), idempotency_key="req-1")
    before = snapshot(backend, store)
    for messages, base_seq in (([user("a")], None), ([user("a"), user("B")], None), ([user("a"), user("b")], 0)):
        with pytest.raises(IdempotencyConflict, match="idempotency_key: 'req-1' already answered") as err:
            store.append("ns", "s", prepared(counter, messages), idempotency_key="req-1", base_seq=base_seq)
        assert err.value.field == "idempotency_key" and err.value.current_seq == 2
        assert isinstance(err.value, Conflict)
        assert snapshot(backend, store) == before
    # other vectors and timestamps (an embedder's noise, a retry stamped anew) are the same request
    assert store.append("ns", "s", prepared(counter, [user("a"), user("b")], seed=5), idempotency_key="req-1").replayed


def test_idempotency_keys_expire_after_their_window(store: Store, counter: TokenCounter) -> None:
    store.append("ns", "s", prepared(counter, [user("a")]), idempotency_key="old")
    kept = store.append("ns", "s", prepared(counter, [user("a")]), idempotency_key="old", idempotency_ttl_s=3600)
    assert kept.replayed and kept.seqs == [1]  # within the window (default: forever)
    time.sleep(0.05)
    fresh = store.append("ns", "s", prepared(counter, [user("x")]), idempotency_key="old", idempotency_ttl_s=0.01)
    assert not fresh.replayed and fresh.seqs == [2]  # past it: the key is forgotten, a new write
    assert store.append("ns", "s", prepared(counter, [user("x")]), idempotency_key="old").seqs == [2]


def test_stale_base_seq_conflicts_and_stores_nothing(backend: Backend, store: Store, counter: TokenCounter) -> None:
    assert store.append("ns", "s", prepared(counter, [user("a")]), base_seq=0).seqs == [1]
    store.append("ns", "s", prepared(counter, [user("b"), user("c")]))
    before = snapshot(backend, store)
    with pytest.raises(Conflict) as err:
        store.append("ns", "s", prepared(counter, [user("late")]), base_seq=1)
    assert err.value.current_seq == 3
    assert "base_seq" in str(err.value) and "3" in str(err.value)
    assert snapshot(backend, store) == before
    assert store.append("ns", "s", prepared(counter, [user("d")]), base_seq=err.value.current_seq).seqs == [4]
    with pytest.raises(Conflict) as err:  # a session that does not exist yet is at 0
        store.append("ns", "new", prepared(counter, [user("x")]), base_seq=5)
    assert err.value.current_seq == 0
    assert [s["session"] for s in store.sessions("ns")] == ["s"]


def test_message_id_dedup(backend: Backend, store: Store, counter: TokenCounter) -> None:
    assert store.append("ns", "s", prepared(counter, [user("a", id="m1"), user("b", id="m2")])).seqs == [1, 2]
    before = snapshot(backend, store)
    res = store.append("ns", "s", prepared(counter, [user("b again", id="m2"), user("a again", id="m1")]))
    assert res.seqs == [2, 1] and res.new_chunk_ids == []
    assert snapshot(backend, store) == before
    # New ids next to stored ones: only the new ones are stored; a repeat inside a batch once.
    res = store.append("ns", "s", prepared(counter, [user("a", id="m1"), user("c", id="m3"), user("c", id="m3")]))
    assert res.seqs == [1, 3, 3]
    assert [r.data["content"] for r in store.all_messages("ns", "s")] == ["a", "b", "c"]
    # Ids are per session.
    assert store.append("ns", "t", prepared(counter, [user("a", id="m1")])).seqs == [1]


def test_delete_session_and_namespace(store: Store, counter: TokenCounter) -> None:
    tool_unit = [user("hotels in Lisbon?"), call("c1"), {"role": "tool", "tool_call_id": "c1", "content": "Casa Azul"}]
    store.append("n1", "a", prepared(counter, tool_unit), idempotency_key="k")
    store.append("n1", "b", prepared(counter, tool_unit))
    store.append("n2", "a", prepared(counter, tool_unit))
    b_chunks = {int(i) for i in store.chunk_ids("n1")} - {
        c.id for r in store.all_messages("n1", "a") for c in store.chunks_of_message(r.id)
    }

    assert store.delete("n1", "a") == 3
    assert store.last_seq("n1", "a") == 0 and store.all_messages("n1", "a") == []
    assert {int(i) for i in store.chunk_ids("n1")} == b_chunks
    ids, _ = store.search_text(["Lisbon"], "n1", 10)
    assert {store.chunks(ids.tolist())[int(i)].session for i in ids} == {"b"}
    assert store.deletions_after(0)[-1][1:] == (store.namespace_key("n1"),)  # the key, no name
    # The session starts over: seq 1, its call id and idempotency key free again.
    res = store.append("n1", "a", prepared(counter, tool_unit), idempotency_key="k")
    assert res.seqs == [1, 2, 3] and not res.replayed

    assert store.delete("n2") == 3
    assert "n2" not in store.namespaces() and store.chunk_count("n2") == 0
    assert store.search_text(["Lisbon"], "n2", 10)[0].size == 0
    assert store.last_pos("n2") == 0
    with pytest.raises(NotFound):
        store.delete("n2")
    with pytest.raises(NotFound):
        store.delete("n1", "never")
    assert store.chunk_count("n1") > 0  # untouched by the failed deletes


def test_session_delete_leaves_no_trace(backend: Backend, store: Store, counter: TokenCounter) -> None:
    """A session delete also removes its ``::summaries`` companion (which quotes its words), its
    state blocks and stage machine, idempotency keys, tool-call links, chunks and full text."""
    secret = [user("the vault code is quokka7781zebra"), call("c9")]
    store.append("n", "a", prepared(counter, secret), idempotency_key="k1")
    store.append("n", "a::summaries", prepared(counter, [user("summary: vault code quokka7781zebra")]))
    store.set_state("n", "a", {"code": '"quokka7781zebra"'})
    store.set_state_machine("n", "a", '{"m": 1}', "start")
    store.append("n", "b", prepared(counter, [user("hotels in Lisbon?")]))
    before_b = table_counts(backend, store)

    assert store.delete("n", "a") == 3
    assert [s["session"] for s in store.sessions("n")] == ["b"]
    assert store.all_messages("n", "a::summaries") == [] and store.last_seq("n", "a::summaries") == 0
    assert store.state("n", "a") == {} and store.state_machine("n", "a") is None
    assert store.tool_links("n", "a", call_ids=["c9"]) == []
    assert store.search_text(["quokka7781zebra"], "n", 10)[0].size == 0
    assert {c.session for c in store.chunks(store.chunk_ids("n").tolist()).values()} == {"b"}
    # one tombstone per delete: the namespace's key, not its name, no session
    assert [d[1:] for d in store.deletions_after(0)] == [(store.namespace_key("n"),)]
    assert store.namespace_key("n") != store.namespace_key("n1") and len(store.namespace_key("n")) == 64
    assert table_counts(backend, store)[TABLES.index("idempotency")] == 0
    assert table_counts(backend, store)[TABLES.index("messages")] == before_b[TABLES.index("messages")] - 3
    # the key is free again: the same write stores anew
    assert not store.append("n", "a", prepared(counter, secret), idempotency_key="k1").replayed


def test_reopen_keeps_everything(open_store: Opener, counter: TokenCounter) -> None:
    s = open_store()
    msgs = prepared(
        counter,
        [user("Casa Azul is 129 EUR", id="x1"), call("c1"), {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
    )
    res = s.append("ns", "s", msgs, idempotency_key="k")
    vectors = {int(i): v for _, ids, _, vecs in s.chunk_vectors() for i, v in zip(ids, vecs)}
    s.set_meta("embedder", "test")
    s.close()

    s = open_store()
    try:
        assert s.get_meta("embedder") == "test"
        assert s.last_seq("ns", "s") == 3
        rows = s.all_messages("ns", "s")
        assert [r.message().to_openai() for r in rows] == [m.message.to_openai() for m in msgs]
        assert rows[0].stored().id == "x1" and rows[0].stored().seq == 1
        reread = {int(i): v for _, ids, _, vecs in s.chunk_vectors() for i, v in zip(ids, vecs)}
        assert reread.keys() == set(res.new_chunk_ids)
        for cid, vec in vectors.items():
            np.testing.assert_array_equal(reread[cid], vec)
        np.testing.assert_array_equal(res.new_vectors, np.stack([vectors[c] for c in res.new_chunk_ids]))
        ids, _ = s.search_text(["Azul"], "ns", 5)
        assert ids.tolist() == [res.new_chunk_ids[0]]
        assert s.append("ns", "s", msgs, idempotency_key="k").seqs == [1, 2, 3]
        assert s.append("ns", "s", prepared(counter, [user("dup", id="x1")])).seqs == [1]
        assert s.tool_links("ns", "s", call_ids=["c1"]) == [("c1", 2, 3)]
    finally:
        s.close()


# -- writers in several processes -----------------------------------------------------------

PROCS, APPENDS = 4, 50


def _process_writer(backend: Backend, w: int, barrier: Any, out: Any) -> None:
    """One process: its own store handle, APPENDS single-message appends to one session."""
    store = backend.open()
    counter = get_counter("o200k_base")
    try:
        barrier.wait(timeout=120)
        acked = {}
        for i in range(APPENDS):
            text = f"process {w} line {i}"
            [seq] = store.append("ns", "shared", prepared(counter, [user(text)], seed=w * 1000 + i)).seqs
            acked[text] = seq
        out.put(acked)
    finally:
        store.close()


@pytest.mark.slow  # ~25 s: four spawned interpreters import turnmem on a busy 2-core machine
def test_processes_writing_one_session_get_seqs_one_to_n(backend: Backend) -> None:
    first = backend.open()
    first.close()  # the schema exists before the racers start
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(PROCS), ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(backend, w, barrier, out)) for w in range(PROCS)]
    for p in procs:
        p.start()
    acked: dict[str, int] = {}
    for _ in procs:
        acked.update(out.get(timeout=300))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    check = backend.open()
    try:
        rows = check.all_messages("ns", "shared")
        assert [r.seq for r in rows] == list(range(1, PROCS * APPENDS + 1))
        assert [r.pos for r in check.all_messages("ns")] == list(range(1, PROCS * APPENDS + 1))
        assert {r.data["content"]: r.seq for r in rows} == acked  # every acknowledged write, once
        assert check.last_seq("ns", "shared") == check.last_pos("ns") == PROCS * APPENDS
    finally:
        check.close()


# -- reads ------------------------------------------------------------------------------------


def test_since_pages_and_tail_reads_newest_first(store: Store, counter: TokenCounter) -> None:
    store.append("ns", "a", prepared(counter, [user(f"a{i}") for i in range(5)]))
    store.append("ns", "b", prepared(counter, [user("b0")]))
    store.append("ns", "a", prepared(counter, [user("a5")]))
    pages, seq = [], 0
    while page := store.messages_since("ns", "a", seq, limit=2):
        pages.append([r.seq for r in page])
        seq = page[-1].seq
    assert pages == [[1, 2], [3, 4], [5, 6]]
    assert [r.data["content"] for r in store.tail("ns", "a", limit=2)] == ["a5", "a4"]
    assert [r.data["content"] for r in store.tail("ns", None, limit=3)] == ["a5", "b0", "a4"]
    assert [r.pos for r in store.tail("ns", None, before_pos=3, limit=10)] == [2, 1]
    by_pos = store.messages_by_pos("ns", [6, 7, 99])
    assert by_pos[6].session == "b" and by_pos[7].data["content"] == "a5" and 99 not in by_pos
    by_key = store.messages_by_keys("ns", [("a", 2), ("b", 1), ("b", 9)])
    assert set(by_key) == {("a", 2), ("b", 1)}
    assert set(store.messages_by_seq("ns", "a", [1, 6, 7])) == {1, 6}
    assert [s["session"] for s in store.sessions("ns")] == ["a", "b"]
    assert store.sessions("ns")[0]["last_seq"] == 6


def test_search_rows_vectors_and_full_text(store: Store, counter: TokenCounter) -> None:
    res = store.append(
        "ns",
        "a",
        prepared(counter, [user("The invoices were paid in Lisbon", name="Ana"), user("walking the dog")]),
    )
    store.append("ns", "b", prepared(counter, [user("she pays every invoice late", name="Bo")], seed=1))
    store.append("other", "a", prepared(counter, [user("invoice from another namespace")], seed=2))
    first = store.first_candidates("ns", [("a", 1), ("a", 2), ("a", 3)])
    assert set(first) == {("a", 1), ("a", 2)} and first[("a", 1)].chunk.id == res.new_chunk_ids[0]
    msgs = store.messages_by_keys("ns", [("a", 1), ("a", 2)])
    for key, cand in first.items():  # the message's meta, as its row has it
        row = msgs[key]
        assert (cand.pos, cand.ts, cand.role, cand.tokens, cand.name) == (row.pos, row.ts, row.role, row.tokens, None)
    by_id = store.candidates([*res.new_chunk_ids, 10**9], names=True)
    assert set(by_id) == set(res.new_chunk_ids)  # an unknown id is left out
    assert [by_id[i].name for i in res.new_chunk_ids] == ["Ana", None]
    assert by_id[res.new_chunk_ids[0]].chunk == store.chunks([res.new_chunk_ids[0]])[res.new_chunk_ids[0]]
    assert store.candidates(res.new_chunk_ids)[res.new_chunk_ids[0]].name is None  # names only when asked
    vecs = store.vectors(res.new_chunk_ids)
    np.testing.assert_allclose(np.stack([vecs[i] for i in res.new_chunk_ids]), res.new_vectors, rtol=1e-6)
    ids, texts, sessions = store.chunk_texts("ns")
    assert ids.tolist() == sorted(ids.tolist()) and len(texts) == 3 and sessions == ["a", "a", "b"]
    # stemming: "invoice" finds "invoices"; scoped to the namespace, then to sessions
    hit_ids, scores = store.search_text(["invoice"], "ns", 10)
    assert {store.chunks(hit_ids.tolist())[int(i)].session for i in hit_ids} == {"a", "b"}
    assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
    only_b, _ = store.search_text(["invoice"], "ns", 10, sessions=["b"])
    assert [store.chunks(only_b.tolist())[int(i)].session for i in only_b] == ["b"]
    assert store.search_text(['quote"s', "a|b &!", "(x"], "ns", 10)[0].size == 0  # text is never syntax
    assert store.search_text(["zebra"], "ns", 10)[0].size == 0
    assert store.speakers("ns") == {"ana": "Ana", "bo": "Bo"}
    names, cents = store.session_centroids("ns")
    assert names == ["a", "b"] and cents.shape == (2, DIM)
    np.testing.assert_allclose(cents[0], res.new_vectors.mean(axis=0), rtol=1e-5, atol=1e-6)
    store.append("ns", "c", prepared(counter, [user("a new speaker", name="Cy")], seed=3))
    assert "cy" in store.speakers("ns")  # the cache follows the writes
    assert store.session_centroids("ns")[0] == ["a", "b", "c"]


def test_the_chunks_a_point_in_the_history_had(store: Store, counter: TokenCounter) -> None:
    """``chunks_until`` and ``pos_at`` (a point's cutoffs, :mod:`memory.read.as_of`), and full text
    ranked among some chunks only (``among``): the top k of them, not the top k filtered."""
    t0 = 1_700_000_000.0
    a = store.append(
        "ns", "a", prepared(counter, [user("invoice one", timestamp=t0), user("invoice two", timestamp=t0 + 10)])
    )
    b = store.append("ns", "b", prepared(counter, [user("invoice three", timestamp=t0 + 5)], seed=1))
    store.append("other", "a", prepared(counter, [user("invoice elsewhere", timestamp=t0)], seed=2))
    ids, sessions = store.chunks_until("ns", 2)
    assert ids.tolist() == a.new_chunk_ids and sessions == ["a", "a"]  # positions 1-2: session a's turns
    ids, sessions = store.chunks_until("ns", 3, t0 + 5)  # all three stored; timestamped by then: two
    assert ids.tolist() == sorted([a.new_chunk_ids[0], *b.new_chunk_ids]) and sorted(sessions) == ["a", "b"]
    assert store.chunks_until("ns", 0)[0].size == 0
    assert (store.pos_at("ns", t0 - 1), store.pos_at("ns", t0 + 5), store.pos_at("ns", t0 + 99)) == (0, 3, 3)
    assert store.pos_at("ns", t0 + 7) == 3 and store.pos_at("nowhere", t0) == 0
    among = np.asarray([a.new_chunk_ids[1], *b.new_chunk_ids], dtype=np.int64)
    got, _ = store.search_text(["invoice"], "ns", 2, among=among)
    assert sorted(got.tolist()) == sorted(among.tolist())
    assert store.search_text(["invoice"], "ns", 5, sessions=["a"], among=among)[0].tolist() == [a.new_chunk_ids[1]]
    assert store.search_text(["invoice"], "ns", 5, among=np.zeros(0, dtype=np.int64))[0].size == 0


def test_full_text_ranks_a_rare_word_above_a_common_one(store: Store, counter: TokenCounter) -> None:
    """BM25's inverse document frequency: a word in one chunk outweighs one in nearly all of them,
    even said three times (PostgreSQL's ts_rank_cd, without IDF, ranks the repeated word first)."""
    common = [user(f"I had coffee with friend number {i} today") for i in range(8)]
    store.append("ns", "a", prepared(counter, [*common, user("coffee and more coffee, the coffee was strong")]))
    rare = store.append("ns", "b", prepared(counter, [user("We planned a trip to Zanzibar next spring")], seed=1))
    ids, scores = store.search_text(["coffee", "zanzibar"], "ns", 3)
    assert ids[0] == rare.new_chunk_ids[0] and scores[0] > 10 * scores[1] > 0
    only_a, _ = store.search_text(["coffee", "zanzibar"], "ns", 3, sessions=["a"])
    assert rare.new_chunk_ids[0] not in only_a and len(only_a) == 3


def test_reembedding_swaps_every_vector_and_the_identity_or_nothing(store: Store, counter: TokenCounter) -> None:
    res = store.append("ns", "a", prepared(counter, [user(f"note number {i}") for i in range(300)]))
    before = store.vectors(res.new_chunk_ids)
    calls: list[int] = []

    def fails_midway(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 2:  # after a first batch was written inside the transaction
            raise RuntimeError("the embedding service went away")
        return np.ones((len(texts), 4), dtype=np.float32)

    with pytest.raises(RuntimeError, match="went away"):
        store.reembed(fails_midway, {"embedder": "four-d", "dim": "4"})
    assert store.get_meta("embedder") is None
    after = store.vectors(res.new_chunk_ids)
    assert all(np.array_equal(after[i], before[i]) for i in res.new_chunk_ids)  # the old model's, all of them
    seen: list[int] = []
    four = np.eye(4, dtype=np.float32)[2]
    assert store.reembed(lambda texts: np.tile(four, (len(texts), 1)), {"embedder": "four-d"}, seen.append) == 300
    assert store.get_meta("embedder") == "four-d" and sum(seen) == 300
    assert all(np.array_equal(v, four) for v in store.vectors(res.new_chunk_ids).values())


def recomputed(store: Store, namespace: str) -> tuple[dict[str, str], list[str], np.ndarray]:
    """Speakers and session centroids straight from the rows, without the caches."""
    names = {r.message().name for r in store.all_messages(namespace)} - {None}
    speakers: dict[str, str] = {}
    for name in sorted(n for n in names if n):
        speakers.setdefault(name.lower(), name)
    by_session: dict[str, list[np.ndarray]] = {}
    for _, _, sessions, vecs in store.chunk_vectors(namespace=namespace):
        for s, v in zip(sessions, vecs):
            by_session.setdefault(s, []).append(v)
    order = sorted(by_session)
    cents = np.stack([np.mean(np.stack(by_session[s]).astype(np.float64), axis=0) for s in order]) if order else None
    return speakers, order, cents if cents is not None else np.zeros((0, 0))


def test_caches_follow_appends_and_deletes(open_store: Opener, counter: TokenCounter) -> None:
    """Speakers and centroids folded forward append by append equal a fresh recompute (a new
    handle on the same store: empty caches) exactly, and the rows straight from the log."""
    store = open_store()
    speakers = ["Ana", "Bo", "ana", "Cy", None]
    for i in range(12):
        session = "abc"[i % 3] if i < 9 else "d"
        name = speakers[i % len(speakers)]
        raws = [user(f"turn {i} " + "words " * (i * 13), **({"name": name} if name else {}))]
        store.append("ns", session, prepared(counter, raws, seed=i))
        store.append("other", session, prepared(counter, [user(f"elsewhere {i}")], seed=100 + i))
        if i % 4 == 3:
            store.speakers("ns"), store.session_centroids("ns")  # warm: the next reads fold forward
        if i == 7:
            store.delete("ns", "b")  # a delete of this namespace starts its caches over
        if i == 10:
            store.delete("other", "a")  # another namespace's delete leaves these as they are

        fresh = open_store()
        for ns in ("ns", "other"):
            want_speakers, want_names, want_cents = recomputed(store, ns)
            names, cents = store.session_centroids(ns)
            fresh_names, fresh_cents = fresh.session_centroids(ns)
            assert store.speakers(ns) == fresh.speakers(ns) == want_speakers
            assert names == fresh_names == want_names
            assert np.array_equal(cents, fresh_cents)  # bit for bit
            np.testing.assert_allclose(cents, want_cents, rtol=1e-12, atol=1e-12)
        fresh.close()
    assert "b" not in store.session_centroids("ns")[0]
    assert store.speakers("ns") == {"ana": "Ana", "bo": "Bo", "cy": "Cy"}  # "ana" shown as "Ana"


def test_caches_read_only_the_new_rows_after_an_append(store: Store, counter: TokenCounter) -> None:
    for i in range(20):
        store.append("ns", f"s{i % 4}", prepared(counter, [user(f"turn {i}", name="Ana")], seed=i))
    store.session_centroids("ns"), store.speakers("ns")
    before = store.cache_rows_read()
    store.session_centroids("ns"), store.speakers("ns")
    assert store.cache_rows_read() == before  # warm: nothing read
    long = prepared(counter, [user("a long answer " + "word " * 150, name="Bo")], seed=99)
    n_chunks = len(long[0].chunks)
    assert n_chunks > 1
    store.append("ns", "s1", long)
    _, cents = store.session_centroids("ns")
    assert store.cache_rows_read() - before == n_chunks  # the new message's chunks, not the namespace's
    assert store.speakers("ns") == {"ana": "Ana", "bo": "Bo"}
    assert store.cache_rows_read() - before == n_chunks + 1  # and its one name
    assert cents.shape == (4, DIM)


def test_state_blocks_are_versioned_and_conditional(backend: Backend, store: Store) -> None:
    out = store.set_state("ns", "s", {"task": '"book"', "budget": "100"})
    assert {k: v[0] for k, v in out.items()} == {"task": 1, "budget": 1}
    with pytest.raises(Conflict) as err:  # a writer that read version 0 of task is late
        store.set_state("ns", "s", {"task": '"cancel"', "budget": "0"}, expected={"task": 0})
    assert err.value.current_seq == 1 and "blocks.task" in str(err.value)
    assert {k: v[1] for k, v in store.state("ns", "s").items()} == {"task": '"book"', "budget": "100"}
    store.set_state("ns", "s", {"task": None}, expected={"task": 1})
    assert store.state("ns", "s")["task"][:2] == (2, None)
    assert [(v, val) for v, val, _ in store.state_history("ns", "s", "task")] == [(1, '"book"'), (2, None)]

    def refuse(current: dict[str, Any], spec: str | None) -> None:
        assert spec == '{"m": 1}' and current["stage"][1] == '"start"'
        raise Conflict("stage: refused by the machine", current_seq=current["stage"][0])

    store.set_state_machine("ns", "s", '{"m": 1}', "start")
    assert store.state_machine("ns", "s") == '{"m": 1}' and store.state("ns", "s")["stage"][:2] == (1, '"start"')
    before = table_counts(backend, store)
    with pytest.raises(Conflict, match="refused"):
        store.set_state("ns", "s", {"stage": '"end"', "budget": "5"}, check=refuse)
    assert table_counts(backend, store) == before
    store.set_state_machine("ns", "s", None, None)
    assert store.state_machine("ns", "s") is None
    assert store.delete("ns", "s") == 0  # state only: the session still existed
    assert store.state("ns", "s") == {}


def test_concurrent_state_writers_one_wins_per_version(open_store: Opener) -> None:
    open_store().set_state("ns", "s", {"n": "0"})
    wins: list[int] = []
    conflicts: list[int] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        s = open_store()
        for _ in range(5):
            version = s.state("ns", "s")["n"][0]
            try:
                s.set_state("ns", "s", {"n": str(w)}, expected={"n": version})
                with lock:
                    wins.append(version + 1)
            except Conflict:
                with lock:
                    conflicts.append(w)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = open_store().state_history("ns", "s", "n")
    assert sorted(wins) == [v for v, _, _ in history][1:]  # every success is one version, none lost
    assert len(wins) == len(set(wins))


# -- vectors written behind, and the optional capabilities ------------------------------------


def test_the_capabilities_a_backend_declares_are_its_stores(backend: Backend, store: Store) -> None:
    """A backend cannot skip a case by forgetting a capability, nor run one its store lacks."""
    assert store.claims_pending == (CLAIMS_PENDING in backend.capabilities)


def test_a_chunk_stored_without_its_vector_waits_for_fill_vectors(store: Store, counter: TokenCounter) -> None:
    """Write-behind: a chunk committed with an empty vector is in full text at once, out of every
    read of vectors, pending, and taken to embed until ``fill_vectors`` writes its vector, once."""
    embedded = prepared(counter, [user("we met at the harbour", name="Ana")])
    waiting = without_vectors(prepared(counter, [user("the parcel is late", name="Bo")], seed=1))
    [done] = store.append("ns", "s", embedded).new_chunk_ids
    res = store.append("ns", "s", waiting)
    [cid] = res.new_chunk_ids
    assert res.new_vectors is None
    assert store.pending_chunk_ids().tolist() == [cid] and store.pending_chunk_ids(cid).size == 0
    assert store.pending_chunk_ids(namespace="other").size == 0
    assert store.max_chunk_id() == cid
    assert set(store.vectors([done, cid])) == {done}
    assert [i for _, ids, _, _ in store.chunk_vectors(namespace="ns") for i in ids.tolist()] == [done]
    assert store.search_text(["parcel"], "ns", 5)[0].tolist() == [cid]  # full text does not wait
    names, cents = store.session_centroids("ns")
    assert names == ["s"]
    np.testing.assert_allclose(cents[0], embedded[0].chunks[0].vector, rtol=1e-6)
    claim = store.claim_pending("indexer-a", [done, cid])
    assert claim.rows == [(cid, "the parcel is late", "Bo")] and claim.busy == []
    assert [r[0] for r in store.claim_pending("indexer-a", None, namespace="ns").rows] == [cid]  # a sweep
    vec = np.eye(DIM, dtype=np.float32)[3]
    assert store.fill_vectors([(cid, vec)]) == [cid]
    assert store.fill_vectors([(cid, -vec)]) == []  # written once: a second indexer's vector is dropped
    assert store.pending_chunk_ids().size == 0
    np.testing.assert_array_equal(store.vectors([cid])[cid], vec)
    again = store.claim_pending("indexer-b", [cid])
    assert again.rows == [] and again.busy == []


def test_a_claim_gives_a_pending_chunk_to_one_indexer_until_its_lease_runs_out(
    backend: Backend, store: Store, counter: TokenCounter
) -> None:
    backend.requires(CLAIMS_PENDING)
    [cid] = store.append("ns", "s", without_vectors(prepared(counter, [user("hello there", name="Ana")]))).new_chunk_ids
    first = store.claim_pending("a", [cid], lease_s=0.5)
    assert first.rows == [(cid, "hello there", "Ana")] and first.busy == []
    other = store.claim_pending("b", [cid], lease_s=0.5)
    assert other.rows == [] and other.busy == [cid]  # held by a: b waits
    assert store.claim_pending("b", None, namespace="ns").rows == []  # a sweep skips it too
    time.sleep(0.7)
    taken = store.claim_pending("b", None, namespace="ns", lease_s=30)  # a's lease ran out
    assert [r[0] for r in taken.rows] == [cid]
    assert store.claim_pending("a", [cid]).busy == [cid]  # now b holds it
    assert store.fill_vectors([(cid, np.ones(DIM, dtype=np.float32))]) == [cid]  # and the vector ends the claim
    assert store.claim_pending("a", [cid]).rows == [] and store.claim_pending("a", [cid]).busy == []
