"""Message lists in the formats of the OpenAI and Anthropic Python SDKs, from OpenAI chat dicts.

These work on plain message lists and know no model, so :class:`memory.models.Context` can
call them from its ``to_openai`` / ``to_anthropic`` without an import cycle;
:mod:`memory.adapters` is the public form that takes a ``Context`` or a list.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from memory.errors import InvalidArgument

_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions ``messages``: already this format; a deep copy."""
    return copy.deepcopy(messages)


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media = header[len("data:") :].split(";")[0] or "image/png"
        if media not in _MEDIA_TYPES:
            return {"type": "text", "text": f"[image of type {media}]"}
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _file_block(part: dict[str, Any]) -> dict[str, Any]:
    f = part.get("file") or {}
    data = f.get("file_data") or ""
    if data.startswith("data:application/pdf;base64,"):
        return {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": data.split(",", 1)[1]},
        }
    return {"type": "text", "text": f"[file {f.get('filename') or f.get('file_id') or ''}]".replace(" ]", "]")}


def _blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI content (a string or parts) as Anthropic content blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            out.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            out.append(_image_block(part["image_url"]["url"]))
        elif kind == "file":
            out.append(_file_block(part))
    return out


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def anthropic_messages(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` for Anthropic's Messages API.

    - system and developer messages become the ``system`` string (None if there are none);
    - an assistant's ``tool_calls`` become ``tool_use`` blocks (arguments parsed as JSON), and
      tool results become ``tool_result`` blocks in the next user message, all results of one
      call message together, as the API requires;
    - images become ``image`` blocks (URL or base64), PDFs ``document`` blocks;
    - consecutive messages of the same role are merged (the API alternates user / assistant),
      and a context that starts with the assistant gets a short user turn in front.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def push(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            text = _text_of(m.get("content"))
            if text:
                system.append(text)
        elif role == "user":
            push("user", _blocks(m.get("content")))
        elif role == "assistant":
            blocks = _blocks(m.get("content"))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call["id"],
                        "name": fn.get("name", ""),
                        "input": _tool_input(fn.get("arguments", "")),
                    }
                )
            push("assistant", blocks)
        elif role == "tool":
            content = m.get("content")
            result: Any = _blocks(content) if isinstance(content, list) else (content or "")
            push("user", [{"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": result}])
        else:
            raise InvalidArgument(f"messages: unknown role {role!r}", field="messages")
    if out and out[0]["role"] == "assistant":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "(earlier conversation)"}]})
    return ("\n\n".join(system) if system else None), out
