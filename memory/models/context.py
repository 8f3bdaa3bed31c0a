"""What reads return: chunks, hits and why they were picked, tool-call states, :class:`Context`."""

from __future__ import annotations

import html
from typing import Any, Literal

from pydantic import BaseModel, Field

from memory.models.formats import anthropic_messages, openai_messages
from memory.models.messages import MessageRef

ChunkKind = Literal["text", "tool_call", "tool_result", "image", "summary"]


class Chunk(BaseModel):
    """A searchable piece of one message; ``part`` of ``parts`` when the message was split."""

    id: int | None = None
    namespace: str
    session: str
    seq: int
    part: int = 0
    parts: int = 1
    kind: ChunkKind = "text"
    text: str
    tokens: int = 0


class Hit(BaseModel):
    """One retrieved chunk and why it was picked.

    ``scores`` holds the score breakdown: ``dense`` (cosine), ``lexical`` (BM25, when on),
    ``recency`` (0..1 prior) and ``final`` (what the ranking used). ``reason`` says how it
    entered the context: ``retrieved`` or an expansion (``tool_pair``, ``neighbor``).
    """

    chunk_id: int
    text: str
    namespace: str
    session: str
    seq: int
    part: int = 0
    parts: int = 1
    role: str
    rank: int
    scores: dict[str, float]
    reason: str = "retrieved"
    tokens: int = 0

    def explain(self) -> str:
        """One line: where the chunk is, how it entered the context, and its score breakdown."""
        order = ("dense", "lexical", "relevance", "recency", "session", "speaker", "time", "answer_type")
        parts = [f"{k} {self.scores[k]:.2f}" for k in order if k in self.scores]
        parts += [f"{k} {v:.2f}" for k, v in self.scores.items() if k not in order and k != "final"]
        final = self.scores.get("final")
        score = f" -> final {final:.3f}" if final is not None else ""
        where = f"{self.session}#{self.seq}" + (f" part {self.part + 1}/{self.parts}" if self.parts > 1 else "")
        return f"#{self.rank} {where} ({self.role}, {self.reason}): {', '.join(parts)}{score}"

    def _repr_html_(self) -> str:  # Jupyter
        return f"<p><code>{html.escape(self.explain())}</code><br>{html.escape(self.text[:300])}</p>"


Origin = Literal["pinned", "window", "retrieved"]


ToolStatus = Literal["pending", "completed", "error", "retried"]


class ToolCallState(BaseModel):
    """Where one tool call stands: ``pending`` (no result stored yet), ``completed``, ``error``
    (its result carries ``metadata={"is_error": True}``) or ``retried`` (it failed and a later
    call of the same function followed: ``retried_by``)."""

    id: str
    name: str
    arguments: str
    call_seq: int
    result_seq: int | None = None
    status: ToolStatus
    retried_by: str | None = None


class Source(BaseModel):
    """Where one message of a context came from (parallel to ``Context.messages``).

    ``ref`` is None for the pinned system message. ``partial`` marks a long message of
    which only the retrieved chunks are shown.
    """

    ref: MessageRef | None
    origin: Origin
    partial: bool = False


class Context(BaseModel):
    """What :meth:`memory.Memory.assemble` returns: messages ready to send, and why.

    ``messages`` are OpenAI chat-format dicts in chronological order; ``tokens`` is their
    count as the chat API bills them (see :mod:`memory.tokens`) and never exceeds ``budget``.
    ``unindexed`` is how many chunks in the retrieval's scope had no vector yet when it was built
    (found by full text only): 0 unless the wait for the writes before it ran out
    (``Memory.open(read_wait_s=...)``), or they came from another process (README, "Sync semantics").
    """

    messages: list[dict[str, Any]]
    tokens: int
    budget: int
    hits: list[Hit] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    breakdown: dict[str, int] = Field(default_factory=dict)
    query: str | None = None
    pending_tool_calls: list[MessageRef] = Field(default_factory=list)
    unindexed: int = Field(0, ge=0, description="chunks in scope without a vector yet (found by full text only)")

    def refs(self) -> set[MessageRef]:
        """The messages (by ref) whose content appears in this context."""
        return {s.ref for s in self.sources if s.ref is not None}

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_openai(self) -> list[dict[str, Any]]:
        """The messages for OpenAI's Chat Completions API (see :mod:`memory.adapters`)."""
        return openai_messages(self.messages)

    def to_anthropic(self) -> tuple[str | None, list[dict[str, Any]]]:
        """``(system, messages)`` for Anthropic's Messages API (see :mod:`memory.adapters`)."""
        return anthropic_messages(self.messages)

    def _repr_html_(self) -> str:  # Jupyter
        rows = "".join(
            f"<tr><td>{h.rank}</td><td>{html.escape(h.session)}</td><td>{h.seq}</td>"
            f"<td>{h.role}</td><td>{h.reason}</td>"
            + "".join(f"<td>{h.scores.get(k, float('nan')):.3f}</td>" for k in ("dense", "lexical", "recency", "final"))
            + f"<td>{html.escape(h.text[:160])}</td></tr>"
            for h in self.hits
        )
        head = "".join(
            f"<th>{c}</th>"
            for c in ("rank", "session", "seq", "role", "reason", "dense", "lexical", "recency", "final", "text")
        )
        return (
            f"<p><b>Context</b>: {len(self.messages)} messages, {self.tokens}/{self.budget} tokens "
            f"({', '.join(f'{k} {v}' for k, v in self.breakdown.items())})</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        )
