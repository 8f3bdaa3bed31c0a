from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from memory import Memory, Message
from memory.embedders import Embedder
from memory.errors import BudgetTooSmall, Conflict, IndexMismatch, InvalidArgument, InvalidMessage, NotFound
from memory.tokens import count_messages, get_counter
from tests.memory.helpers import assert_openai_format, assert_valid_chat

# Memory's behaviour on the fake embedder (unit tier); the tests of retrieval quality and of the
# model's identity open their memory on the real MiniLM (`embedder`)
pytestmark = pytest.mark.fake_embedder
EXAMPLE = [
    {"role": "user", "content": "Book me a hotel in Lisbon for May 3-6, under 150 EUR."},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "search_hotels", "arguments": '{"city": "Lisbon"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '[{"name": "Casa Azul", "price": 129}, ...]'},
    {"role": "assistant", "content": "Casa Azul is 129 EUR a night."},
]

FILLER = [
    "I've been thinking about repainting the kitchen this weekend.",
    "Did you watch the football match last night? It went to penalties.",
    "My cousin recommended a podcast about ancient Rome.",
    "The weather has been rainy all week, I miss the sun.",
    "I started learning to play the ukulele, it is harder than it looks.",
    "We ordered pizza again, pineapple this time, do not judge me.",
]


def state(mem: Memory) -> tuple[int, int, list[int]]:
    """Messages and chunks in the log, ids in the index: what must not move on bad input."""
    n_msgs = sum(len(mem.store.all_messages(ns)) for ns in mem.store.namespaces())
    ids = sorted(int(i) for ns in mem.index.namespaces() for i in mem.index.ids(ns))
    return n_msgs, mem.store.chunk_count(), ids


def add_filler(mem: Memory, n: int, *, session: str = "s", namespace: str = "default") -> None:
    msgs = []
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        msgs.append({"role": role, "content": f"{FILLER[i % len(FILLER)]} (turn {i})"})
    mem.add(msgs, session=session, namespace=namespace, wait_indexed=True)  # vectors of all added so far


def test_readme_example(tmp_path: Path, embedder: Embedder) -> None:
    # The README's "In ten lines", as written (a tmp folder instead of ./memdata). Memory.open
    # without embedder= takes the shared bundled MiniLM, already loaded by the fixture.
    from memory import Memory

    mem = Memory.open(tmp_path / "memdata")
    try:
        seqs = mem.add(
            [
                {"role": "user", "content": "Book me a hotel in Lisbon for May 3-6, under 150 EUR."},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "search_hotels", "arguments": '{"city": "Lisbon"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '[{"name": "Casa Azul", "price": 129}, ...]'},
                {"role": "assistant", "content": "Casa Azul is 129 EUR a night."},
            ],
            session="trip-42",
            namespace="alice",
        )
        ctx = mem.assemble(
            "Which hotel did we pick and what did it cost?", session="trip-42", namespace="alice", budget=1000
        )
        assert mem.embedder is embedder
    finally:
        mem.close()
    assert seqs == [1, 2, 3, 4]
    assert ctx.tokens <= 1000
    assert ctx.tokens == count_messages(mem.counter, ctx.messages)
    assert_openai_format(ctx.messages)
    # The whole conversation fits: it comes back exactly as it was sent, in order.
    assert ctx.messages == EXAMPLE
    assert [s.ref.seq for s in ctx.sources if s.ref] == [1, 2, 3, 4]
    assert ctx.messages[2]["tool_call_id"] == ctx.messages[1]["tool_calls"][0]["id"]
    assert_valid_chat(ctx.messages)
    assert ctx.hits, "the retriever's view of the context is reported"
    for h in ctx.hits:
        assert isinstance(h.text, str) and h.text
        assert h.session == "trip-42" and h.namespace == "alice" and 1 <= h.seq <= 4
        assert 0.0 <= h.scores["final"] <= 1.0 and "recency" in h.scores
        # found by full text at once; by vector too once the background indexer got to it
        assert "lexical" in h.scores or "dense" in h.scores
    assert [h.rank for h in ctx.hits] == list(range(1, len(ctx.hits) + 1))
    finals = [h.scores["final"] for h in ctx.hits]
    assert finals == sorted(finals, reverse=True)
    assert any("Casa Azul" in h.text for h in ctx.hits)
    json.loads(ctx.to_json())


