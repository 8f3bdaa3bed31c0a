"""Chunking: one chunk per short message; long ones split on their structure.

A chunk is what gets embedded, indexed and retrieved; it always points back to its
message (``part`` of ``parts``), and the assembler renders retrieved parts of a long
message, or the whole message, never a fragment without saying so.

Splitting order, first that applies:

1. JSON (tool outputs are often JSON): an array is split into its records, an object into
   its top-level keys; consecutive small records are grouped up to ``record_tokens`` so a
   query can reach the one record that matters without a chunk per tiny item.
2. Paragraphs (blank lines), then lines, then sentences, packed up to ``max_tokens``.
3. A hard cut by tokens for anything still too long (a minified blob, a base64 string).

Every piece is at most ``max_tokens`` tokens of the configured counter.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from memory.errors import InvalidArgument
from memory.models import FilePart, ImagePart, Message, too_deep
from memory.tokens import TokenCounter, token_pieces

Kind = Literal["text", "tool_call", "tool_result", "image", "file", "summary"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True)
class ChunkText:
    """One chunk's text, what kind of content it came from, and its token count."""

    text: str
    kind: Kind
    tokens: int


def message_kind(msg: Message) -> Kind:
    if msg.role == "tool":
        return "tool_result"
    if msg.tool_calls:
        return "tool_call"
    if isinstance(msg.content, list):
        if any(isinstance(p, ImagePart) for p in msg.content):
            return "image"
        if any(isinstance(p, FilePart) for p in msg.content):
            return "file"
    if msg.metadata.get("kind") == "summary":
        return "summary"
    return "text"


