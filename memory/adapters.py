"""A :class:`Context` as the message lists the OpenAI and Anthropic Python SDKs take.

    from memory.adapters import to_openai, to_anthropic

    client.chat.completions.create(model=..., messages=to_openai(ctx))
    system, messages = to_anthropic(ctx)
    client.messages.create(model=..., system=system, messages=messages, max_tokens=...)

Neither SDK is needed to use these functions (the output is plain JSON-shaped data); the
tests validate it against both SDKs' own types.
"""

from __future__ import annotations

from typing import Any

from memory.errors import InvalidArgument
from memory.models import Context
from memory.models.formats import anthropic_messages, openai_messages


def _messages(ctx: Context | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(ctx, Context):
        return ctx.messages
    if isinstance(ctx, list):
        return ctx
    raise InvalidArgument(f"ctx: give a Context or a list of OpenAI messages (got {type(ctx).__name__})", field="ctx")


def to_openai(ctx: Context | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions ``messages``: the context's messages are already in this format; a deep copy."""
    return openai_messages(_messages(ctx))


def to_anthropic(ctx: Context | list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` for Anthropic's Messages API (how each message maps:
    :func:`memory.models.formats.anthropic_messages`)."""
    return anthropic_messages(_messages(ctx))


__all__ = ["to_anthropic", "to_openai"]