def test_seqs_continue_and_message_objects(mem: Memory) -> None:
    assert mem.add([Message(role="user", content="one")], session="a") == [1]
    assert mem.add([{"role": "assistant", "content": "two"}, Message(role="user", content="three")], session="a") == [
        2,
        3,
    ]
    assert mem.add([{"role": "user", "content": "other"}], session="b") == [1]
    assert mem.last_seq("a") == 3
    assert [m.content for m in mem.since("a", 1)] == ["two", "three"]


def test_timestamps(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "a", "timestamp": "2024-05-03T14:00:00+02:00"},
            {"role": "user", "content": "b", "timestamp": datetime(2024, 5, 4, tzinfo=timezone.utc)},
            {"role": "user", "content": "c"},
        ],
        session="t",
        timestamp="2024-06-01T00:00:00Z",
    )
    got = [m.timestamp for m in mem.messages(session="t")]
    assert got[0] == datetime(2024, 5, 3, 12, tzinfo=timezone.utc)
    assert got[1] == datetime(2024, 5, 4, tzinfo=timezone.utc)
    assert got[2] == datetime(2024, 6, 1, tzinfo=timezone.utc)
    before = datetime.now(timezone.utc)
    mem.add([{"role": "user", "content": "now"}], session="t")
    assert mem.messages(session="t")[-1].timestamp >= before.replace(microsecond=0)


def test_openai_fields_survive_round_trip(mem: Memory) -> None:
    msgs = [
        {
            "role": "user",
            "name": "Caroline",
            "content": [
                {"type": "text", "text": "my new bike"},
                {"type": "image_url", "image_url": {"url": "https://x.invalid/bike.jpg"}, "caption": "a red bicycle"},
            ],
        },
        *EXAMPLE[1:3],
    ]
    mem.add(msgs, session="r")
    ctx = mem.assemble(None, session="r", budget=2000)
    assert ctx.messages[0]["name"] == "Caroline"
    assert ctx.messages[0]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x.invalid/bike.jpg"}}
    assert ctx.messages[1]["tool_calls"] == EXAMPLE[1]["tool_calls"]
    assert ctx.messages[2] == EXAMPLE[2]
    stored = mem.messages(session="r")
    assert stored[0].content[1].caption == "a red bicycle"  # type: ignore[index,union-attr]


def test_no_query_is_recent_window_only(mem: Memory) -> None:
    add_filler(mem, 40)
    ctx = mem.assemble(None, session="s", budget=120)
    assert ctx.hits == []
    assert all(s.origin == "window" for s in ctx.sources)
    seqs = [s.ref.seq for s in ctx.sources if s.ref]
    assert seqs == list(range(41 - len(seqs), 41))  # the newest turns, in order
    assert ctx.tokens <= 120


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"role": "robot", "content": "x"}, "role"),
        ({"role": "tool", "content": "x"}, "tool_call_id"),
        ({"role": "user", "content": 7}, "content"),
        ({"role": "tool", "tool_call_id": "nope", "content": "orphan"}, "tool_call_id"),
        ({"role": "user", "content": ["not a part"]}, "content[0]"),
        ({"role": "user", "content": "lone \ud800 surrogate"}, "content"),
        (
            {
                "role": "assistant",
                "content": "x",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f"}}],
            },
            "tool_calls",
        ),
        ("not a message", "messages[1]"),
    ],
)
def test_bad_input_stores_nothing(mem: Memory, bad: dict, field: str) -> None:
    mem.add(EXAMPLE, session="s")
    before = state(mem)
    with pytest.raises(InvalidMessage) as err:
        mem.add([{"role": "user", "content": "fine"}, bad], session="s")
    assert field in str(err.value)
    assert str(err.value).startswith("messages[1]")  # the second message of the call is named
    assert state(mem) == before
    assert mem.last_seq("s") == 4
    # The same memory goes on working: the good message alone is stored with the next seq.
    assert mem.add([{"role": "user", "content": "fine"}], session="s") == [5]


