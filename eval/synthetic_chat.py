"""A seeded chatbot-shaped dataset: one user's history with an assistant, per conversation.

``generate(seed=7)`` builds ``conversations`` user-assistant histories (namespaces
``chat-<seed>-<n>``) of ``sessions`` sessions on dates spread over months (2-9 days
apart), each of 4-8 exchanges: a short user request (1-3 sentences, no ``name``) and a long
markdown assistant answer (300-1,000 words: headings, numbered steps, bullets, tables,
code blocks; :mod:`eval.chat_answers`). Turn ids are ``S<session>:<turn>`` (both 1-based),
session ids ``session_<n>``. Facts are planted in passing inside requests about something
else, at random positions; questions are asked after the last session, each at its own
``date`` (the ``now`` the eval passes to strategies). Categories (abilities):

- ``user_fact``: a fact the user stated once ("...for my daughter Mia's 7th birthday...",
  asked "How old is my kid going to be?"). Evidence: that user turn.
- ``assistant_fact``: a named item or number in one long assistant answer ("the trail you
  suggested outside Bergen"). Evidence: that assistant turn.
- ``preference``: a standing instruction or preference, stated once or twice; the question
  asks for a recommendation or how to answer ("Suggest a dinner for tonight."). Evidence:
  every user turn stating it.
- ``update``: a value stated, then changed in later sessions; evidence is the latest
  statement, the superseded ones are in ``Dataset.notes["stale_evidence"]``.
- ``aggregation``: 3-6 mentions across sessions, counted or summed. Evidence: every one.
- ``temporal``: which of two requests came first (evidence: both), what happened some time
  before ``now`` ("What was I cooking two weeks ago?": other episodes of the same kind are
  at least 14 days away), or when something started (evidence: that turn).

Questions paraphrase (a synonym table per family, :mod:`eval.chat_facts`), and distractors
repeat the question's words: near misses about someone else or a hypothetical, older
values, other answers on the same topic. Everything comes from one ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from eval.chat_answers import compose
from eval.chat_events import MEAT
from eval.chat_facts import Line
from eval.chat_plans import MIX, Gen, Plan, Say, plans
from eval.chat_topics import TOPIC_NAMES, TOPICS
from eval.dataset_models import Conversation, Dataset, Question, Session, Turn, check_generator_args

GENERATOR_VERSION = 2
CATEGORIES: tuple[str, ...] = tuple(MIX)
NEAR_SHARE = 0.4  # share of filler requests that are near misses of a planted fact
DIETS = (None, "vegetarian", "pescatarian", "vegan")
_START = datetime(2025, 1, 6, tzinfo=timezone.utc)
_WORDS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight")

_Slot = tuple[Say, int, int]  # a request, its plan (-1: filler), its index in the plan


def _dates(rng: random.Random, n: int) -> list[datetime]:
    """Session start times, 2-9 days apart, between 07:00 and 21:55."""
    day = _START + timedelta(days=rng.randint(0, 60))
    out = []
    for _ in range(n):
        out.append(day + timedelta(hours=rng.randint(7, 21), minutes=rng.randrange(0, 60, 5)))
        day += timedelta(days=rng.randint(2, 9))
    return out


def _ago(now: datetime, then: datetime, siblings: list[datetime]) -> str:
    """How a user would say when ``then`` was, seen from ``now``; unambiguous among ``siblings``
    (the other episodes of the kind, at least 14 days away)."""
    d = (now.date() - then.date()).days
    if d <= 6:
        return f"on {then:%A}"
    w = round(d / 7)
    if d > 56 and not any((s.year, s.month) == (then.year, then.month) for s in siblings):
        return f"back in {then:%B}"
    if w == 1:
        return "a week ago"
    if w == 4:
        return "about a month ago"
    return f"{_WORDS[w]} weeks ago" if w < 4 else f"about {_WORDS[w] if w < len(_WORDS) else w} weeks ago"


def _place(rng: random.Random, plan_list: list[Plan], topics: list[str], free: list[int]) -> list[list[_Slot]]:
    n = len(topics)
    slots: list[list[_Slot]] = [[] for _ in range(n)]
    fixed = [i for i, p in enumerate(plan_list) if p.sessions is not None]
    for pi in fixed + [i for i, p in enumerate(plan_list) if p.sessions is None]:
        plan = plan_list[pi]
        k = len(plan.says)
        if plan.sessions is not None:
            chosen = plan.sessions
        elif k == 1:
            room = [s for s in range(n) if free[s] > 0] or list(range(n))
            same = [s for s in room if topics[s] == plan.says[0].line.topic]
            chosen = [rng.choice(same if same and rng.random() < 0.7 else room)]
        else:
            room = [s for s in range(n) if free[s] > 0]
            chosen = sorted(rng.sample(room if len(room) >= k else list(range(n)), k))
        for j, s in enumerate(chosen):
            slots[s].append((plan.says[j], pi, j))
            free[s] -= 1
    return slots


def _filler(rng: random.Random, topic: str, used: set[str], diet: str | None) -> Say:
    reqs = [r for r in TOPICS[topic].requests if not (diet and any(m in r[0].lower() for m in (*MEAT, "pork")))]
    fresh = [r for r in reqs if r[0] not in used] or reqs
    text, subject = fresh[rng.randrange(len(fresh))]
    used.add(text)
    return Say(Line(text, topic, subject))


def _conversation(
    cid: str, rng: random.Random, n_sessions: int, exchanges: tuple[int, int]
) -> tuple[Conversation, dict[str, list[str]]]:
    dates = _dates(rng, n_sessions)
    gen = Gen(rng, n_sessions, dates)
    diet = rng.choice(DIETS)
    plan_list = plans(gen, diet)
    topics = [rng.choice(TOPIC_NAMES) for _ in range(n_sessions)]
    caps = [rng.randint(*exchanges) for _ in range(n_sessions)]
    free = list(caps)
    slots = _place(rng, plan_list, topics, free)
    avoid = {
        s: {plan_list[pi].says[0].line.topic for _, pi, _ in slots[s] if plan_list[pi].relative}
        for s in range(n_sessions)
    }
    near = list(gen.near_pool)
    rng.shuffle(near)
    used: set[str] = set()
    for s in range(n_sessions):
        for _ in range(max(0, free[s])):
            if near and rng.random() < NEAR_SHARE:
                slots[s].append((near.pop(), -1, 0))
                continue
            topic = topics[s] if rng.random() < 0.75 else rng.choice(TOPIC_NAMES)
            if topic in avoid[s]:
                topic = rng.choice([t for t in TOPIC_NAMES if t not in avoid[s]])
            slots[s].append((_filler(rng, topic, used, diet), -1, 0))
        rng.shuffle(slots[s])

    turn_of: dict[tuple[int, int], tuple[str, str, int]] = {}  # (plan, say) -> user id, answer id, session
    sessions: list[Session] = []
    ts = dates[0]
    for s in range(n_sessions):
        sid = f"session_{s + 1}"
        ts = dates[s]
        turns: list[Turn] = []
        for say, pi, j in slots[s]:
            if turns:
                ts += timedelta(seconds=rng.randint(60, 420))
            uid, aid = f"S{s + 1}:{len(turns) + 1}", f"S{s + 1}:{len(turns) + 2}"
            plan = plan_list[pi] if pi >= 0 else None
            is_ev = plan is not None and bool(plan.category) and j in plan.evidence
            by_assistant = plan is not None and plan.assistant
            turns.append(
                Turn(
                    id=uid,
                    message={"role": "user", "content": say.line.text},
                    timestamp=ts,
                    has_answer=is_ev and not by_assistant,
                )
            )
            ts += timedelta(seconds=rng.randint(8, 40))
            answer = compose(rng, TOPICS[say.line.topic], say.line.subject, feature=say.feature)
            turns.append(
                Turn(
                    id=aid,
                    message={"role": "assistant", "content": answer},
                    timestamp=ts,
                    has_answer=is_ev and by_assistant,
                )
            )
            if pi >= 0:
                turn_of[(pi, j)] = (uid, aid, s)
        sessions.append(Session(id=sid, date=dates[s], turns=turns))
    last = ts

    questions: list[Question] = []
    stale: dict[str, list[str]] = {}
    for pi, plan in enumerate(plan_list):
        if not plan.category:
            continue
        qid = f"{cid}/q{len(questions)}"
        now = last + timedelta(hours=rng.randint(6, 96))
        said = [turn_of[(pi, j)] for j in plan.evidence]
        ev = [answer_id if plan.assistant else user_id for user_id, answer_id, _ in said]
        ev_sessions = sorted({turn_of[(pi, j)][2] for j in plan.evidence})
        text, answer = plan.question, plan.answer
        then = dates[turn_of[(pi, 0)][2]]
        if plan.relative:
            siblings = [dates[g] for g in plan.group if dates[g] != then]
            text = text.format(ago=_ago(now, then, siblings))
        if plan.dated:
            answer = f"{then:%-d %B %Y}"
        if plan.stale:
            stale[qid] = [turn_of[(pi, j)][0] for j in plan.stale]
        questions.append(
            Question(
                id=qid,
                question=text,
                answer=answer,
                category=plan.category,
                evidence=ev,
                evidence_sessions=[f"session_{s + 1}" for s in ev_sessions],
                date=now,
            )
        )
    return Conversation(id=cid, sessions=sessions, questions=questions), stale


def generate(
    seed: int = 7,
    *,
    conversations: int = 4,
    sessions: int = 30,
    min_exchanges: int = 4,
    max_exchanges: int = 8,
) -> Dataset:
    """A deterministic chatbot-shaped dataset (see the module docstring).

    ``conversations`` user histories (1-100) of ``sessions`` sessions each (2-200), each
    session ``min_exchanges``-``max_exchanges`` request/answer pairs (it grows when more
    facts land in it). About 50 questions per conversation at 30 sessions, fewer (at least
    one per category) with fewer sessions.
    """
    check_generator_args(
        (
            ("conversations", conversations, 1, 100),
            ("sessions", sessions, 2, 200),
            ("min_exchanges", min_exchanges, 1, 30),
            ("max_exchanges", max_exchanges, 1, 30),
            ("seed", seed, -(2**63), 2**63),
        ),
        min_exchanges,
        max_exchanges,
    )
    rng = random.Random(seed)
    convs: list[Conversation] = []
    stale: dict[str, list[str]] = {}
    for c in range(conversations):
        conv, conv_stale = _conversation(f"chat-{seed}-{c}", rng, sessions, (min_exchanges, max_exchanges))
        convs.append(conv)
        stale.update(conv_stale)
    counts = {cat: sum(q.category == cat for c in convs for q in c.questions) for cat in CATEGORIES}
    return Dataset(
        name="chat",
        conversations=convs,
        source=f"eval.synthetic_chat.generate(seed={seed}, conversations={conversations}, sessions={sessions})",
        notes={
            "generator": "eval.synthetic_chat",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "conversations": conversations,
            "sessions": sessions,
            "exchanges": [min_exchanges, max_exchanges],
            "questions_per_category": counts,
            "assistant_fact_evidence": "the assistant answer that holds the item",
            "stale_evidence": stale,
        },
    )
