"""Checks shared by the memory tests."""

from __future__ import annotations

from typing import Any


def assert_valid_chat(messages: list[dict[str, Any]]) -> None:
    """The list is valid for the chat APIs: every assistant message with tool_calls is
    followed immediately by tool messages answering exactly its call ids, and no tool
    message appears anywhere else."""
    i = 0
    while i < len(messages):
        m = messages[i]
        assert m["role"] != "tool", f"message {i}: tool result without its call right before it"
        if m["role"] == "assistant" and m.get("tool_calls"):
            ids = {c["id"] for c in m["tool_calls"]}
            seen = set()
            j = i + 1
            while j < len(messages) and messages[j]["role"] == "tool":
                assert messages[j]["tool_call_id"] in ids, f"message {j}: answers a call not in message {i}"
                seen.add(messages[j]["tool_call_id"])
                j += 1
            assert seen == ids, f"message {i}: calls {ids - seen} have no result in the context"
            i = j
        else:
            i += 1
