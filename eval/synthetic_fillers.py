"""The distractors of a synthetic conversation: small talk, advice, unasked tool calls and photos,
and near misses that reuse the planted facts' words without answering any question."""

from __future__ import annotations

from typing import Any

from eval.synthetic_draws import Draws
from eval.synthetic_words import (
    ACKS,
    ADVICE,
    ADVICE_ASKS,
    ALLERGIES,
    BACKDROPS,
    BOOKING_KINDS,
    CAR_PARKS,
    CITIES,
    CLUBS,
    DOOR_PLACES,
    GREETINGS,
    NAMES,
    OBJECTS,
    PET_NAMES,
    PETS,
    PHOTO_REPLIES,
    PREF_LIST,
    PREFS,
    PROJECTS,
    REL_LIST,
    REPLIES,
    SCENERY,
    SHOP_A,
    SHOP_B,
    SHOPS,
    SMALL_TALK,
    TIMES,
    TOOL_KINDS,
    Msg,
    an,
    assistant,
    user,
)


class Fillers(Draws):
    """Draws turns that hold no asked fact (drawn after all facts, so the claimed keys are known)."""

    def greeting(self) -> Msg:
        return assistant(self.pick(GREETINGS))

    def filler(self, room: int) -> list[Msg]:
        """A unit of 2 turns (4 for a tool call, only if ``room`` allows) holding no asked fact."""
        r = self.rng.random()
        if r < 0.035 and room >= 4:
            kind = self.pick(TOOL_KINDS + ("weather", "calendar"))
            return self.tool_unit(kind, large=self.rng.random() < 0.15)[0]
        if r < 0.085:
            return [self._photo(self._filler_caption()), assistant(self.pick(PHOTO_REPLIES))]
        if r < 0.28:
            return [user(self._near_miss()), assistant(self.pick(REPLIES + ACKS))]
        if r < 0.32:
            advice = " ".join(self.rng.sample(ADVICE, self.rng.randint(2, 4)))
            return [user(self.pick(ADVICE_ASKS)), assistant(advice)]
        return [user(self.pick(SMALL_TALK)), assistant(self.pick(REPLIES))]

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
                return f"{an(color)} {key[0]} leaning against {an(other)} {pick(BACKDROPS)} in {key[1]}"
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
                return f"We booked {an(key[0])} in {key[1]} too, reference {self.ref('BK')}."
            return f"We looked at {an(pick(BOOKING_KINDS))} in {pick(CITIES)} but it was too expensive."
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
