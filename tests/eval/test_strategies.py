"""Every context strategy on one small memory: budgets kept, what each one keeps, the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import eval.strategies as strategies_mod
from eval.datasets import Conversation, Dataset, Question, Session, Turn
from eval.strategies import StrategyInput, StrategyOutput, available, get_strategy, plain_config, register
from eval.summarize import CentralTurnsSummarizer
from memory import Memory
from memory.embedders import Embedder
from memory.models import MessageRef
from memory.tokens import count_messages

NS = "conv"
FILLER = [
    "The weather was grey all morning but cleared up after lunch.",
    "I spent the afternoon reorganizing the bookshelf by colour.",
    "We watched a documentary about deep sea creatures last night.",
    "The bakery on the corner started selling sourdough on Sundays.",
    "My running shoes are finally broken in after three weeks.",
    "The train was twenty minutes late again this morning.",
    "I tried a new recipe with lentils and smoked paprika.",
    "The neighbours are repainting their fence a pale green.",
    "I finished the crossword in under ten minutes today.",
    "The garden needs watering twice a day in this heat.",
    "We are thinking about a weekend trip to the mountains.",
    "The library extended its opening hours on Thursdays.",
]


def ref(session: str, seq: int) -> MessageRef:
    return MessageRef(namespace=NS, session=session, seq=seq)


def small_memory(folder: Path, embedder: Embedder) -> Iterator[Memory]:
    """The small memory every strategy runs on: a planted id, a tool result, a planted fact, filler."""
    mem = Memory.open(folder, embedder=embedder)
    mem.add(
        [
            {"role": "user", "content": "My booking reference for the Porto flat is INV-48213."},
            {"role": "assistant", "content": "Noted, I will remember that reference."},
        ],
        session="s1",
        namespace=NS,
    )
    mem.add(
        [
            {"role": "user", "content": "Find hotels in Lisbon."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "search_hotels", "arguments": '{"city": "Lisbon"}'},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "c1",
                "content": json.dumps(
                    [{"name": f"Hotel {i}", "price": 80 + i} for i in range(30)] + [{"name": "Casa Azul", "price": 129}]
                ),
            },
            {"role": "assistant", "content": "Casa Azul is 129 EUR a night."},
        ],
        session="s2",
        namespace=NS,
    )
    mem.add(
        [
            {"role": "user", "content": "My sister Priya is severely allergic to peanuts."},
            {"role": "assistant", "content": "Thanks, I will keep that in mind when suggesting restaurants."},
        ],
        session="s3",
        namespace=NS,
    )
    for s in range(4, 9):
        mem.add(
            [
                {"role": "user" if i % 2 == 0 else "assistant", "content": f"{FILLER[(i + s) % len(FILLER)]} ({s}.{i})"}
                for i in range(12)
            ],
            session=f"s{s}",
            namespace=NS,
        )
    mem.flush()  # the dense strategies rank by vectors: wait for write-behind indexing
    yield mem
    mem.close()


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder) -> Iterator[Memory]:
    """On the fake embedder (unit tier): budgets, windows, summaries and BM25 do not depend on the model."""
    yield from small_memory(tmp_path_factory.mktemp("strategies"), fake_embedder)


@pytest.fixture(scope="module")
def minilm_memory(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Memory]:
    """On the real MiniLM: for what a strategy retrieves by meaning."""
    yield from small_memory(tmp_path_factory.mktemp("strategies-minilm"), embedder)


def stored(memory: Memory) -> list[MessageRef]:
    return [ref(r.session, r.seq) for r in memory.store.all_messages(NS)]


def build(memory: Memory, name: str, query: str, budget: int, **kwargs: Any) -> StrategyOutput:
    return get_strategy(name, **kwargs).build(StrategyInput(memory=memory, namespace=NS, query=query, budget=budget))


def check_tool_pairs(messages: list[dict[str, Any]]) -> None:
    """Every tool result follows the assistant call that asked for it, and every call has its result."""
    open_calls: set[str] = set()
    for m in messages:
        if m["role"] == "tool":
            assert m["tool_call_id"] in open_calls, m
            open_calls.discard(m["tool_call_id"])
        else:
            assert not open_calls, f"unanswered tool calls {open_calls} before {m}"
            open_calls = {c["id"] for c in m.get("tool_calls") or []}
    assert not open_calls


def test_registry() -> None:
    assert {"full", "window", "summary", "dense", "bm25", "turnmem"} <= set(available())
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        get_strategy("nope")
    assert get_strategy("window").uses_budget and not get_strategy("full").uses_budget


BUDGETED = [name for name in available() if name != "full"]


@pytest.mark.parametrize("name", BUDGETED)
def test_within_budget(memory: Memory, name: str) -> None:
    all_refs = set(stored(memory))
    previous = -1
    for budget in (8, 40, 150, 600, 3000):
        out = build(memory, name, "How much was Casa Azul per night?", budget)
        assert out.tokens <= budget, (name, budget, out.tokens)
        assert out.tokens == count_messages(memory.counter, out.messages)
        assert out.present <= all_refs
        assert out.tokens >= previous or name == "summary", (name, budget)  # more room, no less context
        previous = out.tokens
        check_tool_pairs([m for m in out.messages if m["role"] != "system"])
    # The largest budget holds the whole history (well under 3000 tokens) for the window.
    if name == "window":
        assert out.present == all_refs


def test_full_returns_everything(memory: Memory) -> None:
    small = build(memory, "full", "", 1)
    big = build(memory, "full", "anything", 10**6)
    rows = memory.store.all_messages(NS)
    assert len(small.messages) == len(rows) == 2 + 4 + 2 + 5 * 12
    assert small.messages == big.messages and small.tokens == big.tokens
    assert [m.get("content") for m in small.messages] == [r.message().to_openai().get("content") for r in rows]
    assert small.present == set(stored(memory))
    assert small.tokens == count_messages(memory.counter, small.messages) > 1000


def test_window_keeps_the_most_recent_turns(memory: Memory) -> None:
    order = stored(memory)
    out = build(memory, "window", "ignored", 100)
    n = len(out.present)
    assert 0 < n < len(order)
    assert out.present == set(order[-n:])  # a suffix of the history: the latest turns
    assert out.messages[-1]["content"] == memory.store.all_messages(NS)[-1].message().text()
    bigger = build(memory, "window", "ignored", 300)
    assert out.present < bigger.present and set(order[-len(bigger.present) :]) == bigger.present
    # The query plays no part.
    assert build(memory, "window", "Casa Azul INV-48213", 100).present == out.present


def test_dense_finds_a_planted_fact(minilm_memory: Memory) -> None:
    # No word in common with the stored turn but "sister": a semantic match.
    out = build(minilm_memory, "dense", "Which food must my sibling avoid?", 80)
    assert ref("s3", 1) in out.present
    inp = StrategyInput(memory=minilm_memory, namespace=NS, query="peanut allergy", budget=80)
    ranked = get_strategy("dense").rank(inp)
    assert ranked[0] == ref("s3", 1)


def test_bm25_finds_a_planted_fact_and_an_exact_id(memory: Memory) -> None:
    out = build(memory, "bm25", "Who is allergic to peanuts?", 80)
    assert ref("s3", 1) in out.present
    strat = get_strategy("bm25")
    inp = StrategyInput(memory=memory, namespace=NS, query="INV-48213", budget=60)
    assert ref("s1", 1) in strat.build(inp).present
    assert strat.rank(inp)[0] == ref("s1", 1)  # type: ignore[attr-defined]
    # Both planted facts are far from the recent window.
    window = build(memory, "window", "", 60).present
    assert ref("s1", 1) not in window and ref("s3", 1) not in window


def test_turnmem_brings_a_tool_result_with_its_call(minilm_memory: Memory) -> None:
    out = build(minilm_memory, "turnmem", "What did Casa Azul cost per night?", 400)
    assert {ref("s2", 2), ref("s2", 3)} <= out.present
    check_tool_pairs([m for m in out.messages if m["role"] != "system"])


def test_summary_with_extractive_summarizer(memory: Memory) -> None:
    order = stored(memory)
    for budget in (8, 60, 200, 500, 1200):
        summ = CentralTurnsSummarizer()
        out = build(memory, "summary", "", budget, summarizer=summ, window_share=0.4)
        assert out.tokens <= budget and out.tokens == count_messages(memory.counter, out.messages)
    # At 500 tokens: a system summary of older turns, then the recent window.
    out = build(memory, "summary", "", 500, summarizer=CentralTurnsSummarizer(), window_share=0.4)
    first, *rest = out.messages
    assert first["role"] == "system" and first["content"].startswith(CentralTurnsSummarizer.header)
    window = build(memory, "window", "", int(500 * 0.4)).present
    covered = out.present - window
    assert covered and window <= out.present
    oldest_window = min(order.index(r) for r in window)
    assert all(order.index(r) < oldest_window for r in covered)  # the summary covers older turns only
    for r in covered:  # each covered turn is quoted whole
        row = memory.store.messages_by_seq(NS, r.session, [r.seq])[r.seq]
        assert row.message().text() in first["content"]
    assert all(m["role"] != "system" for m in rest)
    # Too small for the 3 reply-priming tokens: the same clear error as the other strategies.
    from memory.errors import BudgetTooSmall

    for name in ("summary", "window"):
        with pytest.raises(BudgetTooSmall):
            build(memory, name, "", 2)


def test_cached_strategies_see_a_grown_history(tmp_path: Path, fake_embedder: Embedder) -> None:
    mem = Memory.open(tmp_path / "m", embedder=fake_embedder)
    try:
        mem.add([{"role": "user", "content": "The first thing I said."}], session="a", namespace=NS)
        full, summary = get_strategy("full"), get_strategy("summary")
        inp = StrategyInput(memory=mem, namespace=NS, query="", budget=500)
        assert len(full.build(inp).messages) == 1
        summary.build(inp)
        mem.add(
            [{"role": "user", "content": f"Something new number {i} about trains and buses."} for i in range(40)],
            session="b",
            namespace=NS,
        )
        assert len(full.build(inp).messages) == 41
        # The summarizer ranks the new turns too: at this budget they are all it can pick from.
        out = summary.build(StrategyInput(memory=mem, namespace=NS, query="", budget=300))
        assert any(r.session == "b" for r in out.present - build_window(mem, 150))
    finally:
        mem.close()


def build_window(mem: Memory, budget: int) -> set[MessageRef]:
    return get_strategy("window").build(StrategyInput(memory=mem, namespace=NS, query="", budget=budget)).present


def test_user_registered_strategy_runs_in_the_harness(
    tmp_path: Path, fake_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval import run

    monkeypatch.setattr(strategies_mod, "_REGISTRY", dict(strategies_mod._REGISTRY))  # undone after the test

    @register("first-turn")
    class FirstTurn:
        """Always the conversation's first stored message."""

        name = "first-turn"
        uses_budget = True

        def build(self, inp: StrategyInput) -> StrategyOutput:
            row = inp.memory.store.all_messages(inp.namespace)[0]
            msgs = [row.message().to_openai()]
            here = MessageRef(namespace=inp.namespace, session=row.session, seq=row.seq)
            return StrategyOutput(msgs, count_messages(inp.memory.counter, msgs), {here})

    assert "first-turn" in available()

    def turn(tid: str, role: str, text: str) -> Turn:
        return Turn(id=tid, message={"role": role, "content": text})

    conv = Conversation(
        id=NS,
        sessions=[
            Session(
                id="a", turns=[turn("A1", "user", "I adopted a cat named Miso."), turn("A2", "assistant", "Cute!")]
            ),
            Session(id="b", turns=[turn(f"B{i}", "user", FILLER[i]) for i in range(8)]),
        ],
        questions=[
            Question(id="q1", question="What is my cat called?", evidence=["A1"]),  # first turn: recall 1
            Question(id="q2", question="Where did the train go?", evidence=["B5", "A1"]),  # 1/2
            Question(id="q3", question="Anything about the library?", evidence=["B7"]),  # 0
        ],
    )
    ds = Dataset(name="hand", conversations=[conv])
    res = run(ds, strategies=["first-turn", "window"], budgets=[60, 200], embedder=fake_embedder, progress=False)
    rows = {(r["strategy"], r["budget"]): r for r in res.summary}
    assert set(rows) == {(s, b) for s in ("first-turn", "window") for b in (60, 200)}
    assert rows[("first-turn", 60)]["questions"] == 3
    assert rows[("first-turn", 60)]["recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert rows[("first-turn", 200)]["recall_all"] == pytest.approx(1 / 3)
    # Not a ranker: no ranking metrics for it.
    assert all(r.ranking == {} for r in res.records if r.strategy == "first-turn")
    # The window at 60 tokens holds the latest turns only (B7 yes, A1 no).
    window_found = {r.question_id: r.found for r in res.records if r.strategy == "window" and r.budget == 60}
    assert window_found["q3"] == ["B7"] and window_found["q1"] == []


def test_plain_rag_baselines_use_none_of_turnmems_pieces(memory: Memory) -> None:
    """dense/bm25 are the classic pattern: no window, recency, session prior or neighbours,
    whatever turnmem's defaults become."""
    for name in ("dense", "bm25"):
        out = get_strategy(name).build(StrategyInput(memory=memory, namespace=NS, query="hotel price", budget=3000))
        assert out.extra["breakdown"]["window"] == 0 and out.extra["breakdown"]["fill"] == 0


def test_plain_rag_has_none_of_turnmems_pieces() -> None:
    # Every prior and piece of the default pipeline is off in the dense/bm25 baselines; a new
    # `*_weight` field with a non-zero default fails here until plain_config turns it off.
    from memory.read.assemble import AssembleConfig
    from memory.read.ranking import default_scorers

    config = plain_config(1024)
    skip = {"lexical_weight", "query_turns_weight"}  # fusion itself; follow-ups are off (query_turns=0)
    weights = {k: v for k, v in config.model_dump().items() if k.endswith("_weight") and k not in skip}
    assert weights and all(v == 0 for v in weights.values()), weights
    assert all(s.weight == 0 for s in default_scorers(config))
    assert config.window_share == 0 and config.neighbors == 0 and config.mmr_lambda is None
    assert not config.chosen_replies and config.reply_share == 0 and config.repeat_decay == 1.0
    assert config.candidates_per_token == 0 and config.candidates == 128 and config.query_turns == 0
    assert set(weights) == {k for k in AssembleConfig.model_fields if k.endswith("_weight") and k not in skip}
