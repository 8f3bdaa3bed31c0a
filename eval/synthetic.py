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

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from eval.datasets import Conversation, Dataset, Question, Session, Turn
from memory.errors import InvalidArgument

GENERATOR_VERSION = 2
CATEGORIES = ("personal", "tool", "image", "update")
MIN_TURNS, MAX_TURNS = 10, 100_000
# Question i has category _CYCLE[i % 8]: any 4 consecutive questions cover all categories,
# tool facts (where chunking matters) are the most frequent, updates stay modest (1 in 8).
_CYCLE = ("personal", "tool", "image", "update", "personal", "tool", "image", "tool")
_START = datetime(2024, 1, 8, 8, 0, tzinfo=timezone.utc)

Msg = dict[str, Any]

# -- vocabulary ------------------------------------------------------------------------------

NAMES = [
    "Priya", "Tomás", "Ingrid", "Kwame", "Mei", "Rafael", "Svetlana", "Omar", "Chiara", "Jonas",
    "Aiko", "Lucía", "Dmitri", "Fatima", "Henrik", "Nadia", "Mateo", "Yusuf", "Greta", "Ravi",
]  # fmt: skip
RELATIONS = {  # relation -> pronoun
    "sister": "she", "brother": "he", "cousin": "they", "aunt": "she", "uncle": "he",
    "niece": "she", "nephew": "he", "best friend": "they", "old flatmate": "they", "godmother": "she",
}  # fmt: skip
REL_LIST = list(RELATIONS)
CLUBS = ["running club", "book club", "choir", "climbing gym", "pottery class", "old job"]
CITIES = [
    "Porto", "Lisbon", "Valencia", "Ghent", "Bergen", "Kraków", "Tallinn", "Bologna", "Lyon", "Ljubljana",
    "Graz", "Aarhus", "Cork", "Brno", "Split", "Utrecht", "Seville", "Turku", "Bruges", "Salzburg",
]  # fmt: skip
PETS = ["dog", "cat", "parrot", "rabbit", "tortoise", "hamster", "guinea pig", "ferret", "gecko", "cockatiel"]
PET_NAMES = [
    "Biscuit", "Mango", "Pixel", "Juniper", "Waffles", "Pepper", "Ziggy", "Clementine", "Otis", "Noodle",
    "Marzipan", "Basil", "Tofu", "Comet", "Pickles", "Bramble",
]  # fmt: skip
ALLERGIES = ["peanuts", "shellfish", "penicillin", "pollen", "sesame", "latex", "kiwi", "walnuts", "mustard", "celery"]
PROJECTS = [
    "Bluefin", "Kestrel", "Aurora", "Granite", "Halcyon", "Marmot", "Solstice", "Tundra",
    "Osprey", "Meridian", "Quartz", "Saffron", "Driftwood", "Pelican", "Cobalt", "Juniper Ridge",
]  # fmt: skip
BOOKING_KINDS = ["hotel", "car rental", "apartment", "ferry crossing", "campsite"]
ITEMS = [
    "espresso machine", "standing desk", "hiking boots", "noise-cancelling headphones", "cast-iron pan",
    "e-reader", "camping stove", "mechanical keyboard", "rain jacket", "yoga mat", "air purifier",
    "label printer", "bread maker", "tent footprint",
]  # fmt: skip
CARRIERS = ["DHL", "UPS", "GLS", "PostNL", "DPD", "Correos", "CTT", "Bpost"]
AIRLINES = ["TAP", "Iberia", "KLM", "Lufthansa", "SAS", "Finnair", "Vueling", "Aer Lingus", "Brussels Airlines"]
MERCHANTS = [
    "Mercado Central", "Lidl", "Decathlon", "FNAC", "Pingo Doce", "Zara Home", "El Corte Inglés", "IKEA",
    "Bertrand Books", "Café Nicola", "Repsol", "Uber", "Bolt", "Leroy Merlin", "Worten", "Continente",
]  # fmt: skip
TX_CATEGORIES = ["groceries", "transport", "dining", "home", "books", "fuel", "electronics", "sport"]
STREETS = [
    "Rua Augusta", "Calle Colón", "Veldstraat", "Bryggen", "Floriańska", "Via Rizzoli", "Rue Mercière",
    "Prešernov trg", "Herrengasse", "Strøget", "Oliver Plunkett Street", "Masarykova", "Riva", "Oudegracht",
]  # fmt: skip
PARCEL_STATUS = ["in transit", "ready for pickup", "delivered", "out for delivery", "held at depot"]
ORDER_STATUS = ["shipped", "delivered", "processing", "returned"]
WEATHER = ["sunny", "cloudy", "light rain", "showers", "fog", "windy", "thunderstorms"]
EVENTS = ["dentist", "team lunch", "1:1 with manager", "yoga", "parents evening", "car service", "haircut"]
COLORS = [
    "red", "teal", "mustard yellow", "violet", "orange", "navy blue", "emerald green", "pink",
    "lilac", "turquoise", "crimson", "beige",
]  # fmt: skip
OBJECTS = ["bicycle", "scooter", "umbrella", "vintage car", "kayak", "guitar", "suitcase", "mailbox", "tram"]
BACKDROPS = ["door", "wall", "fence", "lamppost", "bench", "gate", "shutter"]
SHOPS = ["bakery", "bookshop", "florist", "record shop", "cheese shop", "barber"]
SHOP_A = ["Golden", "Little", "Old", "Blue", "Happy", "Crooked", "Silver", "Wild"]
SHOP_B = ["Crumb", "Page", "Petal", "Groove", "Wheel", "Comb", "Acorn", "Fox"]
CAR_PARKS = ["airport", "shopping mall", "stadium", "hospital", "train station", "ferry terminal", "IKEA store"]
SCENERY = [
    "sunset over the harbour in {city}, fishing boats in silhouette",
    "a plate of grilled sardines and salad on a terrace in {city}",
    "a crowded tram stop in {city} in the rain",
    "a view over the rooftops of {city} from a hill",
    "a street market in {city} with stacks of oranges",
    "a cathedral facade in {city} under scaffolding",
]
PREFS = {
    "coffee order": ["flat white", "cortado", "oat latte", "double espresso", "cold brew", "cappuccino"],
    "running route": ["the river loop", "the hill circuit", "the park perimeter", "the harbour path"],
    "streaming service": ["Mubi", "Criterion Channel", "Netflix", "Apple TV"],
    "gym class": ["spin", "kettlebells", "pilates", "boxing", "rowing"],
    "lunch spot": ["the noodle bar", "the falafel stand", "the canteen", "the salad place by the station"],
    "commute": ["cycling", "the train", "the bus", "car-sharing with Jonas"],
    "weekend breakfast": ["shakshuka", "pancakes", "porridge with berries", "avocado toast"],
    "bedtime tea": ["chamomile", "rooibos", "peppermint", "lemon balm"],
    "flight seat": ["aisle", "window", "exit row", "front row"],
    "podcast": ["Hidden Brain", "99% Invisible", "The Daily", "Radiolab"],
}
PREF_LIST = list(PREFS)
DOOR_PLACES = [
    "bike storage", "office", "gym", "studio", "storage unit", "garage", "co-working space",
    "allotment shed", "rehearsal room", "parents' building",
]  # fmt: skip
TIMES = ["8:30", "8:45", "9:00", "9:15", "9:30", "9:45", "10:00", "10:15", "10:30", "11:00"]
OPENERS = ["", "", "", "Long day today. ", "Oh, before I forget. ", "Random thing, but worth noting. ", "So. "]
SMALL_TALK = [
    "How was your day?", "It was fine, a bit busy at work.", "I tried a new recipe for dinner.",
    "The weather has been unpredictable lately.", "I watched a documentary about octopuses last night.",
    "Any plans for the weekend?", "I might go for a long walk if it doesn't rain.",
    "The renovation upstairs is so loud.", "I've been reading a thriller, can't put it down.",
    "Traffic was terrible this morning.", "I need to buy groceries later.", "Do you have a good tea recommendation?",
    "I finally cleaned out the garage.", "The new café on the corner is nice.", "I slept badly, too much coffee.",
    "We should plan a trip sometime.", "I'm thinking of learning Portuguese.", "The concert was sold out again.",
    "My knee is sore after yesterday's run.", "I can't decide what to cook tonight.",
    "Work drinks ran late yesterday.", "I repotted all the plants on the balcony.", "The train was cancelled again.",
    "I started a jigsaw puzzle with 2000 pieces.", "My phone battery dies by lunchtime now.",
    "We binge-watched a whole season on Sunday.", "I'm trying to drink less coffee this month.",
]  # fmt: skip
REPLIES = [
    "That sounds good!", "Oh, interesting. Tell me more.", "I hope it gets better soon.", "Nice, enjoy it!",
    "Ha, I know the feeling.", "Good idea.", "That must have been tiring.", "Let me know how it goes.",
    "Sounds like a plan.", "Fingers crossed!", "That's a lot, take it easy.",
]  # fmt: skip
ADVICE_ASKS = [
    "Any tips for sleeping better?", "How do I keep basil alive indoors?", "What's a good stretching routine?",
    "How should I plan a weekly budget?", "How do I get better at remembering names?",
    "What's a simple weeknight pasta?", "How do I stop procrastinating on emails?",
]  # fmt: skip
ADVICE = [
    "Keep a consistent schedule, even at weekends.", "Start small and build the habit over a few weeks.",
    "Write it down somewhere you will see it every day.", "Try batching similar tasks into one block of time.",
    "Give it plenty of light but not direct afternoon sun.", "A short walk after meals helps more than you'd think.",
    "Review what worked at the end of each week and adjust.", "Fewer, better ingredients beat complicated ones.",
    "Set a timer for 25 minutes and just begin.", "Repeat it back once out loud; it sticks much better.",
]  # fmt: skip
ACKS = [
    "Noted, I'll keep that in mind.",
    "Got it, thanks for telling me.",
    "Okay, I'll remember that.",
    "Good to know!",
]
PHOTO_TEXTS = [
    "look at this",
    "Look what I saw on my walk today!",
    "Found this, thought you'd like it.",
    "Saving this photo here so I remember.",
    "Photo from today.",
]
PHOTO_REPLIES = ["What a great find!", "Love it, thanks for sharing.", "Nice shot!", "That's a lovely photo."]
GREETINGS = ["Welcome back! What's on your mind today?", "Good to see you again. How can I help?", "Hi again!"]