def test_bad_arguments(mem: Memory) -> None:
    with pytest.raises(InvalidMessage):
        mem.add({"role": "user", "content": "not a list"}, session="s")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage):
        mem.add([], session="s")
    with pytest.raises(InvalidArgument) as err:
        mem.add([{"role": "user", "content": "x"}], session="")
    assert err.value.field == "session"
    assert mem.store.namespaces() == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"budget": 0}, "budget"),
        ({"budget": "100"}, "budget"),
        ({"system": 5}, "system"),
        ({"window_share": 2.0}, "window_share"),
        ({"candidates": 0}, "candidates"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"now": "soon"}, "now"),
        ({"session": ""}, "session"),
        ({"namespace": "bad\nname"}, "namespace"),
    ],
)
def test_bad_assemble_arguments_name_the_field(mem: Memory, kwargs: dict, field: str) -> None:
    args = {"session": "s", "budget": 100, **kwargs}
    with pytest.raises(InvalidArgument) as err:
        mem.assemble("q", **args)
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_bad_search_and_since_arguments(mem: Memory) -> None:
    mem.add(EXAMPLE, session="s")
    for kwargs, field in [({"query": None}, "query"), ({"query": "q", "k": 0}, "k")]:
        with pytest.raises(InvalidArgument) as err:
            mem.search(**kwargs)
        assert err.value.field == field
    with pytest.raises(InvalidArgument) as err:
        mem.since("s", -1)
    assert err.value.field == "seq"
    with pytest.raises(InvalidArgument) as err:
        mem.add([{"role": "user", "content": "x"}], session="s", base_seq=-1)
    assert err.value.field == "base_seq"
    assert mem.last_seq("s") == 4


def test_budget_too_small_for_system_prompt(mem: Memory) -> None:
    mem.add(EXAMPLE, session="s")
    system = "You are a meticulous travel agent. " * 10
    with pytest.raises(BudgetTooSmall) as err:
        mem.assemble("hotel?", session="s", budget=20, system=system)
    assert err.value.required > 20
    ctx = mem.assemble("hotel?", session="s", budget=err.value.required, system=system)
    assert ctx.messages == [{"role": "system", "content": system}]


def test_idempotency_and_conflicts(mem: Memory) -> None:
    first = mem.add([{"role": "user", "content": "hello"}], session="s", idempotency_key="k1")
    again = mem.add([{"role": "user", "content": "hello"}], session="s", idempotency_key="k1")
    assert first == again == [1]
    assert mem.last_seq("s") == 1
    assert mem.add([{"role": "user", "content": "m", "id": "msg-9"}], session="s") == [2]
    assert mem.add([{"role": "user", "content": "m", "id": "msg-9"}], session="s") == [2]
    assert mem.store.chunk_count() == 2
    with pytest.raises(Conflict) as err:
        mem.add([{"role": "user", "content": "late"}], session="s", base_seq=1)
    assert err.value.current_seq == 2
    assert mem.add([{"role": "user", "content": "ok"}], session="s", base_seq=2) == [3]


def test_tool_result_must_answer_an_open_call(mem: Memory) -> None:
    mem.add(EXAMPLE, session="s")
    before = state(mem)
    with pytest.raises(InvalidMessage):  # call_1 already has its result
        mem.add([{"role": "tool", "tool_call_id": "call_1", "content": "again"}], session="s")
    assert state(mem) == before


def test_old_fact_is_retrieved_beyond_the_window(open_memory: Callable[..., Memory], embedder: Embedder) -> None:
    mem = open_memory(embedder=embedder)
    mem.add([{"role": "user", "content": "My booking reference for the Porto flat is INV-48213."}], session="s")
    add_filler(mem, 60)
    ctx = mem.assemble("What is the booking reference for the Porto flat?", session="s", budget=400)
    assert any("INV-48213" in (m.get("content") or "") for m in ctx.messages)
    top = ctx.hits[0]
    assert "INV-48213" in top.text and top.seq == 1 and top.reason == "retrieved"
    assert ctx.tokens <= 400
    window_only = mem.assemble(None, session="s", budget=400)
    assert not any("INV-48213" in (m.get("content") or "") for m in window_only.messages)


