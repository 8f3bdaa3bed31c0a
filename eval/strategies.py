"""Context strategies, one protocol: given the same memory, query, budget and counter,
return the messages a model would see and which stored messages they hold.

Registered by name (``@register("name")``) so a user can add their own and pass it to
``turnmem eval --strategies``. Every strategy except ``full`` must stay within the budget;
``tests/eval/test_strategies.py`` checks that for all registered strategies.

A question asked at a point of the history (``StrategyInput.point``, :mod:`memory.read.as_of`) is
built from what existed then by every strategy: the baselines read the memory's store and retriever
as of the point (:func:`at_point`), the same cutoff ``turnmem``'s ``assemble(as_of=...)`` applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import Stemmer

from eval.summarize import CentralTurnsSummarizer, history_version
from memory.memory import Memory
from memory.models import Context, MessageRef
from memory.read.as_of import Point, RetrieverAsOf, StoreAsOf
from memory.read.assemble import AssembleConfig, assemble
from memory.stores.base import ContextStore
from memory.tokens import count_message, count_messages
from retrievers.base import Query, Retriever
from retrievers.lexical import BM25sRetriever


@dataclass
class StrategyInput:
    """What every strategy gets for one question."""

    memory: Memory
    namespace: str
    query: str
    budget: int
    query_vector: np.ndarray | None = None
    now: float | None = None
    point: Point | None = None  # asked at this point of the history (None: after all of it)


@dataclass
class StrategyOutput:
    messages: list[dict[str, Any]]
    tokens: int
    present: set[MessageRef]
    ranking: list[MessageRef] | None = None  # best first, for ranking metrics
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Strategy(Protocol):
    name: str
    uses_budget: bool

    def build(self, inp: StrategyInput) -> StrategyOutput: ...


@runtime_checkable
class Ranker(Protocol):
    """A strategy that also ranks stored messages (budget-independent, best first);
    the runner calls ``rank`` once per question for the ranking metrics."""

    def rank(self, inp: StrategyInput, k: int = 50) -> list[MessageRef]: ...


StrategyFactory = Callable[..., Strategy]
_REGISTRY: dict[str, StrategyFactory] = {}


def register(name: str) -> Callable[[StrategyFactory], StrategyFactory]:
    """Register a strategy factory under ``name`` (a class or any callable returning one)."""

    def deco(factory: StrategyFactory) -> StrategyFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def available() -> list[str]:
    return list(_REGISTRY)


def get_strategy(name: str, **kwargs: Any) -> Strategy:
    if name not in _REGISTRY:
        raise ValueError(f"strategies: unknown strategy {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name](**kwargs)


def at_point(inp: StrategyInput, retriever: Retriever | None = None) -> tuple[ContextStore, Retriever | None]:
    """The store and retriever a strategy reads for ``inp``: the memory's, or as of ``inp.point``."""
    if inp.point is None:
        return inp.memory.store, retriever
    wrapped = None if retriever is None else RetrieverAsOf(retriever, inp.point)
    return StoreAsOf(inp.memory.store, inp.point), wrapped


def _from_context(ctx: Context) -> StrategyOutput:
    return StrategyOutput(ctx.messages, ctx.tokens, ctx.refs(), extra={"breakdown": ctx.breakdown})


def _ranking(memory: Memory, retriever: Retriever, inp: StrategyInput, k: int = 50) -> list[MessageRef]:
    retriever = retriever if inp.point is None else RetrieverAsOf(retriever, inp.point)
    cands = retriever.retrieve(Query(inp.query, inp.namespace, None, inp.query_vector), k)
    rows = memory.store.chunks(cands.ids.tolist())
    out: list[MessageRef] = []
    seen: set[MessageRef] = set()
    for cid in cands.ids.tolist():
        c = rows.get(int(cid))
        if c is None:
            continue
        ref = MessageRef(namespace=inp.namespace, session=c.session, seq=c.seq)
        if ref not in seen:
            seen.add(ref)
            out.append(ref)
    return out


