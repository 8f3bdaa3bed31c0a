"""Why a user is asking: a sentence or two of situation around a plain request, for the development
sets (:mod:`eval.synthetic_prefs`, :mod:`eval.project_timeline`).

Real users say why they ask ("I'm doing this on my lunch break, so quick answers help."), which
makes their messages several times longer than a bare request. Without it a history's user turns
are so short that all of them fit in a 2,048-token context, and a retriever that sends every user
message looks good for the wrong reason. Every sentence here is neutral: it states no preference
any question of the sets asks about (no diet, cuisine, drink, way of travelling or staying,
exercise, style, format, study method, language, genre or pastime).
"""

from __future__ import annotations

import random

GENERIC = (
    "Sorry if this is a basic question, I've never really looked into it.",
    "I've been meaning to ask you this for a while now.",
    "I'm doing this on my lunch break, so I only have a few minutes.",
    "My sister asked me the same thing yesterday and I didn't know what to tell her.",
    "It's been one of those weeks, so bear with me.",
    "I tried searching online but every answer says something different.",
    "I'd like to get this sorted before the weekend.",
    "A friend said you'd be good for this kind of question.",
)
BY_TOPIC: dict[str, tuple[str, ...]] = {
    "cooking": (
        "We've got people coming over on Saturday and I want to get it right.",
        "I've been stuck in a rut with what I make during the week.",
        "My last attempt at this went badly, so I'm trying again.",
    ),
    "travel": (
        "We're trying to book everything this month while prices are still reasonable.",
        "It's the first trip I'm planning on my own, so I'm a bit nervous.",
        "My partner has left the planning to me this time.",
    ),
    "coding": (
        "It's for a small tool at work that nobody else wants to maintain.",
        "I've been going round in circles with this since yesterday.",
        "My team lead is on holiday, so I can't ask her.",
    ),
    "fitness": (
        "I've been trying to get back into shape since the winter.",
        "My physio said to ease in gently, so I'm being careful.",
        "I keep starting and stopping, and I'd like to stick with it this time.",
    ),
    "home": (
        "The landlord takes weeks to answer, so I'd rather do it myself.",
        "It's been bugging me every time I walk past it.",
        "I've got the tools but not much experience.",
    ),
    "money": (
        "Things have been tight since the rent went up.",
        "I'm trying to get my finances in order before the new year.",
        "My bank's website isn't much help with this.",
    ),
    "language": (
        "I have a trip coming up and want to be able to get by.",
        "My progress has stalled for a couple of months now.",
        "I'm practising with a colleague who is a native speaker.",
    ),
    "writing": (
        "It has to go out by Friday, so there isn't much time.",
        "I always freeze when I have to write something like this.",
        "My manager will read it, so I want it to sound right.",
    ),
    "leisure": (
        "I've had a busy few months and finally have some free time.",
        "I want to make more of my evenings than scrolling on my phone.",
        "A few friends and I are trying to plan more things together.",
    ),
}


def situated(rng: random.Random, text: str, topic: str) -> str:
    """``text`` with one or two sentences of situation before or after it (most of the time)."""
    roll = rng.random()
    if roll < 0.1:
        return text
    pool = BY_TOPIC.get(topic, ()) + GENERIC
    said = rng.sample(pool, 2 if roll > 0.5 else 1)
    if rng.random() < 0.6:
        return " ".join([*said, text])
    return " ".join([text, *said])
