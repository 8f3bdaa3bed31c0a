"""Token counting: the budget's unit.

A :class:`TokenCounter` turns text into a token count (and can cut text to a token
limit). Two real implementations:

- :class:`BpeOpenAICounter` (default, ``o200k_base``): OpenAI's own BPE, offline, via
  ``bpe-openai``. Exact for GPT-4o / GPT-4.1 / o-series models (``cl100k_base`` for
  GPT-4 / GPT-3.5).
- :class:`HFTokenizerCounter`: any Hugging Face ``tokenizer.json`` (by default the one
  shipped with the bundled all-MiniLM-L6-v2), for open models served elsewhere.

Chat messages are counted by :func:`count_message` / :func:`count_messages` the way the
chat-completions API bills a prompt (OpenAI cookbook, "How to count tokens with
tiktoken"), and every field a message carries is paid for, so a budget holds for whatever
is sent:

- every message costs 3 tokens of framing (``<|start|>role ... <|end|>``);
- each field's value is encoded and counted: ``role``, the text ``content``, ``name``
  (plus 1 token when a ``name`` is present);
- content parts: text parts are counted as text; an image by OpenAI's rule for its
  ``detail`` and size (:mod:`memory.models.images`: 85 tokens at ``low``, 85 + 170 per 512 px tile
  otherwise), the size read from the part's ``width``/``height`` or its data URL, else the
  stated upper bound of 1445 tokens; a file part costs its text surrogate (an inline text
  file's decoded text, or the caller's ``text``), or 85 tokens without one (a PDF sent without
  ``text`` cannot be priced offline: give its extracted text);
- each tool call costs its id, function name and arguments JSON plus 6 tokens of
  framing (type and separators, measured against the API's ``usage`` field for short
  calls); a ``tool`` message also pays for its ``tool_call_id``;
- any other field (provider extras kept through the round trip, such as
  ``reasoning_content``, ``refusal`` or ``audio``) costs its key plus its value: the text of a
  string, else its compact JSON. The API may bill less for some; never more;
- the whole prompt pays 3 more tokens that prime the reply (``<|start|>assistant``):
  :func:`count_messages` adds them, :func:`count_message` does not.

These figures match the API's ``prompt_tokens`` exactly for plain text messages; for
tool calls, images and extra fields they are the documented rules above, chosen to be at
least what the API bills.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from memory.embedders.base import bundled_model_path
from memory.errors import InvalidArgument
from memory.models.images import image_part_tokens

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_TOKENS = 85
TOOL_CALL_OVERHEAD = 6
# Bumped whenever the rules of count_message change: a log counted under other rules is
# recounted on open (memory.Memory compares it with the stored counter identity).
COUNT_RULES_VERSION = 2
# The fields count_message prices by their own rule; any other field is priced as key + value.
_PRICED_FIELDS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})

# bpe-openai refuses inputs of 1M characters or more, and outputs above 200k tokens per
# call. A character is at most 4 UTF-8 bytes, so at most 4 tokens: segments of 40k
# characters stay under both limits whatever the script. Longer texts are counted in
# segments cut just before a space that starts a word (where o200k's pre-tokenizer cuts
# anyway, so the count stays exact for ordinary text).
_SEGMENT_CHARS = 40_000
_WORD_START = re.compile(r"(?<=\S) (?=\S)")


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of text. ``name`` identifies the tokenizer (stored with the log)."""

    name: str

    def count(self, text: str) -> int: ...

    def count_batch(self, texts: Sequence[str]) -> list[int]: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


def _segments(text: str, size: int = _SEGMENT_CHARS) -> list[str]:
    """Cut text into pieces of at most ``size`` characters, preferring cuts before a word."""
    if len(text) <= size:
        return [text]
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            lo = start + size // 2
            cut = -1
            for m in _WORD_START.finditer(text, lo, end):
                cut = m.start()
            if cut < 0:  # no word boundary: any whitespace, else a plain cut
                cut = max(text.rfind("\n", lo, end), text.rfind(" ", lo, end))
            if cut > start:
                end = cut
        out.append(text[start:end])
        start = end
    return out


class _Encoding(Protocol):
    """What the counter uses of a ``bpe_openai`` encoding (the package ships no types)."""

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...

    def decode_bytes(self, tokens: list[int]) -> bytes: ...


