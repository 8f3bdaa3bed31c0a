"""Dataset loaders: LoCoMo on the real file and on a hand-made one, LongMemEval on a hand-made file."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from eval.datasets import (
    Conversation,
    Dataset,
    Question,
    Session,
    Turn,
    clean_evidence,
    load_dataset,
    load_locomo,
    load_longmemeval,
)
from memory.errors import InvalidArgument
from memory.models import parse_message

LOCOMO = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo10.json"
UTC = timezone.utc


@pytest.fixture(scope="module")
def locomo() -> Dataset:
    return load_locomo(LOCOMO)


# -- LoCoMo, the real file ----------------------------------------------------------------------


def test_locomo_counts(locomo: Dataset) -> None:
    assert LOCOMO.is_file()
    assert len(locomo.conversations) == 10
    assert sum(len(c.turns) for c in locomo.conversations) == 5882
    assert len(locomo.questions) == 1986
    assert [c.id for c in locomo.conversations][:3] == ["conv-26", "conv-30", "conv-41"]
    assert Counter(q.category for q in locomo.questions) == {"1": 282, "2": 321, "3": 96, "4": 841, "5": 446}
    assert locomo.name == "locomo" and locomo.source == str(LOCOMO)
    assert "CC BY-NC" in locomo.notes["license"]


def test_locomo_evidence_is_cleaned(locomo: Dataset) -> None:
    # Three raw entries name no turn: "D10:19" and "D" (conv-42), "D4:36" (conv-47).
    assert locomo.notes["evidence_dropped"] == 3
    # Four questions are left without evidence, every other id names a turn of its conversation.
    no_evidence = [q.id for q in locomo.questions if not q.evidence]
    assert no_evidence == ["conv-26/q30", "conv-26/q46", "conv-50/q39", "conv-50/q42"]
    for c in locomo.conversations:
        ids = {t.id for t in c.turns}
        session_of = {t.id: s.id for s in c.sessions for t in s.turns}
        for q in c.questions:
            assert set(q.evidence) <= ids, q.id
            assert len(set(q.evidence)) == len(q.evidence)
            assert q.evidence_sessions == sorted({session_of[e] for e in q.evidence}, key=lambda s: int(s[8:]))
    by_id = {q.id: q for q in locomo.questions}
    # Raw 'D8:6; D9:17' (conv-26), 'D:11:26' (conv-43), 'D30:05' (conv-50) become turn ids.
    assert any(q.evidence == ["D8:6", "D9:17"] for q in locomo.conversations[0].questions)
    assert any("D11:26" in q.evidence for q in by_id.values() if q.id.startswith("conv-43/"))
    assert any("D30:5" in q.evidence for q in by_id.values() if q.id.startswith("conv-50/"))


def test_locomo_sessions_turns_and_times(locomo: Dataset) -> None:
    conv = locomo.conversations[0]
    assert conv.id == "conv-26"
    assert [s.id for s in conv.sessions] == [f"session_{i}" for i in range(1, 20)]
    # "1:56 pm on 8 May, 2023"
    assert conv.sessions[0].date == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    first, second = conv.turns[:2]
    assert first.id == "D1:1" and first.timestamp == conv.sessions[0].date
    assert second.timestamp == conv.sessions[0].date + timedelta(seconds=30)
    # speaker_a (Caroline) is the user, speaker_b (Melanie) the assistant, each named.
    assert first.message == {"role": "user", "name": "Caroline", "content": first.message["content"]}
    assert second.message["role"] == "assistant" and second.message["name"] == "Melanie"
    for c in locomo.conversations:
        dates = [s.date for s in c.sessions]
        assert all(d is not None for d in dates)
        assert dates == sorted(dates)  # type: ignore[type-var]
        for t in c.turns:
            parse_message(t.message)  # valid OpenAI chat messages
    # Questions are asked a day after the last turn.
    assert conv.questions[0].date == conv.turns[-1].timestamp + timedelta(days=1)  # type: ignore[operator]


def test_locomo_images(locomo: Dataset) -> None:
    image_turns = [t for c in locomo.conversations for t in c.turns if isinstance(t.message["content"], list)]
    assert len(image_turns) == 910
    d15 = next(t for t in locomo.conversations[0].turns if t.id == "D1:5")
    text, image = d15.message["content"]
    assert text == {
        "type": "text",
        "text": "The transgender stories were so inspiring! I was so happy and thankful for all the support.",
    }
    assert image == {
        "type": "image_url",
        "image_url": {"url": "https://i.redd.it/l7hozpetnhlb1.jpg"},
        "caption": "a photo of a dog walking past a wall with a painting of a woman",
    }
    as_text = load_locomo(LOCOMO, images="caption")
    t = next(t for t in as_text.conversations[0].turns if t.id == "D1:5")
    assert t.message["content"] == (
        "The transgender stories were so inspiring! I was so happy and thankful for all the support.\n"
        "[image: a photo of a dog walking past a wall with a painting of a woman]"
    )
    assert not any(isinstance(t.message["content"], list) for c in as_text.conversations for t in c.turns)
    assert sum(len(c.turns) for c in as_text.conversations) == 5882


def test_clean_evidence() -> None:
    known = {"D8:6", "D9:17", "D9:1", "D4:4", "D4:6", "D11:26", "D30:5"}
    assert clean_evidence(["D8:6; D9:17"], known) == (["D8:6", "D9:17"], 0)
    assert clean_evidence(["D9:1 D4:4 D4:6"], known) == (["D9:1", "D4:4", "D4:6"], 0)
    assert clean_evidence(["D:11:26"], known) == (["D11:26"], 0)
    assert clean_evidence(["D30:05"], known) == (["D30:5"], 0)
    assert clean_evidence(["D"], known) == ([], 1)
    # Unknown ids are dropped and counted; repeats are kept once and not counted.
    assert clean_evidence(["D", "D10:19", "D8:6", "D8:6"], known) == (["D8:6"], 2)
    assert clean_evidence([], known) == ([], 0)


def test_select(locomo: Dataset) -> None:
    sub = locomo.select(conversations=["conv-30", "conv-26"], categories=["2"], limit_questions=5)
    # The dataset's own order is kept.
    assert [c.id for c in sub.conversations] == ["conv-26", "conv-30"]
    assert [len(c.questions) for c in sub.conversations] == [5, 5]
    assert all(q.category == "2" for q in sub.questions)
    # The original is untouched, and turns come along whole.
    assert len(locomo.questions) == 1986
    assert len(sub.conversations[0].turns) == 419
    assert sum(len(c.turns) for c in locomo.select(conversations=["conv-26"]).conversations) == 419
    # The first 5 category-2 questions of conv-26, in file order.
    expected = [q.id for q in locomo.conversations[0].questions if q.category == "2"][:5]
    assert [q.id for q in sub.conversations[0].questions] == expected
    assert len(locomo.select(limit_questions=3).questions) == 30
    # The four questions without evidence (conv-26/q30, q46, conv-50/q39, q42) are all category 3.
    assert len(locomo.select(categories=["3", "5"]).questions) == 96 + 446 - 4
    # Questions without evidence are left out unless asked for.
    assert len(locomo.select().questions) == 1982
    assert len(locomo.select(require_evidence=False).questions) == 1986
    with pytest.raises(InvalidArgument) as err:
        locomo.select(conversations=["conv-26", "conv-999"])
    assert err.value.field == "conversations"
    assert "conv-999" in str(err.value)


# -- LoCoMo, a hand-made file -----------------------------------------------------------------


def write_mini_locomo(path: Path) -> Path:
    conv: dict[str, Any] = {
        "speaker_a": "Ana Maria",
        "speaker_b": "Bo",
        # Out of order on purpose; session_10 sorts after session_2 as a number.
        "session_10_date_time": "9:05 am on 3 June, 2023",
        "session_10": [
            {"speaker": "Bo", "dia_id": "D10:1", "text": "Back from Oslo."},
            {"speaker": "Ana Maria", "dia_id": "D10:2", "text": "Welcome back!"},
        ],
        "session_2_date_time": "12:30 am on 1 June, 2023",
        "session_2": [
            {
                "speaker": "Ana Maria",
                "dia_id": "D2:1",
                "text": "Look at my cat.",
                "img_url": ["https://example.org/cat.jpg"],
                "blip_caption": "a photo of a grey cat",
            }
        ],
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [{"speaker": "Ana Maria", "dia_id": "D1:1", "text": "Hi Bo."}],
        "session_3_date_time": "2:00 pm on 4 June, 2023",
        "session_3": [],  # empty sessions are skipped
    }
    qa = [
        {"question": "Where was Bo?", "answer": "Oslo", "evidence": ["D10:1; D1:01"], "category": 4},
        {"question": "What pet?", "adversarial_answer": "a dog", "evidence": ["D2:1", "D7:7", "D"], "category": 5},
    ]
    path.write_text(json.dumps([{"sample_id": "mini", "conversation": conv, "qa": qa}]), encoding="utf-8")
    return path


def test_mini_locomo(tmp_path: Path) -> None:
    ds = load_locomo(write_mini_locomo(tmp_path / "mini.json"))
    conv = ds.conversations[0]
    assert [s.id for s in conv.sessions] == ["session_1", "session_2", "session_10"]
    assert [t.id for t in conv.turns] == ["D1:1", "D2:1", "D10:1", "D10:2"]
    assert [s.date for s in conv.sessions] == [
        datetime(2023, 5, 8, 13, 56, tzinfo=UTC),
        datetime(2023, 6, 1, 0, 30, tzinfo=UTC),  # 12:30 am
        datetime(2023, 6, 3, 9, 5, tzinfo=UTC),
    ]
    assert conv.turns[3].timestamp == datetime(2023, 6, 3, 9, 5, 30, tzinfo=UTC)
    roles = [(t.message["role"], t.message["name"]) for t in conv.turns]
    assert roles == [("user", "Ana_Maria"), ("user", "Ana_Maria"), ("assistant", "Bo"), ("user", "Ana_Maria")]
    assert conv.turns[1].message["content"] == [
        {"type": "text", "text": "Look at my cat."},
        {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}, "caption": "a photo of a grey cat"},
    ]
    q0, q1 = conv.questions
    assert (q0.id, q0.answer, q0.category) == ("mini/q0", "Oslo", "4")
    assert q0.evidence == ["D10:1", "D1:1"]
    assert q0.evidence_sessions == ["session_1", "session_10"]  # numeric order
    assert (q1.answer, q1.category, q1.evidence) == ("a dog", "5", ["D2:1"])
    assert ds.notes["evidence_dropped"] == 2  # D7:7 and D
    assert q0.date == datetime(2023, 6, 4, 9, 5, 30, tzinfo=UTC)
    captioned = load_locomo(tmp_path / "mini.json", images="caption").conversations[0].turns[1]
    assert captioned.message["content"] == "Look at my cat.\n[image: a photo of a grey cat]"
    assert load_dataset("locomo", tmp_path / "mini.json").conversations[0].id == "mini"


def test_locomo_asked_after(tmp_path: Path) -> None:
    """A question may carry the last turn its asker had seen (normalized like evidence ids);
    one that names no turn is an error, not silently asked after the whole history."""
    path = write_mini_locomo(tmp_path / "mini.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[0]["qa"][0]["asked_after"] = "D:10:01"
    path.write_text(json.dumps(raw), encoding="utf-8")
    q0, q1 = load_locomo(path).conversations[0].questions
    assert (q0.asked_after, q1.asked_after) == ("D10:1", None)
    for bad in ("D7:7", "D1:1; D2:1", "soon"):
        raw[0]["qa"][1]["asked_after"] = bad
        path.write_text(json.dumps(raw), encoding="utf-8")
        with pytest.raises(InvalidArgument) as err:
            load_locomo(path)
        assert err.value.field == "asked_after" and "mini/q1" in str(err.value)


# -- LongMemEval, a hand-made file --------------------------------------------------------------


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
                    {"role": "assistant", "content": "Beagles are great.", "has_answer": False},
                    {"role": "user", "content": "He is called Max.", "has_answer": True},
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
        {
            "question_id": "q3",
            "question_type": "multi-session",
            "question": "How many concerts?",
            "answer": 2,
            "question_date": "2023/07/01 (Sat) 12:00",
            "haystack_session_ids": ["sess_x", "sess_x"],  # _m repeats session ids
            "haystack_dates": ["2023/06/01 (Thu) 10:00", "2023/06/02 (Fri) 10:00"],
            "haystack_sessions": [
                [{"role": "user", "content": "A concert today.", "has_answer": True}],
                [{"role": "user", "content": "Another concert.", "has_answer": True}],
            ],
            "answer_session_ids": ["sess_x"],
        },
    ]
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def test_longmemeval_loader(tmp_path: Path) -> None:
    ds = load_longmemeval(write_lme(tmp_path / "lme.json"))
    assert ds.name == "longmemeval"
    # One conversation (namespace) per question, holding only its own haystack.
    assert [c.id for c in ds.conversations] == ["q1", "q2_abs", "q3"]
    assert [len(c.questions) for c in ds.conversations] == [1, 1, 1]
    c = ds.conversations[0]
    assert [s.id for s in c.sessions] == ["sess_a", "sess_b"]
    assert [t.id for t in c.turns] == ["sess_a:0", "sess_a:1", "sess_b:0", "sess_b:1", "sess_b:2"]
    assert [t.message for t in c.sessions[0].turns] == [
        {"role": "user", "content": "I love hiking."},
        {"role": "assistant", "content": "Nice!"},
    ]
    assert [t.has_answer for t in c.sessions[1].turns] == [True, False, True]
    assert c.sessions[0].date == datetime(2023, 5, 20, 2, 21, tzinfo=UTC)
    assert c.sessions[1].turns[2].timestamp == datetime(2023, 5, 25, 10, 1, tzinfo=UTC)
    q = c.questions[0]
    assert q.id == "q1" and q.answer == "a beagle" and q.category == "single-session-user"
    assert q.evidence == ["sess_b:0", "sess_b:2"] and q.evidence_sessions == ["sess_b"]
    assert q.date == datetime(2023, 5, 30, 23, 40, tzinfo=UTC)
    abs_q = ds.conversations[1].questions[0]
    assert abs_q.category == "temporal-reasoning_abs"
    assert abs_q.evidence == ["sess_c:0"]  # no has_answer: the answer session's turns
    assert abs_q.date == datetime(2023, 6, 1, 8, 0, tzinfo=UTC)
    q3 = ds.conversations[2]
    assert [s.id for s in q3.sessions] == ["sess_x", "sess_x#2"]  # repeated ids kept apart
    assert q3.questions[0].evidence == ["sess_x:0", "sess_x#2:0"] and q3.questions[0].answer == "2"
    assert load_dataset("longmemeval", tmp_path / "lme.json").questions == ds.questions


def test_longmemeval_namespaces_in_memory(tmp_path: Path, fake_embedder) -> None:  # noqa: ANN001
    from eval.runner import ingest
    from memory import Memory

    ds = load_longmemeval(write_lme(tmp_path / "lme.json"))
    mem = Memory.open(tmp_path / "m", embedder=fake_embedder)  # where turns go, not what they embed to
    try:
        stats = ingest(mem, ds, progress=False)
        assert stats["ingested_messages"] == 8
        assert mem.store.namespaces() == ["q1", "q2_abs", "q3"]
        rows = mem.store.all_messages("q1")
        assert [(r.session, (r.data.get("metadata") or {}).get("turn_id")) for r in rows] == [
            ("sess_a", "sess_a:0"),
            ("sess_a", "sess_a:1"),
            ("sess_b", "sess_b:0"),
            ("sess_b", "sess_b:1"),
            ("sess_b", "sess_b:2"),
        ]
        assert rows[0].ts == datetime(2023, 5, 20, 2, 21, tzinfo=UTC).timestamp()
        assert [r.session for r in mem.store.all_messages("q3")] == ["sess_x", "sess_x#2"]
        assert ingest(mem, ds, progress=False)["ingested_messages"] == 0  # already there
    finally:
        mem.close()


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    for fn in (load_locomo, load_longmemeval):
        with pytest.raises(InvalidArgument) as err:
            fn(tmp_path / "nope.json")
        assert err.value.field == "data" and "nope.json" in str(err.value)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "x"}]))
    with pytest.raises(InvalidArgument, match="question_id") as err:
        load_longmemeval(bad)
    assert err.value.field == "data"
    with pytest.raises(InvalidArgument) as err:
        load_dataset("longmemeval")
    assert err.value.field == "data"
    with pytest.raises(InvalidArgument) as err:
        load_dataset("squad")
    assert err.value.field == "dataset"


def test_models_by_hand() -> None:
    turn = Turn(id="t", message={"role": "user", "content": [{"type": "text", "text": "hi"}]})
    assert json.loads(turn.text) == [{"type": "text", "text": "hi"}]
    conv = Conversation(
        id="c",
        sessions=[Session(id="s1", turns=[turn]), Session(id="s2", turns=[turn, turn])],
        questions=[Question(id="q", question="?", evidence=["t"])],
    )
    ds = Dataset(name="x", conversations=[conv])
    assert len(conv.turns) == 3 and ds.questions[0].category == "all"
    assert ds.select(limit_questions=0).questions == []


def test_the_speaker_prior_rests_on_what_docs_ablation_md_counts(locomo: Dataset) -> None:
    """docs/ablation.md, "Speaker prior": 89 % of the category 1-4 questions name exactly one of the
    two participants, and 96 % of their evidence turns were said by that participant."""
    one, said, evidence = [], 0, 0
    for conv in locomo.conversations:
        turns = {t.id: t for s in conv.sessions for t in s.turns}
        speakers = {t.message["name"] for t in turns.values()}  # type: ignore[index]
        for q in (q for q in conv.questions if q.category in ("1", "2", "3", "4")):
            named = [p for p in speakers if re.search(rf"\b{re.escape(p)}\b", q.question)]
            one.append(len(named) == 1)
            if len(named) == 1:
                by = [turns[e].message["name"] == named[0] for e in q.evidence]  # type: ignore[index]
                said, evidence = said + sum(by), evidence + len(by)
    assert round(100 * sum(one) / len(one)) == 89 and round(100 * said / evidence) == 96
