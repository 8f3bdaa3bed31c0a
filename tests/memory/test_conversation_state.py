"""Tool-call lifecycle, facts that live only in a huge tool output or an image caption, text-only
contexts, and rolling summaries (extractive and LLM, under concurrency)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from memory.embedders import Embedder
from memory.errors import UpstreamError
from memory.memory import Memory
from memory.session.summaries import ChatSummarizer, RollingSummary
from tests.fakes import FakeOpenAI, serve
from tests.memory.helpers import assert_valid_chat

# tool-call states and summaries on the fake embedder (unit tier); the tests that a fact comes back
# from a tool output, a caption or a file take the real MiniLM
pytestmark = pytest.mark.fake_embedder


def _call(cid: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}],
    }


def _result(cid: str, content: str, error: bool = False) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "tool", "tool_call_id": cid, "content": content}
    if error:
        msg["metadata"] = {"is_error": True}
    return msg


def _filler(mem: Memory, n: int, session: str = "s") -> None:
    mem.add(
        [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": f"chat line {i} about gardening and tomato plants",
            }
            for i in range(n)
        ],
        session=session,
    )


def test_tool_call_lifecycle(mem: Memory) -> None:
    mem.add(
        [{"role": "user", "content": "weather in Porto, then book a table"}, _call("c1", "weather", {"city": "Porto"})],
        session="s",
    )
    mem.add([_result("c1", "timeout", error=True), _call("c2", "weather", {"city": "Porto"})], session="s")
    mem.add([_result("c2", '{"temp": 21}'), _call("c3", "book", {"place": "Lulu"})], session="s")
    states = {s.id: s for s in mem.tool_calls("s")}
    assert [s.id for s in mem.tool_calls("s")] == ["c1", "c2", "c3"]
    assert (states["c1"].status, states["c1"].retried_by) == ("retried", "c2")
    assert states["c2"].status == "completed" and states["c2"].result_seq == 5
    assert states["c3"].status == "pending" and states["c3"].result_seq is None and states["c3"].name == "book"
    ctx = mem.assemble("weather", session="s", budget=500)
    assert [r.seq for r in ctx.pending_tool_calls] == [6]  # reported so the app can resolve it
    assert all(not m.get("tool_calls") or m["tool_calls"][0]["id"] != "c3" for m in ctx.messages)
    assert_valid_chat(ctx.messages)
    mem.add([_result("c3", "booking failed", error=True)], session="s")
    assert mem.tool_calls("s")[-1].status == "error"  # failed, not retried (yet)


def test_a_fact_inside_a_5000_token_tool_output_comes_back_with_its_call(
    open_memory: Callable[..., Memory], embedder: Embedder
) -> None:
    mem = open_memory(embedder=embedder)
    records = [
        {
            "order_id": f"ORD-{40000 + i}",
            "customer": f"customer {i}",
            "status": "delivered",
            "items": ["mug", "pen"],
            "note": "left at the door",
        }
        for i in range(120)
    ]
    records[77] = {**records[77], "status": "lost in transit", "note": "carrier ticket TK-5531"}
    output = json.dumps(records)
    assert mem.counter.count(output) > 5000
    mem.add(
        [{"role": "user", "content": "List all orders"}, _call("c1", "list_orders", {}), _result("c1", output)],
        session="s",
    )
    _filler(mem, 60)
    ctx = mem.assemble("What happened to order ORD-40077?", session="s", budget=500)
    assert ctx.tokens <= 500
    assert_valid_chat(ctx.messages)
    i = next(k for k, m in enumerate(ctx.messages) if m.get("tool_calls"))
    assert ctx.messages[i]["tool_calls"][0]["function"]["name"] == "list_orders"
    assert "TK-5531" in ctx.messages[i + 1]["content"] and "lost in transit" in ctx.messages[i + 1]["content"]
    assert mem.counter.count(ctx.messages[i + 1]["content"]) < 400  # the record, not the whole output


def test_a_fact_only_in_an_image_caption(open_memory: Callable[..., Memory], embedder: Embedder) -> None:
    mem = open_memory(embedder=embedder)
    url = "https://x.invalid/whiteboard.jpg"
    mem.add(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "photo from today's meeting"},
                    {
                        "type": "image_url",
                        # low detail: 85 tokens (a remote image of unknown size at high detail
                        # counts 1,445 and could not fit this 250-token budget)
                        "image_url": {"url": url, "detail": "low"},
                        "caption": "whiteboard listing the launch date as 14 October and budget code BX-72",
                    },
                ],
            },
            {"role": "assistant", "content": "Thanks, saved it."},
        ],
        session="s",
    )
    _filler(mem, 60)
    ctx = mem.assemble("What is the budget code on the whiteboard?", session="s", budget=250)
    image_msgs = [m for m in ctx.messages if isinstance(m.get("content"), list)]
    assert image_msgs and image_msgs[0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": url, "detail": "low"},
    }  # the original part
    text_ctx = mem.assemble("What is the budget code on the whiteboard?", session="s", budget=250, text_only=True)
    assert any("BX-72" in str(m.get("content")) and isinstance(m.get("content"), str) for m in text_ctx.messages)
    assert not any(isinstance(m.get("content"), list) for m in text_ctx.messages)
    assert text_ctx.tokens <= 250


def test_a_text_file_is_searchable_by_its_content(open_memory: Callable[..., Memory], embedder: Embedder) -> None:
    mem = open_memory(embedder=embedder)
    data = "data:text/plain;base64," + base64.b64encode(b"Gate code for the warehouse: 8812.").decode()
    mem.add(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "notes attached"},
                    {"type": "file", "file": {"filename": "notes.txt", "file_data": data}},
                ],
            }
        ],
        session="s",
    )
    hit = mem.search("warehouse gate code", k=1)[0]
    assert "8812" in hit.text and "notes.txt" in hit.text


def test_rolling_summary_is_indexed_and_the_raw_turns_stay(open_memory: Any) -> None:
    mem = open_memory("rolling", rolling_summary=RollingSummary(every=40, keep_last=10, max_tokens=300))
    for i in range(30):
        mem.add([{"role": "user", "content": f"day {i}: I watered the tomato plants again"}], session="s")
    mem.add([{"role": "user", "content": "My locker at the gym is number 318, code 4471."}], session="s")
    for i in range(30, 90):
        mem.add([{"role": "user", "content": f"day {i}: the basil is growing fast"}], session="s")
    mem.flush()  # summaries are made by the background indexer, after the write that made them due
    summaries = mem.summaries("s")
    assert len(summaries) >= 1
    spans = [(s.metadata["summary_of"]["from_seq"], s.metadata["summary_of"]["to_seq"]) for s in summaries]
    assert spans[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:]))  # a gap-free chain
    assert spans[-1][1] <= mem.last_seq("s") - 10  # the recent turns are not summarized
    assert any("318" in str(s.content) for s in summaries)  # the informative turn made it in
    assert len(mem.since("s")) == 91  # the raw turns stay in the log
    hits = mem.search("gym locker number", k=5)
    assert any(h.session == "s::summaries" for h in hits)


def test_concurrent_summarizers_store_one_summary_per_range(mem: Memory) -> None:
    _filler(mem, 120)
    results: list[Any] = []

    def worker() -> None:
        results.append(mem.summarize("s", keep_last=20, min_turns=30))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summaries = mem.summaries("s")
    assert len(summaries) == 1
    assert summaries[0].metadata["summary_of"] == {"session": "s", "from_seq": 1, "to_seq": 100}
    assert sum(r is not None for r in results) >= 1
    assert mem.summarize("s", keep_last=20, min_turns=30) is None  # nothing new to summarize


def test_llm_summarizer_on_a_fake_endpoint_and_its_failure_stores_nothing(mem: Memory) -> None:
    _filler(mem, 40)
    fake = FakeOpenAI(reply=lambda body: "The user grows tomatoes and basil.")
    with serve(fake.app) as url:
        summary = mem.summarize(
            "s", keep_last=5, min_turns=10, summarizer=ChatSummarizer("m", base_url=url + "/v1", api_key="k")
        )
    assert summary is not None and summary.content.endswith("The user grows tomatoes and basil.")
    assert "chat line 0 about gardening" in fake.requests[0]["messages"][1]["content"]
    _filler(mem, 40)
    broken = FakeOpenAI(status=503)
    with serve(broken.app) as url, pytest.raises(UpstreamError, match="503"):
        mem.summarize("s", keep_last=5, min_turns=10, summarizer=ChatSummarizer("m", base_url=url + "/v1", api_key="k"))
    assert len(mem.summaries("s")) == 1
