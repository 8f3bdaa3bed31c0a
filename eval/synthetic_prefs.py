"""The preferences set ("prefs"): preferences stated once, applied later to requests that never name them.

``generate(seed=7)`` builds ``conversations`` user-assistant histories (namespaces
``prefs-<seed>-<n>``) of ``sessions`` sessions, each of ``min_exchanges``-``max_exchanges``
exchanges: a short user request and an assistant answer (long markdown, as in the chat set:
:mod:`eval.chat_answers`). Each of ``preferences`` user preferences (:mod:`eval.pref_words`,
:mod:`eval.pref_leisure`) is given once, in its own session, in one of three ways:

- ``pref_stated``: said outright ("I avoid gluten completely; I was diagnosed coeliac last
  year."), alone (the assistant acknowledges without echoing it) or before an on-domain
  request; evidence: that user turn;
- ``pref_chosen``: the user asks for options, the assistant lists 3-4 (a numbered markdown
  list), the user picks one by its position only ("The second one sounds perfect."); evidence:
  the option list and the pick;
- ``pref_in_passing``: one sentence inside a request about something else ("I'm back from
  my evening vinyasa class and still feel very zen. Anyway, how do I profile a slow Python
  function?"); evidence: that user turn.

The other sessions are unrelated chats (coding help, trips, grammar, recipes: the chat set's
topics), plus near misses: on-domain requests with no preference, someone else's taste, and
option lists the user chose nothing from. Every question is a later request that the
preference should shape, in words it shares little with (:mod:`eval.devset_overlap` measures
it), asked after the whole history (``asked_after`` None). Turn ids ``D<session>:<turn>``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from eval.chat_answers import compose
from eval.chat_topics import TOPIC_NAMES, TOPICS, Topic
from eval.dataset_models import Conversation, Dataset, Question, Session, Turn, check_generator_args
from eval.devset_overlap import overlap_summary
from eval.devset_situations import situated
from eval.pref_leisure import LEISURE, LEISURE_FAMILIES
from eval.pref_words import (
    ASK_CITIES,
    CHOICE_ACKS,
    CHOICES,
    CONTEXTS,
    EVERYDAY,
    MENU_CLOSERS,
    MENU_INTROS,
    NUMBERS,
    ORDINALS,
    PASSING_JOINS,
    STATED_ACKS,
    Option,
    PrefFamily,
)

GENERATOR_VERSION = 1
FAMILIES: tuple[PrefFamily, ...] = EVERYDAY + LEISURE_FAMILIES
WAYS = {"stated": "pref_stated", "chosen": "pref_chosen", "passing": "pref_in_passing"}
CATEGORIES: tuple[str, ...] = tuple(WAYS.values())
ALL_TOPICS: dict[str, Topic] = {**TOPICS, "leisure": LEISURE}
ASKS_PER_PREFERENCE = 2
UNDECIDED = "Hmm, none of those really grab me. I'll think about it."


@dataclass
class Line:
    """One message to be: its text and, when it is evidence, the preference it belongs to."""

    role: str
    text: str
    pref: int = -1


@dataclass
class User:
    """What one history draws: its preferences, their ways, and the requests it may make."""

    rng: random.Random
    families: list[PrefFamily]
    options: list[Option]
    ways: list[str]
    clash: tuple[str, ...]
    fillers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # topic -> (text, subject)
    evidence: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # preference -> (turn id, session id)

    def filler(self, topic: str) -> tuple[str, str, str]:
        """A plain request of ``topic`` (text, subject, topic); the pool refills when used up."""
        pool = self.fillers.get(topic)
        if not pool:
            pool = [r for r in ALL_TOPICS[topic].requests if not any(w in r[0].lower() for w in self.clash)]
            self.rng.shuffle(pool)
            self.fillers[topic] = pool
        text, subject = pool.pop()
        return text, subject, topic


def _sentence(text: str, subject: str) -> str:
    out = text.replace("{s}", subject)
    return out[:1].upper() + out[1:]


def _menu(rng: random.Random, fam: PrefFamily, subject: str, shown: list[Option]) -> str:
    """The assistant's option list: a heading, a line of intro, 3-4 numbered options, advice, a question."""
    topic = ALL_TOPICS[fam.topic]
    items = "\n".join(f"{i}. **{o.name[:1].upper() + o.name[1:]}**: {o.pitch}" for i, o in enumerate(shown, start=1))
    advice = " ".join(_sentence(p, subject) for p in rng.sample(list(topic.paras), 2))
    title = f"## {_sentence(subject, subject)}"
    return f"{rng.choice(MENU_INTROS)}\n\n{title}\n\n{items}\n\n{advice}\n\n{rng.choice(MENU_CLOSERS)}"


