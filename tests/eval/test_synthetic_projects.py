"""The projects development set: deterministic, parallel projects over many sessions, questions asked
mid-history whose evidence is what held then (docs/devsets.md)."""

from __future__ import annotations

import re

import pytest

from eval.cli import main
from eval.datasets import Conversation, Dataset, Turn, load_dataset
from eval.devset_overlap import overlap_summary
from eval.project_timeline import KINDS, ORDINALS
from eval.synthetic_projects import CATEGORIES, GENERATOR_VERSION, generate
from memory.errors import InvalidArgument
from tests.eval.generators import assert_same_across_processes

STEP_OF = {v: s for k in KINDS for s in k.steps for v in s.values}  # a step value names its step
DONE_OF = {d: k for k in KINDS for s in k.steps for d in s.done}


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return generate(seed=11, conversations=2, sessions=40)


def _by_id(conv: Conversation) -> dict[str, Turn]:
    return {t.id: t for t in conv.turns}


def test_deterministic_per_seed() -> None:
    a = generate(seed=3, conversations=1, sessions=12).model_dump_json()
    assert a == generate(seed=3, conversations=1, sessions=12).model_dump_json()
    assert a != generate(seed=4, conversations=1, sessions=12).model_dump_json()


@pytest.mark.needs("process")  # a fresh interpreter
def test_deterministic_across_processes() -> None:
    assert_same_across_processes("eval.synthetic_projects", seed=5, conversations=1, sessions=12)


def test_load_dataset_uses_the_generator() -> None:
    via = load_dataset("projects", seed=2, conversations=1, sessions=12)
    assert via.model_dump_json() == generate(seed=2, conversations=1, sessions=12).model_dump_json()
    assert via.name == "projects" and via.notes["generator_version"] == GENERATOR_VERSION
    assert [c.id for c in via.conversations] == ["projects-2-0"]


def test_default_size() -> None:
    full = generate()
    assert len(full.conversations) == 2 and 100 <= len(full.questions) <= 300
    for conv in full.conversations:
        assert len(conv.sessions) == 120 and 600 <= len(conv.turns) <= 1200
    assert all(n >= 20 for n in full.notes["questions_per_category"].values())


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("conversations", {"conversations": 0}),
        ("sessions", {"sessions": 9}),
        ("max_exchanges", {"min_exchanges": 4, "max_exchanges": 3}),
    ],
)
def test_bad_arguments_name_the_field(name: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument) as err:
        generate(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == name and name in str(err.value)


def test_turn_ids_sessions_and_times(ds: Dataset) -> None:
    for conv in ds.conversations:
        prev = None
        for si, s in enumerate(conv.sessions, start=1):
            assert [t.id for t in s.turns] == [f"D{si}:{ti}" for ti in range(1, len(s.turns) + 1)]
            assert [t.message["role"] for t in s.turns] == ["user", "assistant"] * (len(s.turns) // 2)
            for t in s.turns:
                assert t.timestamp is not None and (prev is None or t.timestamp > prev)
                prev = t.timestamp


def test_questions_are_asked_before_an_evidence_free_tail(ds: Dataset) -> None:
    """Every evidence turn is at or before ``asked_after`` (an assistant turn), at least one turn
    follows it, and the question's date lies between that turn and the next."""
    assert {q.category for q in ds.questions} == set(CATEGORIES)
    for conv in ds.conversations:
        index = {t.id: i for i, t in enumerate(conv.turns)}
        by_id = _by_id(conv)
        assert {t.id for t in conv.turns if t.has_answer} == {e for q in conv.questions for e in q.evidence}
        for q in conv.questions:
            at = index[q.asked_after]  # type: ignore[index]
            assert conv.turns[at].message["role"] == "assistant"
            assert at < len(conv.turns) - 1
            assert all(index[e] <= at for e in q.evidence)
            assert not set(q.evidence) & {t.id for t in conv.turns[at + 1 :]}
            assert by_id[q.asked_after].timestamp < q.date < conv.turns[at + 1].timestamp  # type: ignore[index,operator]
            assert q.answer and q.answer not in q.question


def test_evidence_is_the_plan_or_option_turn_and_the_users_choice(ds: Dataset) -> None:
    stale = ds.notes["stale_evidence"]
    for conv in ds.conversations:
        by_id = _by_id(conv)
        index = {t.id: i for i, t in enumerate(conv.turns)}
        for q in conv.questions:
            turns = [by_id[e] for e in q.evidence]
            roles = [t.message["role"] for t in turns]
            if q.category == "plan_recall":  # the plan, then the acceptance right after it
                assert roles == ["assistant", "user"] and index[turns[1].id] == index[turns[0].id] + 1
                assert re.search(r"^1\. \*\*", turns[0].text, re.M) and q.answer in turns[0].text
                assert q.id not in stale
            elif q.category == "revision":  # the change and its confirmation; older versions are stale
                assert roles == ["user", "assistant"] and all(q.answer in t.text for t in turns)
                assert re.search(r"\bstep \d\b", turns[0].text) and q.id in stale
                assert all(index[s] < index[q.evidence[0]] for s in stale[q.id])
            elif q.category == "choice":  # the option list, then the pick by number
                menu, pick = turns
                assert roles == ["assistant", "user"] and index[pick.id] == index[menu.id] + 1
                options = re.findall(r"^(\d)\. \*\*(.+?)\*\*:", menu.text, re.M)
                named = [i for i in range(len(options)) if re.search(rf"\b({i + 1}|{ORDINALS[i]})\b", pick.text)]
                assert 3 <= len(options) <= 4 and len(named) == 1 and options[named[0]][1] == q.answer
            else:  # progress: the newest report (and, for "what's next", the next step's newest version)
                reports = [t for t in turns if t.message["role"] == "user"]
                assert len(reports) == 1 and any(d in reports[0].text for d in DONE_OF)
                if len(turns) == 2:  # "what's next": the turn holding the next step's newest version
                    (holder,) = (t for t in turns if t.message["role"] == "assistant")
                    assert q.answer.split(": ", 1)[1] in holder.text


def test_later_turns_compete_with_the_evidence(ds: Dataset) -> None:
    """Asked mid-history: for many questions the thread moves on after ``asked_after`` (a later
    version of the asked step, a later progress report), which is not their evidence."""
    superseded = moved_on = 0
    for conv in ds.conversations:
        index = {t.id: i for i, t in enumerate(conv.turns)}
        for q in conv.questions:
            tail = [t.text for t in conv.turns[index[q.asked_after] + 1 :]]  # type: ignore[index]
            if q.category in ("plan_recall", "revision"):
                others = [v for v in STEP_OF[q.answer].values if v != q.answer]
                superseded += any(v in t for v in others for t in tail)
            if q.category == "progress":
                kind = next(DONE_OF[d] for e in q.evidence for d in DONE_OF if d in conv.turns[index[e]].text)
                moved_on += any(d in t for s in kind.steps for d in s.done for t in tail)
    assert superseded >= 5 and moved_on >= 5


def test_questions_refer_to_the_work_implicitly(ds: Dataset) -> None:
    summary = overlap_summary(ds)
    assert summary == ds.notes["lexical_overlap"]
    assert summary["all"]["jaccard_mean"] < 0.08
    for q in ds.questions:  # never "step 3" or "option 2", never the content asked for
        assert not re.search(r"\b(step|option|number) \d", q.question, re.I), q.question
        assert not any(v in q.question for v in STEP_OF), q.question


def test_turnmem_eval_knows_the_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "projects", "--sessions", "3", "--no-progress"]) == 2
    assert "sessions: give a whole number from 10 to 400, got 3" in capsys.readouterr().err
