"""Short user replies that choose among or accept what the assistant just proposed ("Option 4,
definitely.", "Let's go with the second one.", "That works for me."): such a reply carries no words
of its own, so it is found through the turn it answers, and that turn is as much the user's as the
reply (the user chose it)."""

from __future__ import annotations

import re

MAX_REPLY_WORDS = 24  # a choice is a short reply; a longer turn says something of its own

_NUM = r"(?:\d|one|two|three|four|five|six)"
_ORD = r"(?:first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|6th|last)"
_CHOICE = re.compile(
    rf"\b(?:option|number|choice|no\.)\s*#?{_NUM}\b"  # "option 4", "number two"
    r"|(?:^|[\s,(])#?[1-9](?=\s*(?:[,.!)]|$|for\s+sure|please|sounds|looks|is\s+the))"  # "Ooh, 1 for sure."
    rf"|\b{_ORD}\s+(?:one|option|choice|idea|pick|plan|is|sounds|looks|for\s+me)\b"  # "the second one"
    r"|\b(?:go|going)\s+with\b|\b(?:go|going)\s+for\s+(?:the|option|number|that|this|it|\d)"
    r"|\bi'?ll\s+(?:take|pick|choose)\b|\blet'?s\s+(?:do|go\s+with|try)\b"
    r"|\b(?:sounds|looks)\s+(?:good|great|perfect|right|ideal)\b|\bthat\s+works\b|\bworks\s+for\s+me\b"
    r"|\bthat'?s\s+(?:the\s+one|so\s+me|perfect)\b|\b(?:is|'s)\s+the\s+one\b|\bi'?m\s+in\b"
    r"|\bdeal\b|\bagreed\b",
    re.I,
)


def is_choice(text: str) -> bool:
    """True for a short reply that picks or accepts a proposal (see the module docstring); a
    question is not one ("Is the second one cheaper?" still weighs the options)."""
    return "?" not in text and len(text.split()) <= MAX_REPLY_WORDS and bool(_CHOICE.search(text))