# Tool facts: which tool, which id field is asked about, which field answers.
TOOL_KINDS = ("orders", "flights", "parcels", "transactions")
_TOOL_NAME = {
    "orders": "list_orders",
    "flights": "search_flights",
    "parcels": "track_parcels",
    "transactions": "list_transactions",
    "weather": "get_weather",
    "calendar": "list_events",
}
_ID_FIELD = {"orders": "order_id", "flights": "offer_id", "parcels": "tracking", "transactions": "tx_id"}
_PREFIX = {"orders": "INV", "flights": "FL", "parcels": "TRK", "transactions": "TX"}
_ANSWER_FIELD = {"orders": "item", "flights": "airline", "parcels": "pickup_point", "transactions": "merchant"}
_TOOL_ASKS = {
    "orders": ["Can you pull up my recent orders?", "Show me everything I ordered this year."],
    "flights": ["Search flights out of {city} for next month.", "What flights are there from {city}, anywhere?"],
    "parcels": ["Where are all my parcels right now?", "Can you check my deliveries?"],
    "transactions": ["Pull my card transactions for this month.", "Show me what I spent recently."],
    "weather": ["What's the forecast for {city}?", "Will it rain in {city} this week?"],
    "calendar": ["What's in my calendar?", "List my upcoming appointments."],
}
_TOOL_DONE = {
    "orders": "Here are your last {n} orders.",
    "flights": "I found {n} options; shall I book one?",
    "parcels": "You have {n} tracked parcels.",
    "transactions": "That's {n} transactions in total.",
    "weather": "Here's the hourly forecast ({n} entries).",
    "calendar": "You have {n} events coming up.",
}
_TOOL_QUESTIONS = {
    "orders": ["What did I buy with order {key}?", "Which product was order {key} for?"],
    "flights": ["Which airline was the flight offer {key} with?", "Who operates flight offer {key}?"],
    "parcels": ["Where do I collect parcel {key}?", "Which pickup point is parcel {key} waiting at?"],
    "transactions": ["Which merchant was transaction {key} with?", "Where did I spend the money in transaction {key}?"],
}


