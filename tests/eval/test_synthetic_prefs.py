"""The preferences development set: deterministic, each preference given once in its own session in
one of three ways, and asked about by requests that share few words with it (docs/devsets.md)."""

from __future__ import annotations

import re

import pytest

from eval.cli import main
from eval.datasets import Conversation, Dataset, Turn, load_dataset
from eval.devset_overlap import content_words, overlap_summary
from eval.pref_words import CONTEXTS, NUMBERS, ORDINALS
from eval.synthetic_prefs import CATEGORIES, FAMILIES, GENERATOR_VERSION, UNDECIDED, generate
from memory.errors import InvalidArgument
from tests.eval.generators import assert_same_across_processes


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return generate(seed=11, conversations=2, sessions=24)


def _by_id(conv: Conversation) -> dict[str, Turn]:
    return {t.id: t for t in conv.turns}


def test_deterministic_per_seed() -> None:
    a = generate(seed=3, conversations=1, sessions=8).model_dump_json()
    assert a == generate(seed=3, conversations=1, sessions=8).model_dump_json()
    assert a != generate(seed=4, conversations=1, sessions=8).model_dump_json()


@pytest.mark.needs("process")  # a fresh interpreter
def test_deterministic_across_processes() -> None:
    """No dependence on hash randomization (set or dict-of-str iteration order)."""
    assert_same_across_processes("eval.synthetic_prefs", seed=5, conversations=1, sessions=8)


def test_load_dataset_uses_the_generator() -> None:
    via = load_dataset("prefs", seed=2, conversations=1, sessions=8)
    assert via.model_dump_json() == generate(seed=2, conversations=1, sessions=8).model_dump_json()
    assert via.name == "prefs" and via.notes["generator_version"] == GENERATOR_VERSION
    assert [c.id for c in via.conversations] == ["prefs-2-0"]


