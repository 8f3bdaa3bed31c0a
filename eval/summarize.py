"""Summarizers for the ``summary`` strategy: an extractive offline default (each session's most
central turns: :class:`CentralTurnsSummarizer`, not :class:`memory.ExtractiveSummarizer`, the
rolling summaries' line picker), and an LLM one.

A summarizer turns the older part of a conversation into one text under ``max_tokens``
and says which stored messages it *covers* (their whole text is in the summary), which
is what evidence recall counts. An abstractive summary covers no message verbatim, so it
scores 0 on evidence recall even when it keeps the gist: that is what the metric means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from memory.memory import Memory
from memory.models import MessageRef
from memory.read.as_of import Point, StoreAsOf
from memory.session.summaries import ChatSummarizer
from memory.stores.base import ContextStore
from memory.stores.rows import MessageRow

OVERHEAD = 8  # the summary message's role and framing tokens, counted generously


@dataclass
class Summary:
    text: str
    covered: set[MessageRef] = field(default_factory=set)


def history_version(memory: Memory, namespace: str) -> tuple[int, int]:
    """Changes whenever ``namespace`` gains or loses messages: caches keyed on it never
    serve a history that has grown (or been deleted) since they were filled."""
    return (memory.store.last_pos(namespace), memory.store.max_deletion_id())


def _store(memory: Memory, point: Point | None) -> ContextStore:
    """The memory's store, or as it was at ``point`` (a question asked mid-history)."""
    return memory.store if point is None else StoreAsOf(memory.store, point)


def _line(row: MessageRow) -> str:
    msg = row.message()
    day = datetime.fromtimestamp(row.ts, tz=timezone.utc).strftime("%Y-%m-%d")
    who = msg.metadata.get("speaker") or msg.name or row.role
    return f"- [{day}] {who}: {msg.text()}"


class CentralTurnsSummarizer:
    """Picks, round-robin over sessions, each session's most central turns.

    Centrality is the cosine between a turn's vector and its session's mean vector (the
    vectors the memory already stores), so it costs no model call and no download.
    """

    header = "Summary of the earlier conversation (selected turns):"

    def __init__(self) -> None:
        self._order: dict[tuple[int, str], tuple[tuple[int, int], list[MessageRow]]] = {}

    def _ranked(self, memory: Memory, namespace: str, point: Point | None = None) -> list[MessageRow]:
        key = (id(memory), namespace)
        version = history_version(memory, namespace)
        cached = self._order.get(key) if point is None else None  # a point's order is made for its question
        if cached is not None and cached[0] == version:
            return cached[1]
        store = _store(memory, point)
        rows = store.all_messages(namespace)
        cands = store.first_candidates(namespace, [(r.session, r.seq) for r in rows])
        firsts = {k: c.chunk for k, c in cands.items()}
        vecs = store.vectors([c.id for c in firsts.values()])
        first_vec = {key: vecs[c.id] for key, c in firsts.items() if c.id in vecs}
        by_session: dict[str, list[tuple[float, MessageRow]]] = {}
        groups: dict[str, list[MessageRow]] = {}
        for r in rows:
            if r.role in ("user", "assistant") and not r.data.get("tool_calls"):
                groups.setdefault(r.session, []).append(r)
        for session, members in groups.items():
            # turns still waiting for their vector (write-behind indexing) come last, in log order
            with_vec = [m for m in members if (m.session, m.seq) in first_vec]
            scored = [(0.0, m) for m in members if (m.session, m.seq) not in first_vec]
            if with_vec:
                centroid = np.stack([first_vec[(m.session, m.seq)] for m in with_vec]).mean(axis=0)
                centroid /= np.linalg.norm(centroid) or 1.0
                ranked = sorted(
                    ((float(first_vec[(m.session, m.seq)] @ centroid), m) for m in with_vec), key=lambda t: -t[0]
                )
                scored = ranked + scored
            by_session[session] = scored
        order: list[MessageRow] = []
        depth = 0
        while True:
            added = False
            for session in groups:
                scored = by_session.get(session, [])
                if depth < len(scored):
                    order.append(scored[depth][1])
                    added = True
            if not added:
                break
            depth += 1
        if point is None and len(first_vec) == len(firsts):  # one made before every vector arrived is not kept
            self._order[key] = (version, order)
        return order

    def summarize(
        self, memory: Memory, namespace: str, *, exclude: set[MessageRef], max_tokens: int, point: Point | None = None
    ) -> Summary:
        """The most central turns not in ``exclude`` (of those that existed at ``point``), within ``max_tokens``."""
        if max_tokens <= OVERHEAD:
            return Summary("")
        counter = memory.counter
        budget = max_tokens - OVERHEAD - counter.count(self.header)
        chosen: list[MessageRow] = []
        for row in self._ranked(memory, namespace, point):
            if MessageRef(namespace=namespace, session=row.session, seq=row.seq) in exclude:
                continue
            cost = counter.count(_line(row)) + 1
            if cost <= budget:
                chosen.append(row)
                budget -= cost
            if budget <= 8:
                break
        if not chosen:
            return Summary("")
        chosen.sort(key=lambda r: r.pos)
        text = "\n".join([self.header, *(_line(r) for r in chosen)])
        text = counter.truncate(text, max_tokens - OVERHEAD)
        covered = {MessageRef(namespace=namespace, session=r.session, seq=r.seq) for r in chosen}
        return Summary(text, covered)


class OpenAISummarizer:
    """Summarizes older turns with any OpenAI-compatible ``/v1/chat/completions`` endpoint.

    Results are cached per (namespace, excluded turns, max_tokens): an eval asks for the
    same summary for every question of a conversation.
    """

    prompt = (
        "Summarize the conversation below for an assistant that will continue it. Keep names, "
        "dates, numbers, decisions and facts each person stated. At most {max_tokens} tokens."
    )

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 120.0,
        max_input_tokens: int = 100_000,
        client: Any = None,
    ) -> None:
        self.chat = ChatSummarizer(model, base_url=base_url, api_key=api_key, timeout=timeout, client=client)
        self.model = model
        self.max_input_tokens = max_input_tokens
        self.client = self.chat.client
        self._cache: dict[tuple[Any, ...], Summary] = {}

    def summarize(
        self, memory: Memory, namespace: str, *, exclude: set[MessageRef], max_tokens: int, point: Point | None = None
    ) -> Summary:
        """The model's summary of the turns not in ``exclude`` (of those that existed at ``point``)."""
        if max_tokens <= OVERHEAD:
            return Summary("")
        at = None if point is None else (point.max_pos, point.max_ts)
        key = (id(memory), namespace, history_version(memory, namespace), at, frozenset(exclude), max_tokens)
        if key in self._cache:
            return self._cache[key]
        rows = [
            r
            for r in _store(memory, point).all_messages(namespace)
            if MessageRef(namespace=namespace, session=r.session, seq=r.seq) not in exclude
        ]
        if not rows:  # everything is in the window: nothing to summarize, no call to make
            return Summary("")
        transcript = memory.counter.truncate("\n".join(_line(r) for r in rows), self.max_input_tokens)
        text = self.chat.complete(transcript, max_tokens - OVERHEAD, prompt=self.prompt)
        text = memory.counter.truncate(text, max_tokens - OVERHEAD)
        covered = {
            MessageRef(namespace=namespace, session=r.session, seq=r.seq)
            for r in rows
            if len(r.message().text()) > 20 and r.message().text() in text
        }
        summary = Summary(text, covered)
        self._cache[key] = summary
        return summary
