from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory.models import parse_message
from memory.tokens import TokenCounter, get_counter
from memory.write.chunking import Chunker

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


@pytest.mark.parametrize(("sep", "max_tokens"), [("\n\n", 121), ("\n", 121), ("\n\n", 200)])
def test_small_paragraphs_are_packed_whole(counter: TokenCounter, sep: str, max_tokens: int) -> None:
    # Paragraphs of 40 tokens ending in a word: the separator costs a token of its own
    # between two of them, so three need 122 tokens, not 120.
    paras = [f"Para {i} " + " ".join(["fox"] * 37) for i in range(12)]
    assert {counter.count(p) for p in paras} == {40}
    text = sep.join(paras)
    pieces = Chunker(counter, max_tokens=max_tokens).split(parse_message({"role": "user", "content": text}))
    assert all(p.tokens <= max_tokens for p in pieces)
    # Every piece is whole paragraphs: no paragraph is cut, none is left as a scrap.
    for p in pieces:
        got = p.text.split(sep)
        assert all(g in paras for g in got), [g[:20] for g in got if g not in paras]
        assert len(got) >= 2  # two 40-token paragraphs always fit together
    assert [q for p in pieces for q in p.text.split(sep)] == paras
    # As few pieces as whole paragraphs allow.
    per_piece = max(k for k in range(1, 13) if counter.count(sep.join(paras[:k])) <= max_tokens)
    assert len(pieces) == -(-12 // per_piece)


def test_lines_and_sentences_when_no_paragraphs(counter: TokenCounter) -> None:
    sentences = [f"Sentence number {i} talks about the harbour in Porto." for i in range(40)]
    text = " ".join(sentences)
    pieces = Chunker(counter, max_tokens=60).split(parse_message({"role": "user", "content": text}))
    assert len(pieces) > 3 and all(p.tokens <= 60 for p in pieces)
    for p in pieces:  # cut between sentences, never inside one
        assert p.text.startswith("Sentence number") and p.text.endswith("Porto.")
    assert " ".join(p.text for p in pieces) == text


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


words = st.sampled_from(["alpha", "beta", "Lisbon", "129", "EUR", "naïve", "🙂", "x" * 40, "end.", "São", "日本語"])
seps = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "\t", "  "])
texts = st.lists(st.tuples(words, seps), min_size=1, max_size=400).map(lambda xs: "".join(w + s for w, s in xs))
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=2000)


def check_pieces(text: str, max_tokens: int, role: str = "user") -> None:
    msg = {"role": role, "content": text} if role != "tool" else {"role": "tool", "tool_call_id": "c", "content": text}
    pieces = Chunker(COUNTER, max_tokens=max_tokens).split(parse_message(msg))
    assert pieces
    assert all(p.tokens <= max_tokens for p in pieces)
    assert all(p.tokens == COUNTER.count(p.text) for p in pieces)
    if text.strip():
        assert all(p.text.strip() for p in pieces)  # no empty pieces
        # Nothing is lost: the pieces hold every non-whitespace character, in order.
        assert _squash("".join(p.text for p in pieces)) == _squash(text)


@settings(max_examples=60, deadline=None)
@given(text=texts, max_tokens=st.integers(min_value=8, max_value=120))
def test_property_prose_pieces_bounded_and_lossless(text: str, max_tokens: int) -> None:
    check_pieces(text, max_tokens)


@settings(max_examples=60, deadline=None)
@given(text=any_text, max_tokens=st.integers(min_value=8, max_value=60))
def test_property_any_text_bounded_and_lossless(text: str, max_tokens: int) -> None:
    check_pieces(text, max_tokens)


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=120))
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=25), st.dictionaries(st.text(max_size=12), inner, max_size=12)),
    max_leaves=200,
)


@settings(max_examples=60, deadline=None)
@given(data=json_values, max_tokens=st.integers(min_value=8, max_value=100))
def test_property_json_tool_output_bounded(data: object, max_tokens: int) -> None:
    text = json.dumps(data)
    pieces = Chunker(COUNTER, max_tokens=max_tokens).split(
        parse_message({"role": "tool", "tool_call_id": "c", "content": text})
    )
    assert pieces and all(p.kind == "tool_result" for p in pieces)
    assert all(p.tokens <= max_tokens and p.tokens == COUNTER.count(p.text) for p in pieces)
    if isinstance(data, list) and data and all(isinstance(x, int) and not isinstance(x, bool) for x in data):
        # Records are never cut: each number appears whole, once, in order.
        found = [int(n) for p in pieces for n in re.findall(r"-?\d+", p.text)]
        assert found == data


# -- bounded work: a hard cut encodes the text once ------------------------------------------

LOCOMO = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo10.json"


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class _TallyEncoding:
    """Wraps a bpe-openai encoding and adds up the characters it is asked to encode."""

    def __init__(self, enc: object) -> None:
        self.enc = enc
        self.chars = 0

    def encode_ordinary(self, text: str) -> list[int]:
        self.chars += len(text)
        return self.enc.encode_ordinary(text)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.enc, name)


