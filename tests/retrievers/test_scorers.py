"""Scorers fire only on their signal, and their weights mean what the docs say."""

from __future__ import annotations

import numpy as np
import pytest

from retrievers.query import addressed_person, analyze
from retrievers.recency import RecencyScorer
from retrievers.scorers import (
    AnswerType,
    CandidateView,
    Person,
    Recency,
    SessionTopic,
    Speaker,
    Time,
    combine,
)

NOW = 1_700_000_000.0


def view(**kw: object) -> CandidateView:
    base: dict[str, object] = {
        "relevance": np.array([1.0, 0.5, 0.0]),
        "pos": np.array([1, 50, 99]),
        "ts": np.array([NOW - 90 * 86400, NOW - 30 * 86400, NOW - 3600]),
        "last_pos": 100,
        "ref_time": NOW,
        "roles": ["user", "assistant", "user"],
        "speakers": ["Ana", "Ben", None],
        "texts": ["I moved to Porto", "Porto is lovely in May", "we met yesterday"],
    }
    base.update(kw)
    return CandidateView(**base)  # type: ignore[arg-type]


def test_relevance_alone_is_the_final_score() -> None:
    final, parts = combine([], view(), analyze("where do I live?"))
    assert np.allclose(final, [1.0, 0.5, 0.0]) and parts == {}


def test_a_weight_is_relative_to_relevance() -> None:
    q = analyze("What did Ana say?", speakers={"ana": "Ana", "ben": "Ben"})
    final, parts = combine([Speaker(0.25)], view(), q)
    assert np.allclose(parts["speaker"], [1, 0, 0])
    # (relevance + 0.25 * speaker) / 1.25
    assert np.allclose(final, np.array([1.25, 0.5, 0.0]) / 1.25)


@pytest.mark.parametrize(
    ("scorer", "query", "kwargs"),
    [
        (Speaker(0.5), "What is the plan?", {"speakers": {"ana": "Ana", "ben": "Ben"}}),
        (Time(0.5), "What is the plan?", {"now": NOW}),
        (AnswerType(0.5), "What is the plan?", {}),
        (Person(0.5), "What did Ana say?", {"speakers": {"ana": "Ana", "ben": "Ben"}}),
        (Person(0.5), "What did I tell you?", {}),
    ],
)
def test_a_scorer_without_its_signal_does_not_fire(scorer: object, query: str, kwargs: dict) -> None:
    final, parts = combine([scorer], view(), analyze(query, **kwargs))  # type: ignore[list-item]
    assert parts == {} and np.allclose(final, [1.0, 0.5, 0.0])


def test_each_scorer_fires_on_its_signal_and_moves_the_order() -> None:
    v = view()
    base = np.argsort(-combine([], v, analyze("x"))[0])
    cases = [
        (Time(1.0), analyze("what happened yesterday?", now=NOW)),
        (AnswerType(1.0), analyze("When did we meet?")),
        (Person(1.0), analyze("What did you say about Porto?")),
        (Recency(1.0, RecencyScorer(10.0, None)), analyze("x")),
        (Speaker(1.0), analyze("What did Ben say?", speakers={"ana": "Ana", "ben": "Ben"})),
    ]
    for scorer, q in cases:
        final, parts = combine([scorer], v, q)
        assert scorer.name in parts, scorer.name
        assert not np.array_equal(np.argsort(-final), base), scorer.name
        off, _ = combine([type(scorer)(0.0) if not isinstance(scorer, Recency) else Recency(0.0, scorer.recency)], v, q)
        assert np.array_equal(np.argsort(-off), base), scorer.name


def test_session_topic_uses_the_view_prior() -> None:
    v = view(session_prior=np.array([0.0, 0.0, 1.0]))
    final, parts = combine([SessionTopic(1.0)], v, analyze("x"))
    assert np.allclose(final, [0.5, 0.25, 0.5])
    assert combine([SessionTopic(1.0)], view(), analyze("x"))[1] == {}


def test_person_needs_both_roles_among_the_candidates() -> None:
    v = view(roles=["user", "user", "user"])
    assert combine([Person(1.0)], v, analyze("What is my name?"))[1] == {}


@pytest.mark.parametrize(
    ("query", "person"),
    [
        ("What is my sister's name?", "user"),
        ("How old am I turning?", "user"),
        ("Which trail did you recommend?", "assistant"),
        ("What did I tell you about Porto?", None),
        ("What did Caroline research?", None),
        ("Did Iris move?", None),
    ],
)
def test_addressed_person(query: str, person: str | None) -> None:
    assert addressed_person(query) == person


def test_named_participants_leave_the_lexical_query_unless_asked() -> None:
    speakers = {"melanie": "Melanie", "caroline": "Caroline"}
    q = analyze("Which course did Melanie's friend take?", speakers=speakers)
    assert q.named == {"Melanie"} and "Melanie" not in (q.lexical_text or "")
    kept = analyze("Which course did Melanie's friend take?", speakers=speakers, names_in_lexical=True)
    assert kept.lexical_text == kept.text
    everyone = analyze("What did Melanie and Caroline do?", speakers=speakers)
    assert everyone.named == frozenset()


def test_person_keeps_tool_results_whole() -> None:
    # "my order" facts often live in tool outputs: the prior demotes the other side's prose only.
    v = view(roles=["assistant", "tool", "user"])
    _, parts = combine([Person(1.0)], v, analyze("Which item did I order?"))
    assert list(parts["person"]) == [0.0, 1.0, 1.0]
    _, parts = combine([Person(1.0)], v, analyze("What did you find?"))
    assert list(parts["person"]) == [1.0, 1.0, 0.0]
