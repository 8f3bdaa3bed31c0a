"""Answer accuracy (issue 19): an answer model and a judge on an OpenAI-compatible fake on loopback.

The fake answers by a rule (the first context line that holds the gold answer, else a refusal)
and judges by string match (gold in answer; a refusal for questions graded on refusing), so
every verdict below is known in advance. Also: F1 / EM / refusal on hand-made cases, the
verdict parser, the stratified sample, the cache, retries, and failures that stay local.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eval import run
from eval.answer_cache import AnswerCache, default_cache_path
from eval.answers import AnswerConfig, graded_on_refusing, load_prompt, parse_verdict, render_context
from eval.cli import main
from eval.datasets import Conversation, Dataset, Question, Session, Turn
from eval.metrics import exact_match, is_refusal, normalize_answer, token_f1
from eval.report import ANSWER_COLUMNS, SUMMARY_COLUMNS
from eval.sampling import allocate, sample_questions
from eval.synthetic import generate
from memory.embedders import Embedder
from memory.errors import InvalidArgument, UpstreamError
from memory.llm import chat_reply, http_client
from tests.fakes import FakeOpenAI, free_port, serve

REFUSAL = "Not mentioned in the conversation."

# -- pure functions on hand-made cases ---------------------------------------------------------


def test_normalize_f1_and_exact_match() -> None:
    assert normalize_answer("The Shell-Necklace, of course!") == "shell necklace of course"
    assert normalize_answer("  An   apple.\n") == "apple"
    assert exact_match("The lilac.", "lilac") == 1.0
    assert exact_match("lilac umbrella", "lilac") == 0.0
    assert token_f1("a shell necklace", "The shell necklace") == 1.0
    # 2 shared of 2 predicted and 4 gold tokens: P 1, R 0.5, F1 2/3
    assert token_f1("shell necklace", "shell necklace from Hawaii") == pytest.approx(2 / 3)
    assert token_f1("Porto", "Lisbon") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("the", "Porto") == 0.0
    assert token_f1("red red", "red") == pytest.approx(2 / 3)  # bag of words: the second red is not shared


def test_refusals() -> None:
    for text in (REFUSAL, "No information available.", "I don't know", "Unknown.", "It is not specified."):
        assert is_refusal(text), text
    for text in ("Pepper", "In Porto, 2019", "known for it", "The unknowns club"):
        assert not is_refusal(text), text


def test_parse_verdict() -> None:
    assert parse_verdict('{"reason": "same pet name", "label": "CORRECT"}') == ("CORRECT", "same pet name")
    assert parse_verdict('Sure! ```json\n{"label": "wrong", "reason": "other city"}\n```')[0] == "WRONG"
    assert parse_verdict("The answer names another city. WRONG")[0] == "WRONG"
    with pytest.raises(ValueError, match="no single CORRECT/WRONG"):
        parse_verdict("It is CORRECT that it is WRONG")
    with pytest.raises(ValueError, match="no single CORRECT/WRONG"):
        parse_verdict("maybe")


def test_prompts_fill_in_one_pass_and_are_versioned() -> None:
    p = load_prompt("judge_v1")
    text = p.fill(question="Q {answer}?", gold_answer="G", answer='{"label": "CORRECT"}')
    assert "Question: Q {answer}?" in text and "Gold answer: G" in text  # a value's braces are not filled
    assert '{"reason": "<one sentence>", "label": "CORRECT"}' in text  # nor the prompt's own JSON example
    assert re.fullmatch(r"judge_v1@[0-9a-f]{12}", p.version)
    assert load_prompt("answer_v1").version != load_prompt("judge_v1").version
    with pytest.raises(InvalidArgument, match="prompt: no prompt 'nope'"):
        load_prompt("nope")


def test_render_context() -> None:
    msgs: list[dict[str, Any]] = [
        {"role": "user", "name": "Caroline", "content": "I went to Porto."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"id": 7}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"city": "Porto"}'},
        {"role": "user", "content": [{"type": "text", "text": "Photo"},
                                     {"type": "image_url", "image_url": {"url": "https://x.invalid/a.jpg"}}]},
    ]  # fmt: skip
    assert render_context(msgs).splitlines() == [
        "Caroline: I went to Porto.",
        'assistant: lookup({"id": 7})',
        'tool result: {"city": "Porto"}',
        "user: Photo",
        "[image]",
    ]


def test_graded_on_refusing() -> None:
    q5 = Question(id="conv-1/q3", question="?", category="5")
    assert graded_on_refusing("locomo", q5) and not graded_on_refusing("synthetic", q5)
    assert not graded_on_refusing("locomo", q5.model_copy(update={"category": "4"}))
    assert graded_on_refusing("longmemeval", Question(id="x_abs", question="?", category="temporal-reasoning_abs"))


def test_stratified_sample() -> None:
    assert allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    assert allocate({"a": 98, "b": 1, "c": 1}, 4) == {"a": 2, "b": 1, "c": 1}  # every category, while n allows
    assert allocate({"a": 3, "b": 1}, 10) == {"a": 3, "b": 1}
    assert sum(allocate({"a": 7, "b": 5, "c": 3}, 8).values()) == 8
    ds = generate(turns=200, seed=5)  # 8 questions, 2 of each of 4 categories
    cats = sorted(q.category for q in ds.questions)
    assert len(cats) == 8 and len(set(cats)) == 4
    small = sample_questions(ds, 4, seed=1)
    assert sorted(q.category for q in small.questions) == sorted(set(cats))
    assert [q.id for q in sample_questions(ds, 4, seed=1).questions] == [q.id for q in small.questions]
    picks = {tuple(q.id for q in sample_questions(ds, 4, seed=s).questions) for s in range(8)}
    assert len(picks) > 1  # the seed matters
    assert len(sample_questions(ds, 100, seed=1).questions) == 8
    with pytest.raises(InvalidArgument, match="sample: give a positive"):
        sample_questions(ds, 0)


# -- the fake endpoint -------------------------------------------------------------------------


def _between(text: str, start: str, end: str) -> str:
    return text.rsplit(start, 1)[1].split(end, 1)[0].strip()  # the last start: prompts hold examples


class Rules:
    """The fake's answer rule and judge rule, with the gold answers it needs."""

    def __init__(self, gold: dict[str, str]) -> None:
        self.gold = gold

    def __call__(self, body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        if "Generated answer:" in text:
            answer = _between(text, "Generated answer:", "\n\nReply with").lower()
            if "The right behaviour is to decline" in text:
                ok = "not mentioned" in answer
            else:
                ok = _between(text, "Gold answer:", "\n").lower() in answer
            return json.dumps({"reason": "fake judge: string match", "label": "CORRECT" if ok else "WRONG"})
        question = _between(text, "# Question\n", "\n\nAnswer:")
        context = _between(text, "# Conversation excerpts\n", "\n\n# Question")
        gold = self.gold.get(question)
        for line in context.splitlines():
            if gold and gold.lower() in line.lower():
                return line
        return REFUSAL


def is_judge(body: dict[str, Any]) -> bool:
    return "Generated answer:" in body["messages"][-1]["content"]


def hand_dataset(name: str = "hand") -> Dataset:
    """Twelve turns; the window at 60 tokens sees only the last ones (Lisbon), not the first (Miso)."""
    facts = ["I adopted a grey cat named Miso last spring.", "My brother Tiago works as a nurse in Braga."]
    filler = [f"Small talk {i}: the weather was fine and lunch was good." for i in range(8)]
    last = ["We are moving to Lisbon in June.", "Great, Lisbon is sunny."]
    texts = facts + filler + last
    turns = [Turn(id=f"t{i}", message={"role": "user" if i % 2 == 0 else "assistant", "content": t})
             for i, t in enumerate(texts)]  # fmt: skip
    questions = [
        Question(id="q-cat", question="What is my cat called?", answer="Miso", category="4", evidence=["t0"]),
        Question(id="q-job", question="What does Tiago do for work?", answer="nurse", category="4", evidence=["t1"]),
        Question(id="q-move", question="Where are we moving?", answer="Lisbon", category="1", evidence=["t10"]),
        Question(id="q-adv", question="What is Tiago's cat called?", answer="Miso", category="5", evidence=["t0"]),
    ]
    conv = Conversation(id="c", sessions=[Session(id="s1", turns=turns)], questions=questions)
    return Dataset(name=name, conversations=[conv])


def config(url: str, tmp_path: Path, **kw: Any) -> AnswerConfig:
    kw.setdefault("cache_path", str(tmp_path / "cache.sqlite3"))
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("answer_model", "fake")
    kw.setdefault("judge_model", "fake-judge")
    return AnswerConfig(base_url=f"{url}/v1", **kw)


def gold_of(ds: Dataset) -> dict[str, str]:
    return {q.question: q.answer for q in ds.questions if q.answer}


# -- the whole path through the CLI ------------------------------------------------------------


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One memory folder for the synthetic CLI runs: the first ingests, the others reuse it."""
    return tmp_path_factory.mktemp("synthetic-mem")


def answer_cells(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return [[r["strategy"], r["budget"], *(r[c] for c in ANSWER_COLUMNS)] for r in csv.DictReader(fh)]


@pytest.mark.slow  # ~25 s on a shared 2-core machine: an ingest, two runs, three plots
def test_cli_writes_answer_columns_plot_and_records_then_reruns_from_the_cache(
    tmp_path: Path,
    synth_dir: Path,
    embedder: Embedder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ds = generate(turns=20, seed=7)
    fake = FakeOpenAI(reply=Rules(gold_of(ds)))
    out = tmp_path / "out"
    with serve(fake.app) as url:
        argv = ["eval", "synthetic", "--turns", "20", "--seed", "7", "--strategies", "window,turnmem",
                "--budgets", "300", "--out", str(out), "--answer-model", "fake", "--judge-model", "fake",
                "--base-url", f"{url}/v1", "--answer-cache", str(tmp_path / "c.sqlite3"), "--no-progress",
                "--price", "0.15,0.6", "--memory-dir", str(synth_dir)]  # fmt: skip
        assert main(argv) == 0
        first = len(fake.requests)
        printed = capsys.readouterr()
        first_summary = answer_cells(out / "summary.csv")
        assert main(argv) == 0  # the rerun
        again = capsys.readouterr()
    # 4 questions × 2 strategies: at most 8 answers and 8 verdicts (identical prompts are asked once)
    assert 0 < first <= 16 and sum(is_judge(b) for b in fake.requests) == first - sum(
        not is_judge(b) for b in fake.requests
    )
    assert len(fake.requests) == first  # the rerun made zero requests
    assert "estimated cost <= $" in printed.out + printed.err
    assert "0 requests" in again.out and "failed" in again.out
    assert answer_cells(out / "summary.csv") == first_summary  # cached answers keep their latencies
    with open(out / "summary.csv", newline="") as fh:
        header = fh.readline().strip().split(",")
        fh.seek(0)
        rows = list(csv.DictReader(fh))
    assert header[: len(SUMMARY_COLUMNS) + len(ANSWER_COLUMNS)] == [*SUMMARY_COLUMNS, *ANSWER_COLUMNS]
    for col in ("answer_j", "answer_f1", "answer_em", "answer_tokens_in", "answer_latency_p50_ms"):
        assert col in header
    results = json.loads((out / "results.json").read_text())
    records = results["records"]
    assert len(records) == 8 and results["config"]["answers"]["answer_model"] == "fake"
    assert set(results["config"]["answers"]["prompt_versions"]) == {"answer_v1", "judge_v1", "judge_refusal_v1"}
    for r in records:
        a = r["answer"]
        assert a["error"] is None and a["answer"] and a["verdict"] in ("CORRECT", "WRONG")
        assert a["reason"] == "fake judge: string match"
        # the fake's rules, checked from the record alone
        assert a["verdict"] == ("CORRECT" if a["gold"].lower() in a["answer"].lower() else "WRONG")
        assert a["j"] == float(a["verdict"] == "CORRECT") and 0.0 <= a["f1"] <= 1.0
        assert a["tokens_in"] > r["tokens"]  # the prompt holds the whole context and more
    for row in rows:
        recs = [r for r in records if r["strategy"] == row["strategy"]]
        assert float(row["answer_j"]) == pytest.approx(sum(r["answer"]["j"] for r in recs) / len(recs), abs=1e-4)
        assert float(row["answer_tokens_in"]) > float(row["tokens_mean"])
        assert int(row["answer_failed"]) == 0
    by_cat = list(csv.DictReader(open(out / "summary_by_category.csv", newline="")))
    assert {r["category"] for r in by_cat} == {"personal", "tool", "image", "update"}
    assert all(r["answer_j"] != "" for r in by_cat)
    assert (out / "answer_j_vs_tokens.png").stat().st_size > 1000
    # the fake's answer to a question is a context line holding the gold answer: whenever the
    # context held the evidence turn of a plain-text fact, the answer is judged correct
    for r in records:
        if r["recall"] == 1.0 and r["category"] in ("personal", "update"):
            assert r["answer"]["verdict"] == "CORRECT", r


def test_cli_estimate_only_calls_nothing_and_flags_are_checked(
    tmp_path: Path, synth_dir: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeOpenAI(reply=lambda body: "x")
    with serve(fake.app) as url:
        base = ["eval", "synthetic", "--turns", "20", "--seed", "7", "--strategies", "window", "--budgets", "300",
                "--no-progress", "--base-url", f"{url}/v1", "--answer-cache", str(tmp_path / "c.sqlite3"),
                "--memory-dir", str(synth_dir)]  # fmt: skip
        assert main([*base, "--answer-model", "m", "--estimate-only", "--sample", "2"]) == 0
        out = capsys.readouterr()
        assert fake.requests == []
        assert "answers: 2 calls to m (0 cached)" in out.out + out.err
        assert "give --price to see a cost" in out.out + out.err
        assert main([*base, "--judge-model", "j"]) == 2
        assert "judge_model: --judge-model needs --answer-model" in capsys.readouterr().err
        assert main([*base, "--answer-model", "m", "--concurrency", "0"]) == 2
        assert "concurrency:" in capsys.readouterr().err
        assert main([*base, "--answer-model", "m", "--api-key-env", "TURNMEM_TEST_NO_SUCH_KEY"]) == 2
        assert "api_key_env: the environment variable TURNMEM_TEST_NO_SUCH_KEY is not set" in capsys.readouterr().err
        assert main([*base, "--answer-model", "m", "--judge-prompt", "../judge_v1"]) == 2
        assert "prompt: no prompt '../judge_v1'" in capsys.readouterr().err
    assert fake.requests == []


# -- errors, retries, refusals, cache keys (through eval.run, on the fake embedder) -------------


def test_a_persistent_500_fails_the_question_not_the_run(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = hand_dataset()

    def fail(body: dict[str, Any]) -> int | None:
        text = body["messages"][-1]["content"]
        return 500 if not is_judge(body) and "What does Tiago do for work?" in text else None

    fake = FakeOpenAI(reply=Rules(gold_of(ds)), fail=fail)
    with serve(fake.app) as url:
        res = run(ds, strategies=["window", "turnmem"], budgets=[60], embedder=fake_embedder, progress=False,
                  answers=config(url, tmp_path, retries=2), out=tmp_path / "out")  # fmt: skip
        tiago = [b for b in fake.requests if "What does Tiago do for work?" in b["messages"][-1]["content"]]
        # each distinct Tiago prompt was tried 1 + 2 times; the judge never saw it
        assert len(tiago) % 3 == 0 and tiago and not any(is_judge(b) for b in tiago)
        failed = [r for r in res.records if r.question_id == "q-job"]
        assert failed and all(r.answer is not None and r.answer.error for r in failed)
        assert all("500" in (r.answer.error or "") and r.answer.j is None and r.answer.verdict is None for r in failed)
        ok = [r for r in res.records if r.question_id != "q-job"]
        assert all(r.answer is not None and r.answer.error is None and r.answer.verdict for r in ok)
        for row in res.summary:
            assert row["answer_failed"] == 1
            graded = [r for r in ok if r.strategy == row["strategy"]]
            assert row["answer_j"] == pytest.approx(sum(r.answer.j for r in graded) / len(graded))  # type: ignore
        # a failure is not cached: the next run asks again, and this time it works
        n = len(fake.requests)
        fake.fail = None
        res2 = run(ds, strategies=["window", "turnmem"], budgets=[60], embedder=fake_embedder, progress=False,
                   answers=config(url, tmp_path, retries=2))  # fmt: skip
    asked = fake.requests[n:]
    assert asked and all("What does Tiago do for work?" in b["messages"][-1]["content"] for b in asked)
    assert all(r.answer is not None and r.answer.error is None for r in res2.records)
    csv_rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv", newline="")))
    assert all(r["answer_failed"] == "1" for r in csv_rows)


def test_429_then_success_is_retried(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = hand_dataset()
    seen: set[str] = set()

    def once(body: dict[str, Any]) -> int | None:
        text = body["messages"][-1]["content"]
        if text in seen:
            return None
        seen.add(text)
        return 429

    fake = FakeOpenAI(reply=Rules(gold_of(ds)), fail=once)
    with serve(fake.app) as url:
        res = run(ds, strategies=["turnmem"], budgets=[60], embedder=fake_embedder, progress=False,
                  answers=config(url, tmp_path, retries=1, concurrency=3))  # fmt: skip
    assert all(r.answer is not None and r.answer.error is None for r in res.records)
    assert len(fake.requests) == 2 * len(seen)  # every prompt: a 429, then the answer
    assert res.timings["answer_requests"] == len(seen)


def test_category_5_is_graded_on_refusing(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = hand_dataset(name="locomo")
    fake = FakeOpenAI(reply=Rules(gold_of(ds) | {"What is Tiago's cat called?": "nothing"}))
    with serve(fake.app) as url:
        res = run(ds, strategies=["full"], budgets=[60], embedder=fake_embedder, progress=False,
                  answers=config(url, tmp_path))  # fmt: skip
    adv = next(r for r in res.records if r.question_id == "q-adv").answer
    assert adv is not None and adv.refusal and adv.answer == REFUSAL
    assert adv.verdict == "CORRECT" and adv.j == adv.f1 == adv.em == 1.0
    judged = [b["messages"][-1]["content"] for b in fake.requests if is_judge(b)]
    assert sum("The right behaviour is to decline" in t for t in judged) == 1
    cat = next(r for r in res.records if r.question_id == "q-cat").answer
    assert cat is not None and not cat.refusal and cat.verdict == "CORRECT" and cat.em == 0.0 and cat.f1 > 0
    # with the full history every question is answered from its evidence line
    assert res.summary[0]["answer_j"] == 1.0


def test_cache_is_keyed_on_the_model_and_identical_prompts_are_asked_once(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    ds = hand_dataset()
    fake = FakeOpenAI(reply=Rules(gold_of(ds)))
    with serve(fake.app) as url:
        run(ds, strategies=["full"], budgets=[60, 120], embedder=fake_embedder, progress=False,
            answers=config(url, tmp_path))  # fmt: skip
        # `full` ignores the budget: 4 prompts answered once each, though it has a record per budget
        assert sum(not is_judge(b) for b in fake.requests) == 4
        # docs/answers.md: one user message at temperature 0, `max_tokens` 100 for an answer
        asked = [b for b in fake.requests if not is_judge(b)]
        assert all(b["temperature"] == 0 and len(b["messages"]) == 1 for b in fake.requests)
        assert {b["max_tokens"] for b in asked} == {100} and asked[0]["messages"][0]["role"] == "user"
        n = len(fake.requests)
        run(ds, strategies=["full"], budgets=[60], embedder=fake_embedder, progress=False,
            answers=config(url, tmp_path, answer_model="other"))  # fmt: skip
        answers = [b for b in fake.requests[n:] if not is_judge(b)]
        assert len(answers) == 4 and {b["model"] for b in answers} == {"other"}
        assert not any(is_judge(b) for b in fake.requests[n:])  # same answers: the verdicts are cached
    cache = AnswerCache(tmp_path / "cache.sqlite3")
    assert len(cache) == 4 + 4 + 4  # answers of fake, answers of other, verdicts
    cache.close()


def test_an_unreadable_verdict_fails_that_question(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = hand_dataset()
    rules = Rules(gold_of(ds))

    def reply(body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        return "Hmm, hard to say." if is_judge(body) and "Where are we moving?" in text else rules(body)

    fake = FakeOpenAI(reply=reply)
    with serve(fake.app) as url:
        res = run(ds, strategies=["full"], budgets=[60], embedder=fake_embedder, progress=False,
                  answers=config(url, tmp_path))  # fmt: skip
    bad = next(r for r in res.records if r.question_id == "q-move").answer
    assert bad is not None and bad.answer and bad.verdict is None and bad.j is None
    assert bad.error is not None and "no single CORRECT/WRONG label" in bad.error
    assert res.summary[0]["answer_failed"] == 1 and res.summary[0]["answer_j"] == 1.0
    assert len(AnswerCache(tmp_path / "cache.sqlite3")) == 4 + 3  # the unreadable verdict is not cached


def test_concurrency_is_bounded(tmp_path: Path, fake_embedder: Embedder) -> None:
    app = FastAPI()
    state = {"now": 0, "max": 0, "n": 0}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        await request.json()
        state["now"] += 1
        state["n"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.1)
        state["now"] -= 1
        content = '{"reason": "r", "label": "WRONG"}'
        return JSONResponse({"choices": [{"message": {"role": "assistant", "content": content}}]})

    with serve(app) as url:
        res = run(hand_dataset(), strategies=["window", "turnmem"], budgets=[60, 90], embedder=fake_embedder,
                  progress=False, answers=config(url, tmp_path, concurrency=3))  # fmt: skip
    assert state["n"] >= 8 and state["max"] == 3  # several in flight, never more than the bound
    assert all(r.answer is not None and r.answer.verdict == "WRONG" for r in res.records)


# -- the shared chat client ----------------------------------------------------------------------


def test_chat_client_retries_and_maps_errors() -> None:
    calls: list[int] = []

    def flaky(body: dict[str, Any]) -> int | None:
        calls.append(1)
        return 503 if len(calls) < 3 else None

    fake = FakeOpenAI(reply=lambda body: "ok", fail=flaky)
    slept: list[float] = []
    with serve(fake.app) as url, http_client(f"{url}/v1", api_key="k") as client:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        reply = chat_reply(client, body, what="t", retries=2, backoff_s=0.5, sleep=slept.append)
        assert reply.text == "ok" and reply.prompt_tokens == 1 and reply.latency_ms > 0
        assert len(slept) == 2 and 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0  # exponential, jittered
        fake.fail = lambda body: 500
        with pytest.raises(UpstreamError, match="t: .*answered 500") as err:
            chat_reply(client, body, what="t", retries=1, sleep=slept.append)
        assert err.value.status == 500
        fake.fail = lambda body: 400  # a client error is not retried
        n = len(fake.requests)
        with pytest.raises(UpstreamError, match="400"):
            chat_reply(client, body, what="t", retries=3, sleep=slept.append)
        assert len(fake.requests) == n + 1
    with http_client(f"http://127.0.0.1:{free_port()}/v1", timeout=2) as client:
        with pytest.raises(UpstreamError, match="no usable answer from") as err:
            chat_reply(client, {"model": "m", "messages": []}, what="t", retries=1, sleep=lambda s: None)
        assert err.value.status is None
    assert isinstance(client, httpx.Client)


def test_cli_locomo_sample_with_category_5(
    tmp_path: Path, locomo_memory_dir: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    """``turnmem eval locomo --answer-model ...`` on conv-26 (ingested once per session), 6 questions
    stratified over the 5 categories: the new columns, per category (5 graded on refusing), the plot."""
    from eval.datasets import load_locomo
    from tests.conftest import LOCOMO

    ds = load_locomo(LOCOMO, images="caption").select(conversations=["conv-26"])
    fake = FakeOpenAI(reply=Rules(gold_of(ds)))
    out = tmp_path / "out"
    with serve(fake.app) as url:
        argv = ["eval", "locomo", "--data", str(LOCOMO), "--conversations", "conv-26", "--memory-dir",
                str(locomo_memory_dir), "--strategies", "turnmem", "--budgets", "512", "--sample", "6", "--seed", "1",
                "--answer-model", "fake", "--base-url", f"{url}/v1", "--answer-cache", str(tmp_path / "c.sqlite3"),
                "--no-progress", "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
    capsys.readouterr()
    by_cat = {r["category"]: r for r in csv.DictReader(open(out / "summary_by_category.csv", newline=""))}
    assert set(by_cat) == {"1", "2", "3", "4", "5"}
    assert all(r["answer_j"] != "" and r["answer_tokens_in"] != "" for r in by_cat.values())
    records = json.loads((out / "results.json").read_text())["records"]
    assert len(records) == 6
    for r in records:
        assert r["answer"]["refusal"] == (r["category"] == "5") and r["answer"]["verdict"] in ("CORRECT", "WRONG")
    judged = [b["messages"][-1]["content"] for b in fake.requests if is_judge(b)]
    assert sum("The right behaviour is to decline" in t for t in judged) == int(by_cat["5"]["questions"])
    assert (out / "answer_j_vs_tokens.png").is_file()


def test_docs_show_the_prompts_verbatim() -> None:
    from eval.answers import PROMPTS_DIR

    docs = (Path(__file__).resolve().parents[2] / "docs" / "answers.md").read_text(encoding="utf-8")
    for path in sorted(PROMPTS_DIR.glob("*.txt")):
        assert path.read_text(encoding="utf-8").strip() in docs, path.name


def test_the_key_and_the_cache_come_from_where_docs_answers_md_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/answers.md: no key is sent while OPENAI_API_KEY is unset; the cache file is
    $TURNMEM_CACHE_DIR/answers.sqlite3, else under $XDG_CACHE_HOME, else ~/.cache/turnmem/."""
    cfg = AnswerConfig(answer_model="m", judge_model="m")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert cfg.api_key() == ""  # and http_client sends no Authorization without one (test_openai_summarizer)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert cfg.api_key() == "sk-env"
    monkeypatch.setenv("TURNMEM_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_path() == tmp_path / "c" / "answers.sqlite3"
    monkeypatch.delenv("TURNMEM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_path() == tmp_path / "x" / "turnmem" / "answers.sqlite3"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "turnmem" / "answers.sqlite3"
