"""The eval runner: ingest once, then every strategy × budget × question, scored one way.

``run`` is what ``turnmem eval`` calls and what notebooks import (``from eval import run``).

1. Ingest (:mod:`eval.ingest`): every conversation becomes a namespace of one
   :class:`memory.Memory` (each session a session, each turn a message carrying
   ``metadata["turn_id"]``). Embeddings are computed once here and reused by every strategy
   and budget. A kept ``memory_dir`` holds one folder per :func:`ingest_key` (code version,
   embedder identity, counter), and a folder that already holds the conversation is reused as is.
2. Queries: all questions are embedded in one batch; strategies get the vector, so the
   latency reported is the context build alone (query embedding excluded, the same for
   every strategy).
3. For each question and strategy: ``rank`` once (ranking metrics), then ``build`` at each
   budget (``full`` once), timed; the context's stored messages are mapped back to turn
   ids and scored against the evidence (:mod:`eval.metrics`). A question asked mid-history is
   built, by every strategy, as of its point (:func:`question_point`): one ingest, each question
   seeing only what existed when it was asked. The run says how many were (console, config).
4. Answers (only with ``answers=AnswerConfig(...)``): a separate stage over the records and
   the contexts built in step 3 (:mod:`eval.answers`): an answer model answers, a judge grades,
   each record gains ``record.answer``; the summaries gain the ``answer_*`` columns.
5. Output (when ``out`` is given; :func:`eval.run_result.write_outputs`): ``results.json``
   (config, versions, model, summary and every per-question record), ``summary.csv``,
   ``summary_by_category.csv``, ``recall_vs_budget.png`` and ``recall_by_category.png`` (and
   ``answer_j_vs_tokens.png``).
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from eval.answers import AnswerConfig, AnswerStage
from eval.datasets import Conversation, Dataset, Question
from eval.ingest import INGEST_VERSION, ingest, ingest_key, versions
from eval.metrics import QuestionRecord, make_record
from eval.report import summary_rows
from eval.run_result import RunResult, write_outputs
from eval.strategies import Ranker, Strategy, StrategyInput, available, get_strategy
from memory.embedders import Embedder, default_embedder
from memory.errors import InvalidArgument
from memory.memory import Memory
from memory.read.as_of import Point, resolve_point, seq_point
from memory.tokens import TokenCounter

DEFAULT_STRATEGIES: tuple[str, ...] = ("full", "window", "summary", "dense", "bm25", "turnmem")
DEFAULT_BUDGETS: tuple[int, ...] = (256, 512, 1024, 2048, 4096)

__all__ = [
    "DEFAULT_BUDGETS",
    "DEFAULT_STRATEGIES",
    "INGEST_VERSION",
    "RunResult",
    "ingest",
    "ingest_key",
    "run",
    "write_outputs",
]


def _turn_map(memory: Memory, conv: Conversation) -> tuple[dict[tuple[str, int], str], dict[str, str]]:
    ref_turn: dict[tuple[str, int], str] = {}
    session_of: dict[str, str] = {}
    for row in memory.store.all_messages(conv.id):
        tid = (row.data.get("metadata") or {}).get("turn_id")
        if tid is not None:
            ref_turn[(row.session, row.seq)] = str(tid)
            session_of[str(tid)] = row.session
    return ref_turn, session_of


def question_point(
    memory: Memory, conv: Conversation, q: Question, turn_ref: dict[str, tuple[str, int]], dates_as_of: bool
) -> tuple[Point | None, str | None]:
    """The point of the history ``q`` is asked at, and what set it (``"asked_after"``, ``"date"``),
    or ``(None, None)``: after the whole history.

    ``asked_after`` (a turn id: the last turn the asker had seen) is that turn's stored message, its
    position in the namespace the cutoff. A dataset whose question dates are points
    (``Dataset.question_dates_as_of``: LongMemEval) asks at ``q.date``; its sessions are dated, not
    its turns (spaced 30 s apart to keep their order), so a session dated at or before the question
    is in whole."""
    if q.asked_after is not None:
        ref = turn_ref.get(q.asked_after)
        if ref is None:
            raise InvalidArgument(
                f"asked_after: question {q.id} was asked after turn {q.asked_after!r}, which is not stored in "
                f"conversation {conv.id!r}",
                field="asked_after",
            )
        return seq_point(memory.store, conv.id, ref[0], ref[1]), "asked_after"
    if dates_as_of and q.date is not None:
        t = q.date.timestamp()
        for sess in conv.sessions:
            if sess.date is not None and sess.date.timestamp() <= q.date.timestamp() and sess.turns:
                last = sess.turns[-1].timestamp
                t = max(t, last.timestamp()) if last is not None else t
        return resolve_point(memory.store, conv.id, None, t), "date"
    return None, None


def _points(
    memory: Memory,
    dataset: Dataset,
    questions: list[tuple[Conversation, Question]],
    maps: dict[str, tuple[dict[tuple[str, int], str], dict[str, str]]],
    enabled: bool,
) -> tuple[list[Point | None], dict[str, int]]:
    """Each question's point (None: after the whole history; all None unless ``enabled``), and how
    many each source set; fills ``maps`` with the turn map of every conversation asked about."""
    counts = {"asked_after": 0, "date": 0}
    points: list[Point | None] = []
    refs: dict[str, dict[str, tuple[str, int]]] = {}
    for conv, q in questions:
        if conv.id not in maps:
            maps[conv.id] = _turn_map(memory, conv)
        if not enabled:
            points.append(None)
            continue
        if conv.id not in refs:
            refs[conv.id] = {tid: key for key, tid in maps[conv.id][0].items()}
        point, by = question_point(memory, conv, q, refs[conv.id], dataset.question_dates_as_of)
        if by is not None:
            counts[by] += 1
        points.append(point)
    return points, counts


def _as_of_line(counts: dict[str, int], total: int, enabled: bool) -> str:
    line = (
        f"{sum(counts.values())} of {total} questions scored as of their point in the history "
        f"({counts['asked_after']} by asked_after, {counts['date']} by question date)"
    )
    return line if enabled else line + "; as_of off: every question asked after the whole history"


def _resolve(strategies: Sequence[str | Strategy]) -> list[Strategy]:
    if isinstance(strategies, str):
        strategies = [strategies]
    out = []
    names: set[str] = set()
    for s in strategies:
        if isinstance(s, str):
            if s in names:  # a name given twice would count its questions twice
                continue
            names.add(s)
            if s not in available():
                raise InvalidArgument(
                    f"strategies: unknown strategy {s!r}; registered: {', '.join(available())}", field="strategies"
                )
            out.append(get_strategy(s))
        else:
            out.append(s)
    if not out:
        raise InvalidArgument(
            f"strategies: give at least one strategy; registered: {', '.join(available())}", field="strategies"
        )
    return out


def _open_memory(
    memory_dir: str | Path | None, embedder: Embedder | None, counter: TokenCounter | str, index: str
) -> tuple[Memory, tempfile.TemporaryDirectory[str] | None]:
    """The run's memory: in a temporary folder (returned, to remove afterwards), or in
    ``memory_dir``'s sub-folder for this embedder and counter (so a later run reuses the ingest)."""
    if memory_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="turnmem-eval-")
        return Memory.open(tmp.name, embedder=embedder, counter=counter, index=index), tmp
    embedder = embedder or default_embedder()
    folder = Path(memory_dir) / f"ingest-{ingest_key(embedder, counter)}"
    return Memory.open(folder, embedder=embedder, counter=counter, index=index), None


