"""OpenAISummarizer against an OpenAI-compatible fake on 127.0.0.1 (FastAPI + uvicorn in a thread)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from eval.datasets import Conversation, Dataset, Question, Session, Turn
from eval.strategies import StrategyInput, get_strategy
from eval.summarize import OVERHEAD, OpenAISummarizer
from memory import Memory, UpstreamError
from memory.embedders import Embedder
from memory.models import MessageRef
from tests.fakes import FakeOpenAI, free_port, serve

NS = "conv"
PRIYA = "My sister Priya moved to Porto in 2019 and she loves the river."


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder) -> Iterator[Memory]:
    """On the fake embedder: the summarizer's requests and cuts do not depend on the model."""
    mem = Memory.open(tmp_path_factory.mktemp("summ"), embedder=fake_embedder)
    mem.add(
        [{"role": "user", "content": PRIYA}, {"role": "assistant", "content": "Porto is lovely along the Douro."}],
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


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_request_and_summary_used_by_the_summary_strategy(memory: Memory) -> None:
    fake = FakeOpenAI(reply=lambda body: f"Key facts: {PRIYA} The rest was small talk.")
    with serve(fake.app) as url:
        summ = OpenAISummarizer("fake-model", base_url=f"{url}/v1/", api_key="sk-test")
        strat = get_strategy("summary", summarizer=summ)
        out = strat.build(StrategyInput(memory=memory, namespace=NS, query="where does Priya live?", budget=300))
        again = strat.build(StrategyInput(memory=memory, namespace=NS, query="other question", budget=300))
    # One call: the summary is cached per (namespace, window, budget), the query plays no part.
    assert len(fake.requests) == 1
    body, headers = fake.requests[0], fake.headers[0]
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["content-type"] == "application/json"
    assert body["model"] == "fake-model" and body["temperature"] == 0
    system, user = body["messages"]
    assert system["role"] == "system" and "Summarize the conversation" in system["content"]
    assert user["role"] == "user" and PRIYA in user["content"]
    # The window's turns are not sent to be summarized; the older ones are.
    window = get_strategy("window").build(StrategyInput(memory=memory, namespace=NS, query="", budget=150))
    last = memory.store.all_messages(NS)[-1].message().text()
    assert window.present and last not in user["content"]
    room = 300 - window.tokens - 4
    assert body["max_tokens"] == room - OVERHEAD and f"At most {room - OVERHEAD} tokens" in system["content"]
    # The strategy puts the summary first, then the window.
    assert out.messages[0] == {"role": "system", "content": f"Key facts: {PRIYA} The rest was small talk."}
    assert out.messages[1:] == window.messages
    assert out.tokens <= 300 and again.messages == out.messages
    # A turn quoted verbatim counts as covered; a paraphrased one does not.
    assert MessageRef(namespace=NS, session="s1", seq=1) in out.present
    assert MessageRef(namespace=NS, session="s1", seq=2) not in out.present
    assert out.present - window.present == {MessageRef(namespace=NS, session="s1", seq=1)}


def test_long_summary_is_cut_to_the_room(memory: Memory) -> None:
    fake = FakeOpenAI(reply=lambda body: "blah " * 2000)
    with serve(fake.app) as url:
        summ = OpenAISummarizer("m", base_url=f"{url}/v1", api_key="k")
        s = summ.summarize(memory, NS, exclude=set(), max_tokens=100)
        out = get_strategy("summary", summarizer=summ).build(
            StrategyInput(memory=memory, namespace=NS, query="", budget=200)
        )
    assert memory.counter.count(s.text) <= 100 - OVERHEAD and s.covered == set()
    assert out.tokens <= 200 and out.messages[0]["role"] == "system"


def test_api_key_from_the_environment(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeOpenAI()
    with serve(fake.app) as url:
        OpenAISummarizer("m", base_url=f"{url}/v1").summarize(memory, NS, exclude=set(), max_tokens=50)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
        OpenAISummarizer("m", base_url=f"{url}/v1").summarize(memory, NS, exclude=set(), max_tokens=50)
    assert "authorization" not in fake.headers[0]  # no key, no header
    assert fake.headers[1]["authorization"] == "Bearer sk-env"


def test_nothing_to_summarize_makes_no_call(memory: Memory) -> None:
    fake = FakeOpenAI()
    everything = {MessageRef(namespace=NS, session=r.session, seq=r.seq) for r in memory.store.all_messages(NS)}
    with serve(fake.app) as url:
        summ = OpenAISummarizer("m", base_url=f"{url}/v1", api_key="k")
        assert summ.summarize(memory, NS, exclude=everything, max_tokens=200).text == ""
        assert summ.summarize(memory, NS, exclude=set(), max_tokens=OVERHEAD).text == ""  # no room
    assert fake.requests == []


def test_http_500_is_a_clear_error(memory: Memory) -> None:
    fake = FakeOpenAI(status=500)
    with serve(fake.app) as url:
        summ = OpenAISummarizer("fake-model", base_url=f"{url}/v1", api_key="k")
        with pytest.raises(UpstreamError, match=r"summarizer: .*/v1/chat/completions answered 500: .*boom"):
            summ.summarize(memory, NS, exclude=set(), max_tokens=200)
        # Through the strategy too: no silent fallback to an empty summary.
        with pytest.raises(UpstreamError, match="500"):
            get_strategy("summary", summarizer=summ).build(
                StrategyInput(memory=memory, namespace=NS, query="", budget=300)
            )
    assert len(fake.requests) == 2  # errors are not cached


def test_unusable_answers_are_clear_errors(memory: Memory) -> None:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat() -> JSONResponse:
        return JSONResponse({"id": "x", "object": "chat.completion", "choices": []})

    with serve(app) as url:
        summ = OpenAISummarizer("m", base_url=f"{url}/v1", api_key="k")
        with pytest.raises(UpstreamError, match="no usable answer"):
            summ.summarize(memory, NS, exclude=set(), max_tokens=200)
    # Nothing listening on the port.
    summ = OpenAISummarizer("m", base_url=f"http://127.0.0.1:{free_port()}/v1", api_key="k", timeout=5)
    with pytest.raises(UpstreamError, match="no usable answer from http://127.0.0.1"):
        summ.summarize(memory, NS, exclude=set(), max_tokens=200)


def test_runner_with_an_llm_summary(tmp_path: Path, fake_embedder: Embedder) -> None:
    from eval import run

    quoted = "I adopted a grey cat named Miso last spring."
    turns = [Turn(id="A1", message={"role": "user", "content": quoted})] + [
        Turn(id=f"B{i}", message={"role": "user", "content": f"Chat line {i} about the weekend plans."})
        for i in range(30)
    ]
    ds = Dataset(
        name="hand",
        conversations=[
            Conversation(
                id="c",
                sessions=[Session(id="a", turns=turns[:1]), Session(id="b", turns=turns[1:])],
                questions=[
                    Question(id="q1", question="What is my cat called?", evidence=["A1"]),
                    Question(id="q2", question="What pet do I have?", evidence=["A1"]),
                ],
            )
        ],
    )
    fake = FakeOpenAI(reply=lambda body: f"Facts: {quoted}")
    with serve(fake.app) as url:
        summ = OpenAISummarizer("m", base_url=f"{url}/v1", api_key="k")
        res = run(
            ds,
            strategies=[get_strategy("summary", summarizer=summ), "window"],
            budgets=[120],
            embedder=fake_embedder,  # the summary's recall, not the model
            progress=False,
        )
    rows = {r["strategy"]: r for r in res.summary}
    assert rows["summary"]["recall"] == 1.0 and rows["window"]["recall"] == 0.0
    assert rows["summary"]["tokens_mean"] <= 120
    assert len(fake.requests) == 1  # both questions share the conversation's summary