def _exchange(user: str, answer: str, pref: int = -1, *, user_ev: bool = False, answer_ev: bool = False) -> list[Line]:
    return [Line("user", user, pref if user_ev else -1), Line("assistant", answer, pref if answer_ev else -1)]


def _preference_unit(u: User, i: int) -> list[list[Line]]:
    """The exchanges that give preference ``i`` in its way (one, or two for a choice)."""
    rng, fam, opt, way = u.rng, u.families[i], u.options[i], u.ways[i]
    topic = ALL_TOPICS[fam.topic]
    if way == "stated":
        said = f"{rng.choice(opt.stated)} {rng.choice(CONTEXTS[fam.key])}"
        if rng.random() < 0.5:
            return [_exchange(said, rng.choice(STATED_ACKS), i, user_ev=True)]
        text, subject = rng.choice(fam.domain)
        return [_exchange(f"{said} {text}", compose(rng, topic, subject), i, user_ev=True)]
    if way == "passing":
        others = [t for t in TOPIC_NAMES if t != fam.topic]
        text, subject, t = u.filler(rng.choice(others))
        join = rng.choice(PASSING_JOINS)
        lower = join.startswith("{p} Anyway") and not text.startswith(("I ", "I'"))
        request = text[:1].lower() + text[1:] if lower else text
        said = join.format(p=rng.choice(opt.passing), r=request)
        return [_exchange(said, compose(rng, ALL_TOPICS[t], subject), i, user_ev=True)]
    ask, subject = rng.choice(fam.menus)
    rest = [o for o in fam.options if o is not opt]
    shown = [opt, *rng.sample(rest, rng.choice((2, 3)))]
    rng.shuffle(shown)
    pos = shown.index(opt)
    pick = rng.choice(CHOICES).format(ord=ORDINALS[pos], n=pos + 1, word=NUMBERS[pos])
    return [
        _exchange(ask, _menu(rng, fam, subject, shown), i, answer_ev=True),
        _exchange(pick, rng.choice(CHOICE_ACKS), i, user_ev=True),
    ]


def _near_misses(u: User, unused: list[PrefFamily]) -> list[list[list[Line]]]:
    """Units that look like a preference and are not: on-domain requests, someone else's taste,
    and option lists (of families the user has no preference in) that end with no pick."""
    rng, units = u.rng, []
    for fam, opt in zip(u.families, u.options):
        text, subject = rng.choice(fam.domain)
        units.append([_exchange(text, compose(rng, ALL_TOPICS[fam.topic], subject))])
        if rng.random() < 0.6:
            other = rng.choice([o for o in fam.options if o is not opt])
            text, subject = rng.choice(fam.others)
            units.append([_exchange(text.format(name=other.name), compose(rng, ALL_TOPICS[fam.topic], subject))])
    for fam in unused[:2]:
        ask, subject = rng.choice(fam.menus)
        shown = rng.sample(list(fam.options), rng.choice((3, 4)))
        units.append([_exchange(ask, _menu(rng, fam, subject, shown)), _exchange(UNDECIDED, rng.choice(STATED_ACKS))])
    return units