@register("full")
class FullHistory:
    """The whole history: the cost reference. Ignores the budget."""

    name = "full"
    uses_budget = False

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str, object], tuple[tuple[int, int], StrategyOutput]] = {}

    def build(self, inp: StrategyInput) -> StrategyOutput:
        at = None if inp.point is None else (inp.point.max_pos, inp.point.max_ts)
        key = (id(inp.memory), inp.namespace, at)
        version = history_version(inp.memory, inp.namespace)
        cached = self._cache.get(key)
        if cached is None or cached[0] != version:  # a history that grew is read again
            rows = at_point(inp)[0].all_messages(inp.namespace)
            messages = [r.message().to_openai() for r in rows]
            refs = {MessageRef(namespace=inp.namespace, session=r.session, seq=r.seq) for r in rows}
            cached = (version, StrategyOutput(messages, count_messages(inp.memory.counter, messages), refs))
            self._cache[key] = cached
        return cached[1]


@register("window")
class SlidingWindow:
    """The most recent turns of the conversation that fit the budget."""

    name = "window"
    uses_budget = True

    def build(self, inp: StrategyInput) -> StrategyOutput:
        ctx = assemble(
            store=at_point(inp)[0],
            retriever=None,
            counter=inp.memory.counter,
            namespace=inp.namespace,
            session=None,
            query=None,
            budget=inp.budget,
        )
        return _from_context(ctx)


def plain_config(budget: int) -> AssembleConfig:
    """Plain RAG's settings: a retriever's top chunks packed by score, and none of turnmem's
    pieces (window, recency, priors, neighbours, choices, MMR, repeat decay). ``tests/eval/test_strategies.py``
    checks that every prior weight is off, so a new prior cannot leak into the baselines."""
    return AssembleConfig(
        window_share=0.0,
        recency_weight=0.0,
        fill_window=False,
        candidates=max(64, budget // 8),
        candidates_per_token=0.0,
        window_max_messages=None,
        neighbors=0.0,
        session_weight=0.0,
        speaker_weight=0.0,
        person_weight=0.0,
        time_weight=0.0,
        answer_type_weight=0.0,
        query_turns=0,
        mmr_lambda=None,
        pack="score",
        chosen_replies=False,
        reply_share=0.0,
        repeat_decay=1.0,
        prior_gate=0.0,
    )


class _Packed:
    """Plain RAG: a retriever's top chunks packed greedily, no window, no recency."""

    name = "packed"
    uses_budget = True

    def retriever(self, memory: Memory) -> Retriever:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, inp: StrategyInput) -> StrategyOutput:
        store, retriever = at_point(inp, self.retriever(inp.memory))
        config = plain_config(inp.budget)
        ctx = assemble(
            store=store,
            retriever=retriever,
            counter=inp.memory.counter,
            namespace=inp.namespace,
            session=None,
            query=inp.query,
            budget=inp.budget,
            config=config,
            query_vector=inp.query_vector,
        )
        return _from_context(ctx)

    def rank(self, inp: StrategyInput, k: int = 50) -> list[MessageRef]:
        return _ranking(inp.memory, self.retriever(inp.memory), inp, k)


@register("dense")
class DenseRAG(_Packed):
    """Top chunks by cosine similarity (the memory's embedder and index)."""

    name = "dense"

    def retriever(self, memory: Memory) -> Retriever:
        return memory.dense


@register("bm25")
class BM25RAG(_Packed):
    """Top chunks by BM25 (bm25s over the namespace's chunks; stop words out, Snowball stems)."""

    name = "bm25"

    def __init__(self) -> None:
        self._retrievers: dict[int, BM25sRetriever] = {}

    def retriever(self, memory: Memory) -> Retriever:
        key = id(memory)
        if key not in self._retrievers:
            store = memory.store

            def corpus(ns: str) -> tuple[np.ndarray, list[str], list[str]]:
                return store.chunk_texts(ns)

            def version(ns: str) -> object:
                return (store.chunk_count(ns), store.max_chunk_id())

            self._retrievers[key] = BM25sRetriever(corpus, version, stemmer=Stemmer.Stemmer("english"))
        return self._retrievers[key]


