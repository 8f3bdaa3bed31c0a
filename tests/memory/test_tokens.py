from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory.errors import InvalidArgument
from memory.tokens import (
    IMAGE_TOKENS,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    TOOL_CALL_OVERHEAD,
    BpeOpenAICounter,
    HFTokenizerCounter,
    TokenCounter,
    count_message,
    count_messages,
    get_counter,
)

O200K = get_counter("o200k_base")

# The OpenAI cookbook's "How to count tokens with tiktoken" example, with the prompt_tokens
# the chat API reported for it: 124 for gpt-4o / gpt-4o-mini (o200k_base), 129 for gpt-4
# and gpt-3.5-turbo (cl100k_base).
pytestmark = pytest.mark.fake_embedder  # counting (the memories here too): the model is not the point
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon into "
        "plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for "
        "increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]


def test_o200k_exact_counts(counter: TokenCounter) -> None:
    assert isinstance(counter, BpeOpenAICounter)
    assert counter.name == "o200k_base"
    assert counter.count("hello world") == 2
    assert counter.count("") == 0
    assert counter.count_batch(["hello world", "hello", ""]) == [2, 1, 0]


def test_cl100k_exact_counts_and_cached() -> None:
    cl = get_counter("cl100k_base")
    assert cl.name == "cl100k_base"
    assert cl.count("tiktoken is great!") == 6  # ["t", "ik", "token", " is", " great", "!"]
    assert get_counter("cl100k_base") is cl


@pytest.mark.parametrize(("encoding", "api_prompt_tokens"), [("o200k_base", 124), ("cl100k_base", 129)])
def test_count_messages_matches_the_api_on_the_cookbook_example(encoding: str, api_prompt_tokens: int) -> None:
    assert count_messages(get_counter(encoding), COOKBOOK_MESSAGES) == api_prompt_tokens


@pytest.mark.parametrize("marker", ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>"])
def test_special_token_text_counts_as_plain_text(counter: BpeOpenAICounter, marker: str) -> None:
    text = f"before {marker} after"
    n = counter.count(text)  # no error: user text may contain these strings
    assert n == len(counter.encode(text))
    special = counter._enc.special_tokens_set  # the ids the API reserves
    special_ids = {counter._enc.encode_single_token(s) for s in special}
    assert not special_ids & set(counter.encode(text))
    # The marker costs what its characters cost, several ordinary tokens, not one.
    assert counter.count(marker) > 1
    assert n == counter.count("before") + counter.count(f" {marker}") + counter.count(" after")
    assert counter.truncate(text, 100) == text


def test_huge_text_is_counted_in_segments(counter: TokenCounter) -> None:
    n = 250_000
    text = "word " * n  # 1.25M characters: above bpe-openai's 1M-character limit per call
    # "word", then n-1 times " word", then the trailing " ": exactly n + 1 tokens, the same
    # as for any smaller n; segmenting must not change the count.
    assert counter.count("word " * 7) == 8
    assert counter.count(text) == n + 1
    cut = counter.truncate(text, 1000)
    assert text.startswith(cut) and counter.count(cut) == 1000


def test_huge_text_of_multi_token_characters(counter: TokenCounter) -> None:
    # One Egyptian hieroglyph is 4 bytes and several tokens: 120k of them are far above
    # bpe-openai's 200k-token limit per call, though under its character limit.
    glyph = "\U00013000"
    per = counter.count(glyph)
    assert per > 1
    assert counter.count(glyph * 10) == 10 * per
    assert counter.count(glyph * 120_000) == 120_000 * per
    # Mixed with words: every unit starts a new pre-token (" w..."), so the total is the
    # sum of the units' counts exactly, wherever the segments are cut.
    units = [f" w{i}" + glyph * 40 for i in range(3000)]
    assert counter.count("x" + "".join(units)) == counter.count("x") + sum(counter.count_batch(units))
    cut = counter.truncate(glyph * 120_000, 9)
    assert cut == glyph * (9 // per)


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
    assert counter.truncate("", 5) == ""


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300), limit=st.integers(0, 60))
def test_property_truncate_prefix_within_limit(text: str, limit: int) -> None:
    for c in (O200K, get_counter("minilm")):
        cut = c.truncate(text, limit)
        assert text.startswith(cut)
        assert c.count(cut) <= limit
        if c.count(text) <= limit:
            assert cut == text


