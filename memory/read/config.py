"""The knobs of context assembly (:class:`AssembleConfig`), each measured in the eval harness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from retrievers.recency import RecencyScorer
from retrievers.temporal import zone as time_zone


class AssembleConfig(BaseModel):
    """Knobs of :func:`assemble`; every one is measured in the eval harness."""

    window_share: float = Field(0.3, ge=0.0, le=1.0, description="share of the budget for the recent window")
    candidates: int = Field(64, ge=1, le=10_000, description="chunks asked from the retriever")
    candidates_per_token: float = Field(
        0.25, ge=0.0, le=1.0, description="at least this many candidates per token of budget (a big budget holds more)"
    )
    recency_weight: float = Field(0.1, ge=0.0, le=1.0, description="weight of the recency prior (relevance: 1)")
    turn_half_life: float | None = Field(200.0, gt=0, description="recency half-life in turns (None: off)")
    time_half_life_days: float | None = Field(30.0, gt=0, description="recency half-life in days (None: off)")
    stub_tokens: int = Field(120, ge=0, description="sibling tool results above this many tokens show as a stub")
    fill_window: bool = Field(True, description="spend budget left after retrieval on older window turns")
    scope: Literal["namespace", "session"] = Field("namespace", description="where retrieval looks")
    # retrieval pieces (each measured in benchmarks/ablation.py)
    lexical_weight: float = Field(1.0, ge=0.0, description="weight of FTS5 BM25 candidates in fusion (0: dense only)")
    fusion: Literal["rrf", "weighted"] = Field("weighted", description="how dense and lexical rankings are fused")
    rrf_k: float = Field(60.0, gt=0, description="reciprocal rank fusion constant")
    pin_state: bool = Field(True, description="pin the session's state blocks (and stage instructions)")
    text_only: bool = Field(False, description="images and files as their text surrogates instead of parts")
    window_max_messages: int | None = Field(
        None, ge=0, description="cap on recent-window messages before retrieval (None: no cap)"
    )
    window_gap_hours: float | None = Field(
        6.0,
        gt=0,
        description="the recent window is the current conversation: it stops at a pause longer than this "
        "(between turns, or between the newest turn and `now`); older turns come by retrieval (None: no limit)",
    )
    neighbors: float = Field(
        0.35, ge=0.0, le=1.0, description="adjacent turns of a hit join with this share of its score"
    )
    repeat_decay: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="a message's 2nd, 3rd... best chunk has its score times this, its square... (1: off)",
    )
    chosen_replies: bool = Field(
        True,
        description="find the assistant turns the user's next turn chose from or accepted ('option 2', 'that "
        "works'): they count as the user's for the person prior, and the choice joins with `reply_share`",
    )
    reply_share: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="the user's choice right after an assistant's hit joins with this share of its score "
        "(when larger than `neighbors`; needs `chosen_replies`)",
    )
    neighbor_tokens: int | None = Field(
        None, ge=1, description="only neighbours of at most this many tokens join (None: any size)"
    )
    mmr_lambda: float | None = Field(None, gt=0.0, le=1.0, description="MMR diversity trade-off (None: off)")
    session_weight: float = Field(
        0.25, ge=0.0, le=1.0, description="weight of the session-level (centroid) score (relevance: 1)"
    )
    pack: Literal["score", "density"] = Field("score", description="pack by score, or by score per sqrt(token)")
    query_turns: int = Field(
        2, ge=0, le=20, description="recent session turns folded into the retrieval query (0: the query alone)"
    )
    query_turns_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="weight of those turns' mean vector against the query vector"
    )
    time_weight: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="weight of a time expression in the query ('in June', 'last week', 'first'; relevance: 1)",
    )
    answer_type_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="weight of 'the turn says when' for a 'when ...?' query (relevance: 1)"
    )
    lexical_names: bool = Field(False, description="keep named participants' names in the lexical query")
    speaker_weight: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="weight of 'said by a participant the query names' (by message name; relevance: 1)",
    )
    person_weight: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="weight of 'said by the side the query's pronouns point at' (my/I: user, you: assistant)",
    )
    prior_gate: float = Field(
        0.0,
        ge=0.0,
        le=4.0,
        description="priors scale with relevance ** this (0: they add regardless of relevance)",
    )
    time_reading: Literal["any", "past"] = Field(
        "past",
        description="'past': a time that can name when a request is for ('tonight', 'this weekend', 'in June') "
        "fires the time prior only when the query asks about the past",
    )
    person_reading: Literal["any", "addressee", "speaker"] = Field(
        "speaker",
        description="'addressee': the 'me' of a request to the assistant ('remind me', 'tell me') points at "
        "neither side; 'speaker': 'you' points at the assistant only as the one who said or suggested, "
        "'I'/'my' at the user also beside a 'you' asked to do something",
    )
    timezone: str | None = Field(
        None,
        description="the user's IANA time zone ('America/Los_Angeles'): where 'yesterday' or 'May 3' begin (None: UTC)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        time_zone(value)  # ValueError naming the field for an unknown name
        return value

    def recency(self) -> RecencyScorer:
        days = self.time_half_life_days
        return RecencyScorer(self.turn_half_life, None if days is None else days * 86400.0)