class Chunker:
    """Splits a message into token-bounded pieces (see the module docstring)."""

    def __init__(self, counter: TokenCounter, max_tokens: int = 200, record_tokens: int = 96) -> None:
        if max_tokens < 8:
            raise InvalidArgument("max_tokens: chunks need at least 8 tokens", field="max_tokens")
        self.counter = counter
        self._memo = threading.local()  # counts made while splitting one message (see _count)
        self.max_tokens = max_tokens
        self.record_tokens = max(1, min(record_tokens, max_tokens))

    def _count(self, text: str) -> int:
        """The counter's count, each text once per message split (a unit is counted when checked,
        again when packed, and a piece again as a piece); nothing is kept after the split."""
        memo: dict[str, int] | None = getattr(self._memo, "counts", None)
        if memo is None:
            return self.counter.count(text)
        n = memo.get(text)
        if n is None:
            n = memo[text] = self.counter.count(text)
        return n

    def split(self, msg: Message) -> list[ChunkText]:
        self._memo.counts = {}
        try:
            return self._split(msg)
        finally:
            self._memo.counts = None

    def _split(self, msg: Message) -> list[ChunkText]:
        kind = message_kind(msg)
        text = msg.text()
        if not text.strip():
            return [ChunkText(text="", kind=kind, tokens=0)]
        n = self._count(text)
        if n <= self.max_tokens:
            return [ChunkText(text=text, kind=kind, tokens=n)]
        return [ChunkText(text=t, kind=kind, tokens=self._count(t)) for t in self.split_text(text)]

    # -- text ------------------------------------------------------------------------------

    def split_text(self, text: str) -> list[str]:
        """Pieces of ``text``, each at most ``max_tokens`` tokens, none empty."""
        stripped = text.strip()
        if stripped[:1] in "[{":
            try:
                data = json.loads(stripped)
            except (ValueError, RecursionError):  # not JSON, or nested past the stack: prose
                data = None
            if too_deep(data) is not None:  # deeper than stored JSON may be: split as prose
                data = None
            if isinstance(data, (list, dict)) and data:
                return self._enforce(self._split_json(data))
        return self._enforce(self._split_prose(text))

    def _enforce(self, pieces: list[str]) -> list[str]:
        out: list[str] = []
        for p in pieces:
            if p.strip():
                out.extend([p] if self._fits(p) else self._hard(p))
        return out

    def _fits(self, text: str, limit: int | None = None) -> bool:
        return self._count(text) <= (limit or self.max_tokens)

    def _pack(self, units: Iterable[str], sep: str, limit: int) -> list[str]:
        """Greedily join consecutive units with ``sep`` while the result fits ``limit``.

        The joined text is counted as a whole: a separator such as ``"\\n"`` costs a token
        of its own between two words, and tokens can merge across a seam, so summing the
        units' counts is not exact (an undercount here used to overflow the piece, which
        was then hard-cut mid-paragraph into a full piece and a one-word scrap).
        """
        out: list[str] = []
        cur: list[str] = []
        cur_tokens = 0  # exact, or a sum of counts well under the limit (see below)
        sep_tokens = self._count(sep) if sep.strip() else 1
        for unit in units:
            t = self._count(unit)
            if cur:
                # Far below the limit the sum of the counts decides (a seam moves a count by a
                # token or so, never by a fifth of the limit); near it, the joined text is
                # counted exactly. Counting every growing prefix made packing quadratic: most
                # of the time of adding a 1,000-word answer.
                estimate = cur_tokens + sep_tokens + t
                if estimate + len(cur) <= limit * 4 // 5:
                    cur.append(unit)
                    cur_tokens = estimate
                    continue
                if cur_tokens + t <= limit:  # cheap pre-check; the exact count decides
                    joined = self._count(sep.join([*cur, unit]))
                    if joined <= limit:
                        cur.append(unit)
                        cur_tokens = joined
                        continue
                out.append(sep.join(cur))
            cur, cur_tokens = [unit], t
        if cur:
            out.append(sep.join(cur))
        # A single unit may exceed ``limit`` (a JSON record above record_tokens): the
        # piece bound is max_tokens, enforced here.
        fixed: list[str] = []
        for piece in out:
            fixed.extend([piece] if self._fits(piece) else self._hard(piece))
        return fixed

    def _split_prose(self, text: str) -> list[str]:
        return [p for p in self._split_level(text, 0) if p.strip()]

    def _split_level(self, text: str, level: int) -> list[str]:
        if self._fits(text):
            return [text]
        if level == 0:
            units, sep = re.split(r"\n\s*\n", text), "\n\n"
        elif level == 1:
            units, sep = text.split("\n"), "\n"
        elif level == 2:
            units, sep = _SENTENCE.split(text), " "
        else:
            return self._hard(text)
        units = [u for u in units if u.strip()]
        if len(units) <= 1:
            return self._split_level(text, level + 1)
        small: list[str] = []
        for u in units:
            small.extend([u] if self._fits(u) else self._split_level(u, level + 1))
        return self._pack(small, sep, self.max_tokens)

    def _hard(self, text: str) -> list[str]:
        """Cut by tokens (last resort): one encoding of the text, cut as a token list, so the cost
        is linear in its length (re-encoding the rest at every cut made a 200k-character CJK
        message take 39 s)."""
        return [p for p in token_pieces(self.counter, text, self.max_tokens) if p.strip()]

    # -- JSON ------------------------------------------------------------------------------

    def _split_json(self, data: list[Any] | dict[str, Any]) -> list[str]:
        if isinstance(data, list):
            units = [_dump(item) for item in data]
        else:
            units = [_dump({k: v}) for k, v in data.items()]
        small: list[str] = []
        for u in units:
            if self._fits(u):
                small.append(u)
            else:
                small.extend(self._split_prose(u) if not u.startswith(("[", "{")) else self._split_nested(u))
        return self._pack(small, "\n", self.record_tokens)

    def _split_nested(self, unit: str) -> list[str]:
        data = json.loads(unit)
        # A single-key object wrapping a big value: split the value.
        if isinstance(data, dict) and len(data) == 1:
            ((key, value),) = data.items()
            if isinstance(value, (list, dict)) and value:
                return self._enforce([f"{json.dumps(key)}: {p}" for p in self._split_json(value)])
        if isinstance(data, (list, dict)) and len(data) > 1:
            return self._enforce(self._split_json(data))
        return self._hard(unit)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
