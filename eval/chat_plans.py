"""Question plans for :mod:`eval.synthetic_chat`: for each question, the user requests that
carry its fact (``Say``), which of them are evidence or stale, and where they must go.

One ``Gen`` per conversation draws every plan and the near-miss requests (``near_pool``)
from the conversation's ``random.Random``; :func:`plans` returns them in drawing order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eval.chat_events import (
    BUY_LINES,
    COOK_ASKS,
    COOK_LINES,
    COOKED,
    FIX_ASKS,
    FIX_LINES,
    FIXED,
    MEAT,
    ORDER_ASKS,
    PURCHASES,
    SAID,
    START_LINES,
    STARTS,
    TRIP_CITIES,
    TRIP_LINES,
    WHEN_ASKS,
    WHEN_LEX,
    Said,
)
from eval.chat_facts import PREFERENCES, USER_FACTS, Family, Line
from eval.chat_updates import TALLIES, UPDATES, Tally

# Questions per conversation at 30 sessions (scaled with the number of sessions).
MIX = {"user_fact": 12, "assistant_fact": 10, "preference": 6, "update": 6, "aggregation": 6, "temporal": 10}
APART_DAYS = 14  # episodes of one kind are at least this far apart
_NUM = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass
class Say:
    line: Line
    feature: str | None = None


@dataclass
class Plan:
    category: str
    question: str
    answer: str
    says: list[Say]
    evidence: list[int]  # indexes into says
    stale: list[int] = field(default_factory=list)
    assistant: bool = False  # evidence is the answer to the say, not the say
    sessions: list[int] | None = None  # fixed sessions (else placed: distinct sessions, in order)
    relative: bool = False  # the question holds {ago}: resolved against its date
    group: list[int] = field(default_factory=list)  # relative: the sessions of every episode of its kind
    dated: bool = False  # the answer is the date of says[0]


def _an(word: str) -> str:
    """``word`` with its indefinite article."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format_map(values)


