"""One user's history for :mod:`eval.synthetic_projects`: parallel projects laid out over sessions.

:func:`history` draws 2-4 projects (:mod:`eval.project_work`, :mod:`eval.project_life`), each
with a start session and a schedule of structured events: the kickoff (the user asks, the
assistant proposes a numbered plan, the user accepts), decisions (an option list and a pick by
number), revisions of a step ("Let's change step 3 to ..."), and progress reports (one per
finished step, in order; a revision of a step always comes before the report that finishes
it). The rest of each session is in-thread side questions (long answers that share the
thread's words and are nobody's evidence) and unrelated chats (the chat set's topics). Every
structured event records its turn ids and positions, from which the questions are drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from eval.chat_answers import compose
from eval.chat_topics import TOPIC_NAMES, TOPICS
from eval.dataset_models import Session, Turn
from eval.devset_situations import situated
from eval.project_life import LIFE_PROJECTS
from eval.project_words import (
    ACCEPT_ACKS,
    ACCEPTS,
    OPTION_CLOSERS,
    OPTION_INTROS,
    PICK_ACKS,
    PICKS,
    PLAN_CLOSERS,
    PLAN_INTROS,
    PROGRESS,
    PROGRESS_ACKS,
    REVISION_ACKS,
    REVISIONS,
    SIDE_OPENERS,
    ProjectKind,
)
from eval.project_work import WORK_PROJECTS

KINDS: tuple[ProjectKind, ...] = WORK_PROJECTS + LIFE_PROJECTS
ORDINALS = ("first", "second", "third", "fourth")
SIDE_SHARE = 0.45  # of a session's free exchanges, the share that are side questions of an active project
WORDS = (150, 600)  # side and unrelated answers: words
CHATTER = (  # thread chatter any project has: it shares the thread's name, and is nobody's evidence
    ("I've been putting off {name} all week. How do I get going again?", "getting going again"),
    ("How do I stay motivated with {name} when progress feels slow?", "staying motivated"),
    ("Is it normal that {name} is taking longer than I planned?", "things taking longer than planned"),
    ("What's a good way to keep track of {name}?", "keeping track of progress"),
    ("How do I fit {name} around a busy job?", "fitting it around work"),
    ("Can you give me a pep talk about {name}? I'm flagging.", "a pep talk"),
)


@dataclass
class Event:
    project: int
    kind: str  # kickoff | decision | revision | progress
    index: int  # decision: which; revision/progress: the step
    session: int
    rank: float  # order among the project's events of one session
    value: str = ""  # revision: the new value
    turns: list[str] = field(default_factory=list)  # its turn ids, in order
    pos: list[int] = field(default_factory=list)  # their positions in the whole history


@dataclass
class Project:
    kind: ProjectKind
    start: int
    values: list[str]  # each step's value in the plan
    picks: list[int]  # each decision: the option picked
    events: list[Event]
    name: str  # how the user refers to it in passing

    @property
    def end(self) -> int:
        return max(e.session for e in self.events)


@dataclass
class History:
    projects: list[Project]
    sessions: list[Session]
    roles: list[str]  # every turn's role, in order
    ids: list[str]  # every turn's id, in order
    times: list[datetime]


def _plan(rng: random.Random, p: Project) -> str:
    kind = p.kind
    steps = "\n".join(f"{i}. **{s.label}**: {v}." for i, (s, v) in enumerate(zip(kind.steps, p.values), start=1))
    topic = TOPICS[kind.topic]
    advice = " ".join(rng.sample(list(topic.tips), 2))
    return f"{rng.choice(PLAN_INTROS)}\n\n## {kind.title}\n\n{steps}\n\n{advice}\n\n{rng.choice(PLAN_CLOSERS)}"


def _options(rng: random.Random, p: Project, d: int) -> tuple[str, int]:
    """The option list of decision ``d`` (3-4 options, the picked one among them) and the picked position."""
    dec = p.kind.decisions[d]
    picked = dec.options[p.picks[d]]
    shown = [picked, *rng.sample([o for o in dec.options if o is not picked], rng.choice((2, 3)))]
    rng.shuffle(shown)
    items = "\n".join(f"{i}. **{name}**: {pitch}." for i, (name, pitch) in enumerate(shown, start=1))
    para = " ".join(rng.sample(list(TOPICS[p.kind.topic].paras), 1)).replace("{s}", dec.subject.lower())
    text = f"{rng.choice(OPTION_INTROS)}\n\n### {dec.subject}\n\n{items}\n\n{para}\n\n{rng.choice(OPTION_CLOSERS)}"
    return text, shown.index(picked)


def _exchanges(rng: random.Random, p: Project, e: Event) -> list[tuple[str, str]]:
    """The (role, text) messages of a structured event."""
    kind = p.kind
    if e.kind == "kickoff":
        return [
            ("user", rng.choice(kind.kickoffs)),
            ("assistant", _plan(rng, p)),
            ("user", rng.choice(ACCEPTS)),
            ("assistant", rng.choice(ACCEPT_ACKS)),
        ]
    if e.kind == "decision":
        text, pos = _options(rng, p, e.index)
        pick = rng.choice(PICKS).format(n=pos + 1, ord=ORDINALS[pos])
        return [
            ("user", rng.choice(kind.decisions[e.index].prompts)),
            ("assistant", text),
            ("user", pick),
            ("assistant", rng.choice(PICK_ACKS)),
        ]
    step = kind.steps[e.index]
    if e.kind == "revision":
        said = rng.choice(REVISIONS).format(k=e.index + 1, v=e.value, reason=rng.choice(kind.reasons))
        ack = rng.choice(REVISION_ACKS).format(k=e.index + 1, label=step.label, v=e.value)
        return [("user", said), ("assistant", ack)]
    said = rng.choice(PROGRESS).format(done=rng.choice(step.done), name=p.name, k=e.index + 1)
    tip = rng.choice(TOPICS[kind.topic].tips)
    return [("user", said), ("assistant", f"{rng.choice(PROGRESS_ACKS)} {tip}")]


def _schedule(rng: random.Random, kind: ProjectKind, index: int, start: int, n: int) -> Project:
    """One project's events: kickoff at ``start``, then decisions, revisions and progress reports."""
    steps = len(kind.steps)
    values = [rng.randrange(len(s.values)) for s in kind.steps]
    events = [Event(index, "kickoff", 0, start, 0.0)]
    room = n - start - 1
    n_done = min(room, rng.randint(steps - 2, steps))
    done_at = sorted(rng.sample(range(start + 1, n), n_done)) if n_done > 0 else []
    for k, s in enumerate(done_at):
        events.append(Event(index, "progress", k, s, 3 + k / 100))
    half = start + max(1, room // 2)
    for d in range(len(kind.decisions)):
        events.append(Event(index, "decision", d, rng.randint(start, min(n - 1, half)), 1 + d / 100))
    revisions: list[tuple[int, int]] = []  # (session, step)
    if room >= 2:
        for _ in range(rng.randint(2, 3)):
            j = rng.randrange(steps)
            last = done_at[j] if j < len(done_at) else n - 1
            revisions.append((rng.randint(start + 1, max(start + 1, last)), j))
    current = list(values)
    for r, (s, j) in enumerate(sorted(revisions)):
        others = [v for v in range(len(kind.steps[j].values)) if v != current[j]]
        current[j] = rng.choice(others)
        events.append(Event(index, "revision", j, s, 2 + r / 100, value=kind.steps[j].values[current[j]]))
    picks = [rng.randrange(len(dec.options)) for dec in kind.decisions]
    plan = [s.values[v] for s, v in zip(kind.steps, values)]
    return Project(kind, start, plan, picks, events, rng.choice(kind.names))


def history(rng: random.Random, n_sessions: int, exchanges: tuple[int, int]) -> History:  # noqa: C901 - one pass over the timeline, placing each kind of event in turn
    """A user's whole history: projects, sessions of turns, and each structured event's turns."""
    n_proj = rng.randint(2, 4)
    kinds = rng.sample(list(KINDS), n_proj)
    starts = sorted([rng.randint(0, 2)] + [rng.randint(0, max(1, n_sessions * 2 // 5)) for _ in kinds[1:]])
    projects = [_schedule(rng, k, i, s, n_sessions) for i, (k, s) in enumerate(zip(kinds, starts))]
    at: dict[int, list[Event]] = {}
    for p in projects:
        for e in p.events:
            at.setdefault(e.session, []).append(e)
    side_pool: dict[int, list[tuple[str, str]]] = {}
    filler_pool: list[tuple[str, str, str]] = []

    def side(i: int) -> tuple[str, str, str]:
        p = projects[i]
        if not side_pool.get(i):
            pool = [(rng.choice(SIDE_OPENERS).format(name=p.name) + t, s) for t, s in p.kind.side]
            pool += [(t.format(name=p.name), s) for t, s in CHATTER]
            rng.shuffle(pool)
            side_pool[i] = pool
        text, subject = side_pool[i].pop()
        return situated(rng, text[:1].upper() + text[1:], p.kind.topic), subject, p.kind.topic

    def filler() -> tuple[str, str, str]:
        if not filler_pool:
            filler_pool.extend((t, s, name) for name in TOPIC_NAMES for t, s in TOPICS[name].requests)
            rng.shuffle(filler_pool)
        text, subject, topic = filler_pool.pop()
        return situated(rng, text, topic), subject, topic

    day = datetime(2025, 2, 3, tzinfo=timezone.utc) + timedelta(days=rng.randint(0, 60))
    sessions: list[Session] = []
    roles: list[str] = []
    ids: list[str] = []
    times: list[datetime] = []
    ts = day
    for s in range(n_sessions):
        events = at.get(s, [])
        units: list[Event | tuple[str, str, str]] = list(events)
        active = [i for i, p in enumerate(projects) if p.start < s <= p.end + 3]
        for _ in range(max(0, rng.randint(*exchanges) - len(events))):
            units.append(side(rng.choice(active)) if active and rng.random() < SIDE_SHARE else filler())
        rng.shuffle(units)
        for i in range(len(projects)):  # each project's events keep their order; projects interleave
            slots = [k for k, u in enumerate(units) if isinstance(u, Event) and u.project == i]
            mine = sorted((e for e in events if e.project == i), key=lambda e: e.rank)
            for k, e in zip(slots, mine):
                units[k] = e
        if s:
            day += timedelta(days=rng.randint(1, 3))
        ts = max(ts + timedelta(hours=1), day.replace(hour=rng.randint(7, 21), minute=rng.randint(0, 59)))
        turns: list[Turn] = []
        for unit in units:
            if isinstance(unit, Event):
                messages = _exchanges(rng, projects[unit.project], unit)
            else:
                text, subject, topic = unit
                answer = compose(rng, TOPICS[topic], subject, min_words=WORDS[0], max_words=WORDS[1])
                messages = [("user", text), ("assistant", answer)]
            for role, text in messages:
                if turns:
                    ts += timedelta(seconds=rng.randint(8, 40) if role == "assistant" else rng.randint(60, 420))
                tid = f"D{s + 1}:{len(turns) + 1}"
                if isinstance(unit, Event):
                    unit.turns.append(tid)
                    unit.pos.append(len(ids))
                turns.append(Turn(id=tid, message={"role": role, "content": text}, timestamp=ts))
                roles.append(role)
                ids.append(tid)
                times.append(ts)
        sessions.append(Session(id=f"session_{s + 1}", date=turns[0].timestamp, turns=turns))
    return History(projects, sessions, roles, ids, times)
