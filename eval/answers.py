"""The ``answers`` stage: answer accuracy next to recall, from an answer model and an LLM judge.

Runs after retrieval, on the records the runner made and the contexts the strategies built
(``run(..., answers=AnswerConfig(...))``, ``turnmem eval ... --answer-model M --judge-model J``).
For every record, the answer model gets the prompt ``eval/prompts/answer_v1.txt`` filled with
the context (rendered as a transcript) and the question; the judge gets ``judge_v1.txt`` with
the question, the gold answer and that answer, and labels it CORRECT or WRONG with a one-
sentence reason. Questions that cannot be answered from the conversation (LoCoMo category 5,
LongMemEval's abstention questions) are graded on refusing, with ``judge_refusal_v1.txt``.
Token F1 and exact match against the gold answer come from :mod:`eval.metrics`.

Cost control: identical prompts are asked once per run; answers and verdicts are cached on
disk keyed on (model, prompt version, content hash) (:mod:`eval.answer_cache`); calls run on
``concurrency`` threads through the project's one chat client (:mod:`memory.llm`), with
retries and backoff on 429/5xx; a cost estimate is printed before the first call. A question
whose call still fails is marked failed (``AnswerRecord.error``), the run goes on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, field_validator
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from eval.answer_cache import AnswerCache, content_hash, default_cache_path
from eval.datasets import Question
from eval.metrics import AnswerRecord, QuestionRecord, exact_match, is_refusal, token_f1
from eval.prompting import PROMPTS_DIR, Prompt, graded_on_refusing, load_prompt, parse_verdict, render_context
from memory.errors import InvalidArgument, UpstreamError
from memory.llm import ChatReply, chat_reply, http_client
from memory.tokens import TokenCounter


class AnswerConfig(BaseModel):
    """Which models answer and judge, where, and how hard to push the endpoint."""

    answer_model: str = Field(min_length=1)
    judge_model: str = Field(min_length=1)
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(8, ge=1, le=256)
    retries: int = Field(4, ge=0, le=20)
    backoff_s: float = Field(1.0, ge=0.0, le=60.0)
    timeout_s: float = Field(120.0, gt=0.0)
    answer_max_tokens: int = Field(100, ge=1)
    judge_max_tokens: int = Field(200, ge=1)
    price_in: float | None = Field(None, ge=0.0)  # dollars per million input tokens
    price_out: float | None = Field(None, ge=0.0)  # dollars per million output tokens (default: price_in)
    cache_path: str | None = None  # default: eval.answer_cache.default_cache_path()
    use_cache: bool = True
    estimate_only: bool = False  # print the estimate, make no call
    answer_prompt: str = "answer_v1"
    judge_prompt: str = "judge_v1"
    refusal_prompt: str = "judge_refusal_v1"

    @field_validator("base_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"give an http(s) URL such as https://api.openai.com/v1 (got {v!r})")
        return v.rstrip("/")

    def prompts(self) -> tuple[Prompt, Prompt, Prompt]:
        """The answer, judge and refusal-judge prompts (InvalidArgument naming an unknown one)."""
        return load_prompt(self.answer_prompt), load_prompt(self.judge_prompt), load_prompt(self.refusal_prompt)

    def api_key(self) -> str:
        """The key from ``$api_key_env``; empty (no header) when the default variable is unset."""
        key = os.environ.get(self.api_key_env)
        if key is None and self.api_key_env != "OPENAI_API_KEY":
            raise InvalidArgument(
                f"api_key_env: the environment variable {self.api_key_env} is not set", field="api_key_env"
            )
        return key or ""


@dataclass
class _Job:
    kind: str  # answer | judge
    model: str
    prompt: Prompt
    digest: str
    text: str  # the filled prompt
    records: list[int]


def _body(model: str, text: str, max_tokens: int) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], "temperature": 0, "max_tokens": max_tokens}


class AnswerStage:
    """Asks, judges and scores; see the module docstring. ``apply`` fills ``record.answer``."""

    def __init__(self, config: AnswerConfig, *, counter: TokenCounter, console: Any = None, progress: bool = True):
        self.config = config
        self.counter = counter
        self.console = console
        self.progress = progress
        self.answer_prompt, self.judge_prompt, self.refusal_prompt = config.prompts()
        self.requests = 0

    def describe(self) -> dict[str, Any]:
        """The configuration and prompt versions, for ``results.json``."""
        prompts = {p.name: p.version for p in (self.answer_prompt, self.judge_prompt, self.refusal_prompt)}
        return {**self.config.model_dump(exclude={"cache_path"}), "prompt_versions": prompts}

    def _print(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text)

    def apply(
        self,
        records: Sequence[QuestionRecord],
        contexts: Sequence[Sequence[dict[str, Any]]],
        questions: Mapping[tuple[str, str], Question],
        dataset: str,
    ) -> dict[str, float]:
        """Answer and judge every record (``contexts[i]``: the messages of ``records[i]``)."""
        if len(records) != len(contexts):
            raise InvalidArgument("contexts: give one context per record", field="contexts")
        cfg = self.config
        t0 = time.perf_counter()
        key = cfg.api_key()
        cache = AnswerCache(cfg.cache_path or default_cache_path()) if cfg.use_cache else None
        try:
            jobs, counts = self._answer_jobs(records, contexts, questions)
            answers = self._cached(cache, jobs)
            todo = [j for d, j in jobs.items() if d not in answers]
            self._estimate(todo, counts, records, questions)
            stats = {"answer_prompts": float(len(jobs)), "answer_cached": float(len(jobs) - len(todo))}
            if cfg.estimate_only:
                return stats
            errors: dict[str, str] = {}
            client = http_client(cfg.base_url, api_key=key, timeout=cfg.timeout_s, max_connections=cfg.concurrency)
            with client:
                self._run(client, todo, cache, answers, errors, label="answer", max_tokens=cfg.answer_max_tokens)
                judge_jobs = self._judge_jobs(records, jobs, answers, questions, dataset)
                verdicts = self._cached(cache, judge_jobs)
                todo_j = [j for jd, j in judge_jobs.items() if jd not in verdicts]
                self._run(
                    client,
                    todo_j,
                    cache,
                    verdicts,
                    errors,
                    label="judge",
                    max_tokens=cfg.judge_max_tokens,
                    check=lambda reply: parse_verdict(reply.text),
                )
        finally:
            if cache is not None:
                cache.close()
        answer_of = {i: d for d, job in jobs.items() for i in job.records}
        judge_of = {i: jd for jd, job in judge_jobs.items() for i in job.records}
        for i, rec in enumerate(records):
            d, jd = answer_of[i], judge_of.get(i, "")
            q = questions[(rec.conversation, rec.question_id)]
            rec.answer = self._grade(
                q, dataset, counts[d], answers.get(d), verdicts.get(jd), errors.get(d) or errors.get(jd)
            )
        stats.update(
            {
                "answer_s": time.perf_counter() - t0,
                "answer_requests": float(self.requests),
                "judge_prompts": float(len(judge_jobs)),
                "judge_cached": float(len(judge_jobs) - len(todo_j)),
                "answer_failed": float(sum(1 for r in records if r.answer is not None and r.answer.error)),
            }
        )
        return stats

    def _answer_jobs(
        self,
        records: Sequence[QuestionRecord],
        contexts: Sequence[Sequence[dict[str, Any]]],
        questions: Mapping[tuple[str, str], Question],
    ) -> tuple[dict[str, _Job], dict[str, int]]:
        """One job per distinct answer prompt (with the records it serves) and its token count."""
        jobs: dict[str, _Job] = {}
        counts: dict[str, int] = {}
        rendered: dict[int, str] = {}  # id(messages) -> transcript: `full` shares one list per conversation
        for i, (rec, msgs) in enumerate(zip(records, contexts)):
            q = questions[(rec.conversation, rec.question_id)]
            if id(msgs) not in rendered:
                rendered[id(msgs)] = render_context(msgs)
            text = self.answer_prompt.fill(context=rendered[id(msgs)], question=q.question)
            digest = content_hash(text)
            if digest not in jobs:
                jobs[digest] = _Job("answer", self.config.answer_model, self.answer_prompt, digest, text, [])
                counts[digest] = self.counter.count(text)
            jobs[digest].records.append(i)
        return jobs, counts

    def _judge_jobs(
        self,
        records: Sequence[QuestionRecord],
        answer_jobs: Mapping[str, _Job],
        answers: Mapping[str, dict[str, Any]],
        questions: Mapping[tuple[str, str], Question],
        dataset: str,
    ) -> dict[str, _Job]:
        """One job per distinct judge prompt, for the records whose answer came back."""
        jobs: dict[str, _Job] = {}
        for d, answer_job in answer_jobs.items():
            if d not in answers:
                continue
            for i in answer_job.records:
                q = questions[(records[i].conversation, records[i].question_id)]
                prompt = self.refusal_prompt if graded_on_refusing(dataset, q) else self.judge_prompt
                text = prompt.fill(
                    question=q.question, gold_answer=q.answer or "(none given)", answer=answers[d]["text"]
                )
                jd = content_hash(text)
                if jd not in jobs:
                    jobs[jd] = _Job("judge", self.config.judge_model, prompt, jd, text, [])
                jobs[jd].records.append(i)
        return jobs

    @staticmethod
    def _cached(cache: AnswerCache | None, jobs: Mapping[str, _Job]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if cache is not None:
            for digest, job in jobs.items():
                hit = cache.get(job.kind, job.model, job.prompt.version, digest)
                if hit is not None:
                    out[digest] = {**hit, "cached": True}
        return out

    def _grade(
        self,
        q: Question,
        dataset: str,
        tokens_in: int,
        answer: dict[str, Any] | None,
        verdict: dict[str, Any] | None,
        error: str | None,
    ) -> AnswerRecord:
        refusal = graded_on_refusing(dataset, q)
        rec = AnswerRecord(gold=q.answer, refusal=refusal, tokens_in=tokens_in)
        if answer is not None:
            rec.answer = answer["text"]
            rec.latency_ms = answer.get("latency_ms")
            rec.cached = bool(answer.get("cached"))
        if answer is None or verdict is None:
            rec.error = error or "not answered"
            return rec
        label, reason = parse_verdict(verdict["text"])
        rec.verdict, rec.reason, rec.j = label, reason, float(label == "CORRECT")
        if refusal:
            rec.f1 = rec.em = float(is_refusal(rec.answer or ""))
        elif q.answer is not None:
            rec.f1, rec.em = token_f1(rec.answer or "", q.answer), exact_match(rec.answer or "", q.answer)
        return rec

    def _run(
        self,
        client: Any,
        jobs: list[_Job],
        cache: AnswerCache | None,
        out: dict[str, dict[str, Any]],
        errors: dict[str, str],
        *,
        label: str,
        max_tokens: int,
        check: Callable[[ChatReply], object] | None = None,
    ) -> None:
        """Ask ``jobs`` on a bounded thread pool; successes go to ``out`` (and the cache), failures to ``errors``."""
        if not jobs:
            return
        cfg = self.config

        self.requests += len(jobs)  # one per job; the client's retries are not counted

        def call(job: _Job) -> ChatReply:
            reply = chat_reply(
                client,
                _body(job.model, job.text, max_tokens),
                what=f"{label} model {job.model}",
                retries=cfg.retries,
                backoff_s=cfg.backoff_s,
            )
            if check is not None:
                check(reply)
            return reply

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with (
            Progress(*columns, disable=not self.progress, console=self.console) as bar,
            ThreadPoolExecutor(max_workers=cfg.concurrency) as pool,
        ):
            task = bar.add_task(f"{label} ({jobs[0].model})", total=len(jobs))
            futures: dict[Future[ChatReply], _Job] = {pool.submit(call, j): j for j in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    reply = fut.result()
                except (UpstreamError, ValueError) as exc:
                    errors[job.digest] = str(exc)
                else:
                    value = {
                        "text": reply.text,
                        "latency_ms": reply.latency_ms,
                        "prompt_tokens": reply.prompt_tokens,
                        "completion_tokens": reply.completion_tokens,
                    }
                    out[job.digest] = value
                    if cache is not None:
                        cache.put(job.kind, job.model, job.prompt.version, job.digest, value)
                bar.advance(task)

    def _estimate(
        self,
        todo: list[_Job],
        counts: Mapping[str, int],
        records: Sequence[QuestionRecord],
        questions: Mapping[tuple[str, str], Question],
    ) -> None:
        """Print what the run will send: exact answer input tokens, upper bounds for the rest."""
        cfg = self.config
        n = len(todo)
        answer_in = sum(counts[j.digest] for j in todo)
        judge_base = self.counter.count(self.judge_prompt.text)
        first = {j.records[0] for j in todo}
        judge_in = 0
        for i in first:
            q = questions[(records[i].conversation, records[i].question_id)]
            judge_in += judge_base + self.counter.count(q.question + (q.answer or "")) + cfg.answer_max_tokens
        out_max = n * (cfg.answer_max_tokens + cfg.judge_max_tokens)
        line = (
            f"answers: {n} calls to {cfg.answer_model} ({len(counts) - n} cached), {answer_in:,} input tokens; "
            f"judge: up to {n} calls to {cfg.judge_model} (verdicts of cached answers may be cached too), "
            f"<= {judge_in:,} input tokens; output <= {out_max:,} tokens"
        )
        if cfg.price_in is not None:
            price_out = cfg.price_out if cfg.price_out is not None else cfg.price_in
            cost = ((answer_in + judge_in) * cfg.price_in + out_max * price_out) / 1e6
            line += f"; estimated cost <= ${cost:,.4f} (${cfg.price_in}/M in, ${price_out}/M out)"
        else:
            line += "; give --price to see a cost"
        self._print(line)


__all__ = [
    "PROMPTS_DIR",
    "AnswerConfig",
    "AnswerStage",
    "Prompt",
    "graded_on_refusing",
    "load_prompt",
    "parse_verdict",
    "render_context",
]
