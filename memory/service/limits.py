"""The service's limits: what a client may override, how big a request may be.

- :data:`SERVICE_OVERRIDES`: the allow-list of :class:`AssembleConfig` options a request may
  set in ``config``, with bounds tighter than the embedded API's where a value costs the
  server (``candidates`` <= 256, and <= 128 with MMR, whose similarity matrix is n x n).
  :func:`config_overrides_model` turns it into the request model, so the bounds are in the
  OpenAPI schema.
- :data:`MAX_BATCH` messages per write, :data:`MAX_PAGE` messages per page of a listing (in
  the schema too), and :class:`BodySizeLimit`: a request body over
  ``ServiceLimits.max_request_bytes`` gets 413 naming ``body`` before it is read whole;
  :class:`JsonBodyCheck`: a body that is not UTF-8 JSON, or nests past :data:`MAX_BODY_DEPTH`
  levels, gets 422 naming the field (``body``, ``messages[3].metadata``, ``blocks.profile``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from memory.errors import InvalidArgument, InvalidMessage
from memory.models import MAX_DEPTH, depth_message, dotted_path, too_deep
from memory.read.assemble import AssembleConfig
from memory.read.reader import READ_WAIT_S
from memory.service.waits import MAX_WAITING, MAX_WAITING_PER_NAMESPACE
from memory.write.indexer import MAX_PENDING

MAX_BATCH = 1000  # messages per write, sessions per search
MAX_PAGE = 1000  # messages per page of a namespace listing
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_CANDIDATES = 256  # retrieval candidates a client may ask for
MAX_MMR_CANDIDATES = 128  # ... when MMR (an n x n similarity matrix) is on


class ServiceLimits(BaseModel):
    """Limits of one service process (``turnmem serve``)."""

    model_config = ConfigDict(extra="forbid")

    max_request_bytes: int = Field(MAX_REQUEST_BYTES, ge=1024, description="largest request body accepted")
    embed_timeout: float | None = Field(
        60.0, gt=0, description="seconds a write may wait for the embedder (queue and model) before a 503"
    )
    embed_batch: int = Field(128, ge=1, le=4096, description="most texts in one forward pass of the embedder")
    max_pending: int = Field(
        MAX_PENDING,
        ge=1,
        description="most chunks waiting for their vectors; a write past it waits for the indexer "
        "(up to embed_timeout, then a 503)",
    )
    max_waiting: int = Field(
        MAX_WAITING,
        ge=1,
        description="most waiting calls (flush, wait_indexed writes) at once, on threads of their own; "
        "past it a 503 Busy with Retry-After",
    )
    max_waiting_per_namespace: int = Field(
        MAX_WAITING_PER_NAMESPACE, ge=1, description="most waiting calls at once in one namespace (then a 503 Busy)"
    )
    read_wait_s: float = Field(
        READ_WAIT_S,
        ge=0,
        le=300,
        description="seconds a context or search waits for the vectors of the writes this process "
        "acknowledged before it (0: never); past it, the context says how many chunks were not indexed",
    )


# The AssembleConfig options a client may set per request, each with the bounds the service
# enforces on top of AssembleConfig's own (a new AssembleConfig field is not overridable until
# it is listed here with its bounds). Everything else stays as the server was configured.
SERVICE_OVERRIDES: dict[str, dict[str, Any]] = {
    "window_share": {},
    "candidates": {
        "le": MAX_CANDIDATES,
        "description": f"chunks asked from the retriever: at most {MAX_CANDIDATES}, "
        f"at most {MAX_MMR_CANDIDATES} with mmr_lambda",
    },
    "recency_weight": {},
    "turn_half_life": {"le": 1e9},
    "time_half_life_days": {"le": 1e6},
    "stub_tokens": {"le": 100_000},
    "fill_window": {},
    "scope": {},
    "lexical_weight": {"le": 100.0},
    "fusion": {},
    "rrf_k": {"le": 100_000.0},
    "pin_state": {},
    "text_only": {},
    "window_max_messages": {"le": 10_000},
    "neighbors": {},
    "mmr_lambda": {"description": f"MMR diversity trade-off (None: off); needs candidates <= {MAX_MMR_CANDIDATES}"},
    "session_weight": {},
    "pack": {},
    "query_turns": {},
    "query_turns_weight": {},
    "time_weight": {},
    "answer_type_weight": {},
    "lexical_names": {},
    "speaker_weight": {},
    "person_weight": {},
    "window_gap_hours": {"le": 1e6},
    "neighbor_tokens": {"le": 100_000},
}


class _MmrFields(Protocol):
    """The two overrides the MMR bound reads (fields of the model built below)."""

    mmr_lambda: float | None
    candidates: int | None


def config_overrides_model() -> type[BaseModel]:
    """The allow-listed AssembleConfig fields, optional, with their constraints and the
    service's bounds: the schema of ``config``."""
    fields: dict[str, Any] = {}
    for name, bounds in SERVICE_OVERRIDES.items():
        info = AssembleConfig.model_fields[name]
        extra = {k: v for k, v in bounds.items() if k != "description"}
        metadata = [*info.metadata, *([Field(**extra)] if extra else [])]
        params = (info.annotation, *metadata)
        annotation = Annotated[params] if metadata else info.annotation
        fields[name] = (annotation, Field(None, description=bounds.get("description", info.description)))

    def _mmr_bounded(self: _MmrFields) -> _MmrFields:
        lam, cand = self.mmr_lambda, self.candidates
        k = cand if cand is not None else AssembleConfig.model_fields["candidates"].default
        if lam is not None and k > MAX_MMR_CANDIDATES:
            raise ValueError(f"candidates: at most {MAX_MMR_CANDIDATES} with mmr_lambda (got {k})")
        return self

    return create_model(
        "ConfigOverrides",
        __config__=ConfigDict(extra="forbid"),
        __doc__="AssembleConfig fields to override for this call (the service's allow-list, with its bounds)",
        # pydantic annotates __validators__ as plain callables, yet its documented value is what
        # model_validator returns (a descriptor proxy), which create_model takes at run time
        __validators__={"mmr_bounded": model_validator(mode="after")(_mmr_bounded)},  # type: ignore[dict-item]
        **fields,
    )


