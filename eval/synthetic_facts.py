"""The planted facts of a synthetic conversation: personal, tool, image and update facts, each with
its question, answer and the statements that make it (see :mod:`eval.synthetic` for the categories)."""

from __future__ import annotations

from dataclasses import dataclass

from eval.synthetic_draws import Draws
from eval.synthetic_words import (
    ACKS,
    ALLERGIES,
    BACKDROPS,
    BOOKING_KINDS,
    CAR_PARKS,
    CITIES,
    COLORS,
    DOOR_PLACES,
    ID_PREFIX,
    NAMES,
    OBJECTS,
    PET_NAMES,
    PETS,
    PHOTO_REPLIES,
    PREF_LIST,
    PREFS,
    PROJECTS,
    REL_LIST,
    RELATIONS,
    REPLIES,
    SHOP_A,
    SHOP_B,
    SHOPS,
    TIMES,
    TOOL_KINDS,
    TOOL_QUESTIONS,
    Msg,
    an,
    assistant,
    user,
)


@dataclass
class Fact:
    """A planted fact: its question and answer, and the statements that say it."""

    category: str
    question: str
    answer: str
    units: list[list[Msg]]  # one unit (consecutive messages) per statement, in conversation order
    offsets: list[int]  # the statement's index inside each unit; the last unit's is the evidence


class Facts(Draws):
    """Draws the facts questions ask about; each claims its key so that no other fact or filler reuses it."""

    def fact(self, category: str) -> Fact:
        builders = {
            "personal": [self._relative, self._pet, self._allergy, self._project_code, self._booking],
            "image": [self._photo_colour, self._photo_shop, self._photo_parking],
            "update": [self._pref_update, self._door_update, self._standup_update],
        }.get(category, [])
        for _ in range(40 if builders else 0):
            made = self.pick(builders)()
            if made is not None:
                return made
        return self._tool_fact()  # key space exhausted (or category "tool"): tool ids are unbounded

    def _relative(self) -> Fact | None:
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
        return Fact("personal", q, city, [[user(self.opener() + say), assistant(self.pick(REPLIES))]], [0])

    def _pet(self) -> Fact | None:
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
        return Fact("personal", q, pname, [[user(self.opener() + say), assistant(self.pick(REPLIES))]], [0])

    def _allergy(self) -> Fact | None:
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
        return Fact("personal", q, allergy, [[user(self.opener() + say), assistant(self.pick(ACKS))]], [0])

    def _project_code(self) -> Fact | None:
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
        return Fact("personal", q, code, [[user(self.opener() + say), assistant(self.pick(ACKS))]], [0])

    def _booking(self) -> Fact | None:
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
        return Fact("personal", q, ref, [[user(self.opener() + say), assistant(self.pick(ACKS))]], [0])

    def _tool_fact(self) -> Fact:
        kind = self.pick(TOOL_KINDS)
        key = self.ref(ID_PREFIX[kind])
        self.asked_refs[kind].append(key)
        unit, answer = self.tool_unit(kind, key=key, large=self.rng.random() < 0.35)
        q = self.pick(TOOL_QUESTIONS[kind]).format(key=key)
        return Fact("tool", q, answer, [unit], [2])

    def _photo_colour(self) -> Fact | None:
        obj, city = self.pick(OBJECTS), self.pick(CITIES)
        if not self.claim("colour", (obj, city)):
            return None
        color, other = self._two_colours()
        caption = self.pick(
            [
                f"{an(color)} {obj} leaning against {an(other)} {self.pick(BACKDROPS)} on a cobbled street in {city}",
                f"close-up of {an(color)} {obj} next to {an(other)} {self.pick(BACKDROPS)}, {city} old town behind",
            ]
        )
        q = self.pick(
            [
                f"What colour was the {obj} in the photo I sent from {city}?",
                f"In my {city} picture, which colour was the {obj}?",
            ]
        )
        return Fact("image", q, color, [[self._photo(caption), assistant(self.pick(PHOTO_REPLIES))]], [0])

    def _photo_shop(self) -> Fact | None:
        shop, city = self.pick(SHOPS), self.pick(CITIES)
        if not self.claim("shop", (shop, city)):
            return None
        name = f"The {self.pick(SHOP_A)} {self.pick(SHOP_B)}"
        caption = (
            f"{an(self.pick(COLORS))} shopfront with a hand-painted sign reading '{name}', a small {shop} in {city}"
        )
        q = self.pick(
            [f"What was the {shop} in my {city} photo called?", f"What name did the {city} {shop} I snapped have?"]
        )
        return Fact("image", q, name, [[self._photo(caption), assistant(self.pick(PHOTO_REPLIES))]], [0])

    def _photo_parking(self) -> Fact | None:
        place = self.pick(CAR_PARKS)
        if not self.claim("parking", place):
            return None
        bay = f"{self.pick('ABCDEFGH')}{self.rng.randint(10, 99)}"
        caption = f"a concrete pillar in the {place} car park painted 'level {self.rng.randint(-3, 4)}, bay {bay}'"
        q = f"Which bay did I park in at the {place}, going by my photo?"
        return Fact("image", q, bay, [[self._photo(caption), assistant("Good idea to take a picture of that.")]], [0])

    def _changes(self, values: list[str]) -> list[str]:
        return self.rng.sample(values, 3 if self.rng.random() < 0.3 and len(values) >= 3 else 2)

    def _update(self, q: str, firsts: list[str], changes: list[str], values: list[str]) -> Fact:
        units = [[user(self.opener() + self.pick(firsts).format(v=values[0])), assistant(self.pick(ACKS))]]
        for old, new in zip(values, values[1:]):
            say = self.pick(changes).format(v=new, old=old)
            units.append([user(say), assistant(self.pick(["Thanks for the update.", "Noted, updated.", "Got it."]))])
        return Fact("update", q, values[-1], units, [0] * len(units))

    def _pref_update(self) -> Fact | None:
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

    def _door_update(self) -> Fact | None:
        place = self.pick(DOOR_PLACES)
        if not self.claim("door", place):
            return None
        codes = [str(c) for c in self.rng.sample(range(1000, 10_000), 3)]
        q = self.pick([f"What code opens the {place} door now?", f"What's the latest door code for the {place}?"])
        firsts = [f"The door code for the {place} is {{v}}.", f"Note for later: the {place} door opens with {{v}}."]
        changes = [f"They changed the {place} door code, it's {{v}} now.", f"New code for the {place} door: {{v}}."]
        return self._update(q, firsts, changes, self._changes(codes))

    def _standup_update(self) -> Fact | None:
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
