"""Query analysis: what a query says about where its answer lies, read once per query.

Every prior in assembly fires on a signal found here, and only then:

- ``named``: participants the query names ("What did Caroline research?"), matched against
  the ``name`` fields of the stored messages (:func:`named_speakers`);
- ``person``: whose turns a query about the chat itself points at, from its pronouns:
  "my", "I" (and no "you") point at the user's own turns ("What is my sister's name?"),
  "you" (and no "I") at the assistant's ("Which trail did you recommend?");
- ``time``: a date, a relative time or an order word (:mod:`retrievers.temporal`);
- ``asks_when``: the answer is a time ("When did ...?");
- ``follow_up``: the query leans on the turns before it ("and what did it cost?").

Nothing here reads the log: callers pass what they know (the participants' names, the
reference time), so the analysis is a pure function of its inputs and cheap to test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from retrievers.lexical import query_terms
from retrievers.temporal import TimeHint, asks_when, names_the_past, parse_time_hint, reads_past

Person = Literal["user", "assistant"]


@dataclass(frozen=True)
class QueryAnalysis:
    """The signals of one query (see the module docstring)."""

    text: str | None
    lexical_text: str | None
    named: frozenset[str] = field(default_factory=frozenset)
    person: Person | None = None
    time: TimeHint | None = None
    asks_when: bool = False
    follow_up: bool = False


def analyze(
    query: str | None,
    *,
    speakers: dict[str, str] | None = None,
    now: float | None = None,
    names_in_lexical: bool = False,
    timezone: str | None = None,
    time_reading: Literal["any", "past"] = "any",
    person_reading: Literal["any", "addressee", "speaker"] = "any",
) -> QueryAnalysis:
    """Read a query's signals.

    ``speakers`` maps lowercased participant names to the stored ones (``Store.speakers``);
    a query naming all of them prefers none. ``now`` (epoch seconds) anchors relative
    times, read in ``timezone`` (an IANA name; None: UTC); without ``now`` no time hint
    is read. Unless ``names_in_lexical``, named participants
    are taken out of the lexical query: the speaker prior carries the name, and as a BM25
    term it would favour the turns that *address* that person, which are the other's.
    """
    if not query or not query.strip():
        return QueryAnalysis(text=query, lexical_text=query)
    named: set[str] = set()
    if speakers:
        named = named_speakers(query, speakers)
        if len(named) >= len(speakers):
            named = set()
    lexical = query if (names_in_lexical or not named) else without_names(query, named)
    time = parse_time_hint(query, now, timezone) if now is not None else None
    if time is not None and time_reading == "past" and not names_the_past(time) and not reads_past(query):
        time = None  # "this weekend" in a request says when it is for, not when its evidence was said
    if person_reading == "speaker":
        person = speaking_person(query)
    else:
        person = addressed_person(query, addressee=person_reading == "addressee")
    return QueryAnalysis(
        text=query,
        lexical_text=lexical,
        named=frozenset(named),
        person=person,
        time=time,
        asks_when=asks_when(query),
        follow_up=is_follow_up(query),
    )


# -- participants ----------------------------------------------------------------------------


def named_speakers(query: str, speakers: dict[str, str]) -> set[str]:
    """The participants a query names: ``speakers`` maps lowercased ``name`` values to the
    stored ones; a name matches as a whole word on its full form or its first part
    (``Mary_Jane`` matches "Mary Jane", "mary", "Mary's")."""
    text = query.lower()
    out = set()
    for name in speakers.values():
        if any(re.search(r"(?<!\w)" + re.escape(f) + r"(?!\w)", text) for f in _name_forms(name)):
            out.add(name)
    return out


def _name_forms(name: str) -> list[str]:
    parts = [p for p in re.split(r"[_\-\s]+", name.lower()) if p]
    return [f for f in dict.fromkeys([" ".join(parts), parts[0]] if parts else []) if len(f) > 1]


def without_names(query: str, names: set[str] | frozenset[str]) -> str:
    """The query with the given participants' names (and their possessive) taken out."""
    out = query
    for name in names:
        for form in _name_forms(name):
            out = re.sub(r"(?<!\w)" + re.escape(form) + r"(?:'s)?(?!\w)", " ", out, flags=re.I)
    return " ".join(out.split())


_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|myself|i'm|i've|i'd|i'll)\b", re.I)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you've|you'd|you'll|you're)\b", re.I)


_ASKS_OF_YOU = re.compile(r"\b(?:remind|tell|show|give|help|let|send|get|find)\s+me\b", re.I)


_YOU_SAID = re.compile(
    r"\b(?:did|have|had|would|do)\s+you\s+(?:\w+\s+)?(?:say|said|tell|told|suggest|recommend|point|mention|propose|"
    r"advise|give|pick|name|call|send|write|share)\w*\b|\byou\s+(?:said|told|suggested|recommended|pointed|mentioned|"
    r"proposed|advised|gave|picked|named|called|sent|wrote|shared)\b",
    re.I,
)


def speaking_person(query: str) -> Person | None:
    """The side whose turns hold the answer, read from who *said* it: "you" as the one who said,
    suggested or recommended something points at the assistant ("How much of a cushion did you
    tell me to keep?"); otherwise "I"/"my" point at the user, also next to a "you" that is asked to
    do something ("Which punctuation should you leave out when you write for me?": what the user
    asked for); a "you" alone at the assistant, as :func:`addressed_person`."""
    if _YOU_SAID.search(query):
        return "assistant"
    if _FIRST_PERSON.search(query):
        return "user"
    return "assistant" if _SECOND_PERSON.search(query) else None


def addressed_person(query: str, *, addressee: bool = False) -> Person | None:
    """Whose turns a question about the chat points at: the user's for "my"/"I" without
    "you", the assistant's for "you" without "I"; None when both or neither appear (a
    third-person question, "What did Caroline research?", or "What did I tell you?").

    With ``addressee``, the "me" of a request to the assistant ("Remind me what we said about
    the launch", "Tell me the plan again") does not point at the user's side."""
    if addressee:
        query = _ASKS_OF_YOU.sub(" ", query)
    first = bool(_FIRST_PERSON.search(query))
    second = bool(_SECOND_PERSON.search(query))
    if first and not second:
        return "user"
    if second and not first:
        return "assistant"
    return None


# -- follow-ups ------------------------------------------------------------------------------

_LEADS = re.compile(r"^\s*(?:and|but|so|also|then|what about|how about|or)\b", re.I)
_PRONOUNS = frozenset("it its that this those these they them their there he she him her one ones".split())


def is_follow_up(query: str, *, max_terms: int = 3) -> bool:
    """True for a query that leans on the turns before it: at most ``max_terms`` content
    words, and a leading "and"/"but"/"what about" or a pronoun ("and what did it cost?",
    "is that one open on Sundays?"); False for a self-contained one ("Where is KX-48211-Q?")."""
    if len(query_terms(query)) > max_terms:
        return False
    words = {w.strip(".,;:!?'\"") for w in query.lower().split()}
    return bool(_LEADS.match(query)) or bool(words & _PRONOUNS)
