"""Property: the budget counts what is sent. Random extra fields (reasoning_content, refusal,
audio...), images (data URLs of random size, remote URLs with or without a given size, any
``detail``) and tool calls go in; the context's messages are recounted from the rendered
output by an independent count written here from the billing rules, not by memory.tokens.

Runs under the ``fresh`` hypothesis profile (tests/conftest.py): new examples on every run."""

from __future__ import annotations

import base64
import io
import json
import math
import tempfile
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from memory import Memory
from memory.embedders import Embedder
from memory.errors import BudgetTooSmall
from memory.tokens import BpeOpenAICounter
from tests.memory.helpers import assert_valid_chat

pytestmark = pytest.mark.fake_embedder  # counting what is sent: the model is not the point
WORDS = ["Lisbon", "hotel", "price", "129", "EUR", "Casa", "Azul", "weather", "Porto", "train", "the", "a", "é", "🍞"]
EXTRA_KEYS = ["reasoning_content", "refusal", "audio", "annotations", "x_vendor"]
SESSION = "s"


def _tokens(counter: BpeOpenAICounter, text: str) -> int:
    return len(counter.encode(text)) if text else 0


def _tile_rule(width: int, height: int, detail: str | None) -> int:
    """OpenAI's vision pricing, as its guide states it, in exact fractions."""
    if detail == "low":
        return 85
    w, h = Fraction(width), Fraction(height)
    if max(w, h) > 2048:
        f = Fraction(2048) / max(w, h)
        w, h = w * f, h * f
    if min(w, h) > 768:
        f = Fraction(768) / min(w, h)
        w, h = w * f, h * f
    return 85 + 170 * math.ceil(math.ceil(w) / 512) * math.ceil(math.ceil(h) / 512)


def _image_cost(part: dict[str, Any], given_sizes: dict[str, tuple[int, int]]) -> int:
    url, detail = part["image_url"]["url"], part["image_url"].get("detail")
    if detail == "low":
        return 85
    if url.startswith("data:image/"):
        raw = base64.b64decode(url.split(",", 1)[1])
        with Image.open(io.BytesIO(raw)) as img:
            return _tile_rule(*img.size, detail)
    if url in given_sizes:  # width/height were given with the part (turnmem fields, not sent)
        return _tile_rule(*given_sizes[url], detail)
    return 85 + 170 * 8  # unknown size: the most any image can cost


def recount(counter: BpeOpenAICounter, messages: list[dict[str, Any]], sizes: dict[str, tuple[int, int]]) -> int:
    """Every field of every rendered message, priced independently of memory.tokens."""
    total = 3  # reply priming
    for m in messages:
        total += 3
        for key, value in m.items():
            if key == "role":
                total += _tokens(counter, value)
            elif key == "content":
                if isinstance(value, str):
                    total += _tokens(counter, value)
                elif isinstance(value, list):
                    for part in value:
                        total += _tokens(counter, part["text"]) if part["type"] == "text" else _image_cost(part, sizes)
            elif key == "name":
                total += _tokens(counter, value) + 1
            elif key == "tool_calls":
                for call in value:
                    fn = call["function"]
                    total += 6 + sum(_tokens(counter, s) for s in (call["id"], fn["name"], fn["arguments"]))
            elif key == "tool_call_id":
                total += _tokens(counter, value)
            else:
                as_text = (
                    value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                )
                total += _tokens(counter, key) + _tokens(counter, as_text)
    return total


def _png(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join)
extra_values = st.one_of(
    texts,
    st.lists(texts, max_size=3),
    st.dictionaries(st.sampled_from(["id", "type", "data"]), texts, max_size=3),
    st.integers(-5, 10**6),
    st.booleans(),
)


@st.composite
def images(draw: Any, counter: list[int]) -> dict[str, Any]:
    counter[0] += 1
    detail = draw(st.sampled_from([None, "low", "high", "auto"]))
    kind = draw(st.sampled_from(["data", "sized", "unknown"]))
    width, height = draw(st.integers(1, 4200)), draw(st.integers(1, 4200))
    url = _png(width, height) if kind == "data" else f"https://img.example.invalid/{counter[0]}.jpg"
    part: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}, "caption": draw(texts)}
    if detail is not None:
        part["image_url"]["detail"] = detail
    if kind == "sized":
        part["width"], part["height"] = width, height
    return part


@st.composite
def conversations(draw: Any) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    image_no = [0]
    call_no = 0
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["text", "text", "image", "tool"]))
        extras = draw(st.dictionaries(st.sampled_from(EXTRA_KEYS), extra_values, max_size=2))
        if kind == "tool":
            ids = [
                f"call_{call_no + i}_{draw(st.text('abcXYZ09', max_size=12))}" for i in range(draw(st.integers(1, 2)))
            ]
            call_no += len(ids)
            calls = [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": "search", "arguments": json.dumps({"q": draw(texts)})},
                }
                for cid in ids
            ]
            batch = [{"role": "assistant", "content": None, "tool_calls": calls, **extras}]
            batch += [{"role": "tool", "tool_call_id": cid, "content": draw(texts)} for cid in ids]
        elif kind == "image":
            parts = [{"type": "text", "text": draw(texts)}, *draw(st.lists(images(image_no), min_size=1, max_size=2))]
            batch = [{"role": "user", "content": parts, **extras}]
        else:
            role = draw(st.sampled_from(["user", "assistant"]))
            name = draw(st.one_of(st.none(), st.sampled_from(["alice", "bob_2"])))
            batch = [{"role": role, "content": draw(texts), **extras, **({"name": name} if name else {})}]
        batches.append(batch)
    return batches


def _given_sizes(batches: list[list[dict[str, Any]]]) -> dict[str, tuple[int, int]]:
    return {
        p["image_url"]["url"]: (p["width"], p["height"])
        for batch in batches
        for m in batch
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p["type"] == "image_url" and "width" in p
    }


@settings(
    settings.get_profile("fresh"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    batches=conversations(),
    budgets=st.lists(st.integers(min_value=30, max_value=6000), min_size=1, max_size=3),
    query=st.one_of(st.none(), st.sampled_from(["hotel price", "Casa Azul", "weather in Porto"])),
    text_only=st.booleans(),
)
def test_context_tokens_are_what_is_sent(
    memory_embedder: Embedder,
    batches: list[list[dict[str, Any]]],
    budgets: list[int],
    query: str | None,
    text_only: bool,
) -> None:
    sizes = _given_sizes(batches)
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory.open(tmp, embedder=memory_embedder)
        try:
            counter = mem.counter
            assert isinstance(counter, BpeOpenAICounter)
            for batch in batches:
                mem.add(batch, session=SESSION)
            for budget in budgets:
                try:
                    ctx = mem.assemble(query, session=SESSION, budget=budget, text_only=text_only)
                except BudgetTooSmall:
                    continue
                assert ctx.tokens <= budget
                assert ctx.tokens == recount(counter, ctx.messages, sizes)
                assert_valid_chat(ctx.messages)
        finally:
            mem.close()
