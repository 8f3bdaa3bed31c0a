from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.strategies import (
    StrategyInput,
    StrategyOutput,
    available,
    get_strategy,
    register,
)
from memory import Memory
from memory.embedders import Embedder
from memory.models import MessageRef
from memory.tokens import count_messages
from tests.memory.helpers import assert_valid_chat
from tests.memory.test_memory import FILLER

NS = "conv"


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Memory]:
    mem = Memory.open(tmp_path_factory.mktemp("strategies"), embedder=embedder)
    mem.add(
        [
            {"role": "user", "content": "My booking reference for the Porto flat is INV-48213."},
            {"role": "assistant", "content": "Noted, INV-48213."},
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
            {"role": "assistant", "content": "Casa Azul is 129 EUR."},
        ],
        session="s2",
        namespace=NS,
    )
    for s in range(3, 8):
        mem.add(
            [
                {"role": "user" if i % 2 == 0 else "assistant", "content": f"{FILLER[(i + s) % len(FILLER)]} ({s}.{i})"}
                for i in range(12)
            ],
            session=f"s{s}",
            namespace=NS,
        )
    yield mem
    mem.close()


def test_registry_has_the_six() -> None:
    assert {"full", "window", "summary", "dense", "bm25", "turnmem"} <= set(available())
    with pytest.raises(ValueError, match="unknown strategy"):
        get_strategy("nope")


@pytest.mark.parametrize("name", ["window", "summary", "dense", "bm25", "turnmem"])
@pytest.mark.parametrize("budget", [40, 150, 600, 3000])
def test_within_budget_and_valid(memory: Memory, name: str, budget: int) -> None:
    out = get_strategy(name).build(StrategyInput(memory=memory, namespace=NS, query="Casa Azul price", budget=budget))
    assert out.tokens <= budget
    assert out.tokens == count_messages(memory.counter, out.messages)
    assert_valid_chat([m for m in out.messages if m["role"] != "system"])


def test_full_is_everything(memory: Memory) -> None:
    out = get_strategy("full").build(StrategyInput(memory=memory, namespace=NS, query="", budget=1))
    assert len(out.messages) == len(memory.store.all_messages(NS)) == 2 + 4 + 60
    assert out.tokens > 1


def test_window_is_the_most_recent(memory: Memory) -> None:
    out = get_strategy("window").build(StrategyInput(memory=memory, namespace=NS, query="ignored", budget=100))
    assert out.present and all(r.session == "s7" for r in out.present)
    assert max(r.seq for r in out.present) == 12


def test_dense_and_bm25_find_planted_facts(memory: Memory) -> None:
    for name in ("dense", "bm25", "turnmem"):
        out = get_strategy(name).build(
            StrategyInput(
                memory=memory, namespace=NS, query="What was the booking reference for the Porto flat?", budget=120
            )
        )
        assert MessageRef(namespace=NS, session="s1", seq=1) in out.present, name


def test_exact_id_found_by_bm25(memory: Memory) -> None:
    strat = get_strategy("bm25")
    inp = StrategyInput(memory=memory, namespace=NS, query="INV-48213", budget=60)
    assert MessageRef(namespace=NS, session="s1", seq=1) in strat.build(inp).present
    assert strat.rank(inp)[0].session == "s1"  # type: ignore[attr-defined]


def test_tool_fact_brings_its_call(memory: Memory) -> None:
    out = get_strategy("turnmem").build(
        StrategyInput(memory=memory, namespace=NS, query="What did Casa Azul cost per night?", budget=400)
    )
    assert MessageRef(namespace=NS, session="s2", seq=3) in out.present
    assert MessageRef(namespace=NS, session="s2", seq=2) in out.present
    assert_valid_chat(out.messages)


def test_user_registered_strategy_runs_in_the_harness(tmp_path: Path, embedder: Embedder) -> None:
    from eval import run
    from eval.synthetic import generate

    @register("first-turn")
    class FirstTurn:
        name = "first-turn"
        uses_budget = True

        def build(self, inp: StrategyInput) -> StrategyOutput:
            row = inp.memory.store.all_messages(inp.namespace)[0]
            msgs = [row.message().to_openai()]
            return StrategyOutput(
                msgs,
                count_messages(inp.memory.counter, msgs),
                {MessageRef(namespace=inp.namespace, session=row.session, seq=row.seq)},
            )

    ds = generate(turns=60, seed=2)
    res = run(ds, strategies=["first-turn", "window"], budgets=[200], embedder=embedder, progress=False)
    rows = {r["strategy"]: r for r in res.summary}
    assert set(rows) == {"first-turn", "window"}
    assert rows["first-turn"]["questions"] == len(ds.questions)
    first_id = ds.conversations[0].turns[0].id
    expected = sum(q.evidence.count(first_id) / len(q.evidence) for q in ds.questions) / len(ds.questions)
    assert rows["first-turn"]["recall"] == pytest.approx(expected)


def test_plain_rag_baselines_use_none_of_turnmems_pieces(memory: Memory) -> None:
    """dense/bm25 are the classic pattern: no window, recency, session prior or neighbours,
    whatever turnmem's defaults become."""
    out = get_strategy("dense").build(
        StrategyInput(memory=memory, namespace=NS, query="booking reference Porto flat", budget=3000)
    )
    assert out.extra["breakdown"]["window"] == 0 and out.extra["breakdown"]["fill"] == 0
    ctx_hits = memory.assemble("booking reference Porto flat", namespace=NS, budget=3000)
    assert any(h.reason == "neighbor" for h in ctx_hits.hits) or ctx_hits.breakdown["window"] > 0
