from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import timezone
from pathlib import Path

import pytest

from eval.datasets import Conversation, Dataset, load_dataset
from eval.synthetic import CATEGORIES, GENERATOR_VERSION, NAMES, generate
from memory.errors import InvalidArgument
from memory.models import ImagePart, TextPart, parse_message

ROOT = Path(__file__).resolve().parents[2]
REF = re.compile(r"\b[A-Z]{2,3}-\d{5,6}\b")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return generate(turns=2000, seed=11)


@pytest.fixture(scope="module")
def conv(ds: Dataset) -> Conversation:
    return ds.conversations[0]


def _text(turn) -> str:  # noqa: ANN001 - a Turn
    return parse_message(turn.message).text()


def test_deterministic() -> None:
    a = generate(turns=600, seed=3).model_dump_json()
    assert a == generate(turns=600, seed=3).model_dump_json()
    assert a != generate(turns=600, seed=4).model_dump_json()


@pytest.mark.needs("process")
def test_deterministic_across_processes() -> None:
    """No dependence on hash randomization (set/dict-of-str iteration order)."""
    code = (
        "import hashlib; from eval.synthetic import generate; "
        "print(hashlib.sha256(generate(turns=300, seed=5).model_dump_json().encode()).hexdigest())"
    )
    here = hashlib.sha256(generate(turns=300, seed=5).model_dump_json().encode()).hexdigest()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == here


def test_load_dataset_uses_the_generator() -> None:
    via = load_dataset("synthetic", turns=60, seed=2)
    assert via.model_dump_json() == generate(turns=60, seed=2).model_dump_json()
    assert via.name == "synthetic"
    assert via.notes["seed"] == 2 and via.notes["turns"] == 60
    assert via.notes["generator_version"] == GENERATOR_VERSION


@pytest.mark.parametrize(
    ("turns", "session_turns"), [(10, 20), (10, 4), (37, 20), (101, 7), (500, 20), (2000, 20), (2000, 9)]
)
def test_sizes_ids_and_dates(turns: int, session_turns: int) -> None:
    conv = generate(turns=turns, seed=7, session_turns=session_turns).conversations[0]
    n = len(conv.turns)
    assert abs(n - turns) <= session_turns
    if turns >= 100:
        assert n == turns  # exact once the planted facts fit
    prev = None
    for si, s in enumerate(conv.sessions, start=1):
        assert s.id == f"session_{si}"
        assert s.turns, "no empty sessions"
        assert len(s.turns) <= session_turns + 6  # a session grows only by a planted unit
        assert [t.id for t in s.turns] == [f"S{si}:{ti}" for ti in range(1, len(s.turns) + 1)]
        assert s.date == s.turns[0].timestamp
        for t in s.turns:
            assert t.timestamp is not None and t.timestamp.tzinfo == timezone.utc
            assert prev is None or t.timestamp > prev
            prev = t.timestamp
    assert len({t.id for t in conv.turns}) == n


def test_every_message_is_valid_openai_chat(conv: Conversation) -> None:
    turns = conv.turns
    for i, turn in enumerate(turns):
        msg = parse_message(turn.message)
        assert msg.role in ("user", "assistant", "tool")
        if msg.tool_calls:
            assert msg.role == "assistant" and turn.message["content"] is None
            call = msg.tool_calls[0]
            json.loads(call.function.arguments)
            nxt = turns[i + 1].message  # the result comes right after its call, same session
            assert nxt["role"] == "tool" and nxt["tool_call_id"] == call.id
            assert turns[i + 1].id.split(":")[0] == turn.id.split(":")[0]
        if msg.role == "tool":
            prev = parse_message(turns[i - 1].message)
            assert prev.tool_calls and prev.tool_calls[0].id == msg.tool_call_id
            records = json.loads(turn.message["content"])
            assert isinstance(records, list) and 20 <= len(records) <= 200
    call_ids = [t.message["tool_call_id"] for t in turns if t.message["role"] == "tool"]
    assert len(call_ids) == len(set(call_ids))


def test_evidence_holds_the_answer(conv: Conversation) -> None:
    by_id = {t.id: t for t in conv.turns}
    index = {t.id: i for i, t in enumerate(conv.turns)}
    session_of = {t.id: s.id for s in conv.sessions for t in s.turns}
    last = conv.turns[-1].timestamp
    assert {t.id for t in conv.turns if t.has_answer} == {e for q in conv.questions for e in q.evidence}
    for q in conv.questions:
        assert q.category in CATEGORIES
        assert q.answer and len(q.evidence) == 1
        assert all(e in by_id for e in q.evidence)
        assert q.evidence_sessions == [session_of[e] for e in q.evidence]
        assert q.date is not None and last is not None and q.date > last
        turn = by_id[q.evidence[0]]
        assert q.answer in _text(turn)
        if q.category == "tool":  # evidence is the result; the answer is inside the JSON output
            assert turn.message["role"] == "tool" and q.answer in turn.message["content"]
            assert conv.turns[index[turn.id] - 1].message.get("tool_calls")
        elif q.category == "image":  # only the caption holds it, not the text part
            parts = parse_message(turn.message).content
            assert isinstance(parts, list)
            captions = [p.caption or "" for p in parts if isinstance(p, ImagePart)]
            texts = [p.text for p in parts if isinstance(p, TextPart)]
            assert any(q.answer in c for c in captions) and not any(q.answer in t for t in texts)
        else:
            assert turn.message["role"] == "user" and isinstance(turn.message["content"], str)


