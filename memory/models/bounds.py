"""The bounds on what one request may hand turnmem, so that the work it costs is bounded too.

- :data:`MAX_DEPTH`: how deep a JSON value may nest (message metadata and provider extras, tool-call
  arguments and tool results that hold JSON, state blocks). Deeper values are refused where they
  enter, before anything is stored: Python's ``json`` and pydantic recurse per level, and a value
  nested a few hundred levels was stored, then failed every read of it.
- :data:`MAX_INT`: the largest integer turnmem takes for a seq, a cursor, a version, a limit
  (``2**53 - 1``, the largest integer every JSON client reads exactly; far below SQL's 64 bits, so
  ``seq + 1`` never overflows a column).

:func:`too_deep` finds the first place a value passes the depth bound without recursing (a
value that contains itself is too deep, not a hang); :func:`json_text_too_deep` does it for a
string that holds JSON (a tool result).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
MAX_INT = 2**53 - 1


def too_deep(value: Any, limit: int = MAX_DEPTH) -> tuple[Any, ...] | None:
    """The path (keys and indexes) to the first list or dict nested more than ``limit`` levels
    inside ``value`` (``value`` itself, if a list or dict, is level 1); None when it stays within.
    Iterative, and linear in the size of ``value``."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            children: Any = item.items()
        elif isinstance(item, (list, tuple)):
            children = enumerate(item)
        else:
            continue
        if len(path) >= limit:
            return path
        stack.extend((child, (*path, key)) for key, child in children)
    return None


def json_text_too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``text`` is JSON nested more than ``limit`` levels (text that is not JSON is not, unless
    it opens so many levels that the parser gives up before it can tell)."""
    head = text.lstrip()[:1]
    if head not in ("[", "{") or text.count("[") + text.count("{") <= limit:  # cannot nest deeper
        return False
    try:
        data = json.loads(text)
    except RecursionError:  # deeper than the interpreter's stack: far past the bound
        return True
    except ValueError:
        return False
    return too_deep(data, limit) is not None


def depth_message(field: str, limit: int = MAX_DEPTH) -> str:
    """The words every depth refusal uses, embedded and over REST."""
    return (
        f"{field}: nested more than {limit} levels deep; flatten it (JSON values may nest at most {limit} "
        "lists or objects)"
    )


__all__ = ["MAX_DEPTH", "MAX_INT", "depth_message", "json_text_too_deep", "too_deep"]