def test_retrieved_tool_result_brings_its_call(open_memory: Callable[..., Memory], embedder: Embedder) -> None:
    mem = open_memory(embedder=embedder)
    hotels = [{"name": f"Hotel {i}", "price": 90 + i} for i in range(40)]
    hotels[17] = {"name": "Quinta do Lago Verde", "price": 211}
    mem.add(
        [
            {"role": "user", "content": "Find hotels in the Algarve."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c9",
                        "type": "function",
                        "function": {"name": "search_hotels", "arguments": '{"region": "Algarve"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c9", "content": json.dumps(hotels)},
        ],
        session="s",
    )
    add_filler(mem, 60)
    ctx = mem.assemble("How much was the Quinta do Lago Verde?", session="s", budget=500)
    assert_valid_chat(ctx.messages)
    tool_msgs = [m for m in ctx.messages if m["role"] == "tool"]
    assert tool_msgs and "Quinta do Lago Verde" in tool_msgs[0]["content"]
    i = ctx.messages.index(tool_msgs[0])
    assert ctx.messages[i - 1]["tool_calls"][0]["id"] == "c9"


def test_pending_tool_call_is_reported_not_emitted(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "What's the weather in Faro?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "w1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Faro"}'}}
                ],
            },
        ],
        session="s",
    )
    ctx = mem.assemble("weather in Faro", session="s", budget=500)
    assert_valid_chat(ctx.messages)
    assert [r.seq for r in ctx.pending_tool_calls] == [2]
    mem.add([{"role": "tool", "tool_call_id": "w1", "content": "sunny, 24 C"}], session="s")
    ctx = mem.assemble("weather in Faro", session="s", budget=500)
    assert ctx.pending_tool_calls == [] and [m["role"] for m in ctx.messages] == ["user", "assistant", "tool"]


