"""Pydantic models at turnmem's boundaries: OpenAI chat-format messages, chunks, hits, contexts.

Messages follow the OpenAI chat format (``role``, ``content`` as a string or a list of
content parts, ``name``, ``tool_calls``, ``tool_call_id``) so an app can hand turnmem
exactly what it sends to, or gets from, the model. turnmem adds three fields of its own
(``id``, ``timestamp``, ``metadata``); :meth:`Message.to_openai` drops them again, so a
context can be sent as is. Unknown OpenAI fields (``refusal``, ``audio``...) are kept
verbatim through the round trip.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from memory.errors import InvalidMessage

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
    import base64
    import binascii

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
        import html

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
    """

    messages: list[dict[str, Any]]
    tokens: int
    budget: int
    hits: list[Hit] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    breakdown: dict[str, int] = Field(default_factory=dict)
    query: str | None = None
    pending_tool_calls: list[MessageRef] = Field(default_factory=list)

    def refs(self) -> set[MessageRef]:
        """The messages (by ref) whose content appears in this context."""
        return {s.ref for s in self.sources if s.ref is not None}

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_openai(self) -> list[dict[str, Any]]:
        """The messages for OpenAI's Chat Completions API (see :mod:`memory.adapters`)."""
        from memory.adapters import to_openai

        return to_openai(self)

    def to_anthropic(self) -> tuple[str | None, list[dict[str, Any]]]:
        """``(system, messages)`` for Anthropic's Messages API (see :mod:`memory.adapters`)."""
        from memory.adapters import to_anthropic

        return to_anthropic(self)

    def _repr_html_(self) -> str:  # Jupyter
        import html

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


MessageInput = Message | dict[str, Any]


def dotted_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a field path: ``("messages", 1, "role")`` -> ``messages[1].role``."""
    out = ""
    for item in loc:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out


def _content_error(errors: list[Any], content: Any) -> tuple[str, str]:
    """The field and message for invalid ``content``: for a list, the part that is wrong."""
    if isinstance(content, list):
        for err in errors:
            loc = tuple(err.get("loc", ()))
            if len(loc) >= 3 and loc[0] == "content" and str(loc[1]).startswith("list[") and isinstance(loc[2], int):
                rest = list(loc[3:])
                part = content[loc[2]] if loc[2] < len(content) else None
                if rest and isinstance(part, dict) and rest[0] == part.get("type"):
                    rest = rest[1:]  # the union branch name, not a field
                field = dotted_path(("content", loc[2], *rest))
                return field, (
                    f"{err.get('msg', 'invalid')}; a content part is {{'type': 'text', 'text': ...}}, "
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
        value = value.model_dump(
            exclude_none=True, exclude=set(_STORED_FIELDS) if isinstance(value, StoredMessage) else None
        )
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
    bad_text = _unencodable(value, "")
    if bad_text:
        raise InvalidMessage(
            f"{prefix}.{bad_text}: not valid Unicode text (it holds a lone surrogate such as '\\ud800'); "
            "decode the bytes with errors='replace' before adding",
            field=f"{prefix}.{bad_text}",
        )
    try:
        return Message.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        loc = dotted_path(tuple(err.get("loc", ())))
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        field = msg.split(":", 1)[0] if not loc and ":" in msg else loc
        if loc.startswith("content"):
            field, msg = _content_error(errors, value.get("content"))
        text = f"{prefix}.{field}: {msg}" if field and not msg.startswith(f"{field}:") else f"{prefix}.{msg}"
        raise InvalidMessage(text, field=f"{prefix}.{field}" if field else prefix) from None


def dumps_canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
