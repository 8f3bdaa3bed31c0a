"""The one shape every benchmark dataset takes: conversations of sessions of turns, plus questions.

The models alone, so that the loaders (:mod:`eval.datasets`) and the generators
(:mod:`eval.synthetic`, :mod:`eval.synthetic_chat`, :mod:`eval.synthetic_prefs`,
:mod:`eval.synthetic_projects`) both import them without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from memory.errors import InvalidArgument


class Turn(BaseModel):
    """One message of a conversation, with the id evidence refers to."""

    id: str
    message: dict[str, Any]  # OpenAI chat format (role, content, name, tool_calls, ...)
    timestamp: datetime | None = None
    has_answer: bool = False

    @property
    def text(self) -> str:
        c = self.message.get("content")
        return c if isinstance(c, str) else json.dumps(c, ensure_ascii=False)


class Session(BaseModel):
    id: str
    date: datetime | None = None
    turns: list[Turn] = Field(default_factory=list)


class Question(BaseModel):
    id: str
    question: str
    answer: str | None = None
    category: str = "all"
    evidence: list[str] = Field(default_factory=list)  # turn ids
    evidence_sessions: list[str] = Field(default_factory=list)
    date: datetime | None = None  # when it is asked ("now" for recency)
    # The last turn the asker had seen (a turn id): the question is asked as of that point of the
    # history, not after all of it. None: after the whole history.
    asked_after: str | None = None


class Conversation(BaseModel):
    id: str  # becomes the namespace
    sessions: list[Session]
    questions: list[Question] = Field(default_factory=list)

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]


class Dataset(BaseModel):
    name: str
    conversations: list[Conversation]
    source: str | None = None
    notes: dict[str, Any] = Field(default_factory=dict)  # e.g. evidence ids dropped while cleaning
    # Each question's ``date`` is when it was asked inside the history (LongMemEval's question_date):
    # the eval scores it as of that time. False: the date is only "now" for recency.
    question_dates_as_of: bool = False

    @property
    def questions(self) -> list[Question]:
        return [q for c in self.conversations for q in c.questions]

    def select(
        self,
        *,
        conversations: list[str] | None = None,
        categories: list[str] | None = None,
        limit_questions: int | None = None,
        require_evidence: bool = True,
    ) -> Dataset:
        """A copy with only these conversations / question categories, at most
        ``limit_questions`` questions per conversation, and (by default) only questions
        that have evidence (recall is undefined without it)."""
        convs = self.conversations
        if conversations:
            known = {c.id for c in convs}
            missing = [c for c in conversations if c not in known]
            if missing:
                raise InvalidArgument(
                    f"conversations: unknown id(s) {', '.join(missing)}; this dataset has "
                    f"{', '.join(sorted(known)[:12])}{'...' if len(known) > 12 else ''}",
                    field="conversations",
                )
            convs = [c for c in convs if c.id in set(conversations)]
        out = []
        for c in convs:
            qs = [q for q in c.questions if (not require_evidence or q.evidence)]
            if categories:
                qs = [q for q in qs if q.category in set(categories)]
            if limit_questions is not None:
                qs = qs[:limit_questions]
            out.append(c.model_copy(update={"questions": qs}))
        return self.model_copy(update={"conversations": out})


def check_generator_args(
    ranges: Sequence[tuple[str, object, int, int]], min_exchanges: int, max_exchanges: int
) -> None:
    """A synthetic generator's arguments: each ``(name, value, low, high)`` a whole number in
    ``low..high``, and ``min_exchanges <= max_exchanges``; else :class:`InvalidArgument` naming it."""
    for name, value, low, high in ranges:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidArgument(f"{name}: give a whole number from {low} to {high}, got {value!r}", field=name)
    if min_exchanges > max_exchanges:
        raise InvalidArgument(
            f"max_exchanges: must be at least min_exchanges ({min_exchanges}), got {max_exchanges}",
            field="max_exchanges",
        )
