"""Time expressions resolve in the user's zone; "since 2019" runs to now; weekday names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from retrievers.temporal import mentions_time, parse_time_hint, zone

LA = ZoneInfo("America/Los_Angeles")
# Tuesday 2026-03-10, 18:00 in Los Angeles (PDT, UTC-7) = Wednesday 01:00 UTC.
NOW = datetime(2026, 3, 10, 18, 0, tzinfo=LA).timestamp()


def window(query: str, tz: str | None = None, now: float = NOW) -> tuple[datetime, datetime]:
    hint = parse_time_hint(query, now, tz)
    assert hint is not None and hint.start is not None and hint.end is not None, query
    z = zone(tz)
    return datetime.fromtimestamp(hint.start, z), datetime.fromtimestamp(hint.end, z)


def test_yesterday_is_the_users_yesterday() -> None:
    start, end = window("what did we say yesterday?", "America/Los_Angeles")
    assert (start, end) == (datetime(2026, 3, 9, tzinfo=LA), datetime(2026, 3, 10, tzinfo=LA))
    utc_start, _ = window("what did we say yesterday?")  # in UTC it is already Wednesday
    assert utc_start == datetime(2026, 3, 10, tzinfo=timezone.utc)


def test_dates_are_the_users_days() -> None:
    start, end = window("what did I book on March 3, 2026?", "America/Los_Angeles")
    assert start == datetime(2026, 3, 3, tzinfo=LA) and end - start == timedelta(days=1)
    start, _ = window("in 2025", "Asia/Tokyo")
    assert start == datetime(2025, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_since_runs_from_then_to_now() -> None:
    start, end = window("which projects have I started since 2019?")
    assert start == datetime(2019, 1, 1, tzinfo=timezone.utc) and end.timestamp() >= NOW
    start, end = window("what changed since June 2024?", "America/Los_Angeles")
    assert start == datetime(2024, 6, 1, tzinfo=LA) and end.timestamp() >= NOW
    start, end = window("what happened in 2019?")  # "in" is that year only
    assert end == datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("query", "day"),
    [
        ("what hotel did I book last Tuesday?", 3),  # said on a Tuesday: a week ago
        ("what did we decide on Tuesday?", 10),  # today
        ("the call last Monday", 9),
        ("what did I eat this past Sunday", 8),
        ("what did I say last friday", 6),
    ],
)
def test_weekday_names(query: str, day: int) -> None:
    start, end = window(query, "America/Los_Angeles")
    assert start == datetime(2026, 3, day, tzinfo=LA) and end == datetime(2026, 3, day + 1, tzinfo=LA)


def test_a_bad_zone_names_the_field() -> None:
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd", "America/Los Angeles "):
        with pytest.raises(ValueError, match="^timezone: "):
            parse_time_hint("yesterday", NOW, bad)


@pytest.mark.parametrize(
    ("text", "says_when"),
    [
        ("Yesterday I went to the support group.", True),
        ("We met LAST WEEK at the gym", True),
        ("On May 3 we moved", True),
        ("It happened in 2019.", True),
        ("a few Sundays ago", True),
        ("I may go to the park", False),  # the verb "may" is no date
        ("The agony of choosing a painting", False),  # "ago" inside a word
        ("TODAYS SPECIAL", False),
    ],
)
def test_mentions_time_ignores_case_and_needs_whole_words(text: str, says_when: bool) -> None:
    assert mentions_time(text) is says_when
    assert mentions_time(text.upper()) is says_when and mentions_time(text.lower()) is says_when
