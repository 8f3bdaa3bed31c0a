from __future__ import annotations

import pytest

from eval.synthetic import CATEGORIES, generate
from memory.errors import InvalidArgument
from memory.models import ImagePart, parse_message


def _text(turn) -> str:  # noqa: ANN001
    msg = parse_message(turn.message)
    return msg.text()


def test_deterministic() -> None:
    a = generate(turns=600, seed=3).model_dump_json()
    assert a == generate(turns=600, seed=3).model_dump_json()
    assert a != generate(turns=600, seed=4).model_dump_json()


@pytest.mark.parametrize("turns", [10, 500, 2000])
def test_sizes_and_validity(turns: int) -> None:
    ds = generate(turns=turns, seed=7)
    conv = ds.conversations[0]
    n = len(conv.turns)
    assert abs(n - turns) <= 20 + 8  # session granularity, plus planted units
    ids = [t.id for t in conv.turns]
    assert len(ids) == len(set(ids))
    prev = None
    for s in conv.sessions:
        msgs = [parse_message(t.message) for t in s.turns]  # valid OpenAI format
        for i, m in enumerate(msgs):
            if m.role == "tool":
                call = msgs[i - 1]
                assert call.tool_calls and call.tool_calls[0].id == m.tool_call_id
        stamps = [t.timestamp for t in s.turns]
        assert stamps == sorted(stamps)
        if prev is not None:
            assert stamps[0] > prev
        prev = stamps[-1]
    if turns >= 500:
        assert {q.category for q in conv.questions} == set(CATEGORIES)


def test_evidence_holds_the_answer() -> None:
    ds = generate(turns=2000, seed=11)
    conv = ds.conversations[0]
    by_id = {t.id: t for t in conv.turns}
    last = conv.turns[-1].timestamp
    assert len({q.question for q in conv.questions}) == len(conv.questions)
    for q in conv.questions:
        assert q.evidence and q.answer
        for e in q.evidence:
            turn = by_id[e]
            assert q.answer in _text(turn)
            if q.category == "tool":
                assert turn.message["role"] == "tool"
            if q.category == "image":
                part = parse_message(turn.message).content[1]  # type: ignore[index]
                assert isinstance(part, ImagePart) and q.answer in (part.caption or "")
        assert q.date is not None and last is not None and q.date > last
        assert q.answer not in q.question


def test_update_evidence_is_the_latest_statement() -> None:
    conv = generate(turns=2000, seed=5).conversations[0]
    order = {t.id: i for i, t in enumerate(conv.turns)}
    for q in (q for q in conv.questions if q.category == "update"):
        pref = q.question.removeprefix("What is my current ").rstrip("?")
        mentions = [
            t.id
            for t in conv.turns
            if t.message["role"] == "user"
            and isinstance(t.message["content"], str)
            and f"my {pref}" in t.message["content"].replace("go-to ", "")
        ]
        assert q.evidence[0] == max(mentions, key=order.__getitem__)


def test_large_tool_outputs_exist() -> None:
    conv = generate(turns=2000, seed=7).conversations[0]
    sizes = [len(t.message["content"]) for t in conv.turns if t.message["role"] == "tool"]
    assert max(sizes) > 10_000  # thousands of tokens: chunking matters


def test_hundred_thousand_turns() -> None:
    ds = generate(turns=100_000, seed=1)
    assert abs(len(ds.conversations[0].turns) - 100_000) <= 40
    assert len(ds.questions) == 200


def test_bad_length() -> None:
    with pytest.raises(InvalidArgument) as err:
        generate(turns=5)
    assert err.value.field == "turns"