def test_persistence_reopen_gives_same_context(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("p")
    mem.add(EXAMPLE, session="trip", namespace="alice")
    add_filler(mem, 30, session="trip", namespace="alice")
    mem.flush()  # every vector indexed, so the reopened memory has the same index
    q = "Which hotel did we pick?"
    before = mem.assemble(q, session="trip", namespace="alice", budget=300, now=2e9)
    mem.close()
    again = open_memory("p")
    after = again.assemble(q, session="trip", namespace="alice", budget=300, now=2e9)
    assert after.messages == before.messages
    assert [h.chunk_id for h in after.hits] == [h.chunk_id for h in before.hits]
    assert again.last_seq("trip", namespace="alice") == 34


def test_index_reconciled_after_crash_between_log_and_index(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("c")
    mem.add(EXAMPLE, session="s", wait_indexed=True)
    mem.index.persist()
    add_filler(mem, 10)  # in the log, index not persisted: simulate a crash by not closing
    mem.flush()
    mem.store.close()
    again = open_memory("c")
    assert sorted(again.index.ids("default").tolist()) == again.store.chunk_ids("default").tolist()


def test_rebuild_index_same_results(mem: Memory) -> None:
    mem.add(EXAMPLE, session="s")
    add_filler(mem, 20)
    mem.flush()
    q = "hotel price in Lisbon"
    before = [(h.chunk_id, round(h.scores["dense"], 4)) for h in mem.search(q, k=5)]
    mem.rebuild_index()
    assert [(h.chunk_id, round(h.scores["dense"], 4)) for h in mem.search(q, k=5)] == before
    mem.rebuild_index(reembed=True)
    assert [h.chunk_id for h in mem.search(q, k=5)] == [c for c, _ in before]


def test_delete_session_and_namespace(mem: Memory) -> None:
    mem.add(EXAMPLE, session="a", namespace="n1")
    mem.add(EXAMPLE, session="b", namespace="n1")
    mem.add(EXAMPLE, session="a", namespace="n2")
    mem.delete("n1", "a")
    assert mem.last_seq("a", namespace="n1") == 0
    assert {h.session for h in mem.search("Casa Azul", namespace="n1", k=20)} == {"b"}
    mem.delete("n2")
    assert mem.search("Casa Azul", namespace="n2") == []
    assert "n2" not in mem.namespaces()
    with pytest.raises(NotFound):
        mem.delete("n2")


def test_namespaces_are_isolated(mem: Memory) -> None:
    mem.add([{"role": "user", "content": "alice's secret is the blue door"}], session="s", namespace="alice")
    mem.add([{"role": "user", "content": "bob likes trains"}], session="s", namespace="bob")
    ctx = mem.assemble("what is the secret?", namespace="bob", budget=500)
    assert all("blue door" not in (m.get("content") or "") for m in ctx.messages)


def test_query_vector_skips_embedding(mem: Memory) -> None:
    mem.add(EXAMPLE, session="s")
    add_filler(mem, 30)  # waits for every vector: both contexts below see the same index
    q = "Which hotel did we pick?"
    vec = mem.embedder.embed([q])[0]
    a = mem.assemble(q, session="s", budget=300, now=2e9)
    b = mem.assemble(q, session="s", budget=300, now=2e9, query_vector=vec)
    assert a.messages == b.messages
    assert np.isclose(a.hits[0].scores["final"], b.hits[0].scores["final"])


def test_add_timestamp_default(mem: Memory) -> None:
    when = datetime(2024, 5, 3, 9, 30, tzinfo=timezone.utc)
    mem.add([{"role": "user", "content": "a"}], session="t", timestamp=when)
    mem.add([{"role": "user", "content": "b"}], session="t", timestamp=when.timestamp() + 60)
    mem.add([{"role": "user", "content": "c"}], session="t", timestamp=datetime(2024, 5, 3, 10))  # naive: UTC
    got = [m.timestamp for m in mem.messages(session="t")]
    assert got == [
        when,
        datetime(2024, 5, 3, 9, 31, tzinfo=timezone.utc),
        datetime(2024, 5, 3, 10, tzinfo=timezone.utc),
    ]
    before = state(mem)
    with pytest.raises(InvalidArgument) as err:
        mem.add([{"role": "user", "content": "d"}], session="t", timestamp="last tuesday")
    assert err.value.field == "timestamp"
    assert state(mem) == before


def test_stored_messages_can_be_added_again(mem: Memory) -> None:
    mem.add(EXAMPLE, session="trip", namespace="alice")
    copied = mem.add(mem.messages(namespace="alice", session="trip"), session="copy", namespace="bob")
    assert copied == [1, 2, 3, 4]
    ctx = mem.assemble(None, session="copy", namespace="bob", budget=1000)
    assert ctx.messages == EXAMPLE  # no namespace / session / seq of the original leak into the copy
    assert_openai_format(ctx.messages)
    assert [m.timestamp for m in mem.messages(namespace="bob")] == [
        m.timestamp for m in mem.messages(namespace="alice")
    ]


def test_late_tool_result_travels_with_its_call(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "Look up the ferry times to Cacilhas."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "f1", "type": "function", "function": {"name": "ferries", "arguments": "{}"}}],
            },
        ],
        session="s",
    )
    mem.add([{"role": "user", "content": "Meanwhile, is it going to rain?"}], session="s")
    assert [r.seq for r in mem.assemble(None, session="s", budget=500).pending_tool_calls] == [2]
    mem.add([{"role": "tool", "tool_call_id": "f1", "content": "every 20 minutes from Cais do Sodré"}], session="s")
    for query in (None, "ferry times to Cacilhas"):
        ctx = mem.assemble(query, session="s", budget=500)
        assert_valid_chat(ctx.messages)
        # The result (seq 4) comes right after its call (seq 2); the rest stays in order.
        assert [s.ref.seq for s in ctx.sources if s.ref] == [1, 2, 4, 3]
        assert ctx.pending_tool_calls == []


def test_window_without_session_spans_the_namespace(mem: Memory) -> None:
    mem.add([{"role": "user", "content": "first, in session a"}], session="a")
    mem.add([{"role": "user", "content": "second, in session b"}], session="b")
    mem.add([{"role": "assistant", "content": "third, in session a"}], session="a")
    ctx = mem.assemble(None, budget=500)
    assert [m["content"] for m in ctx.messages] == [
        "first, in session a",
        "second, in session b",
        "third, in session a",
    ]
    only_a = mem.assemble(None, session="a", budget=500)
    assert [m["content"] for m in only_a.messages] == ["first, in session a", "third, in session a"]