@dataclass
class _Fact:
    category: str
    question: str
    answer: str
    units: list[list[Msg]]  # one unit (consecutive messages) per statement, in conversation order
    offsets: list[int]  # the statement's index inside each unit; the last unit's is the evidence


def _an(word: str) -> str:
    """``word`` with its indefinite article."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _u(text: str) -> Msg:
    return {"role": "user", "content": text}


def _a(text: str) -> Msg:
    return {"role": "assistant", "content": text}


class _Gen:
    """Draws facts and fillers from one ``random.Random``; remembers the asked keys so that
    fillers (drawn after all facts) never restate or contradict an asked fact."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_refs: set[str] = set()
        self.keys: dict[str, set[Any]] = {}
        self.asked_refs: dict[str, list[str]] = {kind: [] for kind in TOOL_KINDS}
        self.calls = 0
        self.images = 0

    # -- helpers -------------------------------------------------------------------------

    def pick(self, seq: list[Any] | tuple[Any, ...] | str) -> Any:
        return seq[int(self.rng.random() * len(seq))]  # cheaper than rng.choice; same job here

    def num(self, low: int, high: int) -> int:
        """Like ``rng.randint(low, high)``, cheaper (tool outputs draw hundreds of thousands)."""
        return low + int(self.rng.random() * (high - low + 1))

    def claim(self, kind: str, key: Any) -> bool:
        taken = self.keys.setdefault(kind, set())
        if key in taken:
            return False
        taken.add(key)
        return True

    def taken(self, kind: str, key: Any) -> bool:
        return key in self.keys.get(kind, ())

    def ref(self, prefix: str) -> str:
        """A fresh id such as ``INV-48213`` (6 digits once 5-digit ids get crowded)."""
        for attempt in range(64):
            hi = 99_999 if attempt < 48 else 999_999
            value = f"{prefix}-{self.num(10_000, hi)}"
            if value not in self.used_refs:
                self.used_refs.add(value)
                return value
        raise RuntimeError("synthetic: ran out of ids")  # pragma: no cover - 10^6 ids per prefix

    def near_ref(self, ref: str) -> str:
        """A fresh id that differs from ``ref`` by two swapped digits (or one changed digit)."""
        prefix, digits = ref.split("-")
        for _ in range(32):
            d = list(digits)
            i = self.rng.randrange(len(d) - 1)
            if d[i] != d[i + 1]:
                d[i], d[i + 1] = d[i + 1], d[i]
            else:
                d[i] = str((int(d[i]) + self.rng.randint(1, 9)) % 10)
            value = f"{prefix}-{''.join(d).lstrip('0') or '0'}"
            if len(value) == len(ref) and value not in self.used_refs:
                self.used_refs.add(value)
                return value
        return self.ref(prefix)

    def date(self) -> str:
        return f"2024-{self.num(1, 12):02d}-{self.num(1, 28):02d}"

    def opener(self) -> str:
        return self.pick(OPENERS)

    # -- facts ---------------------------------------------------------------------------

    def fact(self, category: str) -> _Fact:
        builders = {
            "personal": [self._relative, self._pet, self._allergy, self._project_code, self._booking],
            "image": [self._photo_colour, self._photo_shop, self._photo_parking],
            "update": [self._pref_update, self._door_update, self._standup_update],
        }.get(category)
        for _ in range(40 if builders else 0):
            made = self.pick(builders)()
            if made is not None:
                return made
        return self._tool_fact()  # key space exhausted (or category "tool"): tool ids are unbounded

    def _relative(self) -> _Fact | None:
        rel, name = self.pick(REL_LIST), self.pick(NAMES)
        if not self.claim("relative", (rel, name)):
            return None
        city, year, pron = self.pick(CITIES), self.rng.randint(2005, 2023), RELATIONS[rel]
        love = "love" if pron == "they" else "loves"
        say = self.pick(
            [
                f"My {rel} {name} moved to {city} back in {year}, and {pron} {love} it there.",
                f"Did I tell you my {rel} {name} has been living in {city} since {year}?",
                f"{name}, my {rel}, relocated to {city} in {year} for work.",
            ]
        )
        q = self.pick(
            [
                f"Which city is my {rel} {name} based in?",
                f"Where did {name} (my {rel}) move to?",
                f"Remind me, what city does my {rel} {name} call home?",
            ]
        )
        return _Fact("personal", q, city, [[_u(self.opener() + say), _a(self.pick(REPLIES))]], [0])

    def _pet(self) -> _Fact | None:
        pet = self.pick(PETS)
        if not self.claim("pet", pet):
            return None
        pname = self.pick(PET_NAMES)
        say = self.pick(
            [
                f"We adopted a {pet} from the shelter last month and named it {pname}.",
                f"Our new {pet} is called {pname}, the kids chose the name.",
            ]
        )
        q = self.pick([f"What's the name of the {pet} we adopted?", f"What did we call our {pet}?"])
        return _Fact("personal", q, pname, [[_u(self.opener() + say), _a(self.pick(REPLIES))]], [0])

    def _allergy(self) -> _Fact | None:
        allergy = self.pick(ALLERGIES)
        if self.rng.random() < 0.3 and self.claim("allergy", "me"):
            say = f"Just so you know, I'm seriously allergic to {allergy}, so keep that in mind for recipes."
            q = self.pick(["What am I allergic to?", "Which allergy of mine should recipes avoid?"])
        else:
            rel, name = self.pick(REL_LIST), self.pick(NAMES)
            if not self.claim("allergy", (rel, name)):
                return None
            say = f"My {rel} {name} is allergic to {allergy}, we found out the hard way at a wedding."
            q = f"What is {name}, my {rel}, allergic to?"
        return _Fact("personal", q, allergy, [[_u(self.opener() + say), _a(self.pick(ACKS))]], [0])

    def _project_code(self) -> _Fact | None:
        project = self.pick(PROJECTS)
        if not self.claim("project", project):
            return None
        code = self.ref("PRJ")
        say = self.pick(
            [
                f"The internal code for project {project} is {code}; I always forget it.",
                f"For timesheets, project {project} is booked under internal code {code}.",
            ]
        )
        q = self.pick([f"What's the internal code of the {project} project?", f"Which code is {project} filed under?"])
        return _Fact("personal", q, code, [[_u(self.opener() + say), _a(self.pick(ACKS))]], [0])

    def _booking(self) -> _Fact | None:
        kind, city = self.pick(BOOKING_KINDS), self.pick(CITIES)
        if not self.claim("booking", (kind, city)):
            return None
        ref = self.ref("BK")
        say = self.pick(
            [
                f"Our {kind} in {city} is confirmed, booking reference {ref}.",
                f"Finally sorted the {kind} for {city}: the reference is {ref}.",
            ]
        )
        q = self.pick(
            [
                f"What's the booking reference for the {kind} in {city}?",
                f"Which reference number did we get for the {city} {kind}?",
            ]
        )
        return _Fact("personal", q, ref, [[_u(self.opener() + say), _a(self.pick(ACKS))]], [0])

    def _tool_fact(self) -> _Fact:
        kind = self.pick(TOOL_KINDS)
        key = self.ref(_PREFIX[kind])
        self.asked_refs[kind].append(key)
        unit, answer = self.tool_unit(kind, key=key, large=self.rng.random() < 0.35)
        q = self.pick(_TOOL_QUESTIONS[kind]).format(key=key)
        return _Fact("tool", q, answer, [unit], [2])

    def _photo(self, caption: str) -> Msg:
        self.images += 1
        return {
            "role": "user",
            "content": [
                {"type": "text", "text": self.pick(PHOTO_TEXTS)},
                {
                    "type": "image_url",
                    "image_url": {"url": f"https://example.invalid/img/{self.images:05d}.jpg"},
                    "caption": caption,
                },
            ],
        }

    def _two_colours(self) -> tuple[str, str]:
        first = self.pick(COLORS)
        second = self.pick([c for c in COLORS if c not in first and first not in c])
        return first, second

    def _photo_colour(self) -> _Fact | None:
        obj, city = self.pick(OBJECTS), self.pick(CITIES)
        if not self.claim("colour", (obj, city)):
            return None
        color, other = self._two_colours()
        caption = self.pick(
            [
                f"{_an(color)} {obj} leaning against {_an(other)} {self.pick(BACKDROPS)} on a cobbled street in {city}",
                f"close-up of {_an(color)} {obj} next to {_an(other)} {self.pick(BACKDROPS)}, {city} old town behind",
            ]
        )
        q = self.pick(
            [
                f"What colour was the {obj} in the photo I sent from {city}?",
                f"In my {city} picture, which colour was the {obj}?",
            ]
        )
        return _Fact("image", q, color, [[self._photo(caption), _a(self.pick(PHOTO_REPLIES))]], [0])

    def _photo_shop(self) -> _Fact | None:
        shop, city = self.pick(SHOPS), self.pick(CITIES)
        if not self.claim("shop", (shop, city)):
            return None
        name = f"The {self.pick(SHOP_A)} {self.pick(SHOP_B)}"
        caption = (
            f"{_an(self.pick(COLORS))} shopfront with a hand-painted sign reading '{name}', a small {shop} in {city}"
        )
        q = self.pick(
            [f"What was the {shop} in my {city} photo called?", f"What name did the {city} {shop} I snapped have?"]
        )
        return _Fact("image", q, name, [[self._photo(caption), _a(self.pick(PHOTO_REPLIES))]], [0])

    def _photo_parking(self) -> _Fact | None:
        place = self.pick(CAR_PARKS)
        if not self.claim("parking", place):
            return None
        bay = f"{self.pick('ABCDEFGH')}{self.rng.randint(10, 99)}"
        caption = f"a concrete pillar in the {place} car park painted 'level {self.rng.randint(-3, 4)}, bay {bay}'"
        q = f"Which bay did I park in at the {place}, going by my photo?"
        return _Fact("image", q, bay, [[self._photo(caption), _a("Good idea to take a picture of that.")]], [0])

    def _changes(self, values: list[str]) -> list[str]:
        return self.rng.sample(values, 3 if self.rng.random() < 0.3 and len(values) >= 3 else 2)

    def _update(self, q: str, firsts: list[str], changes: list[str], values: list[str]) -> _Fact:
        units = [[_u(self.opener() + self.pick(firsts).format(v=values[0])), _a(self.pick(ACKS))]]
        for old, new in zip(values, values[1:]):
            say = self.pick(changes).format(v=new, old=old)
            units.append([_u(say), _a(self.pick(["Thanks for the update.", "Noted, updated.", "Got it."]))])
        return _Fact("update", q, values[-1], units, [0] * len(units))

    def _pref_update(self) -> _Fact | None:
        pref = self.pick(PREF_LIST)
        if not self.claim("pref", pref):
            return None
        q = self.pick([f"What's my current {pref}?", f"At the moment, what is my {pref}?"])
        firsts = [f"These days my go-to {pref} is {{v}}.", f"I've settled on {{v}} as my {pref} for now."]
        changes = [
            f"Update: I've switched my {pref}, it's {{v}} now.",
            f"Change of plan, my {pref} is {{v}} from now on.",
            f"I'm done with {{old}}; {{v}} is my new {pref}.",
        ]
        return self._update(q, firsts, changes, self._changes(PREFS[pref]))

    def _door_update(self) -> _Fact | None:
        place = self.pick(DOOR_PLACES)
        if not self.claim("door", place):
            return None
        codes = [str(c) for c in self.rng.sample(range(1000, 10_000), 3)]
        q = self.pick([f"What code opens the {place} door now?", f"What's the latest door code for the {place}?"])
        firsts = [f"The door code for the {place} is {{v}}.", f"Note for later: the {place} door opens with {{v}}."]
        changes = [f"They changed the {place} door code, it's {{v}} now.", f"New code for the {place} door: {{v}}."]
        return self._update(q, firsts, changes, self._changes(codes))

    def _standup_update(self) -> _Fact | None:
        project = self.pick(PROJECTS)
        if not self.claim("standup", project):
            return None
        q = self.pick(
            [f"What time is the {project} standup these days?", f"When does the {project} standup happen now?"]
        )
        firsts = [
            f"The {project} standup is at {{v}} every morning.",
            f"We do the {project} standup at {{v}} each day.",
        ]
        changes = [f"Heads up: the {project} standup moved to {{v}}.", f"They pushed the {project} standup to {{v}}."]
        return self._update(q, firsts, changes, self._changes(TIMES))

    # -- tool outputs --------------------------------------------------------------------

    def _record(self, kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
        r, pick, num = self.rng, self.pick, self.num
        if kind == "orders":
            return {
                "order_id": self.ref("INV"),
                "placed": self.date(),
                "item": pick(ITEMS),
                "qty": num(1, 3),
                "carrier": pick(CARRIERS),
                "status": pick(ORDER_STATUS),
                "total_eur": round(r.uniform(9, 400), 2),
            }
        if kind == "flights":
            return {
                "offer_id": self.ref("FL"),
                "airline": pick(AIRLINES),
                "from": ctx["city"],
                "to": pick(CITIES),
                "depart": f"{self.date()}T{num(5, 22):02d}:{pick(['00', '15', '30', '45'])}",
                "stops": num(0, 2),
                "price_eur": num(39, 420),
            }
        if kind == "parcels":
            return {
                "tracking": self.ref("TRK"),
                "carrier": pick(CARRIERS),
                "status": pick(PARCEL_STATUS),
                "pickup_point": f"{pick(STREETS)} parcel locker",
                "eta": self.date(),
            }
        if kind == "transactions":
            return {
                "tx_id": self.ref("TX"),
                "date": self.date(),
                "merchant": pick(MERCHANTS),
                "amount_eur": round(r.uniform(2, 250), 2),
                "category": pick(TX_CATEGORIES),
                "card": f"**** {ctx['card']}",
            }
        if kind == "weather":
            return {
                "time": f"{self.date()}T{num(0, 23):02d}:00",
                "city": ctx["city"],
                "temp_c": num(-4, 34),
                "condition": pick(WEATHER),
                "wind_kmh": num(0, 60),
            }
        return {"title": pick(EVENTS), "start": f"{self.date()}T{num(8, 19):02d}:30", "location": pick(STREETS)}

    def tool_unit(self, kind: str, *, key: str | None = None, large: bool = False) -> tuple[list[Msg], str]:
        """User request, assistant tool call, tool output (JSON array), assistant remark.

        With ``key``, exactly one record carries that id (its answer field is returned) and
        one or two others carry near-miss ids (two digits swapped)."""
        rng = self.rng
        n = rng.randint(61, 200) if large else rng.randint(20, 60)
        ctx = {"city": self.pick(CITIES), "card": rng.randint(1000, 9999)}
        records = [self._record(kind, ctx) for _ in range(n)]
        answer = ""
        if key is not None:
            hit = rng.randrange(n)
            records[hit][_ID_FIELD[kind]] = key
            answer = str(records[hit][_ANSWER_FIELD[kind]])
            for _ in range(rng.randint(1, 2)):
                j = (hit + rng.randint(1, n - 1)) % n
                records[j][_ID_FIELD[kind]] = self.near_ref(key)
        elif kind in self.asked_refs and self.asked_refs[kind] and rng.random() < 0.5:
            records[rng.randrange(n)][_ID_FIELD[kind]] = self.near_ref(self.pick(self.asked_refs[kind]))
        args = {
            "orders": {"since": "2023-01-01", "limit": n},
            "flights": {"from": ctx["city"], "to": "anywhere", "max_results": n},
            "parcels": {"include_delivered": True},
            "transactions": {"card_last4": str(ctx["card"]), "limit": n},
            "weather": {"city": ctx["city"], "hours": n},
            "calendar": {"days_ahead": 30},
        }[kind]
        self.calls += 1
        cid = f"call_{self.calls:05d}"
        call = {"id": cid, "type": "function", "function": {"name": _TOOL_NAME[kind], "arguments": json.dumps(args)}}
        unit = [
            _u(self.pick(_TOOL_ASKS[kind]).format(city=ctx["city"])),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": cid, "content": json.dumps(records, ensure_ascii=False)},
            _a(_TOOL_DONE[kind].format(n=n)),
        ]
        return unit, answer

    # -- distractors ---------------------------------------------------------------------

    def greeting(self) -> Msg:
        return _a(self.pick(GREETINGS))

    def filler(self, room: int) -> list[Msg]:
        """A unit of 2 turns (4 for a tool call, only if ``room`` allows) holding no asked fact."""
        r = self.rng.random()
        if r < 0.035 and room >= 4:
            kind = self.pick(TOOL_KINDS + ("weather", "calendar"))
            return self.tool_unit(kind, large=self.rng.random() < 0.15)[0]
        if r < 0.085:
            return [self._photo(self._filler_caption()), _a(self.pick(PHOTO_REPLIES))]
        if r < 0.28:
            return [_u(self._near_miss()), _a(self.pick(REPLIES + ACKS))]
        if r < 0.32:
            advice = " ".join(self.rng.sample(ADVICE, self.rng.randint(2, 4)))
            return [_u(self.pick(ADVICE_ASKS)), _a(advice)]
        return [_u(self.pick(SMALL_TALK)), _a(self.pick(REPLIES))]

    def _free(self, kind: str, draw: Any) -> Any:
        """A key of ``kind`` that no question asks about (``None`` if a few draws fail)."""
        for _ in range(6):
            key = draw()
            if not self.taken(kind, key):
                return key
        return None

    def _filler_caption(self) -> str:
        pick = self.pick
        r = self.rng.random()
        if r < 0.4:
            key = self._free("colour", lambda: (pick(OBJECTS), pick(CITIES)))
            if key:
                color, other = self._two_colours()
                return f"{_an(color)} {key[0]} leaning against {_an(other)} {pick(BACKDROPS)} in {key[1]}"
        elif r < 0.6:
            key = self._free("shop", lambda: (pick(SHOPS), pick(CITIES)))
            if key:
                return f"a shopfront with a sign reading 'The {pick(SHOP_A)} {pick(SHOP_B)}', a {key[0]} in {key[1]}"
        elif r < 0.7:
            place = self._free("parking", lambda: pick(CAR_PARKS))
            if place:
                return f"a pillar in the {place} car park painted 'bay {pick('ABCDEFGH')}{self.rng.randint(10, 99)}'"
        return pick(SCENERY).format(city=pick(CITIES))

    def _near_miss(self) -> str:
        """A statement sharing words with the planted facts but answering none of them."""
        pick, rng = self.pick, self.rng
        kind = rng.randrange(11)
        if kind == 0:
            key = self._free("relative", lambda: (pick(REL_LIST), pick(NAMES)))
            if key:
                return f"My {key[0]} {key[1]} moved to {pick(CITIES)} in {rng.randint(2005, 2023)}, believe it or not."
        if kind <= 1:
            return f"{pick(NAMES)} from my {pick(CLUBS)} just got back from a week in {pick(CITIES)}."
        if kind == 2:
            return f"My {pick(['neighbour', 'colleague', 'friend'])}'s {pick(PETS)} is called {pick(PET_NAMES)}."
        if kind == 3:
            return f"The caterer said the dessert contains {pick(ALLERGIES)}, good thing nobody minded."
        if kind == 4:
            return f"The budget code for project {pick(PROJECTS)} is {self.ref('BUD')}, not that anyone uses it."
        if kind == 5:
            key = self._free("booking", lambda: (pick(BOOKING_KINDS), pick(CITIES)))
            if key:
                return f"We booked {_an(key[0])} in {key[1]} too, reference {self.ref('BK')}."
            return f"We looked at {_an(pick(BOOKING_KINDS))} in {pick(CITIES)} but it was too expensive."
        if kind == 6:
            pref = pick(PREF_LIST)
            return f"My partner's {pref} is {pick(PREFS[pref])}, not mine."
        if kind == 7:
            place = self._free("door", lambda: pick(DOOR_PLACES))
            if place:
                return f"The door code for the {place} is {rng.randint(1000, 9999)}, I wrote it on a sticky note."
        if kind == 8:
            return f"The {pick(PROJECTS)} retro is at {pick(TIMES)} on Fridays, which is annoying."
        if kind == 9:
            asked = self.asked_refs[pick(TOOL_KINDS)]
            if asked:
                return f"Is {self.near_ref(pick(asked))} the one that got refunded? I can't keep these apart."
        return f"Project {pick(PROJECTS)} is behind schedule again, {pick(NAMES)} is stressed."


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
