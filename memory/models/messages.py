"""Chat messages in OpenAI format: content parts, tool calls, :class:`Message`, where a message lives.

Messages follow the OpenAI chat format (``role``, ``content`` as a string or a list of
content parts, ``name``, ``tool_calls``, ``tool_call_id``) so an app can hand turnmem
exactly what it sends to, or gets from, the model. turnmem adds three fields of its own
(``id``, ``timestamp``, ``metadata``); :meth:`Message.to_openai` drops them again, so a
context can be sent as is. Unknown OpenAI fields (``refusal``, ``audio``...) are kept
verbatim through the round trip.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ROLES: tuple[str, ...] = ("system", "developer", "user", "assistant", "tool")
Role = Literal["system", "developer", "user", "assistant", "tool"]

# Fields turnmem keeps for itself; never sent to a model API.
TURNMEM_FIELDS: frozenset[str] = frozenset({"id", "timestamp", "metadata"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"] = "text"
    text: str


class ImageURL(_Strict):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Strict):
    """An image. ``caption`` is turnmem's text surrogate (what retrieval searches);
    ``width``/``height`` (pixels, optional) let the budget price it by OpenAI's tile rule
    when the URL does not tell (a data URL's size is read from its header). Neither is sent."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    caption: str | None = None
    width: int | None = Field(None, gt=0, le=1_000_000)
    height: int | None = Field(None, gt=0, le=1_000_000)


class FileRef(_Strict):
    filename: str | None = None
    file_data: str | None = None
    file_id: str | None = None


class FilePart(_Strict):
    """A file. ``text`` is turnmem's text surrogate (extracted text or a description).

    A text file sent inline (``file_data`` as a ``data:text/...;base64,`` URL, or JSON, CSV,
    Markdown) gets its decoded text as the surrogate when none is given, so its content is
    searchable; other files (PDFs, images) need the caller's ``text``.
    """

    type: Literal["file"] = "file"
    file: FileRef
    mime_type: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _extract_text(self) -> FilePart:
        if self.text is None and self.file.file_data:
            extracted = _text_of_data_url(self.file.file_data, self.mime_type)
            if extracted is not None:
                object.__setattr__(self, "text", extracted)
        return self


_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml", "application/csv")
MAX_EXTRACTED_CHARS = 200_000


def _text_of_data_url(data: str, mime_type: str | None) -> str | None:
    """The text inside a base64 ``data:`` URL of a text type (None for other types or bad data)."""
    if not data.startswith("data:"):
        return None
    header, _, payload = data.partition(",")
    media = header[len("data:") :].split(";")[0] or (mime_type or "")
    if not media.startswith(_TEXT_TYPES):
        return None
    try:
        raw = base64.b64decode(payload, validate=True) if ";base64" in header else payload.encode()
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", errors="replace")[:MAX_EXTRACTED_CHARS]


ContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]

# Fields of content parts that are turnmem's own surrogates, dropped by to_openai().
_PART_SURROGATES = {"image_url": ("caption", "width", "height"), "file": ("mime_type", "text")}
_PRICING_FIELDS = ("width", "height", "text")  # kept in the counted form (see Message.to_openai)


class FunctionCall(_Strict):
    name: str = Field(min_length=1)
    arguments: str = "{}"


class ToolCall(_Strict):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


def _to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class Message(BaseModel):
    """One chat message in OpenAI format, plus turnmem's ``id``, ``timestamp``, ``metadata``.

    - ``id``: optional client id, unique within a session; re-adding a message with an id
      that is already stored stores nothing and returns the stored seq (safe retries).
    - ``timestamp``: when it was said (ISO 8601 string or datetime; naive means UTC).
    - ``metadata``: free-form JSON kept with the message (e.g. a benchmark's turn id).
    """

    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    id: str | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _to_utc(value)

    @model_validator(mode="after")
    def _check_shape(self) -> Message:
        if self.role == "tool":
            if not self.tool_call_id:
                raise ValueError(
                    "tool_call_id: a 'tool' message must carry the id of the call it answers (tool_call_id='call_...')"
                )
            if self.content is None:
                raise ValueError("content: a 'tool' message needs content (the tool's output)")
        elif self.tool_call_id is not None:
            raise ValueError(f"tool_call_id: only 'tool' messages carry tool_call_id, not {self.role!r}")
        if self.tool_calls is not None:
            if self.role != "assistant":
                raise ValueError(f"tool_calls: only 'assistant' messages make tool calls, not {self.role!r}")
            if not self.tool_calls:
                raise ValueError("tool_calls: give at least one call, or leave tool_calls out")
            ids = [c.id for c in self.tool_calls]
            if len(set(ids)) != len(ids):
                raise ValueError("tool_calls: call ids must be unique within a message")
        if self.content is None and not self.tool_calls:
            raise ValueError(
                "content: must be a string or a list of content parts "
                "(only an assistant message with tool_calls may have content=None)"
            )
        return self

    # -- views -----------------------------------------------------------------------------

    def text(self) -> str:
        """The message as plain text: what is chunked, embedded and searched.

        Text parts are joined; images contribute their caption, files their surrogate text;
        tool calls render as ``name(arguments)``.
        """
        pieces: list[str] = []
        if isinstance(self.content, str):
            pieces.append(self.content)
        elif self.content:
            for part in self.content:
                if isinstance(part, TextPart):
                    pieces.append(part.text)
                elif isinstance(part, ImagePart):
                    pieces.append(f"[image: {part.caption}]" if part.caption else "[image]")
                elif isinstance(part, FilePart):
                    label = part.file.filename or "file"
                    pieces.append(f"[file {label}: {part.text}]" if part.text else f"[file {label}]")
        for call in self.tool_calls or ():
            pieces.append(f"{call.function.name}({call.function.arguments})")
        return "\n".join(p for p in pieces if p)

    def to_openai(self, *, text_only: bool = False, priced: bool = False) -> dict[str, Any]:
        """The message as an OpenAI chat-completions dict, without turnmem's own fields.

        ``text_only=True`` replaces images and files by their text surrogates.
        ``priced=True`` keeps the turnmem fields that price a part, an image's ``width`` /
        ``height`` and a file's ``text``: the form :func:`memory.tokens.count_message`
        counts (what the model is sent costs what they say), never the form sent.
        """
        data = self.model_dump(exclude_none=True, exclude=set(TURNMEM_FIELDS))
        if self.content is None:
            data["content"] = None  # an assistant tool-call message keeps an explicit null
        elif isinstance(self.content, list):
            if text_only:
                data["content"] = self.text() if not self.tool_calls else _parts_text(self)
            else:
                data["content"] = [_part_to_openai(p, priced) for p in data["content"]]
        return data

    def to_record(self) -> dict[str, Any]:
        """Everything, turnmem fields included, as JSON-safe data (what the log stores)."""
        return self.model_dump(mode="json", exclude_none=True)


def _parts_text(message: Message) -> str:
    copy = message.model_copy(update={"tool_calls": None})
    return copy.text()


def _part_to_openai(part: dict[str, Any], priced: bool = False) -> dict[str, Any]:
    drop = _PART_SURROGATES.get(part.get("type", ""), ())
    return {k: v for k, v in part.items() if k not in drop or (priced and k in _PRICING_FIELDS)}


class StoredMessage(Message):
    """A message as the log holds it: with its namespace, session and seq."""

    namespace: str
    session: str
    seq: int


class MessageRef(BaseModel):
    """Where a message lives: namespace, session and per-session seq."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    session: str
    seq: int


MessageInput = Message | dict[str, Any]
