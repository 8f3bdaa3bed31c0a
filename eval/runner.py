"""The eval runner: ingest once, then every strategy × budget × question, scored one way.

``run`` is what ``turnmem eval`` calls and what notebooks import (``from eval import run``).

1. Ingest: every conversation becomes a namespace of one :class:`memory.Memory` (each
   session a session, each turn a message carrying ``metadata["turn_id"]``). Embeddings
   are computed once here and reused by every strategy and budget. A kept ``memory_dir``
   holds one folder per :func:`ingest_key` (code version, embedder identity, counter), and a
   folder that already holds the conversation is reused as is.
2. Queries: all questions are embedded in one batch; strategies get the vector, so the
   latency reported is the context build alone (query embedding excluded, the same for
   every strategy).
3. For each question and strategy: ``rank`` once (ranking metrics), then ``build`` at each
   budget (``full`` once), timed; the context's stored messages are mapped back to turn
   ids and scored against the evidence (:mod:`eval.metrics`).
4. Answers (only with ``answers=AnswerConfig(...)``): a separate stage over the records and
   the contexts built in step 3 (:mod:`eval.answers`): an answer model answers, a judge grades,
   each record gains ``record.answer``; the summaries gain the ``answer_*`` columns.
5. Output (when ``out`` is given): ``results.json`` (config, versions, model, summary and
   every per-question record), ``summary.csv``, ``summary_by_category.csv``,
   ``recall_vs_budget.png`` and ``recall_by_category.png`` (and ``answer_j_vs_tokens.png``).
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from eval.answers import AnswerConfig, AnswerStage
from eval.datasets import Conversation, Dataset
from eval.metrics import QuestionRecord, make_record
from eval.report import (
    ANSWER_COLUMNS,
    SUMMARY_COLUMNS,
    HtmlTable,
    category_figure,
    markdown_table,
    plot_by_category,
    plot_j_vs_tokens,
    plot_recall_vs_tokens,
    recall_figure,
    render_table,
    summary_rows,
    write_csv,
)
from eval.strategies import Ranker, Strategy, StrategyInput, available, get_strategy
from memory.embedders import Embedder, default_embedder
from memory.errors import InvalidArgument
from memory.memory import Memory
from memory.tokens import TokenCounter

DEFAULT_STRATEGIES: tuple[str, ...] = ("full", "window", "summary", "dense", "bm25", "turnmem")
DEFAULT_BUDGETS: tuple[int, ...] = (256, 512, 1024, 2048, 4096)


@dataclass
class RunResult:
    records: list[QuestionRecord]
    summary: list[dict[str, Any]]
    by_category: list[dict[str, Any]]
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    out: Path | None = None

    def table(self) -> Any:
        unbudgeted = [
            s for s in self.config.get("strategies", []) if s in available() and not get_strategy(s).uses_budget
        ]
        return render_table(self.summary, title=self.config.get("dataset", ""), unbudgeted=unbudgeted)

    def markdown(self) -> str:
        return markdown_table(self.summary)

    def frame(self) -> Any:
        """The per-question records as a pandas DataFrame (if pandas is installed)."""
        import pandas as pd

        return pd.DataFrame([{**r.model_dump(exclude={"ranking"}), **r.ranking} for r in self.records])

    def plot(self, by: str = "tokens") -> Any:
        """Recall vs tokens per strategy (``by="tokens"``) or per question category (``by="category"``)."""
        if by == "category":
            return category_figure(self.by_category, title=self.config.get("dataset", ""))
        if by != "tokens":
            raise InvalidArgument(f"by: use 'tokens' or 'category' (got {by!r})", field="by")
        return recall_figure(self.summary, title=self.config.get("dataset", ""))

    def misses(self, strategy: str = "turnmem", budget: int | None = None, *, limit: int | None = 20) -> HtmlTable:
        """Questions whose evidence ``strategy`` left out at ``budget`` (default: the smallest), worst
        first, with the rank each evidence turn had in the strategy's own ranking (None: not in its top k)."""
        budgets = sorted({r.budget for r in self.records if r.strategy == strategy})
        if not budgets:
            raise InvalidArgument(
                f"strategy: {strategy!r} is not in this run; use one of {', '.join(self.config['strategies'])}",
                field="strategy",
            )
        b = budget if budget is not None else budgets[0]
        if b not in budgets:
            raise InvalidArgument(f"budget: {b} is not in this run; use one of {budgets}", field="budget")
        missed = [r for r in self.records if r.strategy == strategy and r.budget == b and r.recall < 1.0]
        missed.sort(key=lambda r: (r.recall, r.category, r.question_id))
        rows = [
            {
                "question": r.question,
                "category": r.category,
                "recall": r.recall,
                "missed evidence (rank)": ", ".join(
                    f"{e} ({r.ranks.get(e) if r.ranks.get(e) is not None else '>k'})"
                    for e in r.evidence
                    if e not in r.found
                ),
                "tokens": r.tokens,
            }
            for r in missed[:limit]
        ]
        return HtmlTable(rows, title=f"{strategy} at {b} tokens: {len(missed)} questions missed evidence")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{r['strategy']}</td><td>{r['budget']}</td><td>{r['questions']}</td>"
            f"<td>{r['recall']:.3f}</td><td>{r['recall_all']:.3f}</td><td>{r['recall_any']:.3f}</td>"
            f"<td>{r['tokens_mean']:.0f}</td><td>{r['latency_p95_ms']:.2f}</td></tr>"
            for r in self.summary
        )
        head = "".join(
            f"<th>{c}</th>"
            for c in ("strategy", "budget", "questions", "recall", "recall_all", "recall_any", "tokens_mean", "p95 ms")
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("turnmem", "sentence-transformers", "torch", "faiss-cpu", "chromadb", "bm25s", "bpe-openai", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def ingest(
    memory: Memory,
    dataset: Dataset,
    *,
    progress: bool = True,
    batch_sessions: int = 1,
) -> dict[str, float]:
    """Store every conversation of ``dataset`` in ``memory`` (skipping sessions already there)."""
    from rich.progress import Progress

    total = sum(len(s.turns) for c in dataset.conversations for s in c.sessions)
    stored = sum(
        min(memory.last_seq(s.id, namespace=c.id), len(s.turns)) for c in dataset.conversations for s in c.sessions
    )
    memory.embedder.embed(["warm-up"])  # load the model outside the timed part
    t0 = time.perf_counter()
    added = 0
    with Progress(disable=not progress or stored == total, transient=False) as bar:  # no bar when all is stored
        task = bar.add_task(f"ingest {dataset.name}", total=total)
        for conv in dataset.conversations:
            for sess in conv.sessions:
                n = len(sess.turns)
                if n == 0:
                    continue
                if memory.last_seq(sess.id, namespace=conv.id) >= n:
                    bar.advance(task, n)
                    continue
                messages = []
                for t in sess.turns:
                    msg = dict(t.message)
                    meta = dict(msg.get("metadata") or {})
                    meta["turn_id"] = t.id
                    msg["metadata"] = meta
                    if t.timestamp is not None:
                        msg["timestamp"] = t.timestamp
                    messages.append(msg)
                memory.add(messages, session=sess.id, namespace=conv.id, idempotency_key=f"ingest:{conv.id}:{sess.id}")
                added += n
                bar.advance(task, n)
    memory.flush()  # every vector indexed (write-behind): the eval searches right after, and the time counts it
    memory.index.persist()
    secs = time.perf_counter() - t0
    return {
        "ingest_s": secs,
        "ingested_messages": float(added),
        "messages_per_s": added / secs if secs and added else 0.0,
    }


# Bump when what ingest stores changes outside the files hashed below (e.g. what gets embedded).
INGEST_VERSION = 2
_INGEST_SOURCES = ("memory/chunking.py", "memory/models.py", "memory/tokens.py", "memory/images.py")


def ingest_key(embedder: Embedder, counter: TokenCounter | str) -> str:
    """A short hash of what an ingested memory depends on: the turnmem version, the code that
    turns a conversation into stored chunks, the embedder's identity (name, dimension and its
    vector for a fixed text) and the token counter. A kept ``memory_dir`` holds one folder
    per key, so an eval never reuses an ingest made by other code or another model."""
    h = hashlib.sha256()
    h.update(_versions().get("turnmem", "unversioned").encode())
    h.update(str(INGEST_VERSION).encode())
    root = Path(__file__).resolve().parents[1]
    for rel in _INGEST_SOURCES:
        h.update((root / rel).read_bytes())
    h.update(f"{embedder.name}:{embedder.dim}".encode())
    h.update(np.round(embedder.embed(["turnmem ingest key"])[0], 4).astype(np.float32).tobytes())
    h.update((counter if isinstance(counter, str) else getattr(counter, "name", type(counter).__name__)).encode())
    return h.hexdigest()[:12]


def _turn_map(memory: Memory, conv: Conversation) -> tuple[dict[tuple[str, int], str], dict[str, str]]:
    ref_turn: dict[tuple[str, int], str] = {}
    session_of: dict[str, str] = {}
    for row in memory.store.all_messages(conv.id):
        tid = (row.data.get("metadata") or {}).get("turn_id")
        if tid is not None:
            ref_turn[(row.session, row.seq)] = str(tid)
            session_of[str(tid)] = row.session
    return ref_turn, session_of


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
) -> RunResult:
    """Run the eval (see the module docstring). Returns records, summaries and timings.

    ``memory`` reuses an open memory (e.g. in a notebook); else one is opened in
    ``memory_dir`` (default: a temporary folder, removed afterwards). ``answers`` adds the
    answer-accuracy stage (an answer model and a judge on an OpenAI-compatible endpoint).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    budgets = sorted({int(b) for b in budgets})
    if not budgets or budgets[0] <= 0:
        raise InvalidArgument("budgets: give positive token budgets, e.g. 256,512,1024", field="budgets")
    strats = _resolve(strategies)
    console = console or Console(stderr=True)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    own_memory = memory is None
    t_start = time.perf_counter()
    if memory is None:
        if memory_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="turnmem-eval-")
            memory_dir = tmp.name
        else:
            embedder = embedder or default_embedder()
            memory_dir = Path(memory_dir) / f"ingest-{ingest_key(embedder, counter)}"
        memory = Memory.open(memory_dir, embedder=embedder, counter=counter, index=index)
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
        t0 = time.perf_counter()
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=not progress, console=console) as bar:
            task = bar.add_task(f"eval {dataset.name}", total=len(questions) * per_q)
            for qi, (conv, q) in enumerate(questions):
                if conv.id not in maps:
                    maps[conv.id] = _turn_map(memory, conv)
                    full_tokens[conv.id] = (
                        get_strategy("full")
                        .build(StrategyInput(memory=memory, namespace=conv.id, query="", budget=1))
                        .tokens
                    )
                ref_turn, session_of = maps[conv.id]
                now = q.date.timestamp() if q.date else None
                for strat in strats:
                    ranking_turns: list[str] | None = None
                    base = StrategyInput(
                        memory=memory,
                        namespace=conv.id,
                        query=q.question,
                        budget=budgets[0],
                        query_vector=vectors[qi],
                        now=now,
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
            "strategies": [s.name for s in strats],
            "budgets": budgets,
            "embedder": memory.embedder.name,
            "counter": memory.counter.name,
            "index": type(memory.index).__name__,
            "assemble_config": memory.config.model_dump()
            if hasattr(memory.config, "model_dump")
            else vars(memory.config),
            "versions": _versions(),
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


def write_outputs(result: RunResult, out: str | Path) -> Path:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": result.config,
        "timings": result.timings,
        "summary": result.summary,
        "by_category": result.by_category,
        "records": [r.model_dump() for r in result.records],
    }
    (folder / "results.json").write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    answered = any("answer_j" in r for r in result.summary)
    columns = (*SUMMARY_COLUMNS, *ANSWER_COLUMNS) if answered else SUMMARY_COLUMNS
    write_csv(result.summary, folder / "summary.csv", columns)
    write_csv(result.by_category, folder / "summary_by_category.csv", (*columns[:2], "category", *columns[2:]))
    title = f"{result.config['dataset']}: {result.config['questions']} questions"
    plot_recall_vs_tokens(result.summary, folder / "recall_vs_budget.png", title=title)
    if result.by_category:
        plot_by_category(result.by_category, folder / "recall_by_category.png", title=title)
    if answered:
        plot_j_vs_tokens(result.summary, folder / "answer_j_vs_tokens.png", title=title)
    (folder / "summary.md").write_text(markdown_table(result.summary) + "\n", encoding="utf-8")
    return folder