def test_hf_tokenizer_counter_minilm() -> None:
    c = get_counter("minilm")
    assert isinstance(c, HFTokenizerCounter)
    assert c.name == "minilm"
    assert c.count("hello world") == 2  # WordPiece, no [CLS]/[SEP]
    text = "unbelievably long words get split into wordpieces"
    assert c.count(text) > len(text.split())
    cut = c.truncate(text, 3)
    assert text.startswith(cut) and c.count(cut) == 3
    assert c.count_batch(["hello world", "", text]) == [2, 0, c.count(text)]


def test_hf_counter_from_a_path_and_missing_file(tmp_path) -> None:  # noqa: ANN001
    from memory.embedders import bundled_model_path

    c = get_counter(f"hf:{bundled_model_path()}")
    assert c.name.startswith("hf:") and c.count("hello world") == 2
    with pytest.raises(InvalidArgument) as err:
        HFTokenizerCounter(tmp_path)
    assert err.value.field == "counter"


def test_unknown_encoding_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        BpeOpenAICounter("no_such_encoding")
    assert err.value.field == "counter"
    assert "o200k_base" in str(err.value)  # says what would work
    with pytest.raises(InvalidArgument):
        get_counter("")


def test_count_message_overheads(counter: TokenCounter) -> None:
    plain = {"role": "user", "content": "hello world"}
    # 3 framing + "user" (1) + "hello world" (2)
    assert TOKENS_PER_MESSAGE == 3 and REPLY_PRIMING == 3 and TOKENS_PER_NAME == 1
    assert count_message(counter, plain) == 3 + 1 + 2
    named = {**plain, "name": "Alice"}
    assert count_message(counter, named) == count_message(counter, plain) + counter.count("Alice") + 1
    assert count_messages(counter, [plain, plain]) == 2 * count_message(counter, plain) + 3
    assert count_messages(counter, []) == 3
    # turnmem's own fields are not part of what is sent, and a None content costs nothing.
    assert count_message(counter, {"role": "assistant", "content": None}) == 3 + counter.count("assistant")


