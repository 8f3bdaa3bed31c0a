"""A seeded synthetic conversation with planted facts, for evals without external data.

``generate(turns=2000, seed=7)`` builds one (or more) long user/assistant conversations in
OpenAI chat format, split into sessions of about ``session_turns`` turns on increasing
dates, with facts planted once and asked about after the last turn:

- ``personal``: a fact the user states in a plain turn ("My sister Priya moved to Porto");
- ``tool``: a fact that only exists inside a tool output: an assistant tool call followed
  by a JSON array of 20-200 records (up to several thousand tokens), one of which holds
  the answer. The evidence is the tool *result* turn (the call only carries arguments);
- ``image``: a fact that only exists in an image's caption (an ``image_url`` part with
  turnmem's ``caption`` surrogate);
- ``update``: a preference stated and later changed; the question asks for the current
  value and the evidence is the later statement only.

Distractors: small talk, and near-miss statements that reuse the planted facts' words
with other people, places and numbers. Questions paraphrase the facts (they share the key
names and ids, not the sentence). Everything is driven by one ``random.Random(seed)``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from eval.datasets import Conversation, Dataset, Question, Session, Turn
from memory.errors import InvalidArgument

GENERATOR_VERSION = 1
CATEGORIES = ("personal", "tool", "image", "update")

NAMES = [
    "Priya",
    "Tomás",
    "Ingrid",
    "Kwame",
    "Mei",
    "Rafael",
    "Svetlana",
    "Omar",
    "Chiara",
    "Jonas",
    "Aiko",
    "Lucía",
    "Dmitri",
    "Fatima",
    "Henrik",
    "Nadia",
    "Mateo",
    "Yusuf",
    "Greta",
    "Ravi",
]
RELATIONS = ["sister", "brother", "cousin", "neighbour", "colleague", "best friend", "aunt", "uncle"]
CITIES = [
    "Porto",
    "Lisbon",
    "Valencia",
    "Ghent",
    "Bergen",
    "Kraków",
    "Tallinn",
    "Bologna",
    "Lyon",
    "Ljubljana",
    "Graz",
    "Aarhus",
    "Cork",
    "Brno",
    "Split",
    "Utrecht",
]
PETS = ["dog", "cat", "parrot", "rabbit", "tortoise", "hamster"]
PET_NAMES = ["Biscuit", "Mango", "Pixel", "Juniper", "Waffles", "Nimbus", "Pepper", "Ziggy", "Clementine", "Otis"]
ALLERGIES = ["peanuts", "shellfish", "penicillin", "pollen", "sesame", "latex", "kiwi"]
PROJECTS = ["Bluefin", "Kestrel", "Aurora", "Granite", "Halcyon", "Marmot", "Solstice", "Tundra", "Osprey"]
ITEMS = [
    "espresso machine",
    "standing desk",
    "hiking boots",
    "noise-cancelling headphones",
    "cast-iron pan",
    "e-reader",
    "camping stove",
    "mechanical keyboard",
    "rain jacket",
    "yoga mat",
    "air purifier",
]
CARRIERS = ["DHL", "UPS", "GLS", "PostNL", "DPD", "Correos"]
AIRLINES = ["TAP", "Iberia", "KLM", "Lufthansa", "SAS", "Finnair", "Vueling"]
COLORS = ["red", "teal", "mustard yellow", "violet", "orange", "navy blue", "emerald green", "pink"]
OBJECTS = ["bicycle", "scooter", "umbrella", "vintage car", "kayak", "guitar", "suitcase"]
PLACES = ["door", "wall", "fence", "lamppost", "bench", "gate"]
PREFS = {
    "coffee order": ["flat white", "cortado", "oat latte", "double espresso", "cold brew", "cappuccino"],
    "running route": ["the river loop", "the hill circuit", "the park perimeter", "the harbour path"],
    "streaming service": ["Mubi", "Criterion Channel", "Netflix", "Apple TV"],
    "gym class": ["spin", "kettlebells", "pilates", "boxing", "rowing"],
}
SMALL_TALK = [
    "How was your day?",
    "It was fine, a bit busy at work.",
    "I tried a new recipe for dinner.",
    "The weather has been unpredictable lately.",
    "I watched a documentary about octopuses last night.",
    "Any plans for the weekend?",
    "I might go for a long walk if it doesn't rain.",
    "My neighbour's renovation is so loud.",
    "I've been reading a thriller, can't put it down.",
    "Traffic was terrible this morning.",
    "I need to buy groceries later.",
    "Do you have a good tea recommendation?",
    "I finally cleaned out the garage.",
    "The new café on the corner is nice.",
    "I slept badly, too much coffee.",
    "We should plan a trip sometime.",
    "I'm thinking of learning Portuguese.",
    "The concert was sold out again.",
]
REPLIES = [
    "That sounds good!",
    "Oh, interesting. Tell me more.",
    "I hope it gets better soon.",
    "Nice, enjoy it!",
    "Ha, I know the feeling.",
    "Good idea.",
    "That must have been tiring.",
    "Let me know how it goes.",
]


@dataclass
class _Fact:
    category: str
    turns: list[dict[str, Any]]  # messages to insert as one unit
    evidence_offsets: list[int]  # which of those turns hold the answer
    question: str
    answer: str
    update: list[dict[str, Any]] | None = None  # second unit (the new value), for "update"
    update_offsets: list[int] | None = None


class _Gen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.call_no = 0
        self.used_ids: set[str] = set()

    def pick(self, seq: list[Any]) -> Any:
        return self.rng.choice(seq)

    def ref(self, prefix: str) -> str:
        while True:
            value = f"{prefix}-{self.rng.randint(10000, 99999)}"
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def call_id(self) -> str:
        self.call_no += 1
        return f"call_{self.call_no}"

    # -- facts -----------------------------------------------------------------------------

    def personal(self) -> _Fact:
        r = self.rng.randrange(4)
        if r == 0:
            name, rel, city, year = (
                self.pick(NAMES),
                self.pick(RELATIONS),
                self.pick(CITIES),
                self.rng.randint(2005, 2023),
            )
            say = f"My {rel} {name} moved to {city} back in {year}, she loves it there."
            return _Fact(
                "personal",
                [_u(say), _a(self.pick(REPLIES))],
                [0],
                f"Which city does {name}, my {rel}, live in now?",
                city,
            )
        if r == 1:
            pet, pname = self.pick(PETS), self.pick(PET_NAMES)
            say = f"We adopted a {pet} last month and named it {pname}."
            return _Fact("personal", [_u(say), _a(self.pick(REPLIES))], [0], f"What is the name of our {pet}?", pname)
        if r == 2:
            allergy = self.pick(ALLERGIES)
            say = f"Just so you know, I'm seriously allergic to {allergy}, so keep that in mind for recipes."
            return _Fact(
                "personal", [_u(say), _a("Noted, I'll keep that in mind.")], [0], "What am I allergic to?", allergy
            )
        project, code = self.pick(PROJECTS), self.ref("PRJ")
        say = f"The internal code for project {project} is {code}; I always forget it."
        return _Fact(
            "personal",
            [_u(say), _a("Got it, I'll remember that code.")],
            [0],
            f"What's the internal code of the {project} project?",
            code,
        )

    def tool(self) -> _Fact:
        cid = self.call_id()
        if self.rng.random() < 0.5:
            order, item = self.ref("INV"), self.pick(ITEMS)
            n = self.rng.randint(20, 200)
            records = [
                {
                    "order_id": self.ref("INV"),
                    "item": self.pick(ITEMS),
                    "status": self.pick(["shipped", "delivered", "processing"]),
                    "carrier": self.pick(CARRIERS),
                    "total_eur": round(self.rng.uniform(9, 400), 2),
                }
                for _ in range(n)
            ]
            records[self.rng.randrange(n)] = {
                "order_id": order,
                "item": item,
                "status": "delivered",
                "carrier": self.pick(CARRIERS),
                "total_eur": round(self.rng.uniform(9, 400), 2),
            }
            turns = _tool_unit(
                cid,
                "list_orders",
                {"since": "2023-01-01", "limit": n},
                records,
                "Can you pull up my recent orders?",
                f"Here are your last {n} orders.",
            )
            return _Fact("tool", turns, [2], f"Which item did I buy with order {order}?", item)
        code, airline = self.ref("FL"), self.pick(AIRLINES)
        city = self.pick(CITIES)
        n = self.rng.randint(20, 120)
        flights = [
            {
                "flight": self.ref("FL"),
                "airline": self.pick(AIRLINES),
                "to": self.pick(CITIES),
                "depart": f"{self.rng.randint(5, 22):02d}:{self.rng.choice(['00', '15', '30', '45'])}",
                "price_eur": self.rng.randint(39, 420),
            }
            for _ in range(n)
        ]
        flights[self.rng.randrange(n)] = {
            "flight": code,
            "airline": airline,
            "to": city,
            "depart": "07:45",
            "price_eur": self.rng.randint(39, 420),
        }
        turns = _tool_unit(
            cid,
            "search_flights",
            {"from": "Lisbon", "max_results": n},
            flights,
            "Search flights out of Lisbon for next week.",
            f"I found {n} options; shall I book one?",
        )
        return _Fact("tool", turns, [2], f"Which airline operates flight {code}?", airline)

    def image(self) -> _Fact:
        color, obj, place, city = self.pick(COLORS), self.pick(OBJECTS), self.pick(PLACES), self.pick(CITIES)
        caption = f"a {color} {obj} leaning against a white {place} on a street in {city}"
        n = self.rng.randint(100, 999)
        msg = {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look what I saw on my walk today!"},
                {"type": "image_url", "image_url": {"url": f"https://example.invalid/img/{n}.jpg"}, "caption": caption},
            ],
        }
        return _Fact(
            "image",
            [msg, _a("What a great find!")],
            [0],
            f"In the photo from {city}, what colour was the {obj}?",
            color,
        )

    def update(self) -> _Fact:
        pref = self.pick(list(PREFS))
        old, new = self.rng.sample(PREFS[pref], 2)
        first = [_u(f"These days my go-to {pref} is {old}."), _a(self.pick(REPLIES))]
        second = [_u(f"Update: I've switched my {pref}, it's {new} now."), _a("Thanks for letting me know.")]
        return _Fact("update", first, [], f"What is my current {pref}?", new, update=second, update_offsets=[0])

    def make(self, category: str) -> _Fact:
        return {"personal": self.personal, "tool": self.tool, "image": self.image, "update": self.update}[category]()

    # -- distractors -----------------------------------------------------------------------

    def filler(self) -> list[dict[str, Any]]:
        r = self.rng.random()
        if r < 0.12:  # near miss: same shapes, other entities
            name, rel, city = self.pick(NAMES), self.pick(RELATIONS), self.pick(CITIES)
            return [_u(f"My {rel}'s friend {name} is thinking about visiting {city} someday."), _a(self.pick(REPLIES))]
        if r < 0.2:
            item = self.pick(ITEMS)
            return [_u(f"I keep looking at a {item}, but it's expensive."), _a("Maybe wait for a sale?")]
        if r < 0.26:
            pref = self.pick(list(PREFS))
            return [_u(f"My partner's {pref} is {self.pick(PREFS[pref])}, not mine."), _a(self.pick(REPLIES))]
        return [_u(self.pick(SMALL_TALK)), _a(self.pick(REPLIES))]


def _tool_unit(
    cid: str, name: str, args: dict[str, Any], records: list[dict[str, Any]], ask: str, reply: str
) -> list[dict[str, Any]]:
    """User request, assistant tool call, the tool's JSON output, assistant comment."""
    call = {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return [
        _u(ask),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": cid, "content": json.dumps(records)},
        _a(reply),
    ]


def _u(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _a(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def _conversation(cid: str, rng: random.Random, turns: int, n_questions: int, session_turns: int) -> Conversation:
    gen = _Gen(rng)
    n_sessions = max(1, math.ceil(turns / session_turns))
    # Plant facts: unit lists per session; updates need a later session for the new value.
    planted: list[list[tuple[int, _Fact, bool]]] = [[] for _ in range(n_sessions)]
    facts: list[_Fact] = []
    asked_texts: set[str] = set()
    for i in range(n_questions):
        cat = CATEGORIES[i % len(CATEGORIES)]
        if cat == "update" and n_sessions < 2:
            cat = "personal"
        fact = gen.make(cat)
        for _ in range(50):  # every question must have one answer: no repeated question
            if fact.question not in asked_texts:
                break
            fact = gen.make(cat)
        else:
            fact = gen.make("tool")  # tool facts carry fresh ids: always unique
        asked_texts.add(fact.question)
        facts.append(fact)
        if fact.update is not None:
            a = rng.randrange(0, n_sessions - 1)
            b = rng.randrange(a + 1, n_sessions)
            planted[a].append((i, fact, False))
            planted[b].append((i, fact, True))
        else:
            planted[rng.randrange(n_sessions)].append((i, fact, False))
    date = datetime(2024, 1, 8, 9, 0, tzinfo=timezone.utc)
    sessions: list[Session] = []
    evidence: dict[int, list[str]] = {}
    ev_sessions: dict[int, list[str]] = {}
    remaining = turns
    for si in range(n_sessions):
        sid = f"session_{si + 1}"
        units: list[tuple[list[dict[str, Any]], int | None, list[int]]] = []
        for qi, fact, is_update in planted[si]:
            if is_update:
                units.append((fact.update or [], qi, fact.update_offsets or []))
            else:
                units.append((fact.turns, qi, fact.evidence_offsets))
        target = min(session_turns, remaining) if si < n_sessions - 1 else max(remaining, 1)
        size = sum(len(u[0]) for u in units)
        while size < target:
            f = gen.filler()
            units.append((f, None, []))
            size += len(f)
        rng.shuffle(units)
        session_turns_out: list[Turn] = []
        for msgs, qi, offsets in units:
            for off, msg in enumerate(msgs):
                tid = f"S{si + 1}:{len(session_turns_out) + 1}"
                ts = date + timedelta(seconds=45 * len(session_turns_out))
                session_turns_out.append(
                    Turn(id=tid, message=msg, timestamp=ts, has_answer=qi is not None and off in offsets)
                )
                if qi is not None and off in offsets:
                    evidence.setdefault(qi, []).append(tid)
                    ev_sessions.setdefault(qi, []).append(sid)
        sessions.append(Session(id=sid, date=date, turns=session_turns_out))
        remaining -= len(session_turns_out)
        date += timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 10))
    asked = date + timedelta(days=1)
    questions = [
        Question(
            id=f"{cid}/q{i}",
            question=f.question,
            answer=f.answer,
            category=f.category,
            evidence=evidence.get(i, []),
            evidence_sessions=sorted(set(ev_sessions.get(i, []))),
            date=asked,
        )
        for i, f in enumerate(facts)
    ]
    return Conversation(id=cid, sessions=sessions, questions=questions)


def generate(
    turns: int = 2000,
    seed: int = 7,
    *,
    conversations: int = 1,
    questions: int | None = None,
    session_turns: int = 20,
) -> Dataset:
    """A deterministic synthetic dataset (see the module docstring)."""
    if not isinstance(turns, int) or not 10 <= turns <= 100_000:
        raise InvalidArgument("turns: give a conversation length between 10 and 100000 turns", field="turns")
    if session_turns < 4:
        raise InvalidArgument("session_turns: sessions need at least 4 turns", field="session_turns")
    n_q = questions if questions is not None else min(200, max(4, turns // 25))
    rng = random.Random(seed)
    convs = [_conversation(f"synthetic-{seed}-{c}", rng, turns, n_q, session_turns) for c in range(conversations)]
    return Dataset(
        name="synthetic",
        conversations=convs,
        source=f"eval.synthetic.generate(turns={turns}, seed={seed})",
        notes={"seed": seed, "turns": turns, "questions": n_q, "generator_version": GENERATOR_VERSION},
    )