def run(
    dataset: Dataset,
    *,
    strategies: Sequence[str | Strategy] = DEFAULT_STRATEGIES,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    out: str | Path | None = None,
    memory: Memory | None = None,
    memory_dir: str | Path | None = None,
    embedder: Embedder | None = None,
    counter: TokenCounter | str = "o200k_base",
    index: str = "faiss",
    progress: bool = True,
    console: Any = None,
    rank_k: int = 50,
    answers: AnswerConfig | None = None,
    as_of: bool = True,
) -> RunResult:
    """Run the eval (see the module docstring). Returns records, summaries and timings.

    ``memory`` reuses an open memory (e.g. in a notebook); else one is opened in
    ``memory_dir`` (default: a temporary folder, removed afterwards). ``answers`` adds the
    answer-accuracy stage (an answer model and a judge on an OpenAI-compatible endpoint).
    ``as_of=False`` asks every question after the whole history (how the eval ran before
    questions had points: a comparison, not a fair score).
    """
    budgets = sorted({int(b) for b in budgets})
    if not budgets or budgets[0] <= 0:
        raise InvalidArgument("budgets: give positive token budgets, e.g. 256,512,1024", field="budgets")
    strats = _resolve(strategies)
    console = console or Console(stderr=True)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    own_memory = memory is None
    t_start = time.perf_counter()
    if memory is None:
        memory, tmp = _open_memory(memory_dir, embedder, counter, index)
    try:
        timings = ingest(memory, dataset, progress=progress)
        questions = [(c, q) for c in dataset.conversations for q in c.questions]
        t0 = time.perf_counter()
        vectors = (
            memory.embedder.embed([q.question for _, q in questions])
            if questions
            else np.zeros((0, memory.embedder.dim), dtype=np.float32)
        )
        timings["query_embed_s"] = time.perf_counter() - t0
        per_q = sum(1 if not s.uses_budget else len(budgets) for s in strats)
        records: list[QuestionRecord] = []
        contexts: list[list[dict[str, Any]]] = []  # the messages behind records[i], kept only for answers
        maps: dict[str, tuple[dict[tuple[str, int], str], dict[str, str]]] = {}
        stale: dict[str, list[str]] = dataset.notes.get("stale_evidence") or {}
        full_tokens: dict[str, int] = {}
        points, scored_as_of = _points(memory, dataset, questions, maps, as_of)
        t0 = time.perf_counter()
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=not progress, console=console) as bar:
            task = bar.add_task(f"eval {dataset.name}", total=len(questions) * per_q)
            for qi, (conv, q) in enumerate(questions):
                if conv.id not in full_tokens:
                    full_tokens[conv.id] = (
                        get_strategy("full")
                        .build(StrategyInput(memory=memory, namespace=conv.id, query="", budget=1))
                        .tokens
                    )
                ref_turn, session_of = maps[conv.id]
                point = points[qi]
                now = q.date.timestamp() if q.date else (None if point is None else point.time)
                for strat in strats:
                    ranking_turns: list[str] | None = None
                    base = StrategyInput(
                        memory=memory,
                        namespace=conv.id,
                        query=q.question,
                        budget=budgets[0],
                        query_vector=vectors[qi],
                        now=now,
                        point=point,
                    )
                    if isinstance(strat, Ranker):
                        refs = strat.rank(base, rank_k)
                        ranking_turns = [ref_turn[(r.session, r.seq)] for r in refs if (r.session, r.seq) in ref_turn]
                    for budget in budgets if strat.uses_budget else budgets[:1]:
                        inp = StrategyInput(
                            memory=memory,
                            namespace=conv.id,
                            query=q.question,
                            budget=budget,
                            query_vector=vectors[qi],
                            now=now,
                            point=point,
                        )
                        t1 = time.perf_counter()
                        output = strat.build(inp)
                        ms = (time.perf_counter() - t1) * 1000
                        present = [
                            ref_turn[(r.session, r.seq)] for r in output.present if (r.session, r.seq) in ref_turn
                        ]
                        targets = budgets if not strat.uses_budget else [budget]
                        for b in targets:
                            records.append(
                                make_record(
                                    dataset=dataset.name,
                                    conversation=conv.id,
                                    question_id=q.id,
                                    question=q.question,
                                    category=q.category,
                                    strategy=strat.name,
                                    budget=b,
                                    tokens=output.tokens,
                                    full_tokens=full_tokens[conv.id],
                                    latency_ms=ms,
                                    evidence=q.evidence,
                                    present=present,
                                    ranking=ranking_turns,
                                    session_of=session_of,
                                    evidence_sessions=q.evidence_sessions,
                                    stale=stale.get(q.id, ()),
                                )
                            )
                            if answers is not None:
                                contexts.append(output.messages)
                        bar.advance(task)
        timings["eval_s"] = time.perf_counter() - t0
        console.print(_as_of_line(scored_as_of, len(questions), as_of))
        if answers is not None:  # the answers stage: records and their contexts in, record.answer out
            stage = AnswerStage(answers, counter=memory.counter, console=console, progress=progress)
            gold = {(c.id, q.id): q for c in dataset.conversations for q in c.questions}
            timings.update(stage.apply(records, contexts, gold, dataset.name))
            contexts.clear()
        timings["total_s"] = time.perf_counter() - t_start
        config = {
            "dataset": dataset.name,
            "source": dataset.source,
            "notes": dataset.notes,
            "conversations": [c.id for c in dataset.conversations],
            "questions": len(questions),
            "as_of": {"questions": sum(scored_as_of.values()), **scored_as_of, "enabled": as_of},
            "strategies": [s.name for s in strats],
            "budgets": budgets,
            "embedder": memory.embedder.name,
            "counter": memory.counter.name,
            "index": type(memory.index).__name__,
            "assemble_config": memory.config.model_dump()
            if hasattr(memory.config, "model_dump")
            else vars(memory.config),
            "versions": versions(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine()},
        }
        if answers is not None:
            config["answers"] = stage.describe()
        result = RunResult(
            records=records,
            summary=summary_rows(records),
            by_category=summary_rows(records, by_category=True),
            config=config,
            timings=timings,
        )
        if out is not None:
            result.out = write_outputs(result, out)
        return result
    finally:
        if own_memory:
            memory.close()
        if tmp is not None:
            tmp.cleanup()
