"""A seeded synthetic conversation with planted facts, for evals without external data.

``generate(turns=2000, seed=7)`` builds one (or more) long user/assistant conversations in
OpenAI chat format, split into sessions of about ``session_turns`` turns on increasing
dates (turn ids ``S<session>:<turn>``, both 1-based; session ids ``session_<n>``), with
facts planted once and asked about after the last turn. Question categories:

- ``personal``: a fact the user states in a plain turn ("My sister Priya moved to Porto
  back in 2019", a pet's name, an allergy, a project code ``PRJ-48213``, a booking
  reference ``BK-20931``). Evidence: that user turn.
- ``tool``: a fact that only exists inside a tool output: an assistant ``tool_calls``
  message followed by the ``tool`` result, a JSON array of 20-200 records (the largest
  are several thousand tokens), exactly one of which holds the asked id. Evidence: the
  tool *result* turn only; the call is not evidence (it carries only the arguments), a
  strategy that keeps call and result together still brings it along.
- ``image``: a fact that only exists in an image's caption: a user message whose content
  parts are a text part (which never holds the answer) and an ``image_url`` part with
  turnmem's ``caption`` surrogate. Evidence: that user turn.
- ``update``: a value stated, then changed once or twice in later turns; the question asks
  for the current value and the evidence is the latest statement only. The superseded
  statements are listed in ``Dataset.notes["stale_evidence"]`` (question id -> turn ids).

Distractors keep retrieval honest: small talk, tool calls and photos that hold no asked
fact, and near misses that reuse the planted facts' words: the same names with another
relation, unasked facts of the same shape (other people, cities, projects, places), ids
that differ from an asked id by two swapped digits, a partner's preferences, budget codes
of the same projects. A near miss never answers an asked question.

Questions paraphrase the facts (they share the key names and ids, not the sentence) and
are asked one day after the last turn. Everything is drawn from one
``random.Random(seed)`` (no global state, no set iteration), so a seed always gives the
same dataset. 100,000 turns take about a second.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

from eval.dataset_models import Conversation, Dataset, Question, Session, Turn
from eval.synthetic_facts import Facts
from eval.synthetic_fillers import Fillers
from eval.synthetic_words import (  # the vocabulary, importable from here as before
    ACKS,
    ADVICE,
    ADVICE_ASKS,
    AIRLINES,
    ALLERGIES,
    BACKDROPS,
    BOOKING_KINDS,
    CAR_PARKS,
    CARRIERS,
    CITIES,
    CLUBS,
    COLORS,
    DOOR_PLACES,
    EVENTS,
    GREETINGS,
    ITEMS,
    MERCHANTS,
    NAMES,
    OBJECTS,
    OPENERS,
    ORDER_STATUS,
    PARCEL_STATUS,
    PET_NAMES,
    PETS,
    PHOTO_REPLIES,
    PHOTO_TEXTS,
    PREF_LIST,
    PREFS,
    PROJECTS,
    REL_LIST,
    RELATIONS,
    REPLIES,
    SCENERY,
    SHOP_A,
    SHOP_B,
    SHOPS,
    SMALL_TALK,
    STREETS,
    TIMES,
    TOOL_KINDS,
    TX_CATEGORIES,
    WEATHER,
    Msg,
)
from memory.errors import InvalidArgument

GENERATOR_VERSION = 2
CATEGORIES = ("personal", "tool", "image", "update")
MIN_TURNS, MAX_TURNS = 10, 100_000
# Question i has category _CYCLE[i % 8]: any 4 consecutive questions cover all categories,
# tool facts (where chunking matters) are the most frequent, updates stay modest (1 in 8).
_CYCLE = ("personal", "tool", "image", "update", "personal", "tool", "image", "tool")
_START = datetime(2024, 1, 8, 8, 0, tzinfo=timezone.utc)

__all__ = [
    "CATEGORIES",
    "GENERATOR_VERSION",
    "MAX_TURNS",
    "MIN_TURNS",
    "generate",
    "NAMES",
    "RELATIONS",
    "REL_LIST",
    "CLUBS",
    "CITIES",
    "PETS",
    "PET_NAMES",
    "ALLERGIES",
    "PROJECTS",
    "BOOKING_KINDS",
    "ITEMS",
    "CARRIERS",
    "AIRLINES",
    "MERCHANTS",
    "TX_CATEGORIES",
    "STREETS",
    "PARCEL_STATUS",
    "ORDER_STATUS",
    "WEATHER",
    "EVENTS",
    "COLORS",
    "OBJECTS",
    "BACKDROPS",
    "SHOPS",
    "SHOP_A",
    "SHOP_B",
    "CAR_PARKS",
    "SCENERY",
    "PREFS",
    "PREF_LIST",
    "DOOR_PLACES",
    "TIMES",
    "OPENERS",
    "SMALL_TALK",
    "REPLIES",
    "ADVICE_ASKS",
    "ADVICE",
    "ACKS",
    "PHOTO_TEXTS",
    "PHOTO_REPLIES",
    "GREETINGS",
    "TOOL_KINDS",
    "Msg",
]


class _Gen(Facts, Fillers):
    """Draws facts and fillers from one ``random.Random``; remembers the asked keys so that
    fillers (drawn after all facts) never restate or contradict an asked fact."""


# -- layout ----------------------------------------------------------------------------------


def _place(rng: random.Random, free: list[int], need: int) -> int:
    """A session with room for ``need`` more turns (random), else any (it grows)."""
    n = len(free)
    for _ in range(8):
        s = rng.randrange(n)
        if free[s] >= need:
            break
    else:
        start = rng.randrange(n)
        s = next((k % n for k in range(start, start + n) if free[k % n] >= need), start)
    free[s] -= need
    return s


_Unit = tuple[list[Msg], int, int, int]  # messages, fact index (-1: filler), step, statement offset


def _keep_steps_in_order(units: list[_Unit]) -> None:
    """After shuffling, a fact's statements that share a session keep their order."""
    groups: dict[int, list[int]] = {}
    for k, unit in enumerate(units):
        if unit[1] >= 0:
            groups.setdefault(unit[1], []).append(k)
    for positions in groups.values():
        if len(positions) > 1:
            ordered = sorted((units[k] for k in positions), key=lambda u: u[2])
            for k, unit in zip(positions, ordered):
                units[k] = unit