def test_questions_are_paraphrased_and_unique(conv: Conversation) -> None:
    by_id = {t.id: t for t in conv.turns}
    assert len({q.question for q in conv.questions}) == len(conv.questions)
    for q in conv.questions:
        assert q.answer is not None and q.answer not in q.question
        evidence_text = _text(by_id[q.evidence[0]])
        assert q.question not in evidence_text and q.question.rstrip("?") not in evidence_text


def test_asked_ids_are_stated_exactly_once(conv: Conversation) -> None:
    """A question's id (order, parcel, booking ...) appears in one turn: the evidence.
    Near misses exist: ids with the same digits in another order."""
    refs_in: dict[str, list[str]] = {}
    for t in conv.turns:
        for ref in set(REF.findall(_text(t))):
            refs_in.setdefault(ref, []).append(t.id)
    asked = 0
    near = 0
    for q in conv.questions:
        for ref in REF.findall(q.question):
            asked += 1
            assert refs_in[ref] == q.evidence
            prefix, digits = ref.split("-")
            near += any(
                r != ref and r.startswith(prefix + "-") and sorted(r.split("-")[1]) == sorted(digits) for r in refs_in
            )
        if q.category == "personal" and REF.fullmatch(q.answer or ""):
            assert refs_in[q.answer or ""] == q.evidence
    assert asked >= 20 and near >= asked // 2


def test_updates_point_at_the_latest_statement(ds: Dataset, conv: Conversation) -> None:
    by_id = {t.id: t for t in conv.turns}
    index = {t.id: i for i, t in enumerate(conv.turns)}
    stale = ds.notes["stale_evidence"]
    updates = [q for q in conv.questions if q.category == "update"]
    assert updates and set(stale) == {q.id for q in updates}
    for q in updates:
        assert stale[q.id] and all(index[s] < index[q.evidence[0]] for s in stale[q.id])
        for s in stale[q.id]:
            assert by_id[s].message["role"] == "user" and q.answer not in _text(by_id[s])


def test_categories_and_question_count() -> None:
    for turns in (500, 2000):
        conv = generate(turns=turns, seed=turns).conversations[0]
        cats = [q.category for q in conv.questions]
        assert set(cats) == set(CATEGORIES)
        assert len(cats) == min(200, max(4, turns // 25))
        assert cats.count("update") <= len(cats) // 4  # modest
    small = generate(turns=10, seed=1).conversations[0]
    assert len(small.questions) == 4 and {q.category for q in small.questions} == set(CATEGORIES)


def test_distractors(conv: Conversation) -> None:
    evidence = {e for q in conv.questions for e in q.evidence}
    tools = [t for t in conv.turns if t.message["role"] == "tool"]
    images = [t for t in conv.turns if isinstance(t.message["content"], list)]
    assert sum(t.id not in evidence for t in tools) >= 5  # tool outputs that answer nothing
    assert sum(t.id not in evidence for t in images) >= 10  # photos that answer nothing
    assert max(len(t.message["content"]) for t in tools) > 10_000  # thousands of tokens: chunking matters
    # Names of asked people come back in other turns (other relations, clubs, ...).
    texts = {t.id: _text(t) for t in conv.turns}
    shared = 0
    for q in conv.questions:
        for name in (n for n in NAMES if q.category == "personal" and n in q.question):
            shared += any(name in x for tid, x in texts.items() if tid not in q.evidence)
    assert shared >= 3


def test_options() -> None:
    ds = generate(turns=200, seed=3, conversations=2, questions=12, session_turns=10)
    a, b = ds.conversations
    assert (a.id, b.id) == ("synthetic-3-0", "synthetic-3-1")
    assert len(a.questions) == len(b.questions) == 12
    assert a.questions[0].id == "synthetic-3-0/q0"
    assert [t.message for t in a.turns] != [t.message for t in b.turns]
    assert len(a.sessions) == len(b.sessions) == 20
    assert generate(turns=100, seed=3, questions=0).questions == []


def test_hundred_thousand_turns() -> None:
    ds = generate(turns=100_000, seed=1)
    conv = ds.conversations[0]
    assert len(conv.turns) == 100_000
    assert len(ds.questions) == 200
    assert {q.category for q in ds.questions} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"turns": 5}, "turns"),
        ({"turns": 100_001}, "turns"),
        ({"turns": 2.5}, "turns"),
        ({"session_turns": 3}, "session_turns"),
        ({"conversations": 0}, "conversations"),
        ({"questions": -1}, "questions"),
    ],
)
def test_bad_arguments(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        generate(**kwargs)
    assert err.value.field == field
