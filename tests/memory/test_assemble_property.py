"""Property: for any conversation with tool calls and any budget, the context fits the
budget exactly as counted, and is a valid, chronological chat message list."""

from __future__ import annotations

import json
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory import Memory
from memory.embedders import Embedder
from memory.errors import BudgetTooSmall
from memory.tokens import count_messages
from tests.memory.helpers import assert_valid_chat

WORDS = [
    "Lisbon",
    "hotel",
    "price",
    "flight",
    "129",
    "EUR",
    "Casa",
    "Azul",
    "weather",
    "Porto",
    "train",
    "ticket",
    "dinner",
    "booking",
    "INV-48213",
    "yesterday",
    "sunny",
    "museum",
    "the",
    "a",
    "and",
]


@st.composite
def conversations(draw: Any) -> list[list[dict[str, Any]]]:
    """Batches of messages (one ``add`` each) with text turns, tool calls with 1-2 results
    (some results long), and some calls left pending."""
    batches: list[list[dict[str, Any]]] = []
    n_units = draw(st.integers(min_value=1, max_value=14))
    call_no = 0
    pending_allowed = True
    for _ in range(n_units):
        kind = draw(st.sampled_from(["text", "text", "tool", "pending"]))
        text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25)))
        if kind == "text":
            role = draw(st.sampled_from(["user", "assistant"]))
            batches.append([{"role": role, "content": text}])
        else:
            n_calls = draw(st.integers(min_value=1, max_value=2))
            ids = [f"call_{call_no + i}" for i in range(n_calls)]
            call_no += n_calls
            calls = [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": "search", "arguments": json.dumps({"q": text[:40]})},
                }
                for cid in ids
            ]
            batch: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": calls}]
            if kind == "tool" or not pending_allowed:
                for cid in ids:
                    long = draw(st.booleans())
                    body = json.dumps([{"item": i, "note": text} for i in range(60 if long else 2)])
                    batch.append({"role": "tool", "tool_call_id": cid, "content": body})
            else:
                pending_allowed = False  # one pending call, at most, stays open
            batches.append(batch)
    return batches


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    batches=conversations(),
    budgets=st.lists(st.integers(min_value=3, max_value=3000), min_size=1, max_size=4),
    query=st.one_of(st.none(), st.sampled_from(["hotel price", "INV-48213", "what was the weather", "Casa Azul"])),
    system=st.one_of(st.none(), st.just("You are helpful.")),
    window_share=st.sampled_from([0.0, 0.3, 0.7]),
)
def test_context_fits_budget_and_is_valid(
    embedder: Embedder,
    batches: list[list[dict[str, Any]]],
    budgets: list[int],
    query: str | None,
    system: str | None,
    window_share: float,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory.open(tmp, embedder=embedder)
        try:
            for batch in batches:
                mem.add(batch, session="s")
            for budget in budgets:
                try:
                    ctx = mem.assemble(query, session="s", budget=budget, system=system, window_share=window_share)
                except BudgetTooSmall as err:
                    assert err.required > budget
                    continue
                assert ctx.tokens <= budget
                assert ctx.tokens == count_messages(mem.counter, ctx.messages)
                assert_valid_chat(ctx.messages)
                seqs = [s.ref.seq for s in ctx.sources if s.ref is not None]
                assert seqs == sorted(seqs), "chronological"
                assert len(seqs) == len(set(seqs)), "no message twice"
                if system is not None:
                    assert ctx.messages[0] == {"role": "system", "content": system}
        finally:
            mem.close()
