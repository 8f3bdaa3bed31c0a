"""Time expressions in a query, as a prior on when the wanted turn was said.

``parse_time_hint("When did Melanie go camping in June?", now)`` gives the window of the
most recent June up to ``now``; "on October 13, 2023", "in July 2023", "in 2022",
"yesterday", "last week", "last Tuesday", "3 months ago", "this year" give windows too,
"since 2019" / "since June" the window from then up to ``now``, and "first", "earliest",
"originally" / "most recently", "latest" give an order. Assembly turns the hint into a score
per candidate (:meth:`TimeHint.score`) that is fused with relevance.

Days, months and years are the user's: ``tz`` (an IANA zone name such as
``"America/Los_Angeles"``, default UTC) says where "yesterday" or "May 3" begin and end, so
"yesterday" asked at 18:00 in Los Angeles (02:00 UTC the next day) is the Los Angeles
yesterday.

Hand-written on purpose, and narrow: a month name only counts as a date after "in", "on",
"during", "since", "by", "of", "early", "mid", "late" or next to a day or a year (so the
verb "may" and "March on" never fire). Measured against dateparser 1.5 (``search_dates``, English
only, on ten chat queries, this 2-core machine): 10 ms median and 16 ms p95 per query, against
0.05 ms here (200x), and it reads "we" as Wednesday and "may" as May, gives points where
assembly needs windows ("since 2019" is one day of 2019), so the regexes stay.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

DAY = 86400.0
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS.pop("may", None)  # re-added below: "may" is only a month in a date context
_MONTH_RE = "|".join(sorted([*_MONTHS, "may"], key=len, reverse=True))
_UNITS = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_NUMBERS.update({"nine": 9, "ten": 10, "couple": 2, "few": 3})
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11), "winter": (12, 2)}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}

_DATE = re.compile(
    rf"""(?x)
    (?P<prep>\b(?:in|on|during|since|by|of|early|mid|late|around|before|after)\s+(?:the\s+)?)?
    (?:(?P<day1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?
    \b(?P<month>{_MONTH_RE})\b\.?
    (?:\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\b)?
    (?:,?\s+(?P<year>(?:19|20)\d{{2}})\b)?
    """,
    re.IGNORECASE,
)
_SEASON = re.compile(
    r"\b(?P<season>spring|summer|fall|autumn|winter)(?:\s+(?:of\s+)?(?P<year>(?:19|20)\d{2}))?\b", re.I
)
_YEAR = re.compile(r"\b(?:in|during|of|since|for)\s+(?P<year>(?:19|20)\d{2})\b", re.I)
_AGO = re.compile(
    r"\b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|couple|few)\s+(?:of\s+)?"
    r"(?P<unit>day|week|month|year)s?\s+ago\b",
    re.I,
)
_WEEKDAY = re.compile(
    rf"\b(?P<which>last|on|this\s+past|past)\s+(?P<day>{'|'.join(_WEEKDAYS)})\b",
    re.I,
)
_RELATIVE = re.compile(
    r"\b(?P<rel>yesterday|today|tonight|this morning|last night|(?:last|this|past|previous)\s+"
    r"(?:week(?:end)?|month|year))\b",
    re.I,
)
_FIRST = re.compile(
    r"\b(?:first\s+time|(?:did|was|were|has|have|had)\s+\w+(?:\s+\w+)?\s+first|first\s+(?:mention|talk|say|said|"
    r"start|started|get|got|meet|met|bring|brought|learn|learned)\w*|earliest|initially|originally|at\s+first|"
    r"in\s+the\s+beginning|to\s+begin\s+with)\b",
    re.I,
)
_LAST = re.compile(r"\b(?:most\s+recent(?:ly)?|latest|last\s+time|recently|these\s+days|nowadays|currently)\b", re.I)


@dataclass(frozen=True)
class TimeHint:
    """When the wanted turn was said: a window ``[start, end)`` in epoch seconds and/or an
    order preference. ``expression`` is the text that set it (shown in hit explanations)."""

    expression: str
    start: float | None = None
    end: float | None = None
    order: Literal["first", "last"] | None = None

    def score(self, ts: np.ndarray, pos: np.ndarray, last_pos: int) -> np.ndarray:
        """A score in [0, 1] per candidate: 1 inside the window, halving every window width
        (at least a week) after it and every half width (at least a day) before it; for an
        order hint, the position in the namespace (oldest or newest first)."""
        ts = np.asarray(ts, dtype=np.float64)
        if self.start is not None and self.end is not None:
            # Said after the window, a turn may still tell of it ("we went camping in June",
            # said in July): it decays slowly. Said before, it can only be a plan: fast.
            width = self.end - self.start
            after = np.maximum(ts - self.end, 0.0) / max(width, 7 * DAY)
            before = np.maximum(self.start - ts, 0.0) / max(width / 2, DAY)
            return np.power(0.5, after + before)
        span = max(float(last_pos), 1.0)
        age = np.clip(np.asarray(pos, dtype=np.float64) / span, 0.0, 1.0)
        return 1.0 - age if self.order == "first" else age


@lru_cache(maxsize=256)
def zone(name: str | None) -> tzinfo:
    """The ``zoneinfo`` zone of an IANA name (None: UTC); ValueError naming ``timezone`` if unknown."""
    if name is None or name == "UTC":
        return timezone.utc
    if not isinstance(name, str) or not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise ValueError(f"timezone: {name!r} is not an IANA time zone name such as 'America/Los_Angeles'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"timezone: unknown time zone {name!r}; use an IANA name such as 'America/Los_Angeles' or 'Europe/Lisbon'"
        ) from None


def _day(year: int, month: int, day: int, tz: tzinfo) -> datetime:
    return datetime(year, month, day, tzinfo=tz)


def _month_window(year: int, month: int, tz: tzinfo) -> tuple[float, float]:
    start = _day(year, month, 1, tz)
    end = _day(year + (month == 12), month % 12 + 1, 1, tz)
    return start.timestamp(), end.timestamp()


def _latest_year(month: int, now: datetime) -> int:
    """The year of the most recent ``month`` that has begun by ``now``."""
    return now.year if month <= now.month else now.year - 1


def _date_hint(query: str, now: datetime) -> TimeHint | None:
    tz = now.tzinfo or timezone.utc
    t = now.timestamp()
    for m in _DATE.finditer(query):
        word = m.group("month").lower().rstrip(".")
        day = m.group("day1") or m.group("day2")
        year = m.group("year")
        prep = (m.group("prep") or "").strip().lower()
        if not (prep or day or year):
            continue  # a bare month name: "March on", "may" the verb
        if word == "may" and not (day or year or prep in {"in", "during", "since"}):
            continue
        month = _MONTHS.get(word, 5 if word == "may" else None)
        if month is None:
            continue
        y = int(year) if year else _latest_year(month, now)
        if day and 1 <= int(day) <= calendar.monthrange(y, month)[1]:
            start = _day(y, month, int(day), tz).timestamp()
            window = (start, start + DAY)
        else:
            window = _month_window(y, month, tz)
        if prep == "since":  # from then on, not that month only
            window = (window[0], max(t + 1, window[1]))
        return TimeHint(m.group(0).strip(), *window)
    season = _SEASON.search(query)
    if season:
        first, last = _SEASONS[season.group("season").lower()]
        y = int(season.group("year")) if season.group("year") else (now.year if first <= now.month else now.year - 1)
        start = _month_window(y, first, tz)[0]
        end = _month_window(y + (last < first), last, tz)[1]
        return TimeHint(season.group(0), start, end)
    whole_year = _YEAR.search(query)
    if whole_year:
        y = int(whole_year.group("year"))
        start = _day(y, 1, 1, tz).timestamp()
        end = _day(y + 1, 1, 1, tz).timestamp()
        if whole_year.group(0).lower().startswith("since"):  # "since 2019": from 2019 on
            end = max(t + 1, end)
        return TimeHint(whole_year.group(0), start, end)
    return None


def _relative_hint(query: str, now: datetime) -> TimeHint | None:
    m = _AGO.search(query)
    if m:
        n = m.group("n").lower()
        count = float(_NUMBERS.get(n, 0) if not n.isdigit() else int(n))
        span = _UNITS[m.group("unit").lower()] * DAY
        center = now.timestamp() - count * span
        return TimeHint(m.group(0), center - span / 2, center + span / 2)
    tz = now.tzinfo or timezone.utc
    today = _day(now.year, now.month, now.day, tz)
    t = now.timestamp()
    m = _WEEKDAY.search(query)
    if m:
        back = (today.weekday() - _WEEKDAYS[m.group("day").lower()]) % 7
        if back == 0 and m.group("which").lower() != "on":
            back = 7  # "last Tuesday" said on a Tuesday: a week ago
        day = today - timedelta(days=back)
        return TimeHint(m.group(0), day.timestamp(), (day + timedelta(days=1)).timestamp())
    m = _RELATIVE.search(query)
    if not m:
        return None
    rel = " ".join(m.group("rel").lower().split())
    if rel in {"today", "tonight", "this morning"}:
        return TimeHint(m.group(0), today.timestamp(), t + 1)
    if rel in {"yesterday", "last night"}:
        return TimeHint(m.group(0), (today - timedelta(days=1)).timestamp(), today.timestamp())
    which, unit = rel.split()
    if unit in {"week", "weekend"}:
        week0 = today - timedelta(days=today.weekday())
        if which == "this":
            return TimeHint(m.group(0), week0.timestamp(), t + 1)
        if which == "past":
            return TimeHint(m.group(0), t - 7 * DAY, t + 1)
        first_day = week0 - timedelta(days=7)
        if unit == "weekend":
            first_day += timedelta(days=5)
        return TimeHint(
            m.group(0), first_day.timestamp(), (first_day + timedelta(days=7 if unit == "week" else 2)).timestamp()
        )
    if unit == "month":
        if which == "this":
            return TimeHint(m.group(0), _month_window(now.year, now.month, tz)[0], t + 1)
        if which == "past":
            return TimeHint(m.group(0), t - 30.44 * DAY, t + 1)
        y, mo = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
        return TimeHint(m.group(0), *_month_window(y, mo, tz))
    year = now.year if which == "this" else now.year - 1
    if which == "past":
        return TimeHint(m.group(0), t - 365.25 * DAY, t + 1)
    start = _day(year, 1, 1, tz).timestamp()
    end = min(_day(year + 1, 1, 1, tz).timestamp(), t + 1)
    return TimeHint(m.group(0), start, end)


_PAST_WORDS = re.compile(
    r"\b(?:did|didn't|was|wasn't|were|weren't|had|hadn't|went|told|said|spoke|saw|met|got|made|took|gave|"
    r"bought|thought|felt|began|came|left|found|ate|wrote|chose|ago|earlier|before|previously|used\s+to|"
    r"last|yesterday|past|previous)\b",
    re.I,
)
_ED = re.compile(r"(?<![\w-])[a-z]{3,}ed\b", re.I)  # not "highly-rated"
_NOT_PAST_ED = frozenset(
    "speed indeed proceed succeed exceed hundred kindred interested excited tired bored based "
    "related advanced detailed limited varied mixed balanced supposed united talented".split()
)
_PAST_EXPRESSION = re.compile(r"\b(?:yesterday|last|past|previous|ago)\b", re.I)


def reads_past(query: str) -> bool:
    """True when ``query`` asks about the past: a past-tense verb or a past time word ("What did I
    cook last week?", "When was my first race?"); False for a request ("What should I watch this
    weekend?", "Plan my meals for tomorrow")."""
    if _PAST_WORDS.search(query):
        return True
    return any(m.group(0).lower() not in _NOT_PAST_ED for m in _ED.finditer(query))


def names_the_past(hint: TimeHint) -> bool:
    """True for a hint that can only point back ("yesterday", "last week", "three days ago") and
    for order words ("first", "latest": about the log's order, read either way); False for one
    that can also say when a request is for ("tonight", "this weekend", "in June")."""
    return hint.order is not None or bool(_PAST_EXPRESSION.search(hint.expression))


def parse_time_hint(query: str, now: float, tz: str | None = None) -> TimeHint | None:
    """The time a query points at, relative to ``now`` (epoch seconds) in the zone ``tz``
    (an IANA name; None: UTC), or None.

    Absolute dates win over relative expressions, which win over order words.
    """
    if not query:
        return None
    ref = datetime.fromtimestamp(now, tz=zone(tz))
    hint = _date_hint(query, ref) or _relative_hint(query, ref)
    if hint is not None:
        return hint
    m = _FIRST.search(query)
    if m:
        return TimeHint(m.group(0), order="first")
    m = _LAST.search(query)
    if m:
        return TimeHint(m.group(0), order="last")
    return None


_WHEN = re.compile(r"^\s*(?:when|what (?:year|month|day|date|time)|how long ago|since when)\b", re.I)
_TIME_WORDS = re.compile(
    rf"""(?x)\b(?:yesterday|today|tonight|tomorrow|last\s+(?:night|week(?:end)?|month|year|summer|winter|spring|fall)
    |this\s+(?:morning|week(?:end)?|month|year)|next\s+(?:week|month|year)|ago|recently|earlier
    |(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?
    |(?:{_MONTH_RE})\s+\d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH_RE})
    |(?:in|since|during)\s+(?:{_MONTH_RE}|(?:19|20)\d{{2}})|(?:19|20)\d{{2}})\b"""
)  # lower case, searched in lowered text: re.I on this alternation is ~3x slower per character


def asks_when(query: str) -> bool:
    """A question about a time: "When did ...", "What year ...", "How long ago ..."."""
    return bool(_WHEN.search(query))


@lru_cache(maxsize=8192)
def mentions_time(text: str) -> bool:
    """Whether a turn says when something happened ("yesterday", "last week", "on May 3").

    Scored on every candidate of a "when" query (hundreds per context), and the same chunks
    come back query after query: cached by text."""
    return bool(_TIME_WORDS.search(text.lower()))
