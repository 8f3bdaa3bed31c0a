"""turnmem as a LangChain BaseChatMessageHistory (the optional `langchain` extra)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from memory.integrations.langchain import TurnmemChatMessageHistory
from memory.memory import Memory

pytestmark = pytest.mark.fake_embedder  # the history adapter: the model is not the point


def test_history_round_trips_tool_calls_and_clears(mem: Memory) -> None:
    history = TurnmemChatMessageHistory(mem, session="lc", namespace="alice")
    history.add_messages(
        [
            HumanMessage("What's the weather in Porto?"),
            AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Porto"}, "id": "call_w"}]),
            ToolMessage('{"temp": 21}', tool_call_id="call_w"),
            AIMessage("21 degrees in Porto."),
        ]
    )
    history.add_user_message("thanks")
    got = history.messages
    assert [type(m).__name__ for m in got] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage", "HumanMessage"]
    assert got[1].tool_calls[0]["name"] == "weather" and got[1].tool_calls[0]["args"] == {"city": "Porto"}
    assert got[2].tool_call_id == "call_w"
    assert [m.seq for m in mem.since("lc", namespace="alice")] == [1, 2, 3, 4, 5]
    history.clear()
    assert history.messages == []
    history.clear()  # clearing an empty history is fine


def test_history_context_is_a_budgeted_selection_that_keeps_tool_pairs(mem: Memory) -> None:
    history = TurnmemChatMessageHistory(mem, session="long")
    history.add_messages(
        [
            HumanMessage("Look up my order"),
            AIMessage("", tool_calls=[{"name": "order", "args": {"id": "A-77"}, "id": "call_o"}]),
            ToolMessage('{"order": "A-77", "item": "espresso grinder"}', tool_call_id="call_o"),
        ]
    )
    for i in range(40):
        history.add_messages([HumanMessage(f"filler question {i} about the weather"), AIMessage(f"filler answer {i}")])
    ctx = history.context("which item did I order?", budget=300, system="Be brief.")
    assert isinstance(ctx[0], SystemMessage)
    assert len(ctx) < len(history.messages)
    calls = [i for i, m in enumerate(ctx) if isinstance(m, AIMessage) and m.tool_calls]
    assert calls, "the order lookup was retrieved"
    assert isinstance(ctx[calls[0] + 1], ToolMessage) and "espresso grinder" in ctx[calls[0] + 1].content