def test_reopen_with_another_counter_recounts(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory("k")
    mem.add(EXAMPLE, session="s")
    add_filler(mem, 20)
    mem.close()
    cl = open_memory("k", counter="cl100k_base")
    assert cl.counter.name == "cl100k_base"
    for budget in (60, 150, 400):
        ctx = cl.assemble("hotel price", session="s", budget=budget)
        assert ctx.tokens <= budget
        assert ctx.tokens == count_messages(get_counter("cl100k_base"), ctx.messages)


class _TinyEmbedder:
    """A different model (8-d): only to check that a memory refuses foreign vectors."""

    name = "tiny"
    dim = 8

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.ones((len(texts), 8), dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_other_embedding_model_is_refused(open_memory: Callable[..., Memory], embedder: Embedder) -> None:
    mem = open_memory("e", embedder=embedder)
    mem.add(EXAMPLE, session="s")
    mem.close()
    with pytest.raises(IndexMismatch) as err:
        open_memory("e", embedder=_TinyEmbedder())
    assert "384" in str(err.value) and "8" in str(err.value)
    again = open_memory("e", embedder=embedder)  # the right model still opens it, untouched
    assert again.last_seq("s") == 4 and again.search("Casa Azul", k=1)


def test_a_message_bigger_than_the_budget_does_not_hide_the_turns_before_it(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "My name is Ana and I live in Porto."},
            {"role": "assistant", "content": "Nice to meet you, Ana."},
        ],
        session="s",
    )
    sections = [f"Section {i}. " + "The clause on liability and indemnity applies here. " * 12 for i in range(40)]
    big = "\n\n".join(sections)
    mem.add([{"role": "user", "content": big}], session="s")
    assert mem.counter.count(big) > 3000
    ctx = mem.assemble(None, session="s", budget=800)
    assert [m["content"] for m in ctx.messages] == ["My name is Ana and I live in Porto.", "Nice to meet you, Ana."]
    assert ctx.tokens <= 800
    # With a query, the big message shows by its retrieved parts, marked as partial.
    ctx = mem.assemble("What does section 17 say about liability?", session="s", budget=800)
    assert ctx.tokens <= 800
    partial = [(s, m) for s, m in zip(ctx.sources, ctx.messages) if s.partial]
    assert len(partial) == 1 and partial[0][0].ref.seq == 3
    assert "[…]" in partial[0][1]["content"] and len(partial[0][1]["content"]) < len(big)
    assert "Nice to meet you, Ana." in [m["content"] for m in ctx.messages]


def test_neighbor_expansion_brings_the_answer_after_a_question(
    open_memory: Callable[..., Memory], embedder: Embedder
) -> None:
    mem = open_memory(embedder=embedder)
    mem.add(
        [
            {"role": "user", "content": "Which restaurant did Marta recommend for our anniversary dinner?"},
            {"role": "assistant", "content": "She said Taberna do Mar, the little place by the harbour."},
        ],
        session="s",
    )
    add_filler(mem, 60)
    q = "Which restaurant did Marta recommend for the anniversary?"
    on = mem.assemble(q, session="s", budget=300, neighbors=0.35, now=2e9)
    off = mem.assemble(q, session="s", budget=300, neighbors=0.0, window_share=0.0, fill_window=False, now=2e9)
    seqs_on = {s.ref.seq for s in on.sources if s.ref}
    assert {1, 2} <= seqs_on
    assert any(h.seq == 2 and h.reason in ("neighbor", "retrieved") for h in on.hits)
    assert 1 in {s.ref.seq for s in off.sources if s.ref}


def test_messages_page_walks_the_namespace_in_order_across_gaps(mem: Memory) -> None:
    for k in range(3):
        mem.add([{"role": "user", "content": f"s{k} m{i}"} for i in range(5)], session=f"s{k}", namespace="p")
    mem.delete("p", "s1")
    out, after = [], 0
    while True:
        page, after = mem.messages_page(namespace="p", after=after, limit=3)
        out += [m.content for m in page]
        if after is None:
            break
    assert out == [m.content for m in mem.messages(namespace="p")] == [f"s{k} m{i}" for k in (0, 2) for i in range(5)]
    for bad in ({"limit": 0}, {"after": -1}):
        with pytest.raises(InvalidArgument) as err:
            mem.messages_page(namespace="p", **bad)
        assert err.value.field == next(iter(bad))
