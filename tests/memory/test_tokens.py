from __future__ import annotations

import pytest

from memory.errors import InvalidArgument
from memory.tokens import (
    IMAGE_TOKENS,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    BpeOpenAICounter,
    HFTokenizerCounter,
    TokenCounter,
    count_message,
    count_messages,
    get_counter,
)


def test_o200k_exact_counts(counter: TokenCounter) -> None:
    assert counter.name == "o200k_base"
    assert counter.count("hello world") == 2
    assert counter.count("") == 0
    assert counter.count_batch(["hello world", "hello"]) == [2, 1]


def test_cl100k_available_and_cached() -> None:
    text = "Casa Azul costs 129 EUR a night in Lisbon, near the Tagus."
    cl = get_counter("cl100k_base")
    assert cl.name == "cl100k_base"
    assert cl.count(text) > 0
    assert get_counter("cl100k_base") is cl  # cached


def test_special_token_text_counts_as_plain_text(counter: TokenCounter) -> None:
    n = counter.count("before <|endoftext|> after")
    assert n > 3  # the marker is several ordinary tokens, not one special token, and no error


def test_huge_text_is_counted_in_segments(counter: TokenCounter) -> None:
    text = "word " * 250_000  # 1.25M characters: above bpe-openai's single-call limit
    assert counter.count(text) == pytest.approx(250_000, rel=0.01)


@pytest.mark.parametrize("limit", [1, 5, 17, 100])
def test_truncate_is_a_prefix_within_limit(counter: TokenCounter, limit: int) -> None:
    text = "Der Bäcker in São Paulo verkauft 🍞 und Brötchen für 3,50 € pro Stück. " * 10
    cut = counter.truncate(text, limit)
    assert text.startswith(cut)
    assert counter.count(cut) <= limit
    assert counter.count(cut) >= limit - 2  # not needlessly short


def test_truncate_keeps_short_text(counter: TokenCounter) -> None:
    assert counter.truncate("short", 10) == "short"
    assert counter.truncate("short", 0) == ""


def test_hf_tokenizer_counter_minilm() -> None:
    c = get_counter("minilm")
    assert isinstance(c, HFTokenizerCounter)
    assert c.count("hello world") == 2  # WordPiece, no [CLS]/[SEP]
    text = "unbelievably long words get split into wordpieces"
    assert c.count(text) > len(text.split())
    cut = c.truncate(text, 3)
    assert text.startswith(cut) and c.count(cut) <= 3
    assert c.count_batch(["hello world", ""]) == [2, 0]


def test_unknown_encoding_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        BpeOpenAICounter("no_such_encoding")
    assert err.value.field == "counter"


def test_count_message_overheads(counter: TokenCounter) -> None:
    plain = {"role": "user", "content": "hello world"}
    # 3 framing + "user" (1) + "hello world" (2)
    assert count_message(counter, plain) == TOKENS_PER_MESSAGE + 1 + 2
    named = {**plain, "name": "Alice"}
    assert count_message(counter, named) == count_message(counter, plain) + counter.count("Alice") + 1
    assert count_messages(counter, [plain, plain]) == 2 * count_message(counter, plain) + REPLY_PRIMING
    assert count_messages(counter, []) == REPLY_PRIMING


def test_count_message_parts_and_tool_calls(counter: TokenCounter) -> None:
    image = {
        "role": "user",
        "content": [
            {"type": "text", "text": "hello world"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/a.jpg"}},
        ],
    }
    assert count_message(counter, image) == TOKENS_PER_MESSAGE + 1 + 2 + IMAGE_TOKENS
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    }
    bigger = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1, "b": 2}'}}],
    }
    assert count_message(counter, bigger) > count_message(counter, call) > TOKENS_PER_MESSAGE
    result = {"role": "tool", "tool_call_id": "c1", "content": "ok"}
    assert count_message(counter, result) == TOKENS_PER_MESSAGE + counter.count("tool") + 1 + counter.count("c1")
