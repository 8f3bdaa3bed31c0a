from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from memory.chunking import Chunker
from memory.models import parse_message
from memory.tokens import TokenCounter, get_counter

COUNTER = get_counter("o200k_base")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_short_message_is_one_chunk(counter: TokenCounter) -> None:
    pieces = Chunker(counter).split(parse_message({"role": "user", "content": "Hi there, how are you?"}))
    assert len(pieces) == 1
    assert pieces[0].text == "Hi there, how are you?"
    assert pieces[0].kind == "text"
    assert pieces[0].tokens == counter.count("Hi there, how are you?")


def test_long_prose_splits_on_paragraphs(counter: TokenCounter) -> None:
    paras = [f"Paragraph {i}: " + "the quick brown fox jumps over the lazy dog. " * 8 for i in range(8)]
    text = "\n\n".join(paras)
    chunker = Chunker(counter, max_tokens=120)
    pieces = chunker.split(parse_message({"role": "assistant", "content": text}))
    assert len(pieces) > 1
    assert all(p.tokens <= 120 for p in pieces)
    # Paragraph boundaries are kept: every piece starts at a paragraph start.
    assert all(p.text.startswith("Paragraph") for p in pieces)
    assert _squash("".join(p.text for p in pieces)) == _squash(text)


def test_json_tool_output_splits_into_records(counter: TokenCounter) -> None:
    records = [{"id": f"H{i:03d}", "name": f"Hotel {i}", "price": 100 + i, "city": "Lisbon"} for i in range(120)]
    records[77]["name"] = "Casa Azul"
    msg = parse_message({"role": "tool", "tool_call_id": "call_1", "content": json.dumps(records)})
    pieces = Chunker(counter, max_tokens=200, record_tokens=96).split(msg)
    assert len(pieces) > 5
    assert all(p.kind == "tool_result" for p in pieces)
    assert all(p.tokens <= 200 for p in pieces)
    holding = [p for p in pieces if "Casa Azul" in p.text]
    assert len(holding) == 1
    # Records are whole: the piece with Casa Azul parses back, line by line, as records.
    for line in holding[0].text.splitlines():
        assert json.loads(line)["city"] == "Lisbon"
    assert sum(p.text.count('"id"') for p in pieces) == 120


def test_json_object_with_one_huge_key(counter: TokenCounter) -> None:
    data = {"results": [{"n": i, "note": "x" * 30} for i in range(300)], "status": "ok"}
    msg = parse_message({"role": "tool", "tool_call_id": "c", "content": json.dumps(data)})
    pieces = Chunker(counter, max_tokens=100).split(msg)
    assert all(p.tokens <= 100 for p in pieces)
    assert any('"status": "ok"' in p.text for p in pieces)
    assert sum(p.text.count('"n":') for p in pieces) == 300


def test_blob_without_structure_is_hard_split(counter: TokenCounter) -> None:
    blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 200
    pieces = Chunker(counter, max_tokens=50).split(parse_message({"role": "user", "content": blob}))
    assert len(pieces) > 5
    assert all(0 < p.tokens <= 50 for p in pieces)
    assert "".join(p.text for p in pieces) == blob


def test_kinds(counter: TokenCounter) -> None:
    chunker = Chunker(counter)
    call = parse_message(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        }
    )
    image = parse_message(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x.invalid/a.png"}, "caption": "a red bicycle"},
            ],
        }
    )
    assert chunker.split(call)[0].kind == "tool_call"
    assert chunker.split(call)[0].text == "f({})"
    assert chunker.split(image)[0].kind == "image"
    assert "a red bicycle" in chunker.split(image)[0].text


words = st.sampled_from(["alpha", "beta", "Lisbon", "129", "EUR", "naïve", "🙂", "x" * 40, "end."])
seps = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". "])
texts = st.lists(st.tuples(words, seps), min_size=1, max_size=400).map(lambda xs: "".join(w + s for w, s in xs))


@settings(max_examples=60, deadline=None)
@given(text=texts, max_tokens=st.integers(min_value=8, max_value=120))
def test_property_pieces_bounded_and_lossless(text: str, max_tokens: int) -> None:
    chunker = Chunker(COUNTER, max_tokens=max_tokens)
    pieces = chunker.split(parse_message({"role": "user", "content": text}))
    assert pieces
    assert all(p.tokens <= max_tokens for p in pieces)
    assert all(p.tokens == COUNTER.count(p.text) for p in pieces)
    if text.strip():
        assert _squash("".join(p.text for p in pieces)) == _squash(text)