class BodySizeLimit:
    """ASGI middleware: a body over ``max_bytes`` gets 413 with ``field: body``.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body
    streamed without one is counted as it arrives and refused once it passes the limit.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _body(self, size: str) -> bytes:
        detail = (
            f"body: the request is {size} bytes, over this server's limit of {self.max_bytes} bytes; "
            "send fewer or smaller messages per request"
        )
        return json.dumps(InvalidArgument(detail, field="body").body()).encode()

    async def _refuse(self, send: Any, size: str) -> None:
        body = self._body(size)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, declared.decode())
            return
        seen = 0
        over = False

        async def counted() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    return {"type": "http.disconnect"}  # stop reading; the answer is ours
            return message

        started = False

        async def guarded(message: Any) -> None:
            nonlocal started
            if over:
                if not started and message["type"] == "http.response.start":
                    started = True
                    await self._refuse(send, f"more than {self.max_bytes}")
                return  # whatever the app answers to a cut body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, guarded)
        if over and not started:
            await self._refuse(send, f"more than {self.max_bytes}")


MAX_BODY_DEPTH = MAX_DEPTH + 16  # a body's own structure (messages, a message, its content) on top of a field's


def _body_field(path: tuple[Any, ...]) -> str:
    """The request field that holds ``path``: ``messages[3].metadata``, ``blocks.profile``, ``config``."""
    head = 3 if path[:1] == ("messages",) else 2 if path[:1] == ("blocks",) else 1
    return dotted_path(path[:head]) or "body"


def json_body_error(raw: bytes) -> InvalidArgument | InvalidMessage | None:
    """Why a JSON request body cannot be read (not UTF-8, not JSON, nested past
    :data:`MAX_BODY_DEPTH`), as the 422 names it; None when it reads."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InvalidArgument(
            f"body: not UTF-8 text (byte {exc.start} is {raw[exc.start : exc.start + 1]!r}); send JSON encoded "
            "as UTF-8",
            field="body",
        )
    try:
        data = json.loads(text)
    except RecursionError:
        return InvalidArgument(depth_message("body", MAX_DEPTH), field="body")
    except ValueError as exc:
        return InvalidArgument(f"body: not valid JSON ({exc}); send one JSON object", field="body")
    path = too_deep(data, MAX_BODY_DEPTH)
    if path is not None:
        field = _body_field(path)
        kind = InvalidMessage if field.startswith("messages") else InvalidArgument
        return kind(depth_message(field, MAX_DEPTH), field=field)
    return None


class JsonBodyCheck:
    """ASGI middleware: a JSON request body that is not UTF-8, not JSON, or nested past
    :data:`MAX_BODY_DEPTH` gets a 422 with ``error`` and ``field`` (FastAPI answered 400 without them,
    or a 500 from deep in its encoder). The body is read whole here (:class:`BodySizeLimit`, outside
    it, has bounded it), checked once, and handed on unchanged."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        ctype = dict(scope.get("headers") or ()).get(b"content-type", b"application/json")
        if b"json" not in ctype.lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left (or the size limit cut it)
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        bad = json_body_error(raw) if raw.strip() else None
        if bad is not None:
            body = json.dumps(bad.body()).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 422, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, _replay([raw], None, receive), send)


def _replay(chunks: list[bytes], last: Any, receive: Any) -> Any:
    """A ``receive`` that gives the body read already, then what the client sends next."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}] if last is None else [last]

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
