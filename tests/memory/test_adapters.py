"""Context -> the OpenAI and Anthropic SDKs' message lists, checked on the SDKs' own types."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from memory.adapters import to_anthropic, to_openai
from memory.errors import InvalidArgument
from memory.memory import Memory

pytestmark = pytest.mark.fake_embedder  # message formats: the model is not the point
PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

TURNS: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Here is my bike"},
            {"type": "image_url", "image_url": {"url": PNG}, "caption": "a red bicycle"},
        ],
    },
    {"role": "assistant", "content": "Nice bike! Shall I look up insurance?"},
    {"role": "user", "content": "Yes, quote me two insurers"},
    {
        "role": "assistant",
        "content": "Checking two insurers.",
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "quote", "arguments": '{"insurer": "Acme"}'}},
            {"id": "call_b", "type": "function", "function": {"name": "quote", "arguments": '{"insurer": "Bolt"}'}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_a", "content": '{"price": 12}'},
    {"role": "tool", "tool_call_id": "call_b", "content": '{"price": 15}'},
    {"role": "assistant", "content": "Acme is 12 EUR a month, Bolt 15."},
]


@pytest.fixture
def ctx(mem: Memory) -> Any:
    mem.add(TURNS, session="s")
    return mem.assemble("how much was the insurance?", session="s", budget=4000, system="Be brief.")


def test_to_openai_validates_against_the_openai_sdk_types(ctx: Any) -> None:
    from openai.types.chat import ChatCompletionMessageParam

    msgs = to_openai(ctx)
    adapter = TypeAdapter(list[ChatCompletionMessageParam])
    adapter.validate_python(msgs)
    with pytest.raises(ValidationError):  # the SDK type is strict enough to catch a broken list
        adapter.validate_python([{"role": "tool", "content": "no call id"}])
    assert msgs == ctx.messages and msgs is not ctx.messages
    assert msgs[0] == {"role": "system", "content": "Be brief."}
    assert ctx.to_openai() == msgs


def test_to_anthropic_validates_against_the_anthropic_sdk_types(ctx: Any) -> None:
    from anthropic.types import MessageParam

    system, msgs = to_anthropic(ctx)
    adapter = TypeAdapter(list[MessageParam])
    adapter.validate_python(msgs)
    with pytest.raises(ValidationError):
        adapter.validate_python([{"role": "tool", "content": "x"}])
    assert system == "Be brief."
    roles = [m["role"] for m in msgs]
    assert all(a != b for a, b in zip(roles, roles[1:]))  # strictly alternating
    assert roles[0] == "user"
    first = msgs[0]["content"]
    assert first[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG.split(",")[1]},
    }
    # the parallel calls are tool_use blocks; both results come together in the very next user message
    i = next(k for k, m in enumerate(msgs) if any(b["type"] == "tool_use" for b in m["content"]))
    uses = [b for b in msgs[i]["content"] if b["type"] == "tool_use"]
    assert [(u["id"], u["input"]) for u in uses] == [("call_a", {"insurer": "Acme"}), ("call_b", {"insurer": "Bolt"})]
    results = [b for b in msgs[i + 1]["content"] if b["type"] == "tool_result"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [
        ("call_a", '{"price": 12}'),
        ("call_b", '{"price": 15}'),
    ]
    assert ctx.to_anthropic() == (system, msgs)


def test_to_anthropic_edge_cases() -> None:
    system, msgs = to_anthropic(
        [
            {"role": "developer", "content": "dev rules"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "not json"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.invalid/a.jpg"}}]},
        ]
    )
    from anthropic.types import MessageParam

    TypeAdapter(list[MessageParam]).validate_python(msgs)
    assert system == "dev rules"
    assert msgs[0]["role"] == "user"  # a context starting with the assistant gets a user turn first
    assert msgs[1]["content"][0]["input"] == {"arguments": "not json"}
    # the tool result and the next user turn share one user message
    assert [b["type"] for b in msgs[2]["content"]] == ["tool_result", "image"]
    assert msgs[2]["content"][1]["source"] == {"type": "url", "url": "https://x.invalid/a.jpg"}
    assert to_anthropic([]) == (None, [])
    with pytest.raises(InvalidArgument):
        to_anthropic("hello")  # type: ignore[arg-type]
