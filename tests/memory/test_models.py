from __future__ import annotations

from datetime import datetime, timezone

import pytest

from memory.errors import InvalidMessage
from memory.models import Context, ImagePart, Message, parse_message

VALID = [
    {"role": "user", "content": "hi", "name": "alice"},
    {"role": "system", "content": "be brief"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    },
    {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "see"},
            {"type": "image_url", "image_url": {"url": "https://x.invalid/a.png", "detail": "low"}},
        ],
    },
    {"role": "assistant", "content": "done", "refusal": None, "audio": {"id": "a1"}},
]


@pytest.mark.parametrize("raw", VALID)
def test_round_trip_keeps_openai_fields(raw: dict) -> None:
    msg = parse_message(raw)
    out = msg.to_openai()
    for key, value in raw.items():
        if value is None and key != "content":
            continue
        assert out[key] == value
    assert not {"id", "timestamp", "metadata"} & set(out)


def test_turnmem_fields_parsed() -> None:
    msg = parse_message(
        {"role": "user", "content": "x", "id": "m1", "timestamp": "2024-05-03T14:00:00Z", "metadata": {"k": 1}}
    )
    assert msg.id == "m1"
    assert msg.timestamp == datetime(2024, 5, 3, 14, tzinfo=timezone.utc)
    naive = parse_message({"role": "user", "content": "x", "timestamp": datetime(2024, 5, 3, 14)})
    assert naive.timestamp is not None and naive.timestamp.tzinfo is not None


def test_image_caption_is_the_text_surrogate() -> None:
    msg = parse_message(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "my bike"},
                {"type": "image_url", "image_url": {"url": "https://x.invalid/b.jpg"}, "caption": "a red bicycle"},
            ],
        }
    )
    assert isinstance(msg.content[1], ImagePart)  # type: ignore[index]
    assert "a red bicycle" in msg.text()
    sent = msg.to_openai()
    assert "caption" not in sent["content"][1]  # the API never sees turnmem's surrogate
    assert sent["content"][1]["image_url"]["url"] == "https://x.invalid/b.jpg"
    text_only = msg.to_openai(text_only=True)
    assert isinstance(text_only["content"], str) and "a red bicycle" in text_only["content"]


def test_message_objects_accepted() -> None:
    m = Message(role="user", content="hello")
    assert parse_message(m).content == "hello"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"role": "robot", "content": "x"}, "role"),
        ({"role": "tool", "content": "x"}, "tool_call_id"),
        ({"role": "user", "content": 42}, "content"),
        ({"role": "user"}, "content"),
        ({"content": "x"}, "role"),
        ({"role": "user", "content": "x", "tool_call_id": "c1"}, "tool_call_id"),
        (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "", "type": "function", "function": {"name": "f"}}],
            },
            "tool_calls",
        ),
        ({"role": "user", "content": "x", "timestamp": "yesterday"}, "timestamp"),
        ("just a string", "messages[3]"),
    ],
)
def test_bad_input_names_the_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        parse_message(raw, index=3)  # type: ignore[arg-type]
    assert field in str(err.value)
    assert "messages[3]" in str(err.value)


def test_context_serializes() -> None:
    ctx = Context(messages=[{"role": "user", "content": "x"}], tokens=9, budget=10)
    again = Context.model_validate_json(ctx.to_json())
    assert again.messages == ctx.messages and again.tokens == 9
    assert "<table" in ctx._repr_html_()
