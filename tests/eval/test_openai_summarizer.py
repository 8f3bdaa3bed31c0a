from __future__ import annotations

from collections.abc import Iterator

import pytest

from eval.strategies import StrategyInput, get_strategy
from eval.summarize import ExtractiveSummarizer, OpenAISummarizer
from memory import Memory, UpstreamError
from memory.embedders import Embedder
from memory.models import MessageRef
from tests.fakes import FakeOpenAI, serve

NS = "conv"


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Memory]:
    mem = Memory.open(tmp_path_factory.mktemp("summ"), embedder=embedder)
    mem.add(
        [
            {"role": "user", "content": "My sister Priya moved to Porto in 2019 and she loves the river."},
            {"role": "assistant", "content": "Porto is lovely, especially along the Douro."},
        ],
        session="s1",
        namespace=NS,
    )
    for s in range(2, 6):
        mem.add(
            [{"role": "user", "content": f"Small talk number {s}.{i} about the weather and lunch."} for i in range(10)],
            session=f"s{s}",
            namespace=NS,
        )
    yield mem
    mem.close()


def test_openai_summarizer_against_fake_server(memory: Memory) -> None:
    quoted = "My sister Priya moved to Porto in 2019 and she loves the river."
    fake = FakeOpenAI(reply=lambda body: f"Key facts: {quoted}")
    with serve(fake.app) as url:
        summ = OpenAISummarizer("fake-model", base_url=f"{url}/v1", api_key="sk-test")
        strat = get_strategy("summary", summarizer=summ)
        out = strat.build(StrategyInput(memory=memory, namespace=NS, query="where does Priya live?", budget=300))
        again = strat.build(StrategyInput(memory=memory, namespace=NS, query="other question", budget=300))
    assert len(fake.requests) == 1  # cached per (namespace, window, budget)
    body = fake.requests[0]
    assert body["model"] == "fake-model"
    assert body["messages"][0]["role"] == "system" and "Priya" in body["messages"][1]["content"]
    assert fake.headers[0]["authorization"] == "Bearer sk-test"
    assert out.messages[0]["role"] == "system" and quoted in out.messages[0]["content"]
    assert MessageRef(namespace=NS, session="s1", seq=1) in out.present  # quoted verbatim: covered
    assert out.tokens <= 300 and again.tokens <= 300


def test_openai_summarizer_error_is_clear(memory: Memory) -> None:
    fake = FakeOpenAI(status=500)
    with serve(fake.app) as url:
        summ = OpenAISummarizer("fake-model", base_url=f"{url}/v1", api_key="k")
        with pytest.raises(UpstreamError, match="500"):
            summ.summarize(memory, NS, exclude=set(), max_tokens=200)


def test_extractive_summary_within_budget(memory: Memory) -> None:
    summ = ExtractiveSummarizer()
    s = summ.summarize(memory, NS, exclude=set(), max_tokens=120)
    assert s.text and memory.counter.count(s.text) <= 120
    assert s.covered and all(r.namespace == NS for r in s.covered)
    assert summ.summarize(memory, NS, exclude=set(), max_tokens=5).text == ""
