"""Messages from the outside: :func:`parse_message` validates a dict or a model and raises
:class:`InvalidMessage` naming the wrong field (``messages[2].content[0].image_url.url``);
:func:`first_error` reads a pydantic validation error the one way every boundary turns it into a
turnmem error (messages, arguments, overrides, stage machines, the service's requests, the eval's
options); :func:`dumps_canonical` is the one JSON spelling of data (sorted keys, no spaces)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from memory.errors import InvalidMessage
from memory.models.bounds import depth_message, json_text_too_deep, too_deep
from memory.models.messages import ROLES, Message, MessageInput, StoredMessage
from memory.models.provider_rules import check_provider_rules


def dotted_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a field path: ``("messages", 1, "role")`` -> ``messages[1].role``."""
    out = ""
    for item in loc:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out


class _HasErrors(Protocol):
    def errors(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class FieldError:
    """One error of a pydantic validation (or of FastAPI's ``RequestValidationError``), as
    turnmem's messages use it."""

    loc: tuple[Any, ...]
    msg: str  # pydantic's words as they are
    type: str | None = None
    input: Any = None
    has_input: bool = False  # whether pydantic said what the input was (it does not for a missing field)

    @classmethod
    def of(cls, err: Any) -> FieldError:
        return cls(
            loc=tuple(err.get("loc", ())),
            msg=str(err.get("msg", "invalid")),
            type=err.get("type"),
            input=err.get("input"),
            has_input="input" in err,
        )

    @property
    def reason(self) -> str:
        """The message without pydantic's ``Value error, ``: a validator's own words."""
        return self.msg.removeprefix("Value error, ")

    @property
    def path(self) -> str:
        """The location as a field path: ``messages[1].role``."""
        return dotted_path(self.loc)

    @property
    def dotted(self) -> str:
        """The location joined by dots, list indexes too: ``stages.0.next``."""
        return ".".join(str(p) for p in self.loc)


def field_errors(exc: _HasErrors) -> list[FieldError]:
    """Every error of ``exc`` (a pydantic ``ValidationError`` or FastAPI's ``RequestValidationError``)."""
    return [FieldError.of(err) for err in exc.errors()]


def first_error(exc: _HasErrors, *, empty: str = "invalid") -> FieldError:
    """The first error of ``exc``, which turnmem reports (``empty`` is the message if it has none)."""
    errors = exc.errors()
    return FieldError.of(errors[0]) if errors else FieldError(loc=(), msg=empty)


def _content_error(errors: list[FieldError], content: Any) -> tuple[str, str]:
    """The field and message for invalid ``content``: for a list, the part that is wrong."""
    if isinstance(content, list):
        for err in errors:
            loc = err.loc
            if len(loc) >= 3 and loc[0] == "content" and str(loc[1]).startswith("list[") and isinstance(loc[2], int):
                rest = list(loc[3:])
                part = content[loc[2]] if loc[2] < len(content) else None
                if rest and isinstance(part, dict) and rest[0] == part.get("type"):
                    rest = rest[1:]  # the union branch name, not a field
                field = dotted_path(("content", loc[2], *rest))
                return field, (
                    f"{err.msg}; a content part is {{'type': 'text', 'text': ...}}, "
                    "{'type': 'image_url', 'image_url': {'url': ...}} or {'type': 'file', 'file': {...}}"
                )
    return "content", (
        "content must be a string, a list of content parts "
        "({'type': 'text'|'image_url'|'file', ...}) or None for an assistant tool call; "
        f"got {type(content).__name__}"
    )


def _unencodable(value: Any, path: str) -> str | None:
    """The path of the first string that is not valid Unicode (a lone surrogate), if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            found = _unencodable(k, sub) or _unencodable(v, sub)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _unencodable(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _too_deep_field(value: dict[str, Any]) -> str | None:
    """The field of a message dict nested past :data:`MAX_DEPTH` (a value, or the JSON text of a tool
    result or of a call's arguments), if any; checked before anything recurses into the message."""
    for key, item in value.items():
        if too_deep(item) is not None:
            return str(key)
    content = value.get("content")
    if value.get("role") == "tool":
        if isinstance(content, str) and json_text_too_deep(content):
            return "content"
        for j, part in enumerate(content if isinstance(content, list) else ()):
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str) and json_text_too_deep(text):
                return f"content[{j}].text"
    calls = value.get("tool_calls")
    for i, call in enumerate(calls if isinstance(calls, list) else ()):
        fn = call.get("function") if isinstance(call, dict) else None
        args = fn.get("arguments") if isinstance(fn, dict) else None
        if isinstance(args, str) and json_text_too_deep(args):
            return f"tool_calls[{i}].function.arguments"
    return None


# Fields a StoredMessage adds to a Message; a stored message re-added elsewhere drops them.
_STORED_FIELDS = frozenset({"namespace", "session", "seq"})


def parse_message(value: MessageInput, *, index: int | None = None) -> Message:
    """Validate one message (dict or model) and raise :class:`InvalidMessage` naming the field.

    A :class:`Message` is validated again (it may have been changed since it was built);
    a :class:`StoredMessage` becomes a plain message (its namespace, session and seq
    belong to where it was stored, not to where it is added).
    """
    prefix = "message" if index is None else f"messages[{index}]"
    if isinstance(value, Message):
        try:
            value = value.model_dump(
                exclude_none=True, exclude=set(_STORED_FIELDS) if isinstance(value, StoredMessage) else None
            )
        except ValueError:  # pydantic's serializer refuses values nested a few hundred levels
            raise InvalidMessage(depth_message(prefix), field=prefix) from None
    if not isinstance(value, dict):
        raise InvalidMessage(
            f"{prefix}: expected an OpenAI chat message dict or a memory.Message, got {type(value).__name__}",
            field=prefix,
        )
    role = value.get("role")
    if role not in ROLES:
        raise InvalidMessage(
            f"{prefix}.role: unknown role {role!r}; use one of {', '.join(ROLES)}",
            field=f"{prefix}.role",
        )
    deep = _too_deep_field(value)
    if deep:
        raise InvalidMessage(depth_message(f"{prefix}.{deep}"), field=f"{prefix}.{deep}")
    bad_text = _unencodable(value, "")
    if bad_text:
        raise InvalidMessage(
            f"{prefix}.{bad_text}: not valid Unicode text (it holds a lone surrogate such as '\\ud800'); "
            "decode the bytes with errors='replace' before adding",
            field=f"{prefix}.{bad_text}",
        )
    try:
        message = Message.model_validate(value)
    except ValidationError as exc:
        err = first_error(exc)
        loc, msg = err.path, err.reason
        field = msg.split(":", 1)[0] if not loc and ":" in msg else loc
        if loc.startswith("content"):
            field, msg = _content_error(field_errors(exc), value.get("content"))
        text = f"{prefix}.{field}: {msg}" if field and not msg.startswith(f"{field}:") else f"{prefix}.{msg}"
        raise InvalidMessage(text, field=f"{prefix}.{field}" if field else prefix) from None
    check_provider_rules(message, prefix)  # what the model APIs would refuse later (names, data URLs)
    return message


def dumps_canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
