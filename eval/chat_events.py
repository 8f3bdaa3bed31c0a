"""What the assistant said (``SAID``: an item in one long answer) and dated events (purchases,
episodes, starts) for :mod:`eval.synthetic_chat`; shapes in :mod:`eval.chat_facts`."""

from __future__ import annotations

from dataclasses import dataclass

from eval.chat_facts import Family, Line

# fmt: off
# -- what the assistant said: a feature sentence in one long answer --------------------------

TRIP_CITIES = ("Bergen", "Ghent", "Ljubljana", "Tallinn", "Bologna", "Split", "Salzburg", "Aarhus", "Seville", "Cork")
TRAILS = (
    "Heron Lake Loop", "Old Mill Ridge Path", "Foxglove Valley Trail", "Windy Gap Circuit", "Pine Hollow Way",
    "Larkspur Coastal Walk", "Three Crosses Trail", "Birch Terrace Loop",
)
RESTAURANTS = (
    "Casa Lume", "Bistro Oriel", "Taverna Kipos", "Stue 14", "Osteria Valle", "Maison Brune", "Kafé Strand",
    "Tasca do Monte",
)
HOODS = ("the Old Harbour quarter", "Riverside", "St. Anne's", "the Upper Town", "Green Hill", "the Canal District")


TRIP_LINES = (  # other requests about the trip cities: the same place names, none of the asked items
    Line("We're flying into {key} on a Friday evening. How do we get from the airport to the centre?",
         "travel", "getting into {key} from the airport"),
    Line("What should we pack for {key} in late spring? It's a week of walking around.", "travel", "packing for {key}"),
    Line("Is three days enough for {key}, or should we add a day trip?", "travel", "three days in {key}"),
    Line("Any rainy-day ideas for {key}? The forecast looks grim.", "travel", "a rainy day in {key}"),
    Line("How much should we budget per day in {key} for food and transport?", "money", "a daily budget for {key}"),
    Line("Can you help me write a short thank-you note to our host in {key}?", "writing", "a thank-you note to a host"),
)


@dataclass(frozen=True)
class Said(Family):
    """An assistant fact: ``feature`` is the paragraph put in the answer to ``says``."""

    feature: str = ""
    paired: bool = False  # slot "v" is taken at the same index as slot "key" (a task and its tool)


SAID: tuple[Said, ...] = (
    Said(
        "trail",
        {"key": TRIP_CITIES, "v": TRAILS, "km": ("6", "8", "9", "11", "12")},
        (
            Line("We'll have a free afternoon in {key}. Any walks nearby that aren't too steep?",
                 "travel", "an easy walk near {key}"),
        ),
        (
            "What was the name of the {route} you suggested outside {key}?",
            "Which {route} near {key} did you point me to?",
        ),
        "{v}",
        lex={"route": ("hike", "trail", "ramble")},
        feature="**My pick: the {v}.** It's about {km} km with gentle climbs, well signposted, and there's a café "
        "halfway where you can refill water.",
    ),
    Said(
        "restaurant",
        {"key": TRIP_CITIES, "v": RESTAURANTS},
        (
            Line("What should we eat on our last night in {key}? Somewhere not too touristy.",
                 "travel", "a last dinner in {key}"),
        ),
        ("Which place did you tell me to {dine} at on the final evening in {key}?",),
        "{v}",
        lex={"dine": ("dine", "have supper", "book a table")},
        feature="**Where I'd book: {v}.** It's small, popular with locals, and the set menu is good value; reserve "
        "for around 8 pm.",
    ),
    Said(
        "hood",
        {"key": TRIP_CITIES, "v": HOODS},
        (
            Line("Where should we stay in {key} if we want quiet evenings but short walks to everything?",
                 "travel", "where to stay in {key}"),
        ),
        ("Which district did you say to {sleep} in for the {key} trip?",),
        "{v}",
        lex={"sleep": ("sleep", "base ourselves", "book a room")},
        feature="**Base yourselves in {v}.** It's quiet after 10 pm and about ten minutes on foot from the main "
        "sights.",
    ),
    Said(
        "library",
        {
            "key": (
                "extract tables from a pile of PDF reports", "schedule jobs inside my Python service",
                "validate JSON payloads coming into my API", "make charts for a quarterly report",
            ),
            "v": ("pdfplumber", "APScheduler", "jsonschema", "altair"),
        },
        (Line("I need to {key}. What should I use?", "coding", "picking a library"),),
        ("Which package did you recommend so I could {key}?",),
        "{v}",
        feature="**Use `{v}`.** It's mature, well documented, and does exactly this without much setup.",
        paired=True,
    ),
    Said(
        "bake",
        {
            "key": ("focaccia", "banana bread", "cinnamon buns", "shortbread", "a sourdough loaf"),
            "v": ("200 °C", "180 °C", "220 °C", "170 °C", "230 °C"),
            "mins": ("20", "25", "35", "45", "55"),
        },
        (Line("I want to bake {key} this weekend. How long does it all take?", "cooking", "weekend baking"),),
        ("How {hot} did you say the oven should be for the {key}?",),
        "{v}",
        lex={"hot": ("hot", "high")},
        feature="**Bake at {v} for about {mins} minutes** on the middle shelf, until it's deep golden and sounds "
        "hollow when tapped.",
    ),
    Said(
        "fund",
        {"key": ("",), "v": ("3 months", "4 months", "6 months", "9 months")},
        (Line("How big should my emergency fund be now that I'm freelancing?", "money", "an emergency fund"),),
        ("How much of a {cushion} did you tell me to keep, in months of costs?",),
        "{v}",
        lex={"cushion": ("cushion", "rainy-day reserve", "safety net")},
        feature="**Aim for {v} of essential costs** in an easy-access account before you invest anything.",
    ),
    Said(
        "textbook",
        {
            "key": ("Portuguese", "Norwegian", "Czech", "Greek"),
            "v": ("Open Door {key} 1", "{key} Made Natural", "Living {key} Today", "Step Into {key}"),
        },
        (
            Line("I'm starting {key} from zero. Is there a coursebook you'd recommend?",
                 "language", "a coursebook for beginners"),
        ),
        ("Which {book} did you point me to for {key}?",),
        "{v}",
        lex={"book": ("textbook", "book")},
        feature="**Start with *{v}*.** Its short dialogues and audio are ideal for the first three months.",
    ),
    Said(
        "programme",
        {"key": ("",), "v": ("Foundry 5x5", "Ironbridge Basics", "Greyline 3-Day", "Northside Strength")},
        (
            Line("Can you suggest a strength programme I can follow for the next 12 weeks?",
                 "fitness", "a 12-week strength block"),
        ),
        ("What was the name of the {plan} you suggested for my next three months of lifting?",),
        "{v}",
        lex={"plan": ("plan", "template", "routine")},
        feature="**Follow {v}.** Three days a week, compound lifts first, and a small weight increase every session.",
    ),
)


