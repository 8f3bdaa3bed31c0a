from __future__ import annotations

from datetime import datetime, timezone

import pytest

from memory.errors import InvalidMessage
from memory.models import Context, ImagePart, Message, StoredMessage, parse_message

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
        (None, "messages[3]"),
        ({"role": "user", "content": None}, "content"),
        ({"role": "user", "content": {"text": "hi"}}, "content"),
        ({"role": "user", "content": [{"type": "text"}]}, "content[0].text"),
        ({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "video", "url": "x"}]}, "content[1]"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"detail": "low"}}]}, "content[0].image_url"),
        ({"role": "user", "content": "x", "name": 5}, "name"),
        ({"role": "user", "content": "x", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}, "tool_calls"),
        ({"role": "tool", "tool_call_id": "c1"}, "content"),
        ({"role": "assistant", "content": None, "tool_calls": []}, "tool_calls"),
        (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}],
            },
            "tool_calls[0].function.arguments",
        ),
        ({"role": "user", "content": "bad \ud800 text"}, "content"),
        ({"role": "user", "content": [{"type": "text", "text": "\udfff"}]}, "content[0].text"),
    ],
)
def test_bad_input_names_the_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        parse_message(raw, index=3)  # type: ignore[arg-type]
    assert field in str(err.value)
    assert str(err.value).startswith("messages[3]")
    assert err.value.field is not None and field in err.value.field
    assert isinstance(err.value, ValueError)  # callers may catch it as a ValueError


def test_without_index_the_prefix_is_message() -> None:
    with pytest.raises(InvalidMessage) as err:
        parse_message({"role": "robot", "content": "x"})
    assert err.value.field == "message.role"
    assert "robot" in str(err.value) and "assistant" in str(err.value)  # what was wrong, what is allowed


def test_stored_message_parses_as_a_plain_message() -> None:
    stored = StoredMessage(role="user", content="hi", name="bob", id="m1", namespace="n", session="s", seq=4)
    msg = parse_message(stored)
    assert type(msg) is Message
    assert msg.to_openai() == {"role": "user", "content": "hi", "name": "bob"}
    assert msg.id == "m1"
    assert not {"namespace", "session", "seq"} & set(msg.to_record())


def test_message_objects_are_validated_again() -> None:
    m = Message(role="user", content="hello")
    m.role = "robot"  # type: ignore[assignment]  # pydantic does not validate assignment
    with pytest.raises(InvalidMessage) as err:
        parse_message(m)
    assert err.value.field == "message.role"


def test_to_record_round_trips() -> None:
    raw = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "here"},
            {"type": "image_url", "image_url": {"url": "https://x.invalid/u.png"}, "caption": "c"},
        ],
        "name": "bot",
        "id": "m9",
        "timestamp": "2024-05-03T14:00:00Z",
        "metadata": {"turn": 3},
        "refusal": "none",
    }
    msg = parse_message(raw)
    again = Message.model_validate(msg.to_record())
    assert again == msg
    assert again.to_openai()["refusal"] == "none"


def test_context_serializes() -> None:
    ctx = Context(messages=[{"role": "user", "content": "x"}], tokens=9, budget=10)
    again = Context.model_validate_json(ctx.to_json())
    assert again.messages == ctx.messages and again.tokens == 9
    assert "<table" in ctx._repr_html_()


def test_hit_explains_itself() -> None:
    from memory.models import Hit

    hit = Hit(
        chunk_id=3,
        text="Casa Azul is 129 EUR a night.",
        namespace="n",
        session="trip",
        seq=4,
        part=1,
        parts=3,
        role="assistant",
        rank=2,
        scores={"dense": 0.61, "lexical": 0.4, "recency": 0.97, "extra": 0.5, "final": 0.7234},
        reason="retrieved",
    )
    line = hit.explain()
    assert line == (
        "#2 trip#4 part 2/3 (assistant, retrieved): dense 0.61, lexical 0.40, recency 0.97, extra 0.50 -> final 0.723"
    )
    assert "Casa Azul" in hit._repr_html_() and "&gt; final" in hit._repr_html_()


def test_too_deep_finds_the_first_path_past_the_bound_without_recursing() -> None:
    from memory.models import MAX_DEPTH, json_text_too_deep, too_deep

    def nest(n: int) -> object:
        v: object = 0
        for _ in range(n):
            v = {"k": [v]}
        return v

    assert too_deep(nest(MAX_DEPTH // 2)) is None  # 64 levels: 32 dicts each holding a list
    path = too_deep({"a": 1, "b": nest(50_000)})  # far past the interpreter's recursion limit
    assert path is not None and len(path) == MAX_DEPTH and path[:3] == ("b", "k", 0)
    loop: list[object] = []
    loop.append(loop)
    assert too_deep(loop) is not None
    assert too_deep("[" * 1000) is None  # a string is a leaf
    assert json_text_too_deep("[" * 1000 + "]" * 1000) and json_text_too_deep("[" * 100_000 + "]" * 100_000)
    assert not json_text_too_deep("[" * 100 + "x")  # not JSON: prose, whatever its brackets
    assert json_text_too_deep("[" * 5000)  # ... unless the parser's stack gives out first
    assert not json_text_too_deep('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