@register("turnmem")
class Turnmem:
    """The product's default ``Memory.assemble`` pipeline."""

    name = "turnmem"
    uses_budget = True

    def __init__(self, config: AssembleConfig | None = None, *, name: str | None = None, **overrides: Any) -> None:
        """``name`` labels a variant in results (e.g. ``Turnmem(name="share=0.5", window_share=0.5)``)."""
        self.config = config
        self.overrides = overrides
        if name is not None:
            self.name = name

    def build(self, inp: StrategyInput) -> StrategyOutput:
        ctx = inp.memory.assemble(
            inp.query,
            namespace=inp.namespace,
            session=None,
            budget=inp.budget,
            config=self.config,
            query_vector=inp.query_vector,
            now=inp.now,
            as_of=inp.point,
            **self.overrides,
        )
        return _from_context(ctx)

    def rank(self, inp: StrategyInput, k: int = 50) -> list[MessageRef]:
        return _ranking(inp.memory, inp.memory.retriever, inp, k)


# The defaults that LoCoMo's shape suggested (two named humans): the speaker prior, names
# out of the lexical query and the "when" answer-type prior. Kept as a row in every table
# so that what they buy, or cost, on other data stays visible.
GENERIC_OVERRIDES: dict[str, Any] = {"speaker_weight": 0.0, "lexical_names": True, "answer_type_weight": 0.0}


@register("turnmem-generic")
class TurnmemGeneric(Turnmem):
    """``turnmem`` without its LoCoMo-shaped priors (see ``GENERIC_OVERRIDES``)."""

    name = "turnmem-generic"

    def __init__(self) -> None:
        super().__init__(**GENERIC_OVERRIDES)


@register("summary")
class SummaryWindow:
    """A summary of older turns plus the recent window (the classic "summary buffer").

    ``summarizer`` defaults to :class:`eval.summarize.CentralTurnsSummarizer` (offline,
    query-independent: the turns most central to their session); an
    :class:`eval.summarize.OpenAISummarizer` calls an OpenAI-compatible endpoint instead.
    The window takes ``window_share`` of the budget and the summary the rest.
    """

    name = "summary"
    uses_budget = True

    def __init__(self, summarizer: Any = None, window_share: float = 0.5) -> None:
        self.summarizer = summarizer or CentralTurnsSummarizer()
        self.window_share = window_share

    def build(self, inp: StrategyInput) -> StrategyOutput:
        counter = inp.memory.counter
        # At least the 3 reply-priming tokens, never more than the budget (a budget too small
        # for those raises BudgetTooSmall from assemble, as for the other strategies).
        window_budget = max(min(3, inp.budget), int(inp.budget * self.window_share))
        window = assemble(
            store=at_point(inp)[0],
            retriever=None,
            counter=counter,
            namespace=inp.namespace,
            session=None,
            query=None,
            budget=window_budget,
        )
        shown = window.refs()
        room = inp.budget - window.tokens - 4  # the summary message's own overhead
        at: dict[str, Any] = (
            {} if inp.point is None else {"point": inp.point}
        )  # a summarizer of its own may not take one
        summary = self.summarizer.summarize(inp.memory, inp.namespace, exclude=shown, max_tokens=room, **at)
        messages = list(window.messages)
        present = set(shown)
        if summary.text:
            msg = {"role": "system", "content": summary.text}
            if window.tokens + count_message(counter, msg) <= inp.budget:
                messages = [msg, *messages]
                present |= summary.covered
        return StrategyOutput(messages, count_messages(counter, messages), present)