class Gen:
    """Draws one conversation's plans from its ``rng``; remembers the asked values of each
    family (so near misses and other asked facts differ from them) and the question texts."""

    def __init__(self, rng: random.Random, n_sessions: int, dates: list[datetime]) -> None:
        self.rng = rng
        self.n = n_sessions
        self.dates = dates
        self.asked_values: dict[str, list[dict[str, str]]] = {}
        self.near_pool: list[Say] = []
        self.questions: set[str] = set()

    def pick(self, seq: tuple[Any, ...] | list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def draw(
        self, fam: Family, *, other_than: list[dict[str, str]] | None = None, fixed: dict[str, str] | None = None
    ) -> dict[str, str]:
        """Slot values (``fixed`` ones kept); with ``other_than``, each differs from those draws'."""
        vals: dict[str, str] = dict(fixed or {})
        for slot, pool in fam.slots.items():
            if slot in vals:
                continue
            if isinstance(fam, Said) and fam.paired and slot == "v":
                vals[slot] = pool[fam.slots["key"].index(vals["key"])]
                continue
            used = {o.get(slot) for o in other_than or []}
            free = [v for v in pool if v not in used] or list(pool)
            vals[slot] = self.pick(free)
        return {k: _fill(v, vals) if "{" in v else v for k, v in vals.items()}

    def ask(self, templates: tuple[str, ...], values: dict[str, str], lex: Mapping[str, tuple[str, ...]]) -> str:
        order = list(templates)
        self.rng.shuffle(order)
        for t in order:
            q = _fill(t, {**values, **{k: _fill(self.pick(v), values) for k, v in lex.items()}})
            if q not in self.questions:
                break
        self.questions.add(q)
        return q

    def line(self, line: Line, values: dict[str, str]) -> Line:
        vals = {**values, **{f"a_{k}": _an(v) for k, v in values.items()}}
        return Line(_fill(line.text, vals), line.topic, _fill(line.subject, vals))

    # -- one plan per question ---------------------------------------------------------------

    def user_fact(self, fam: Family) -> Plan:
        vals = self.draw(fam)
        self._near(fam, [vals])
        say = Say(self.line(self.pick(fam.says), vals))
        return Plan("user_fact", self.ask(fam.asks, vals, fam.lex), _fill(fam.answer, vals), [say], [0])

    def preference(self, fam: Family, vals: dict[str, str] | None = None) -> Plan:
        vals = vals or self.draw(fam)
        self._near(fam, [vals])
        says = [Say(self.line(self.pick(fam.says), vals))]
        if fam.restate and self.n > 1 and self.rng.random() < 0.4:
            says.append(Say(self.line(self.pick(fam.restate), vals)))
        q = self.ask(fam.asks, vals, fam.lex)
        return Plan("preference", q, _fill(fam.answer, vals), says, list(range(len(says))))

    def update(self, fam: Family) -> Plan:
        steps = min(self.n, self.rng.choice((2, 2, 3)))
        pool = list(fam.slots["v"])
        self.rng.shuffle(pool)
        picked = pool[:steps]
        if fam.rising:  # the pools are listed in increasing order
            picked.sort(key=fam.slots["v"].index)
        values = [{"v": v} for v in picked]
        changes = list(fam.changes)
        self.rng.shuffle(changes)
        says = [Say(self.line(self.pick(fam.says), values[0]))]
        says += [Say(self.line(changes[i % len(changes)], values[i])) for i in range(1, steps)]
        self._near(fam, values)
        q = self.ask(fam.asks, values[-1], fam.lex)
        return Plan("update", q, values[-1]["v"], says, [steps - 1], stale=list(range(steps - 1)))

    def assistant_fact(self, fam: Said, key: str) -> Plan:
        taken = self.asked_values.setdefault(fam.key, [])
        vals = self.draw(fam, fixed={"key": key}, other_than=taken)
        taken.append(vals)
        say = Say(self.line(self.pick(fam.says), vals), feature=_fill(fam.feature, vals))
        q = self.ask(fam.asks, vals, fam.lex)
        return Plan("assistant_fact", q, vals["v"], [say], [0], assistant=True)

    def tally(self, fam: Tally) -> Plan:
        k = min(self.n, len(fam.says), self.rng.randint(3, 6))
        items = self.rng.sample(list(fam.items), k) if len(fam.items) >= k else [fam.items[0]] * k
        lines = self.rng.sample(list(fam.says), k)
        amounts = [str(self.rng.randrange(60, 900, 5)) for _ in range(k)]
        says = [Say(self.line(ln, {"item": it, "amount": a})) for ln, it, a in zip(lines, items, amounts)]
        answer = f"€{sum(int(a) for a in amounts)}" if fam.total else f"{k} ({_NUM[k]})"
        free = [it for it in fam.items if it not in items] or list(fam.items)
        for ln in fam.near:
            self.near_pool.append(
                Say(self.line(ln, {"item": self.pick(free), "amount": str(self.rng.randrange(60, 900, 5))}))
            )
        return Plan("aggregation", self.ask(fam.asks, {}, fam.lex), answer, says, list(range(k)))

    def order(self, a: tuple[str, str], b: tuple[str, str]) -> Plan:
        lines = self.rng.sample(list(BUY_LINES), 2)
        says = [Say(self.line(ln, {"item": it[0]})) for ln, it in zip(lines, (a, b))]
        p1, p2 = (a[1], b[1]) if self.rng.random() < 0.5 else (b[1], a[1])
        q = self.ask(ORDER_ASKS, {"p1": p1, "p2": p2}, {})
        return Plan("temporal", q, f"the {a[1]} ({a[0]})", says, [0, 1])

    def started(self, item: tuple[str, str]) -> Plan:
        say = Say(self.line(self.pick(START_LINES), {"item": item[0]}))
        q = self.ask(WHEN_ASKS, {"para": item[1]}, WHEN_LEX)
        return Plan("temporal", q, "", [say], [0], dated=True)

    def episodes(
        self, items: tuple[str, ...], lines: tuple[Line, ...], asks: tuple[str, ...], n_asked: int
    ) -> list[Plan]:
        """Episodes of one kind at least APART_DAYS apart; ``n_asked`` of them (among the last
        ~130 days) asked about relative to ``now``; the rest are distractors."""
        order = list(range(self.n))
        self.rng.shuffle(order)
        chosen: list[int] = []
        for s in order:
            if all(abs((self.dates[s] - self.dates[c]).days) >= APART_DAYS for c in chosen):
                chosen.append(s)
            if len(chosen) >= n_asked + 3:
                break
        chosen.sort()
        picked = self.rng.sample(list(items), min(len(items), len(chosen)))
        recent = [i for i, s in enumerate(chosen) if (self.dates[-1] - self.dates[s]).days <= 130]
        asked = set(self.rng.sample(recent, min(n_asked, len(recent))))
        plans = []
        for i, (s, item) in enumerate(zip(chosen, picked)):
            say = Say(self.line(self.pick(lines), {"item": item}))
            if i in asked:
                q = Plan("temporal", self.pick(asks), item, [say], [0], sessions=[s], relative=True, group=chosen)
                plans.append(q)
            else:
                plans.append(Plan("", "", "", [say], [], sessions=[s]))  # a distractor episode
        return plans

    def _near(self, fam: Family, asked: list[dict[str, str]]) -> None:
        for ln in fam.near:
            self.near_pool.append(Say(self.line(ln, self.draw(fam, other_than=asked))))

    def said_near(self, fam: Said, keys: list[str]) -> None:
        free = [k for k in fam.slots["key"] if k not in keys]
        if not free or free == [""]:
            return
        vals = self.draw(fam, other_than=[{"key": k} for k in keys] + self.asked_values.get(fam.key, []))
        self.near_pool.append(Say(self.line(self.pick(fam.says), vals), feature=_fill(fam.feature, vals)))


def _count(category: str, n_sessions: int) -> int:
    return max(1, round(MIX[category] * min(1.0, n_sessions / 30)))


def plans(gen: Gen, diet: str | None) -> list[Plan]:
    rng, n = gen.rng, gen.n
    plans: list[Plan] = []
    for fam in rng.sample(list(USER_FACTS), min(len(USER_FACTS), _count("user_fact", n))):
        plans.append(gen.user_fact(fam))
    prefs = [p for p in PREFERENCES if p.key != "diet"]
    chosen = rng.sample(prefs, min(len(prefs), _count("preference", n) - (1 if diet else 0)))
    if diet:
        chosen.insert(rng.randrange(len(chosen) + 1), next(p for p in PREFERENCES if p.key == "diet"))
    for fam in chosen:  # the user's diet is fixed for the conversation (fillers respect it)
        plans.append(gen.preference(fam, {"diet": diet} if fam.key == "diet" and diet else None))
    for fam in rng.sample(list(UPDATES), min(len(UPDATES), _count("update", n))):
        plans.append(gen.update(fam))
    for tally in rng.sample(list(TALLIES), min(len(TALLIES), _count("aggregation", n))):
        plans.append(gen.tally(tally))
    # assistant facts: three trip cities shared by the travel families, one key per other family
    cities = rng.sample(list(TRIP_CITIES), 3)
    options: list[tuple[Said, str]] = []
    for fam in SAID:
        keys = cities if "{key}" in fam.says[0].text and fam.slots["key"] == TRIP_CITIES else list(fam.slots["key"])
        rng.shuffle(keys)
        options += [(fam, k) for k in keys[:2]] if fam.slots["key"] == TRIP_CITIES else [(fam, keys[0])]
    picked = rng.sample(options, min(len(options), _count("assistant_fact", n)))
    for fam, key in picked:
        plans.append(gen.assistant_fact(fam, key))
    for fam in SAID:
        gen.said_near(fam, [k for f, k in picked if f is fam])
    for city in cities:  # the trip cities come up in other requests too
        for line in rng.sample(list(TRIP_LINES), 3 if n >= 10 else 1):
            plans.append(Plan("", "", "", [Say(gen.line(line, {"key": city}))], []))
    # temporal: order of two purchases, episodes relative to now, when something started
    n_t = _count("temporal", n)
    n_order = max(1, n_t * 3 // 10) if n >= 2 else 0
    items = rng.sample(list(PURCHASES), 2 * n_order)
    for i in range(n_order):
        plans.append(gen.order(items[2 * i], items[2 * i + 1]))
    n_when = max(1, n_t // 5) if n_t >= 3 else 0
    for item in rng.sample(list(STARTS), n_when):
        plans.append(gen.started(item))
    rest = max(1, n_t - n_order - n_when)
    cooked = tuple(c for c in COOKED if not (diet and any(m in c for m in MEAT)))
    plans += gen.episodes(cooked, COOK_LINES, COOK_ASKS, (rest + 1) // 2)
    plans += gen.episodes(FIXED, FIX_LINES, FIX_ASKS, rest // 2)
    return plans