def _chars_encoded(text: str, max_tokens: int = 200) -> int:
    from memory.tokens import BpeOpenAICounter

    counter = BpeOpenAICounter()
    tally = _TallyEncoding(counter._enc)
    counter._enc = tally  # type: ignore[assignment]
    pieces = Chunker(counter, max_tokens=max_tokens).split(parse_message({"role": "user", "content": text}))
    assert _squash("".join(p.text for p in pieces)) == _squash(text)
    assert all(p.tokens <= max_tokens for p in pieces)
    return tally.chars


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(n)),  # CJK, no spaces
        lambda n: "".join(_B64[(i * 31) % 64] for i in range(n)),
        lambda n: "word " * (n // 5),
    ],
    ids=["cjk", "base64", "words"],
)
def test_a_hard_cut_is_linear_in_the_text(make: object) -> None:
    """Chunking 10x the text encodes about 10x the characters (re-encoding the rest at every cut
    made it 100x: 39 s for 200k CJK characters)."""
    small, big = _chars_encoded(make(4_000)), _chars_encoded(make(40_000))  # type: ignore[operator]
    assert big <= 14 * small, (small, big)
    assert big <= 12 * 40_000  # a few passes over the text, not one per piece


def test_a_counter_without_pieces_is_cut_linearly_too() -> None:
    """A custom counter with only count/truncate: cut over windows, not over all the rest."""
    from memory.tokens import token_pieces

    inner = get_counter("o200k_base")
    seen = [0]

    class Plain:
        name = "plain"

        def count(self, text: str) -> int:
            seen[0] += len(text)
            return inner.count(text)

        def count_batch(self, texts: list[str]) -> list[int]:
            return [self.count(t) for t in texts]

        def truncate(self, text: str, max_tokens: int) -> str:
            seen[0] += len(text)
            return inner.truncate(text, max_tokens)

    def cost(n: int) -> int:
        seen[0] = 0
        text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(n))
        pieces = token_pieces(Plain(), text, 64)
        assert "".join(pieces) == text and all(inner.count(p) <= 64 for p in pieces)
        return seen[0]

    assert cost(40_000) <= 14 * cost(4_000)


@pytest.mark.parametrize("name", ["o200k_base", "minilm"])
def test_pieces_join_to_the_text_and_fit(name: str) -> None:
    counter = get_counter(name)
    for text in ["é" * 999, "👍🏽" * 300, "x" * 5000, "a  b\n\n c " * 300, "  lead and trail  " * 50]:
        pieces = counter.pieces(text, 16)  # type: ignore[attr-defined]
        assert "".join(pieces) == text
        assert all(counter.count(p) <= 16 for p in pieces)
        assert "".join(counter.pieces(text, 1)) == text  # a character worth more than 1 token stays whole


def test_chunks_of_locomo_are_unchanged() -> None:
    """The chunks of a LoCoMo conversation, as turns and as whole sessions (paragraphs, lines, one
    line, one line without sentence ends: hard cuts, and JSON), are the ones chunking made before
    hard cuts became linear: the eval's ingested stores stay the same."""
    import hashlib

    data = json.loads(LOCOMO.read_text())
    conv = data[0]["conversation"]
    texts: list[str] = []
    for key in sorted((k for k in conv if re.fullmatch(r"session_\d+", k)), key=lambda k: k):
        turns = [t["text"] for t in conv[key]]
        texts += [*turns, "\n\n".join(turns), "\n".join(turns), " ".join(turns)]
        texts += [re.sub(r"[.!?\n]", "", " ".join(turns)), json.dumps(conv[key])]
    digests = {}
    for max_tokens in (200, 64):
        h = hashlib.sha256()
        for t in texts:
            for p in Chunker(COUNTER, max_tokens=max_tokens).split_text(t):
                h.update(p.encode() + b"\0")
            h.update(b"\1")
        digests[max_tokens] = h.hexdigest()
    assert digests == {
        200: "001f1834ffe2bfa68f7234368b5ca618bf5d9eecacabdf0f244f7e548021d2fd",
        64: "9a78aa7cf1197fec6a905c53589304dc4aa3bc4c0b75585cbc76452e63d73b73",
    }


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(st.sampled_from('ab 世界é👍\n.,{}[]"x0'), max_size=400) | st.text(max_size=200),
    max_tokens=st.integers(8, 40),
    name=st.sampled_from(["o200k_base", "minilm"]),
)
def test_pieces_of_any_text_join_to_it_and_fit(text: str, max_tokens: int, name: str) -> None:
    counter = get_counter(name)
    pieces = counter.pieces(text, max_tokens)  # type: ignore[attr-defined]
    assert "".join(pieces) == text
    assert all(counter.count(p) <= max_tokens for p in pieces)