def _conversation(
    cid: str, rng: random.Random, turns: int, n_questions: int, session_turns: int
) -> tuple[Conversation, dict[str, list[str]]]:
    gen = _Gen(rng)
    facts = [gen.fact(_CYCLE[i % len(_CYCLE)]) for i in range(n_questions)]

    n_sessions = max(1, math.ceil(turns / session_turns))
    base, extra = divmod(turns, n_sessions)
    free = [base + (1 if s < extra else 0) for s in range(n_sessions)]
    planted: list[list[_Unit]] = [[] for _ in range(n_sessions)]
    for i, fact in enumerate(facts):
        # A fact's units have equal sizes, so sorting the picked sessions keeps capacities right.
        picks = sorted(_place(rng, free, len(unit)) for unit in fact.units)
        for step, (s, unit, off) in enumerate(zip(picks, fact.units, fact.offsets)):
            planted[s].append((unit, i, step, off))

    # Sessions spread over about two years at most, at least an hour apart.
    gap = max(3600.0, min(2 * 86400.0, 730 * 86400.0 / n_sessions))
    date = _START + timedelta(minutes=rng.randint(0, 240))
    sessions: list[Session] = []
    evidence: dict[int, tuple[str, str]] = {}
    stale: dict[int, list[str]] = {}
    for si in range(n_sessions):
        units = planted[si]
        room = max(0, free[si])
        while room >= 2:
            msgs = gen.filler(room)
            units.append((msgs, -1, 0, -1))
            room -= len(msgs)
        rng.shuffle(units)
        _keep_steps_in_order(units)
        if room == 1:
            units.insert(0, ([gen.greeting()], -1, 0, -1))
        sid = f"session_{si + 1}"
        out: list[Turn] = []
        ts = date
        for msgs, fi, step, off in units:
            for k, msg in enumerate(msgs):
                if out:
                    ts += timedelta(seconds=rng.randint(1, 4) if msg["role"] == "tool" else rng.randint(20, 150))
                tid = f"S{si + 1}:{len(out) + 1}"
                hit = fi >= 0 and k == off
                latest = hit and step == len(facts[fi].units) - 1
                if latest:
                    evidence[fi] = (tid, sid)
                elif hit:
                    stale.setdefault(fi, []).append(tid)
                out.append(Turn(id=tid, message=msg, timestamp=ts, has_answer=latest))
        sessions.append(Session(id=sid, date=date, turns=out))
        date = max(ts + timedelta(minutes=30), date + timedelta(seconds=int(gap * rng.uniform(0.5, 1.5))))

    asked = ts + timedelta(days=1)  # ts: the last turn's timestamp
    questions = [
        Question(
            id=f"{cid}/q{i}",
            question=f.question,
            answer=f.answer,
            category=f.category,
            evidence=[evidence[i][0]],
            evidence_sessions=[evidence[i][1]],
            date=asked,
        )
        for i, f in enumerate(facts)
    ]
    stale_ids = {f"{cid}/q{i}": ids for i, ids in sorted(stale.items())}
    return Conversation(id=cid, sessions=sessions, questions=questions), stale_ids


def generate(
    turns: int = 2000,
    seed: int = 7,
    *,
    conversations: int = 1,
    questions: int | None = None,
    session_turns: int = 20,
) -> Dataset:
    """A deterministic synthetic dataset (see the module docstring).

    ``turns`` (10-100,000) is each conversation's length: exact unless the planted facts
    don't fit (tiny ``turns`` with many ``questions``), then the conversation grows a little.
    ``questions`` defaults to ``min(200, max(4, turns // 25))`` per conversation;
    ``session_turns`` is the size of a session (at least 4); ``conversations`` the number of
    conversations (namespaces ``synthetic-<seed>-<n>``), drawn one after another from the seed.
    """
    for name, value, low, high in (
        ("turns", turns, MIN_TURNS, MAX_TURNS),
        ("session_turns", session_turns, 4, MAX_TURNS),
        ("conversations", conversations, 1, 1000),
        ("questions", 0 if questions is None else questions, 0, 10_000),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidArgument(f"{name}: give a whole number from {low} to {high}, got {value!r}", field=name)
    n_q = questions if questions is not None else min(200, max(4, turns // 25))
    rng = random.Random(seed)
    convs: list[Conversation] = []
    stale: dict[str, list[str]] = {}
    for c in range(conversations):
        conv, conv_stale = _conversation(f"synthetic-{seed}-{c}", rng, turns, n_q, session_turns)
        convs.append(conv)
        stale.update(conv_stale)
    return Dataset(
        name="synthetic",
        conversations=convs,
        source=f"eval.synthetic.generate(turns={turns}, seed={seed})",
        notes={
            "generator": "eval.synthetic",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "turns": turns,
            "session_turns": session_turns,
            "conversations": conversations,
            "questions": n_q,
            "tool_evidence": "the tool result turn only (not the assistant tool call)",
            "stale_evidence": stale,
        },
    )