def test_default_size() -> None:
    full = generate()
    assert len(full.conversations) == 4 and len(full.questions) == 120
    for conv in full.conversations:
        assert len(conv.sessions) == 40 and 150 <= len(conv.turns) <= 400
    assert full.notes["questions_per_category"] == {c: 40 for c in CATEGORIES}


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("conversations", {"conversations": 0}),
        ("sessions", {"sessions": 5}),
        ("preferences", {"preferences": 2}),
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
            assert s.id == f"session_{si}"
            assert [t.id for t in s.turns] == [f"D{si}:{ti}" for ti in range(1, len(s.turns) + 1)]
            assert [t.message["role"] for t in s.turns] == ["user", "assistant"] * (len(s.turns) // 2)
            for t in s.turns:
                assert set(t.message) == {"role", "content"}
                assert t.timestamp is not None and (prev is None or t.timestamp > prev)
                prev = t.timestamp


def test_every_way_is_present_with_its_evidence(ds: Dataset) -> None:
    """Stated and in passing: one user turn; chosen: the option list and the pick right after it,
    whose position names the answer."""
    assert {q.category for q in ds.questions} == set(CATEGORIES)
    names = {o.name for f in FAMILIES for o in f.options}
    for conv in ds.conversations:
        by_id = _by_id(conv)
        index = {t.id: i for i, t in enumerate(conv.turns)}
        session_of = {t.id: s.id for s in conv.sessions for t in s.turns}
        assert {t.id for t in conv.turns if t.has_answer} == {e for q in conv.questions for e in q.evidence}
        for q in conv.questions:
            assert q.answer in names and q.answer.lower() not in q.question.lower()
            assert q.asked_after is None and q.date is not None and q.date > conv.turns[-1].timestamp  # type: ignore[operator]
            assert q.evidence_sessions == sorted({session_of[e] for e in q.evidence}, key=lambda s: int(s[8:]))
            turns = [by_id[e] for e in q.evidence]
            if q.category != "pref_chosen":
                assert [t.message["role"] for t in turns] == ["user"]
                continue
            menu, pick = turns
            assert menu.message["role"] == "assistant" and pick.message["role"] == "user"
            assert index[pick.id] == index[menu.id] + 1
            options = re.findall(r"^(\d)\. \*\*(.+?)\*\*:", menu.text, re.M)
            assert 3 <= len(options) <= 4 and [int(n) for n, _ in options] == list(range(1, len(options) + 1))
            said = [rf"\b{ORDINALS[i]}\b|\b{i + 1}\b|Number {NUMBERS[i]}\b" for i in range(len(options))]
            spoken = [i for i, pattern in enumerate(said) if re.search(pattern, pick.text)]
            assert len(spoken) == 1 and options[spoken[0]][1].lower() == q.answer.lower()
            assert not any(name.lower() in pick.text.lower() for _, name in options)  # the pick names nothing


def test_each_preference_in_its_own_session(ds: Dataset) -> None:
    for conv in ds.conversations:
        given = {tuple(q.evidence): q.evidence_sessions for q in conv.questions}
        sessions = [s for ss in given.values() for s in ss]
        assert all(len(ss) == 1 for ss in given.values())
        assert len(sessions) == len(set(sessions)), "two preferences share a session"
        assert len(given) * 2 == len(conv.questions)  # each asked about twice
        assert len(conv.sessions) > 2 * len(given) - 1  # at least as many other sessions


def test_near_misses_are_there(ds: Dataset) -> None:
    """Option lists that end with no pick, and someone else's taste."""
    texts = [t.text for c in ds.conversations for t in c.turns if t.message["role"] == "user"]
    assert any(t == UNDECIDED for t in texts)
    others = [t for t in texts if re.search(r"\bMy (sister|partner|dad|cousin|boss|flatmate|neighbour's)\b", t)]
    assert len(others) >= 4


def test_requests_share_few_words_with_their_evidence(ds: Dataset) -> None:
    """The lexical-overlap bound (docs/devsets.md): a request implies its preference without its words."""
    summary = overlap_summary(ds)
    assert summary == ds.notes["lexical_overlap"]
    assert summary["all"]["pairs"] > 40
    assert summary["all"]["jaccard_mean"] < 0.03
    assert summary["all"]["containment_mean"] < 0.1
    assert summary["role:user"]["no_shared_word"] > 0.8
    for cat in CATEGORIES:
        assert summary[cat]["jaccard_mean"] < 0.05, cat
    for fam in FAMILIES:  # by construction: an ask shares at most one word with an option's statements
        for opt, ask in ((o, a) for o in fam.options for a in fam.asks):
            said = content_words(" ".join(opt.stated + opt.passing + CONTEXTS[fam.key]))
            assert len(content_words(ask.format(city="Lisbon")) & said) <= 1, (opt.name, ask)


def test_a_user_never_contradicts_a_preference(ds: Dataset) -> None:
    """A vegan user asks for no chicken recipe, a gluten-free one for no sourdough schedule."""
    for conv in ds.conversations:
        clash: set[str] = set()
        for q in conv.questions:
            opt = next(o for f in FAMILIES for o in f.options if o.name == q.answer)
            clash.update(opt.clash)
        asked = {e for q in conv.questions for e in q.evidence}
        users = [t.text.lower() for t in conv.turns if t.message["role"] == "user" and t.id not in asked]
        assert not [u for u in users if any(w in u for w in clash)], sorted(clash)


def test_turnmem_eval_knows_the_set(capsys: pytest.CaptureFixture[str]) -> None:
    """The dataset choice reaches the generator (a bad size fails before anything is ingested)."""
    assert main(["eval", "prefs", "--sessions", "2", "--no-progress"]) == 2
    assert "sessions: give a whole number from 6 to 400, got 2" in capsys.readouterr().err


def test_turnmem_eval_gives_each_set_its_own_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --users / --sessions the set's defaults apply (not chat's 4 x 30); given, they pass through."""
    seen: list[dict[str, object]] = []

    def stop(name: str, **kwargs: object) -> Dataset:
        seen.append({"name": name, **kwargs})
        raise InvalidArgument("stop here", field="dataset")

    monkeypatch.setattr("eval.cli.run.load_dataset", stop)
    assert main(["eval", "projects", "--no-progress"]) == 2
    assert main(["eval", "prefs", "--users", "1", "--sessions", "12", "--seed", "3", "--no-progress"]) == 2
    assert seen == [
        {"name": "projects", "seed": 7},
        {"name": "prefs", "seed": 3, "conversations": 1, "sessions": 12},
    ]