# -- dated events ----------------------------------------------------------------------------

PURCHASES = (  # (item in the statement, its paraphrase in the question)
    ("road bike", "bicycle"), ("laptop", "new computer"), ("sofa", "couch"), ("espresso machine", "coffee maker"),
    ("tent", "camping shelter"), ("e-reader", "Kindle-type device"), ("rowing machine", "home cardio kit"),
    ("stand mixer", "big kitchen gadget"),
)
BUY_LINES = (
    Line("I'm thinking about buying {a_item}. Is it better to get one new or second-hand?",
         "money", "buying {a_item} new or used"),
    Line("Should I save up for {a_item} or put it on a 0% card?", "money", "saving up for {a_item}"),
    Line("How much should I spend on {a_item}? I don't want to overpay.", "money", "what to spend on {a_item}"),
)
ORDER_ASKS = (
    "Which did I bring up first: the {p1} or the {p2}?", "What came earlier in our chats, the {p1} or the {p2}?",
)

COOKED = (
    "a lamb tagine", "mushroom risotto", "shakshuka", "a fish pie", "dal makhani", "gnocchi from scratch",
    "chicken katsu", "a pumpkin soup", "paella", "beef ragù",
)
COOK_LINES = (
    Line(
        "Tonight I'm making {item} for the first time. How far ahead can I prep it?", "cooking", "cooking something new"
    ),
    Line("I'm cooking {item} for friends this evening; what should I serve on the side?", "cooking", "a side dish"),
)
COOK_ASKS = ("What was I cooking {ago}?", "What dish did I make {ago}?")
MEAT = ("lamb", "fish", "chicken", "beef")

FIXED = (
    "the bathroom tap", "a wobbly banister", "the garden gate", "the cracked hallway tile", "the shower door",
    "the fridge seal", "a sticking window", "the loft hatch",
)
FIX_LINES = (
    Line("I'm fixing {item} this afternoon. Which tools should I have ready?", "home", "a small repair"),
    Line("Today's job is {item}. Do I need to turn anything off first?", "home", "a small repair"),
)
FIX_ASKS = ("What was I repairing at home {ago}?", "Which DIY job was I doing {ago}?")

STARTS = (  # (what the user started, how the question names it)
    ("the couch-to-5k plan", "the beginner running programme"), ("a pottery course", "the ceramics class"),
    ("Duolingo Italian", "the Italian app"), ("a no-spend month", "the spending freeze"),
)
START_LINES = (Line("I started {item} today! Any advice for sticking with it?", "fitness", "sticking with a habit"),)
WHEN_ASKS = ("When did I tell you I was {begin} {para}?",)
WHEN_LEX = {"begin": ("kicking off", "beginning", "getting going with")}
# fmt: on
