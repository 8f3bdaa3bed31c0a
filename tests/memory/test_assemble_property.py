"""Property: for any conversation with tool calls and any budget, the context fits the
budget exactly as counted, and is a valid, chronological chat message list."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory import Memory
from memory.embedders import Embedder
from memory.errors import BudgetTooSmall
from memory.models import MessageRef
from memory.tokens import count_messages
from tests.memory.helpers import assert_openai_format, assert_valid_chat

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

SESSION = "s"


def _result(draw: Any, cid: str, text: str) -> dict[str, Any]:
    long = draw(st.booleans())
    # A long result is a JSON array of 30 records: well above 300 tokens, several chunks.
    body = json.dumps([{"item": i, "note": text, "ref": f"R{i:03d}"} for i in range(30 if long else 2)])
    return {"role": "tool", "tool_call_id": cid, "content": body}


@st.composite
def conversations(draw: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(session, batch)`` pairs, one ``add`` each: user/assistant turns, assistant tool
    calls with 1-2 results (some long), calls left pending, and results that arrive later,
    after other turns. Mostly session "s"; sometimes a second session in the namespace."""
    batches: list[tuple[str, list[dict[str, Any]]]] = []
    pending: dict[str, list[str]] = {SESSION: [], "other": []}
    call_no = 0
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        session = draw(st.sampled_from([SESSION, SESSION, SESSION, "other"]))
        kinds = ["text", "text", "text", "tool", "tool", "pending"] + ["late"] * (4 if pending[session] else 0)
        kind = draw(st.sampled_from(kinds))
        text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25)))
        if kind == "text":
            role = draw(st.sampled_from(["user", "assistant"]))
            batches.append((session, [{"role": role, "content": text}]))
        elif kind == "late":
            cid = pending[session].pop(draw(st.integers(0, len(pending[session]) - 1)))
            batches.append((session, [_result(draw, cid, text)]))
        else:
            ids = [f"call_{call_no + i}" for i in range(draw(st.integers(min_value=1, max_value=2)))]
            call_no += len(ids)
            calls = [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": "search", "arguments": json.dumps({"q": text[:40]})},
                }
                for cid in ids
            ]
            batch: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": calls}]
            answered = ids if kind == "tool" else ids[: draw(st.integers(0, len(ids) - 1))]
            batch += [_result(draw, cid, text) for cid in answered]
            pending[session] += [cid for cid in ids if cid not in answered]
            batches.append((session, batch))
    return batches


def check_context(mem: Memory, ctx: Any, budget: int, query: str | None, system: str | None) -> None:
    # The budget, counted the way the chat API bills the prompt.
    assert ctx.tokens <= budget
    assert ctx.tokens == count_messages(mem.counter, ctx.messages)
    assert len(ctx.sources) == len(ctx.messages)
    # Valid for the API: every tool message answers a call of the assistant message that
    # opens its block, and every call is answered right after it.
    assert_valid_chat(ctx.messages)
    assert_openai_format(ctx.messages)
    refs = [s.ref for s in ctx.sources if s.ref is not None]
    assert len(refs) == len(set(refs)), "no message twice"
    # Chronological: a tool result sits right after its call; every other message (a
    # plain turn or a call opening its unit) comes in the order it was said.
    position = {
        MessageRef(namespace=m.namespace, session=m.session, seq=m.seq): i for i, m in enumerate(mem.messages())
    }
    heads = [position[s.ref] for s, m in zip(ctx.sources, ctx.messages) if s.ref is not None and m["role"] != "tool"]
    assert heads == sorted(heads), "chronological"
    # A call still waiting for a result is reported, never sent.
    assert not set(ctx.pending_tool_calls) & set(refs)
    # The recent window comes from the session asked for.
    assert all(s.ref.session == SESSION for s in ctx.sources if s.origin == "window")
    if system is not None:
        assert ctx.messages[0] == {"role": "system", "content": system} and ctx.sources[0].origin == "pinned"
    if query is None:
        assert ctx.hits == [] and all(s.origin != "retrieved" for s in ctx.sources)
    for h in ctx.hits:  # what the hits say was retrieved is in the context
        assert MessageRef(namespace=h.namespace, session=h.session, seq=h.seq) in set(refs)


@pytest.mark.slow  # hypothesis: many examples, each assembled and recounted
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    batches=conversations(),
    budgets=st.lists(st.integers(min_value=20, max_value=3000), min_size=1, max_size=4),
    query=st.one_of(st.none(), st.sampled_from(["hotel price", "INV-48213", "what was the weather", "R017"])),
    system=st.one_of(st.none(), st.just("You are a helpful travel assistant.")),
    window_share=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
)
def test_context_fits_budget_and_is_valid(
    embedder: Embedder,
    batches: list[tuple[str, list[dict[str, Any]]]],
    budgets: list[int],
    query: str | None,
    system: str | None,
    window_share: float,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory.open(tmp, embedder=embedder)
        try:
            for session, batch in batches:
                mem.add(batch, session=session)
            for budget in budgets:
                try:
                    ctx = mem.assemble(query, session=SESSION, budget=budget, system=system, window_share=window_share)
                except BudgetTooSmall as err:
                    assert system is not None and err.required > budget
                    continue
                check_context(mem, ctx, budget, query, system)
        finally:
            mem.close()
