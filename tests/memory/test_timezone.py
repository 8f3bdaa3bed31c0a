"""``assemble(timezone=...)``: relative time in the query is the user's, per call."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from memory import Memory
from memory.errors import InvalidArgument

pytestmark = pytest.mark.fake_embedder  # the time prior: the model is not the point
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 3, 10, 18, 0, tzinfo=LA)  # Tuesday evening in LA, Wednesday 01:00 UTC
PEACHES = "At the farmers market I bought peaches."
PLUMS = "At the farmers market I bought plums."


def _time_scores(mem: Memory, tz: str | None) -> dict[str, float]:
    ctx = mem.assemble(
        "What did I buy at the farmers market yesterday?",
        session="s",
        budget=2000,
        now=NOW,
        timezone=tz,
        window_share=0.0,
        fill_window=False,
    )
    return {h.text: h.scores["time"] for h in ctx.hits if h.text in (PEACHES, PLUMS)}


def test_yesterday_is_the_users_yesterday(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": PEACHES, "timestamp": datetime(2026, 3, 9, 12, 0, tzinfo=LA)},  # LA Monday
            {
                "role": "user",
                "content": "The weather was grey all week.",
                "timestamp": datetime(2026, 3, 10, 8, 0, tzinfo=LA),
            },
            {"role": "user", "content": PLUMS, "timestamp": datetime(2026, 3, 10, 10, 0, tzinfo=LA)},  # LA Tuesday
        ],
        session="s",
    )
    in_la = _time_scores(mem, "America/Los_Angeles")
    assert in_la[PEACHES] == 1.0 and in_la[PLUMS] < 1.0  # the LA yesterday is Monday
    in_utc = _time_scores(mem, None)
    assert in_utc[PLUMS] == 1.0 and in_utc[PEACHES] < 1.0  # in UTC it is already Wednesday


def test_a_bad_timezone_names_the_field(mem: Memory) -> None:
    mem.add([{"role": "user", "content": "hello"}], session="s")
    with pytest.raises(InvalidArgument) as err:
        mem.assemble("yesterday", session="s", budget=500, timezone="Mars/Olympus_Mons")
    assert err.value.field == "timezone" and "IANA" in str(err.value)
    assert mem.last_seq("s") == 1
