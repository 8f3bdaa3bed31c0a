"""Rolling session summaries: older turns condensed into a summary message that is indexed.

When a session grows past a threshold, :meth:`memory.Memory.summarize` condenses the turns
between the last summary and the recent window into one summary message, stored in the
companion session ``<session>::summaries`` with ``metadata.summary_of`` = the turns it
covers. It is chunked, embedded and indexed like any turn, so retrieval can reach it; the
raw turns stay in the log. Summaries of one session form a gap-free chain: each is written
with ``base_seq`` on the companion session, so two summarizers racing over the same range
store one summary, never two overlapping ones.

Summarizers: :class:`ExtractiveSummarizer` (offline default: the most informative line of
each turn, by names, numbers and ids) and :class:`ChatSummarizer` (any OpenAI-compatible
``/chat/completions`` endpoint through :mod:`memory.llm`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from memory.llm import chat_completion, http_client
from memory.models import StoredMessage
from memory.stores.rows import SUMMARY_SUFFIX
from memory.tokens import TokenCounter

SUFFIX = SUMMARY_SUFFIX
_INFORMATIVE = re.compile(r"\b(?:[A-Z][a-z]+|[A-Z]{2,}[-\w]*|\w*\d[\w.,:/-]*)\b")


def summary_session(session: str) -> str:
    return session + SUFFIX


class Summarizer(Protocol):
    name: str

    def summarize(self, messages: Sequence[StoredMessage], *, max_tokens: int, counter: TokenCounter) -> str: ...


def _line(m: StoredMessage) -> str:
    who = m.name or str(m.metadata.get("speaker") or m.role)
    return f"{who}: {' '.join(m.text().split())}"


class ExtractiveSummarizer:
    """Keeps the turns that carry the most names, numbers and ids, shortened, in order.

    No model call and no download: a turn's score is its count of informative tokens per
    square root of its length; tool calls and very short turns score low.
    """

    name = "extractive"

    def __init__(self, max_line_tokens: int = 60) -> None:
        self.max_line_tokens = max_line_tokens

    def summarize(self, messages: Sequence[StoredMessage], *, max_tokens: int, counter: TokenCounter) -> str:
        scored: list[tuple[float, int, str]] = []
        for i, m in enumerate(messages):
            if m.role == "system":
                continue
            line = counter.truncate(_line(m), self.max_line_tokens)
            words = max(1, len(line.split()))
            score = len(_INFORMATIVE.findall(line)) / words**0.5 + (0.0 if m.tool_calls else 0.1)
            scored.append((score, i, line))
        budget = max_tokens
        chosen: list[tuple[int, str]] = []
        for _, i, line in sorted(scored, key=lambda t: (-t[0], t[1])):
            cost = counter.count(line) + 1
            if cost <= budget:
                chosen.append((i, line))
                budget -= cost
        return "\n".join(f"- {line}" for _, line in sorted(chosen))


class ChatSummarizer:
    """Summaries written by an LLM behind any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, ...)."""

    prompt = (
        "Summarize these turns of a conversation for an assistant that will continue it. Keep names, dates, "
        "numbers, ids, decisions and every fact a person stated. At most {max_tokens} tokens."
    )

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        timeout: float = 120.0,
        client: Any = None,
    ) -> None:
        self.name = f"chat:{model}"
        self.model = model
        self.client = client or http_client(base_url, api_key=api_key, timeout=timeout)

    def complete(self, transcript: str, max_tokens: int, *, prompt: str | None = None) -> str:
        """One summary of ``transcript`` in at most ``max_tokens`` (``prompt`` may carry ``{max_tokens}``)."""
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": (prompt or self.prompt).format(max_tokens=max_tokens)},
                {"role": "user", "content": transcript},
            ],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        return chat_completion(self.client, body, what="summarizer")

    def summarize(self, messages: Sequence[StoredMessage], *, max_tokens: int, counter: TokenCounter) -> str:
        transcript = counter.truncate("\n".join(_line(m) for m in messages), 100_000)
        return counter.truncate(self.complete(transcript, max_tokens), max_tokens)


@dataclass
class RollingSummary:
    """When a session has more than ``every`` turns beyond the last summary and the most recent
    ``keep_last``, :meth:`Memory.add` summarizes them (``max_tokens`` each) with ``summarizer``."""

    every: int = 200
    keep_last: int = 50
    max_tokens: int = 400
    summarizer: Summarizer | None = None


__all__ = [
    "SUFFIX",
    "ChatSummarizer",
    "ExtractiveSummarizer",
    "RollingSummary",
    "Summarizer",
    "chat_completion",
    "summary_session",
]
