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


OPENAI_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio"}


def assert_openai_format(messages: list[dict[str, Any]]) -> None:
    """Each message is a chat-completions message as the API takes it: known keys only
    (none of turnmem's id / timestamp / metadata / caption), and well-formed content."""
    for i, m in enumerate(messages):
        assert isinstance(m, dict), f"message {i}: not a dict"
        assert set(m) <= OPENAI_KEYS, f"message {i}: unexpected keys {set(m) - OPENAI_KEYS}"
        assert m["role"] in {"system", "developer", "user", "assistant", "tool"}
        content = m.get("content")
        if content is None:
            assert m["role"] == "assistant" and m.get("tool_calls"), f"message {i}: content None without tool_calls"
        elif isinstance(content, list):
            for part in content:
                assert part["type"] in {"text", "image_url", "file"}
                if part["type"] == "image_url":
                    assert set(part) == {"type", "image_url"} and "url" in part["image_url"]
                if part["type"] == "text":
                    assert set(part) == {"type", "text"} and isinstance(part["text"], str)
        else:
            assert isinstance(content, str), f"message {i}: content is {type(content).__name__}"
        for call in m.get("tool_calls") or ():
            assert set(call) == {"id", "type", "function"} and call["type"] == "function"
            assert isinstance(call["function"]["name"], str) and isinstance(call["function"]["arguments"], str)
        if m["role"] == "tool":
            assert isinstance(m["tool_call_id"], str) and m["tool_call_id"]
