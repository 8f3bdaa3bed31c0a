"""The eval asks each question as of its point in the history: ``asked_after`` (a turn id) and
LongMemEval's question dates. Evidence stored after the point is found by no strategy; stored
before, it is; one ingest serves both; the output says how many questions had a point."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from eval import run
from eval.datasets import Conversation, Dataset, Question, Session, Turn, load_longmemeval
from memory.embedders import Embedder
from memory.errors import InvalidArgument
from memory.memory import Memory

STRATEGIES = ["full", "window", "summary", "dense", "bm25", "turnmem"]
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
FILLER = [
    "What should I cook tonight?",
    "Maybe a risotto with mushrooms.",
    "Any tips for the commute?",
    "Take the earlier train, it is emptier.",
]


def dataset() -> Dataset:
    """Sessions 1-3 of small talk, session 4 says the locker code, session 5 more small talk.
    ``before`` is asked after session 3 (the code is not said yet), ``after`` after session 4."""
    sessions = []
    for s in range(1, 6):
        texts = list(FILLER)
        if s == 4:
            texts = ["Note for later: my gym locker code is 4417.", "Got it, locker code 4417.", *FILLER[:2]]
        turns = [
            Turn(
                id=f"D{s}:{i + 1}",
                message={"role": "user" if i % 2 == 0 else "assistant", "content": text},
                timestamp=T0 + timedelta(days=s, minutes=i),
            )
            for i, text in enumerate(texts)
        ]
        sessions.append(Session(id=f"session_{s}", date=T0 + timedelta(days=s), turns=turns))
    ask = "What is my gym locker code?"
    questions = [
        Question(id="before", question=ask, evidence=["D4:1"], asked_after="D3:4"),
        Question(id="after", question=ask, evidence=["D4:1"], asked_after="D4:4"),
        Question(id="whole", question=ask, evidence=["D4:1"]),
    ]
    return Dataset(name="locker", conversations=[Conversation(id="c1", sessions=sessions, questions=questions)])


def test_asked_after_hides_later_evidence_from_every_strategy(tmp_path: Path, embedder: Embedder) -> None:
    with Memory.open(tmp_path / "m", embedder=embedder) as mem:
        res = run(dataset(), strategies=STRATEGIES, budgets=[512], memory=mem, progress=False, out=tmp_path / "out")
        off = run(dataset(), strategies=["dense", "turnmem"], budgets=[512], memory=mem, progress=False, as_of=False)
        assert mem.store.chunk_count("c1") == 20  # one ingest for both runs
    recall = {(r.question_id, r.strategy): r.recall for r in res.records}
    for strat in STRATEGIES:
        assert recall[("before", strat)] == 0.0, strat  # the code was said after the question
    for strat in ("full", "dense", "bm25", "turnmem", "window"):
        assert recall[("after", strat)] == 1.0, strat
        assert recall[("whole", strat)] == 1.0, strat
    assert {r.question_id: r.recall for r in off.records if r.strategy == "dense"}["before"] == 1.0
    assert res.config["as_of"] == {"questions": 2, "asked_after": 2, "date": 0, "enabled": True}
    assert off.config["as_of"]["enabled"] is False and off.config["as_of"]["questions"] == 0
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["config"]["as_of"]["questions"] == 2


def test_an_unknown_asked_after_turn_is_named(tmp_path: Path, embedder: Embedder) -> None:
    ds = dataset()
    ds.conversations[0].questions[0].asked_after = "D9:9"
    with Memory.open(tmp_path / "m", embedder=embedder) as mem, pytest.raises(InvalidArgument) as err:
        run(ds, strategies=["dense"], budgets=[256], memory=mem, progress=False)
    assert err.value.field == "asked_after" and "D9:9" in str(err.value)


def test_longmemeval_questions_are_asked_at_their_date(tmp_path: Path, embedder: Embedder) -> None:
    items = [
        {
            "question_id": qid,
            "question": "What breed is my dog?",
            "answer": "a beagle",
            "question_date": date,
            "haystack_session_ids": ["sess_a", "sess_b"],
            "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/25 (Thu) 10:00"],
            "haystack_sessions": [
                [{"role": "user", "content": "I love hiking."}, {"role": "assistant", "content": "Nice!"}],
                [
                    {"role": "user", "content": "My dog is a beagle.", "has_answer": True},
                    {"role": "assistant", "content": "Beagles are great."},
                ],
            ],
            "answer_session_ids": ["sess_b"],
        }
        # asked before sess_b; and in the very minute sess_b is dated (its turns count as before it)
        for qid, date in (("early", "2023/05/22 (Mon) 08:00"), ("same", "2023/05/25 (Thu) 10:00"))
    ]
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(items))
    ds = load_longmemeval(path)
    assert ds.question_dates_as_of
    with Memory.open(tmp_path / "m", embedder=embedder) as mem:
        res = run(ds, strategies=["dense", "turnmem", "full"], budgets=[512], memory=mem, progress=False)
    recall = {(r.question_id, r.strategy): r.recall for r in res.records}
    assert all(recall[("early", s)] == 0.0 for s in ("dense", "turnmem", "full"))
    assert all(recall[("same", s)] == 1.0 for s in ("dense", "turnmem", "full"))
    assert res.config["as_of"]["date"] == 2
