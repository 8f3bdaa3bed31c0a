"""The readings that keep a request's words from firing priors meant for questions about the past:
a time that says when a request is for, a pronoun in a request, and priors gated by relevance."""

from __future__ import annotations

import numpy as np
import pytest

from retrievers.query import analyze
from retrievers.recency import RecencyScorer
from retrievers.replies import is_choice
from retrievers.scorers import CandidateView, Person, Recency, Time, combine
from retrievers.temporal import names_the_past, parse_time_hint, reads_past

NOW = 1_700_000_000.0  # a Tuesday


@pytest.mark.parametrize(
    ("query", "past"),
    [
        ("What did I do this weekend?", True),
        ("When was my first race?", True),
        ("Which hotel had we booked in Lisbon?", True),
        ("What colour was the car I bought?", True),
        ("I mentioned a restaurant earlier", True),
        ("What are some highly-rated movies I can watch this weekend?", False),
        ("What should I cook tonight?", False),
        ("Recommend a book for the beach next week.", False),
        ("I need a detailed plan for my interview", False),
    ],
)
def test_reads_past(query: str, past: bool) -> None:
    assert reads_past(query) is past


@pytest.mark.parametrize(
    ("query", "fires"),
    [
        ("What did we talk about this weekend?", True),  # the past: the weekend is when it was said
        ("What should we watch this weekend?", False),  # a request: the weekend is when it is for
        ("What should I cook tonight?", False),
        ("What did I cook tonight?", True),
        ("What should I wear on my trip last week?", True),  # can only point back: fires either way
        ("What did I say three days ago?", True),
        ("What is my latest plan?", True),  # order words read the log either way
    ],
)
def test_a_time_that_says_when_a_request_is_for_does_not_fire_in_the_past_reading(query: str, fires: bool) -> None:
    hint = parse_time_hint(query, NOW)
    assert hint is not None
    assert (analyze(query, now=NOW, time_reading="past").time is not None) is fires
    assert analyze(query, now=NOW, time_reading="any").time is not None  # today's reading: every hint fires
    assert fires is (names_the_past(hint) or reads_past(query))


@pytest.mark.parametrize(
    ("query", "person"),
    [
        ("Remind me what we said about the launch range.", None),  # a request to the assistant
        ("Tell me the plan for the shop again.", None),
        ("Tell me what I said about my knee.", "user"),  # "I" and "my" still point at the user
        ("What did I last get done on the shop?", "user"),
        ("Which trail did you recommend?", "assistant"),
    ],
)
def test_the_me_of_a_request_to_the_assistant_points_at_neither_side(query: str, person: str | None) -> None:
    assert analyze(query, person_reading="addressee").person == person
    assert analyze(query, person_reading="any").person is not None


def test_gated_priors_never_lift_an_irrelevant_candidate_above_a_relevant_one() -> None:
    view = CandidateView(
        relevance=np.array([1.0, 0.6, 0.0]),
        pos=np.array([10, 20, 99]),
        ts=np.array([NOW - 60 * 86400, NOW - 30 * 86400, NOW - 600]),
        last_pos=100,
        ref_time=NOW,
        roles=["assistant", "assistant", "user"],
        speakers=[None, None, None],
        texts=["the option list", "another list", "an unrelated turn"],
    )
    scorers = [Recency(0.1, RecencyScorer(200.0, 30 * 86400.0)), Time(0.45), Person(1.0)]
    query = analyze("What did I do this weekend?", now=NOW)  # time and person fire toward the last turn
    ungated, _ = combine(scorers, view, query)
    gated, parts = combine(scorers, view, query, gate=1.0)
    assert {"time", "person", "recency"} <= set(parts)
    assert ungated[2] > ungated[1]  # today: the irrelevant newest user turn outranks a relevant list
    assert gated[2] == 0.0 and gated[0] > gated[1] > gated[2]  # gated: relevance 0 gets no prior
    # between relevant candidates the priors still count: the order can move
    close = CandidateView(
        **{**view.__dict__, "relevance": np.array([0.9, 1.0, 0.8]), "roles": ["user", "assistant", "user"]}
    )
    moved, _ = combine(scorers, close, query, gate=1.0)
    assert moved[0] > moved[1]


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("Option 4, definitely. That's so me.", True),
        ("The second one sounds perfect.", True),
        ("I'll go for number 2.", True),
        ("That works for me. Starting this week!", True),
        ("Hmm, none of those really grab me.", False),
        ("Thanks!", False),
        ("Can you explain step 3 in more detail?", False),
        ("I'll go with whatever is cheapest, but first tell me more about " + "the costs " * 10, False),  # too long
    ],
)
def test_a_choice_is_a_short_reply_that_picks_or_accepts(text: str, choice: bool) -> None:
    assert is_choice(text) is choice


def test_what_the_user_chose_from_counts_as_the_users_for_the_person_prior() -> None:
    view = CandidateView(
        relevance=np.array([0.8, 0.8, 0.8]),
        pos=np.array([1, 2, 3]),
        ts=np.array([NOW, NOW, NOW]),
        last_pos=3,
        ref_time=NOW,
        roles=["assistant", "assistant", "user"],
        speakers=[None, None, None],
        texts=["1. **Sci-fi** 2. **Noir**", "Here is how compound interest works", "I love long walks"],
        chosen=np.array([True, False, False]),
    )
    user = Person(1.0).score(view, analyze("What should I watch tonight?"))
    assistant = Person(1.0).score(view, analyze("Which film did you suggest?"))
    assert user is not None and user.tolist() == [1.0, 0.0, 1.0]
    assert assistant is not None and assistant.tolist() == [1.0, 1.0, 0.0]  # "you": the assistant's side as before


@pytest.mark.parametrize(
    ("query", "person"),
    [
        ("How much of a cushion did you tell me to keep?", "assistant"),  # what the assistant said
        ("Which trail near Ljubljana did you point me to?", "assistant"),
        ("What was the hike you suggested outside Ghent?", "assistant"),
        ("Which punctuation should you leave out when you write for me?", "user"),  # what the user asked for
        ("What kind of answers do I like from you?", "user"),
        ("What should I make this evening?", "user"),
        ("Can you recommend some cafés in Lisbon?", "assistant"),  # "you" alone, as before
        ("What did Caroline research?", None),
    ],
)
def test_the_speaker_reading_points_you_at_the_assistant_only_as_the_one_who_said(
    query: str, person: str | None
) -> None:
    assert analyze(query, person_reading="speaker").person == person