def _conversation(
    cid: str, rng: random.Random, n_sessions: int, n_prefs: int, exchanges: tuple[int, int]
) -> Conversation:
    families = rng.sample(list(FAMILIES), n_prefs)
    options = [rng.choice(f.options) for f in families]
    ways = [list(WAYS)[i % 3] for i in range(n_prefs)]
    rng.shuffle(ways)
    clash = tuple(w for o in options for w in o.clash)
    u = User(rng, families, options, ways, clash)
    unused = [f for f in FAMILIES if f not in families]

    pref_session = rng.sample(range(n_sessions), n_prefs)  # each preference in its own session
    owner = {s: i for i, s in enumerate(pref_session)}
    near = _near_misses(u, unused)
    rng.shuffle(near)
    free = [s for s in range(n_sessions) if s not in owner] or list(range(n_sessions))
    near_at: dict[int, list[list[list[Line]]]] = {}
    for unit in near:
        near_at.setdefault(rng.choice(free), []).append(unit)

    start = datetime(2025, 1, 6, tzinfo=timezone.utc) + timedelta(days=rng.randint(0, 60))
    ts = start
    sessions: list[Session] = []
    for s in range(n_sessions):
        day = start if s == 0 else (sessions[-1].date or start) + timedelta(days=rng.randint(2, 6))
        date = day.replace(hour=rng.randint(7, 21), minute=rng.randint(0, 59), second=0)
        units: list[list[list[Line]]] = list(near_at.get(s, []))
        if s in owner:
            units.append(_preference_unit(u, owner[s]))
        main, size = rng.choice(TOPIC_NAMES), rng.randint(*exchanges)
        while sum(len(x) for x in units) < size:
            topic = main if rng.random() < 0.75 else rng.choice(TOPIC_NAMES)
            text, subject, t = u.filler(topic)
            units.append([_exchange(situated(rng, text, t), compose(rng, ALL_TOPICS[t], subject))])
        rng.shuffle(units)
        lines = [line for unit in units for ex in unit for line in ex]
        turns: list[Turn] = []
        ts = max(date, ts + timedelta(hours=1))
        for line in lines:
            ts += timedelta(seconds=rng.randint(8, 40) if line.role == "assistant" else rng.randint(60, 420))
            tid = f"D{s + 1}:{len(turns) + 1}"
            msg = {"role": line.role, "content": line.text}
            turns.append(Turn(id=tid, message=msg, timestamp=ts, has_answer=line.pref >= 0))
            if line.pref >= 0:
                u.evidence.setdefault(line.pref, []).append((tid, f"session_{s + 1}"))
        sessions.append(Session(id=f"session_{s + 1}", date=turns[0].timestamp, turns=turns))

    questions: list[Question] = []
    for i, (fam, opt, way) in enumerate(zip(families, options, ways)):
        ev = u.evidence[i]
        for ask in rng.sample(list(fam.asks), min(ASKS_PER_PREFERENCE, len(fam.asks))):
            questions.append(
                Question(
                    id=f"{cid}/q{len(questions)}",
                    question=ask.format(city=rng.choice(ASK_CITIES)),
                    answer=opt.name,
                    category=WAYS[way],
                    evidence=[tid for tid, _ in ev],
                    evidence_sessions=sorted({sid for _, sid in ev}, key=lambda x: int(x.split("_")[1])),
                    date=ts + timedelta(hours=rng.randint(6, 96)),
                )
            )
    return Conversation(id=cid, sessions=sessions, questions=questions)


def generate(
    seed: int = 7,
    *,
    conversations: int = 4,
    sessions: int = 40,
    preferences: int = 15,
    min_exchanges: int = 3,
    max_exchanges: int = 6,
) -> Dataset:
    """A deterministic preferences set (see the module docstring).

    ``conversations`` histories (1-100) of ``sessions`` sessions (6-400), each giving
    ``preferences`` preferences (3-16; at most half the sessions, so that unrelated sessions
    outnumber them), asked about twice each. Default: 4 × 40 sessions, about 290 turns per
    history, 120 questions.
    """
    check_generator_args(
        (
            ("conversations", conversations, 1, 100),
            ("sessions", sessions, 6, 400),
            ("preferences", preferences, 3, len(FAMILIES)),
            ("min_exchanges", min_exchanges, 1, 20),
            ("max_exchanges", max_exchanges, 1, 20),
            ("seed", seed, -(2**63), 2**63),
        ),
        min_exchanges,
        max_exchanges,
    )
    n_prefs = min(preferences, sessions // 2)
    rng = random.Random(seed)
    convs = [
        _conversation(f"prefs-{seed}-{c}", rng, sessions, n_prefs, (min_exchanges, max_exchanges))
        for c in range(conversations)
    ]
    ds = Dataset(
        name="prefs",
        conversations=convs,
        source=f"eval.synthetic_prefs.generate(seed={seed}, conversations={conversations}, sessions={sessions})",
    )
    counts = {cat: sum(q.category == cat for q in ds.questions) for cat in CATEGORIES}
    ds.notes = {
        "generator": "eval.synthetic_prefs",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "conversations": conversations,
        "sessions": sessions,
        "preferences": n_prefs,
        "exchanges": [min_exchanges, max_exchanges],
        "questions_per_category": counts,
        "lexical_overlap": overlap_summary(ds),
        "development_set": "tuned on: not a held-out result",
    }
    return ds
