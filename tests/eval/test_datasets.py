from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from eval.datasets import clean_evidence, load_dataset, load_locomo, load_longmemeval
from memory.errors import InvalidArgument
from memory.models import parse_message
from tests.conftest import LOCOMO


@pytest.fixture(scope="module")
def locomo():  # noqa: ANN201
    return load_locomo(LOCOMO)


def test_locomo_shape(locomo) -> None:  # noqa: ANN001
    assert len(locomo.conversations) == 10
    assert sum(len(c.turns) for c in locomo.conversations) == 5882
    assert len(locomo.questions) == 1986
    assert locomo.notes["evidence_dropped"] == 3
    counts = {}
    for q in locomo.questions:
        counts[q.category] = counts.get(q.category, 0) + 1
    assert counts == {"1": 282, "2": 321, "3": 96, "4": 841, "5": 446}
    assert sum(1 for q in locomo.questions if not q.evidence) == 4
    conv = locomo.conversations[0]
    assert conv.id == "conv-26"
    ids = [s.id for s in conv.sessions]
    assert ids == sorted(ids, key=lambda s: int(s.split("_")[1]))
    assert conv.sessions[0].date == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    first = conv.turns[0]
    assert first.id == "D1:1" and first.message["role"] == "user" and first.message["name"] == "Caroline"
    for t in conv.turns:
        parse_message(t.message)
    known = {t.id for c in locomo.conversations for t in c.turns}
    assert all(e in {t.id for t in c.turns} for c in locomo.conversations for q in c.questions for e in q.evidence)
    assert known


def test_locomo_images(locomo) -> None:  # noqa: ANN001
    image_turns = [t for c in locomo.conversations for t in c.turns if isinstance(t.message["content"], list)]
    assert len(image_turns) == 910
    part = image_turns[0].message["content"][-1]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("http") and part["caption"]
    as_text = load_locomo(LOCOMO, images="caption")
    t = next(t for c in as_text.conversations for t in c.turns if t.id == image_turns[0].id)
    assert isinstance(t.message["content"], str) and f"[image: {part['caption']}]" in t.message["content"]


def test_clean_evidence() -> None:
    known = {"D8:6", "D9:17", "D9:1", "D4:4", "D4:6", "D11:26", "D30:5"}
    assert clean_evidence(["D8:6; D9:17"], known) == (["D8:6", "D9:17"], 0)
    assert clean_evidence(["D9:1 D4:4 D4:6"], known) == (["D9:1", "D4:4", "D4:6"], 0)
    assert clean_evidence(["D:11:26", "D30:05"], known) == (["D11:26", "D30:5"], 0)
    assert clean_evidence(["D", "D10:19", "D8:6"], known) == (["D8:6"], 2)


def test_select(locomo) -> None:  # noqa: ANN001
    sub = locomo.select(conversations=["conv-26", "conv-30"], categories=["2"], limit_questions=5)
    assert [c.id for c in sub.conversations] == ["conv-26", "conv-30"]
    assert all(q.category == "2" for q in sub.questions) and len(sub.questions) == 10
    with pytest.raises(InvalidArgument) as err:
        locomo.select(conversations=["conv-999"])
    assert err.value.field == "conversations"
    assert len(locomo.select().questions) == 1982  # questions without evidence are left out


def write_lme(path: Path) -> Path:
    items = [
        {
            "question_id": "q1",
            "question_type": "single-session-user",
            "question": "What breed is my dog?",
            "answer": "a beagle",
            "question_date": "2023/05/30 (Tue) 23:40",
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
        },
        {
            "question_id": "q2_abs",
            "question_type": "temporal-reasoning",
            "question": "When did I buy a boat?",
            "answer": "You never mentioned a boat.",
            "question_date": "2023/06/01 (Thu) 08:00",
            "haystack_session_ids": ["sess_c"],
            "haystack_dates": ["2023/05/01 (Mon) 09:30"],
            "haystack_sessions": [[{"role": "user", "content": "I bought a kayak."}]],
            "answer_session_ids": ["sess_c"],
        },
    ]
    path.write_text(json.dumps(items))
    return path


def test_longmemeval_loader(tmp_path: Path) -> None:
    ds = load_longmemeval(write_lme(tmp_path / "lme.json"))
    assert [c.id for c in ds.conversations] == ["q1", "q2_abs"]
    c = ds.conversations[0]
    assert [s.id for s in c.sessions] == ["sess_a", "sess_b"]
    assert [t.id for t in c.sessions[1].turns] == ["sess_b:0", "sess_b:1"]
    assert c.sessions[0].date == datetime(2023, 5, 20, 2, 21, tzinfo=timezone.utc)
    q = c.questions[0]
    assert q.evidence == ["sess_b:0"] and q.evidence_sessions == ["sess_b"]
    assert q.category == "single-session-user"
    assert q.date == datetime(2023, 5, 30, 23, 40, tzinfo=timezone.utc)
    abs_q = ds.conversations[1].questions[0]
    assert abs_q.category == "temporal-reasoning_abs"
    assert abs_q.evidence == ["sess_c:0"]  # no has_answer: falls back to the answer session
    assert load_dataset("longmemeval", tmp_path / "lme.json").name == "longmemeval"


def test_missing_files_name_the_field(tmp_path: Path) -> None:
    for fn in (load_locomo, load_longmemeval):
        with pytest.raises(InvalidArgument) as err:
            fn(tmp_path / "nope.json")
        assert err.value.field == "data"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "x"}]))
    with pytest.raises(InvalidArgument, match="question_id"):
        load_longmemeval(bad)
    with pytest.raises(InvalidArgument) as err:
        load_dataset("squad")
    assert err.value.field == "dataset"