class BpeOpenAICounter:
    """Exact OpenAI token counts, offline (``o200k_base`` by default, or ``cl100k_base``).

    Special-token strings such as ``<|endoftext|>`` inside user text are counted as plain
    text, the way the API treats user content.
    """

    def __init__(self, encoding: str = "o200k_base") -> None:
        import bpe_openai  # noqa: PLC0415 - lazy: its import takes ~1.5 s; a memory may use another counter

        try:
            self._enc: _Encoding = bpe_openai.get_encoding(encoding)
        except Exception as exc:  # unknown name
            names = ", ".join(bpe_openai.list_encoding_names())
            raise InvalidArgument(
                f"counter: unknown encoding {encoding!r}; use one of {names}", field="counter"
            ) from exc
        self.name = encoding

    def encode(self, text: str) -> list[int]:
        tokens: list[int] = []
        for seg in _segments(text):
            tokens.extend(self._enc.encode_ordinary(seg))
        return tokens

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self.encode(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        tokens = self.encode(text)
        if len(tokens) <= max(max_tokens, 0):
            return text  # fits as is (whitespace-only text costs nothing)
        if max_tokens <= 0:
            return ""
        cut = self._enc.decode(tokens[:max_tokens])
        # A cut inside a multi-byte character decodes to U+FFFD; drop it, and re-check.
        cut = cut.rstrip("\ufffd")
        while cut and self.count(cut) > max_tokens:
            cut = cut[:-1]
        return cut

    def pieces(self, text: str, max_tokens: int) -> list[str]:
        """``text`` cut into consecutive pieces of at most ``max_tokens`` tokens each (joined, they
        are ``text``), from one encoding of the whole text: linear in its length.

        Each piece is a run of the text's tokens that ends on a character boundary (a token can
        hold part of a multi-byte character), shortened by a token while the piece counted on its
        own (a cut can change how its ends tokenize) is over ``max_tokens``.
        """
        tokens = self.encode(text)
        if len(tokens) <= max_tokens:
            return [text] if text else []
        out: list[str] = []
        pos = start = 0
        while pos < len(tokens):
            k = min(max(max_tokens, 1), len(tokens) - pos)
            while k > 0:
                try:
                    piece = self._enc.decode_bytes(tokens[pos : pos + k]).decode("utf-8")
                except UnicodeDecodeError:  # ends inside a character
                    k -= 1
                    continue
                if self.count(piece) <= max_tokens or k == 1:
                    break
                k -= 1
            if k == 0:  # one character worth more than max_tokens tokens: take it anyway, whole
                k = 1
                while True:
                    try:
                        piece = self._enc.decode_bytes(tokens[pos : pos + k]).decode("utf-8")
                        break
                    except UnicodeDecodeError:
                        k += 1
            out.append(piece)
            pos += k
            start += len(piece)
        return out

    def __repr__(self) -> str:
        return f"BpeOpenAICounter({self.name!r})"


class HFTokenizerCounter:
    """Counts with a Hugging Face ``tokenizers`` tokenizer.json (no special tokens added).

    Default: the tokenizer of the bundled all-MiniLM-L6-v2 (WordPiece).
    """

    def __init__(self, path: str | Path | None = None, *, name: str | None = None) -> None:
        from tokenizers import Tokenizer  # noqa: PLC0415 - lazy: only this counter needs it (the default is bpe_openai)

        if path is None:
            path = bundled_model_path() / "tokenizer.json"
            name = name or "minilm"
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise InvalidArgument(f"counter: no tokenizer.json at {str(p)!r}", field="counter")
        tok = Tokenizer.from_file(str(p))
        tok.no_truncation()
        tok.no_padding()
        self._tok = tok
        self._lock = threading.Lock()
        self.name = name or f"hf:{p}"

    def _ids(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._ids(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encs = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def truncate(self, text: str, max_tokens: int) -> str:
        enc = self._tok.encode(text, add_special_tokens=False)
        if len(enc.ids) <= max(max_tokens, 0):
            return text  # fits as is (whitespace-only text costs nothing)
        if max_tokens <= 0:
            return ""
        end = enc.offsets[max_tokens - 1][1]
        return text[:end]

    def pieces(self, text: str, max_tokens: int) -> list[str]:
        """``text`` cut into consecutive pieces of at most ``max_tokens`` tokens each (joined, they
        are ``text``), cut at token offsets of one encoding of the whole text: linear in its length.
        A piece counted on its own over ``max_tokens`` (a cut inside a word) loses a token."""
        enc = self._tok.encode(text, add_special_tokens=False)
        offsets = enc.offsets
        if len(offsets) <= max_tokens:
            return [text] if text else []
        out: list[str] = []
        pos = start = 0
        while start < len(text):
            k = min(max(max_tokens, 1), len(offsets) - pos)
            if k <= 0:  # only text without tokens left (whitespace)
                out.append(text[start:])
                break
            while True:
                end = len(text) if pos + k >= len(offsets) else offsets[pos + k - 1][1]
                piece = text[start:end]
                if k == 1 or self.count(piece) <= max_tokens:
                    break
                k -= 1
            if end <= start:  # a token without text (cannot happen for tokenizer.json files): stop cutting
                out.append(text[start:])
                break
            out.append(piece)
            pos += k
            start = end
        return out

    def __repr__(self) -> str:
        return f"HFTokenizerCounter({self.name!r})"


def token_pieces(counter: TokenCounter, text: str, max_tokens: int) -> list[str]:
    """``text`` cut into consecutive pieces of at most ``max_tokens`` tokens (joined, they are
    ``text``), in time linear in its length: the counter's own ``pieces`` when it has one (both
    counters here do: one encoding, cut as a token list), else :meth:`TokenCounter.truncate` over a
    window of the text a few times the size of a piece (never over all the rest of it)."""
    own = getattr(counter, "pieces", None)
    if callable(own):
        result: list[str] = own(text, max_tokens)
        return result
    out: list[str] = []
    start = 0
    while start < len(text):
        width = max(max_tokens, 1) * 8
        while True:
            window = text[start : start + width]
            head = counter.truncate(window, max_tokens)
            if head != window or start + width >= len(text):
                break
            width *= 2  # the window fits: the piece ends further on
        head = head or text[start]  # a single character worth more than max_tokens: take it anyway
        out.append(head)
        start += len(head)
    return out


@lru_cache(maxsize=8)
def get_counter(name: str = "o200k_base") -> TokenCounter:
    """A counter by name: ``o200k_base``, ``cl100k_base`` (and other bpe-openai
    encodings), ``minilm`` (the bundled model's WordPiece) or ``hf:/path/to/tokenizer.json``."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument("counter: give an encoding name such as 'o200k_base'", field="counter")
    if name == "minilm":
        return HFTokenizerCounter()
    if name.startswith("hf:"):
        return HFTokenizerCounter(name[3:], name=name)
    return BpeOpenAICounter(name)


def default_counter() -> TokenCounter:
    return get_counter("o200k_base")


def counting_id(counter: TokenCounter) -> str:
    """The counter's name and the counting rules' version: stored counts are valid while it stays the same."""
    return f"{counter.name}/rules-{COUNT_RULES_VERSION}"


def _value_tokens(counter: TokenCounter, value: Any) -> int:
    """A field value as it travels: a string's text, anything else as compact JSON."""
    if isinstance(value, str):
        return counter.count(value)
    return counter.count(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _content_tokens(counter: TokenCounter, content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return counter.count(content)
    total = 0
    for part in content:
        if isinstance(part, Mapping):
            kind = part.get("type")
            if kind == "text":
                total += counter.count(str(part.get("text", "")))
            elif kind == "image_url":
                total += image_part_tokens(part)
            elif kind == "file":
                text = part.get("text")
                total += counter.count(text) if text else IMAGE_TOKENS
            else:
                total += _value_tokens(counter, part)
        else:
            total += _value_tokens(counter, part)
    return total


def count_message(counter: TokenCounter, message: Mapping[str, Any]) -> int:
    """Tokens one OpenAI chat message costs in a prompt (see the module docstring)."""
    total = TOKENS_PER_MESSAGE
    total += counter.count(str(message.get("role", "")))
    total += _content_tokens(counter, message.get("content"))
    name = message.get("name")
    if name:
        total += counter.count(str(name)) + TOKENS_PER_NAME
    for call in message.get("tool_calls") or ():
        if not isinstance(call, Mapping):
            total += _value_tokens(counter, call)
            continue
        fn = call.get("function") or {}
        total += TOOL_CALL_OVERHEAD + counter.count(str(call.get("id") or ""))
        total += counter.count(str(fn.get("name", "")))
        total += counter.count(str(fn.get("arguments", "")))
    call_id = message.get("tool_call_id")
    if call_id:
        total += counter.count(str(call_id))
    for key, value in message.items():
        if key not in _PRICED_FIELDS:
            total += counter.count(str(key)) + _value_tokens(counter, value)
    return total


def count_messages(counter: TokenCounter, messages: Sequence[Mapping[str, Any]]) -> int:
    """Tokens a whole prompt costs: every message plus the 3 reply-priming tokens."""
    return REPLY_PRIMING + sum(count_message(counter, m) for m in messages)
