"""What every part of the synthetic generator draws with: ids, dates, photos, tool calls and outputs.

:class:`Draws` holds the one ``random.Random`` of a conversation and what was handed out;
:mod:`eval.synthetic_facts` (the planted facts) and :mod:`eval.synthetic_fillers` (the
distractors) are mixins over it, joined in :mod:`eval.synthetic`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any, TypeVar

from eval.synthetic_words import (
    AIRLINES,
    ANSWER_FIELD,
    CARRIERS,
    CITIES,
    COLORS,
    EVENTS,
    ID_FIELD,
    ITEMS,
    MERCHANTS,
    OPENERS,
    ORDER_STATUS,
    PARCEL_STATUS,
    PHOTO_TEXTS,
    STREETS,
    TOOL_ASKS,
    TOOL_DONE,
    TOOL_KINDS,
    TOOL_NAME,
    TX_CATEGORIES,
    WEATHER,
    Msg,
    assistant,
    user,
)

T = TypeVar("T")


class Draws:
    """One ``random.Random`` and what the drawing remembers: the ids handed out, the keys facts
    claimed (so that fillers never restate or contradict an asked fact), the asked tool ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_refs: set[str] = set()
        self.keys: dict[str, set[Any]] = {}
        self.asked_refs: dict[str, list[str]] = {kind: [] for kind in TOOL_KINDS}
        self.calls = 0
        self.images = 0

    # -- helpers -------------------------------------------------------------------------

    def pick(self, seq: Sequence[T]) -> T:
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
            records[hit][ID_FIELD[kind]] = key
            answer = str(records[hit][ANSWER_FIELD[kind]])
            for _ in range(rng.randint(1, 2)):
                j = (hit + rng.randint(1, n - 1)) % n
                records[j][ID_FIELD[kind]] = self.near_ref(key)
        elif kind in self.asked_refs and self.asked_refs[kind] and rng.random() < 0.5:
            records[rng.randrange(n)][ID_FIELD[kind]] = self.near_ref(self.pick(self.asked_refs[kind]))
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
        call = {"id": cid, "type": "function", "function": {"name": TOOL_NAME[kind], "arguments": json.dumps(args)}}
        unit = [
            user(self.pick(TOOL_ASKS[kind]).format(city=ctx["city"])),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": cid, "content": json.dumps(records, ensure_ascii=False)},
            assistant(TOOL_DONE[kind].format(n=n)),
        ]
        return unit, answer