def test_count_message_parts(counter: TokenCounter) -> None:
    image = {
        "role": "user",
        "content": [
            {"type": "text", "text": "hello world"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/a.jpg"}},
        ],
    }
    assert IMAGE_TOKENS == 85
    # A remote image of unknown size costs the stated upper bound (see test_images.py).
    assert count_message(counter, image) == 3 + 1 + 2 + 1445
    two_images = {**image, "content": [*image["content"], image["content"][1]]}
    assert count_message(counter, two_images) == count_message(counter, image) + 1445
    file_with_text = {"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}, "text": "hello world"}]}
    assert count_message(counter, file_with_text) == 3 + 1 + 2
    file_bare = {"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}
    assert count_message(counter, file_bare) == 3 + 1 + 85


def test_count_message_tool_calls_and_results(counter: TokenCounter) -> None:
    def fn(name: str, args: str, cid: str = "c1") -> dict:
        return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}

    one = {"role": "assistant", "content": None, "tool_calls": [fn("search_hotels", '{"city": "Lisbon"}')]}
    base = 3 + counter.count("assistant")
    assert TOOL_CALL_OVERHEAD == 6
    assert count_message(counter, one) == base + 6 + counter.count("c1") + counter.count(
        "search_hotels"
    ) + counter.count('{"city": "Lisbon"}')
    two = {**one, "tool_calls": [*one["tool_calls"], fn("weather", '{"city": "Faro"}', "c2")]}
    assert count_message(counter, two) == count_message(counter, one) + 6 + counter.count("c2") + counter.count(
        "weather"
    ) + counter.count('{"city": "Faro"}')
    # The call id is sent, so it is paid for: a long id costs more.
    long_id = {**one, "tool_calls": [fn("search_hotels", '{"city": "Lisbon"}', "call_" + "x" * 40)]}
    assert count_message(counter, long_id) > count_message(counter, one)
    with_text = {**one, "content": "Let me look."}
    assert count_message(counter, with_text) == count_message(counter, one) + counter.count("Let me look.")
    result = {"role": "tool", "tool_call_id": "call_abc123", "content": "sunny"}
    assert count_message(counter, result) == 3 + counter.count("tool") + counter.count("sunny") + counter.count(
        "call_abc123"
    )


def test_every_extra_field_is_counted(counter: TokenCounter) -> None:
    """A provider field kept through the round trip (reasoning_content...) is sent, so it is paid for."""
    plain = {"role": "assistant", "content": "The answer is 4."}
    reasoning = "Let me think step by step about two plus two. " * 200
    with_reasoning = {**plain, "reasoning_content": reasoning}
    assert count_message(counter, with_reasoning) == count_message(counter, plain) + counter.count(
        "reasoning_content"
    ) + counter.count(reasoning)
    assert count_message(counter, with_reasoning) > 2000  # was 12: the field was ignored
    audio = {**plain, "audio": {"id": "audio_abc"}}
    assert count_message(counter, audio) == count_message(counter, plain) + counter.count("audio") + counter.count(
        '{"id":"audio_abc"}'
    )


def test_a_context_counts_reasoning_content(open_memory) -> None:  # noqa: ANN001
    """The issue's case: a long reasoning_content went out in a 6,021-token context under a 100-token budget."""
    mem = open_memory()
    reasoning = "Weighing the options for the Lisbon hotel booking carefully. " * 300
    mem.add(
        [
            {"role": "user", "content": "Which hotel?"},
            {"role": "assistant", "content": "Casa Azul.", "reasoning_content": reasoning},
            {"role": "user", "content": "Thanks."},
        ],
        session="s",
    )
    ctx = mem.assemble("hotel", session="s", budget=100)
    assert ctx.tokens <= 100
    assert ctx.tokens == count_messages(mem.counter, ctx.messages)
    assert all("reasoning_content" not in m for m in ctx.messages)  # too big for this budget
    big = mem.assemble("hotel", session="s", budget=10_000)
    sent = [m for m in big.messages if "reasoning_content" in m]
    assert sent and big.tokens == count_messages(mem.counter, big.messages) <= 10_000
    assert big.tokens > mem.counter.count(reasoning)


def test_a_log_counted_under_older_rules_is_recounted_on_open(open_memory) -> None:  # noqa: ANN001
    mem = open_memory("old")
    mem.add([{"role": "assistant", "content": "ok", "reasoning_content": "long thoughts " * 500}], session="s")
    row = next(iter(mem.store.iter_message_rows()))
    # What the old rules stored: the extra field ignored, the counter's name alone as its identity.
    mem.store.update_message_tokens({row.id: count_message(mem.counter, {"role": "assistant", "content": "ok"})})
    mem.store.set_meta("counter", mem.counter.name)
    mem.close()
    again = open_memory("old")
    ctx = again.assemble(None, session="s", budget=200)
    assert ctx.tokens <= 200 and ctx.messages == []  # 1,000+ tokens of reasoning cannot fit


def test_an_inline_text_file_costs_its_text(open_memory) -> None:  # noqa: ANN001
    """The file is sent whole, so its text is paid for (it used to count 85 tokens whatever its size)."""
    import base64

    mem = open_memory()
    body = "line of the server log: GET /v1/items 200 12ms\n" * 400
    url = "data:text/plain;base64," + base64.b64encode(body.encode()).decode()
    part = {"type": "file", "file": {"filename": "server.log", "file_data": url}}
    mem.add([{"role": "user", "content": [{"type": "text", "text": "here is the log"}, part]}], session="s")
    mem.add([{"role": "assistant", "content": "Thanks, reading it."}], session="s")
    small = mem.assemble(None, session="s", budget=1000)
    assert [m["role"] for m in small.messages] == ["assistant"]  # the file does not fit 1000 tokens
    big = mem.assemble(None, session="s", budget=20_000)
    assert len(big.messages) == 2 and big.tokens > mem.counter.count(body)
