"""Named scorers over retrieval candidates, combined once.

Relevance (the fused dense + lexical score, min-max normalized over the candidates) has
weight 1. Each prior is a :class:`Scorer` with a ``weight`` relative to it and a signal it
needs: it *fires* only when its signal is present (a time in the query, a named
participant, ...) and then contributes ``weight * score`` with a score in [0, 1]::

    final = (relevance + sum(w_i * s_i for firing scorers)) / (1 + sum(w_i for firing scorers))

so a weight means what its doc says: with ``speaker_weight=0.25`` alone firing, "said by
the named participant" is worth a quarter of full relevance, and 0.25 / 1.25 = 20 % of the
final score. A scorer that does not fire costs nothing, whatever its weight.

Scorers are pure functions of a :class:`CandidateView` (arrays, one entry per candidate)
and the :class:`~retrievers.query.QueryAnalysis`; assembly builds the view from the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrievers.query import QueryAnalysis
from retrievers.recency import RecencyScorer
from retrievers.temporal import mentions_time


@dataclass
class CandidateView:
    """What the scorers may look at, one entry per candidate chunk."""

    relevance: np.ndarray  # fused score, min-max normalized to [0, 1]
    pos: np.ndarray  # namespace position of the chunk's message
    ts: np.ndarray  # its timestamp (epoch seconds)
    last_pos: int  # the namespace's newest position
    ref_time: float  # "now" for recency and relative times
    roles: Sequence[str]
    speakers: Sequence[str | None]  # the message's ``name``
    texts: Sequence[str]
    session_prior: np.ndarray | None = None  # query-to-session similarity, normalized
    chosen: np.ndarray | None = None  # an assistant turn the user's next turn chose or accepted


class Scorer:
    """A prior with a weight and a signal; :meth:`score` returns None when it does not fire."""

    name: str = "scorer"

    def __init__(self, weight: float) -> None:
        self.weight = float(weight)

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:  # pragma: no cover
        raise NotImplementedError


class Recency(Scorer):
    """Newer turns first: exponential decay in turns and in wall-clock age."""

    name = "recency"

    def __init__(self, weight: float, recency: RecencyScorer) -> None:
        super().__init__(weight)
        self.recency = recency

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:
        return self.recency.score(view.last_pos - view.pos, view.ref_time - view.ts)


class Time(Scorer):
    """Said when the query says ("in June", "last week", "first"): :class:`TimeHint` scores."""

    name = "time"

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:
        if query.time is None:
            return None
        return query.time.score(view.ts, view.pos, view.last_pos)


class SessionTopic(Scorer):
    """From a session whose turns, on average, are close to the query (session centroids)."""

    name = "session"

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:
        return view.session_prior


class Speaker(Scorer):
    """Said by a participant the query names (by the messages' ``name``)."""

    name = "speaker"

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:
        if not query.named:
            return None
        return np.array([s in query.named for s in view.speakers], dtype=np.float64)


class Person(Scorer):
    """Said by the side of the chat the query's pronouns point at: "my"/"I" → the user's
    turns, "you" → the assistant's. Tool results are facts fetched for the conversation, not
    either side's prose: they keep the full score either way; an assistant turn the user chose
    from or accepted (``CandidateView.chosen``) counts as the user's. Fires only when the candidates
    hold turns of both sides and the query names no participant (names are the speaker
    prior's signal)."""

    name = "person"

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:
        if query.person is None or query.named:
            return None
        roles = np.array([r == query.person for r in view.roles], dtype=np.float64)
        if roles.all() or not roles.any():
            return None
        tools = np.array([r == "tool" for r in view.roles], dtype=bool)
        if query.person == "user" and view.chosen is not None:
            tools |= view.chosen.astype(bool)  # what the user chose from is the user's too
        return np.where(tools, 1.0, roles)


class AnswerType(Scorer):
    """For a "when ...?" query, turns that say when ("yesterday", "on May 3")."""

    name = "answer_type"

    def score(self, view: CandidateView, query: QueryAnalysis) -> np.ndarray | None:
        if not query.asks_when:
            return None
        return np.array([mentions_time(t) for t in view.texts], dtype=np.float64)


def combine(
    scorers: Sequence[Scorer], view: CandidateView, query: QueryAnalysis, *, gate: float = 0.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``final`` per candidate (see the module docstring) and each firing scorer's scores.

    ``gate`` > 0 scales every prior's contribution by ``relevance ** gate``: the priors reorder
    relevant candidates and cannot lift an irrelevant one (relevance 0 gets none of them)."""
    relevance = np.asarray(view.relevance, dtype=np.float64)
    total = relevance.copy()
    scale = np.power(np.clip(relevance, 0.0, 1.0), gate) if gate > 0 else 1.0
    weight = 1.0
    parts: dict[str, np.ndarray] = {}
    for s in scorers:
        if s.weight <= 0:
            continue
        got = s.score(view, query)
        if got is None:
            continue
        parts[s.name] = got
        total += s.weight * got * scale
        weight += s.weight
    return total / weight, parts
