"""The REST service: ``turnmem serve``, a FastAPI app over one :class:`memory.Memory`.

Sync is explicit: every session has a gap-free ``seq``; a write may carry ``base_seq`` (the
last seq the client saw; a stale one gets 409 with the current seq) and an
``idempotency_key`` (a replay of the same request gets the first answer and stores nothing
again; the key with another request body is a 422 ``IdempotencyConflict``); ``GET
.../messages?since=SEQ`` returns what a client missed. Every write is one SQLite
transaction, so nothing partial is ever stored, and the vector index is rebuilt from the
log on start if a crash left it behind.

Access control: API keys map to namespace patterns (``fnmatch``: ``"team-*"``, ``"*"``);
a key is refused (403) on any other namespace. Without keys the service only binds to a
loopback host.

Errors are JSON: ``{"detail": "...", "error": "InvalidMessage", "field": "messages[1].role"}``
(409 adds ``current_seq``), the same classes :class:`memory.client.Client` raises again.
"""

from __future__ import annotations

import copy
import fnmatch
import hmac
import ipaddress
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

import memory
from memory.embedders import BatchingEmbedder, default_embedder
from memory.errors import InvalidArgument, PermissionDenied, TurnmemError
from memory.memory import Memory
from memory.models import MAX_INT, Context, Message, StoredMessage, ToolCallState
from memory.service.common import NAME, NAME_PATTERN, ContextRequest, Creds, context_response
from memory.service.docs_routes import install_docs
from memory.service.errors import BUSY, ERRORS, ErrorBody, validation_body
from memory.service.faults import Faults, error_response
from memory.service.inspect_routes import eval_folder, install_inspector
from memory.service.limits import MAX_BATCH, BodySizeLimit, JsonBodyCheck, ServiceLimits
from memory.service.namespace_routes import WAITING, DeleteResponse, SessionInfo, namespace_router
from memory.service.waits import WaitSlots
from memory.session.state import StateBlock, StateMachine
from memory.stores import parse_location
from memory.stores.rows import PreparedMessage
from memory.validation import MAX_NAME

KEYS_ENV = "TURNMEM_API_KEYS"
log = logging.getLogger("turnmem.server")


# -- access control ----------------------------------------------------------------------


class KeyRing(BaseModel):
    """API keys and the namespaces each may use (fnmatch patterns).

    No error about a key ever shows the key: a bad entry is named by its place (``key #2``,
    and its line in a keys file), never by its text, and pydantic's input values are hidden.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    keys: dict[str, list[str]] = Field(default_factory=dict, repr=False)  # repr(ring) in a log shows none

    @field_validator("keys", mode="before")
    @classmethod
    def _check(cls, value: object) -> object:
        check_keys(value, lambda i, _key: f"key #{i}")
        return value

    @classmethod
    def load(cls, path: str | Path | None = None, env: str | None = None) -> KeyRing:
        """From a JSON file ``{"keys": {"KEY": ["namespace", "prefix-*"]}}``, else from ``$TURNMEM_API_KEYS``
        (the same JSON); no file and no variable means no keys."""
        if path is not None:
            try:
                text = Path(path).read_text()
            except OSError as exc:
                raise InvalidArgument(f"keys: cannot read {path}: {exc.strerror}", field="keys") from None
            where = str(path)
        else:
            text = env if env is not None else os.environ.get(KEYS_ENV, "")
            where = f"${KEYS_ENV}"
            if not text.strip():
                return cls()
        shape = f'{where} must hold JSON like {{"keys": {{"sk-long-random-key": ["alice", "team-*"]}}}}'
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:  # its text names a line and column, never the content
            at = f"{exc.msg}: line {exc.lineno} column {exc.colno}"
            raise InvalidArgument(f"keys: {shape} ({at})", field="keys") from None
        if isinstance(data, dict) and "keys" not in data:
            data = {"keys": data}
        if not isinstance(data, dict):
            raise InvalidArgument(f"keys: {shape} (it holds a JSON {type(data).__name__})", field="keys")
        try:
            check_keys(data["keys"], lambda i, key: f"key #{i}{_line_of(text, key)} in {where}")
            return cls.model_validate(data)
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(f"{_first_line(exc)} ({shape})", field="keys") from None

    def namespaces_of(self, key: str) -> list[str] | None:
        """The patterns of ``key``, or None for an unknown key (constant-time comparison)."""
        found: list[str] | None = None
        for known, patterns in self.keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                found = patterns
        return found

    def allows(self, key: str, namespace: str) -> bool:
        patterns = self.namespaces_of(key)
        return patterns is not None and any(fnmatch.fnmatchcase(namespace, p) for p in patterns)


def check_keys(value: object, name: Callable[[int, str], str]) -> None:
    """Raise ValueError for a malformed key map, naming a bad key by ``name(position, key)``: a
    message that never holds the key itself."""
    if not isinstance(value, dict):
        raise ValueError(f'keys: must be an object {{"KEY": ["namespace", ...]}}, not a JSON {type(value).__name__}')
    for i, (key, patterns) in enumerate(value.items(), 1):
        if not isinstance(key, str) or len(key) < 8:
            raise ValueError(
                f"keys: {name(i, str(key))} is shorter than 8 characters; use a long random key "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            got = "a list holding a non-string" if isinstance(patterns, list) else f"a JSON {type(patterns).__name__}"
            raise ValueError(
                f'keys: {name(i, key)} must map to a list of namespace patterns such as ["alice", "team-*"], not {got}'
            )
        if not patterns:
            raise ValueError(f'keys: {name(i, key)} has no namespaces; give a list such as ["alice", "team-*"]')


def _line_of(text: str, key: str) -> str:
    """`` (line N)``: where ``key`` is written in ``text``, or nothing when it is written another way."""
    at = text.find(json.dumps(key))
    if at < 0:
        at = text.find(json.dumps(key, ensure_ascii=False))
    return "" if at < 0 else f" (line {text.count(chr(10), 0, at) + 1})"


def _first_line(exc: Exception) -> str:
    """Our own message from a ValueError, or pydantic's first error without its input value."""
    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False, include_input=False)[0]
        return f"keys: {err['msg']}"
    return str(exc)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- request and response bodies ---------------------------------------------------------


class AppendRequest(BaseModel):
    """``POST .../messages``: a batch stored atomically."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=MAX_BATCH)
    base_seq: int | None = Field(
        None, ge=0, le=MAX_INT, strict=True, description="the last seq you saw; a stale one gets 409"
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_NAME,
        pattern=NAME_PATTERN,
        description="a retry with the same key and body replays the first answer; another body is a 422",
    )
    timestamp: str | float | None = Field(None, description="for messages without their own (default: now)")
    wait_indexed: bool = Field(
        False,
        strict=True,
        description="answer once the batch's chunks are embedded and indexed (default: once stored; the "
        "vectors follow within moments, and full-text search has the batch at once)",
    )


class AppendResponse(BaseModel):
    first_seq: int
    last_seq: int
    seqs: list[int]


class MessagesResponse(BaseModel):
    messages: list[StoredMessage]
    last_seq: int = Field(description="the session's current seq")
    has_more: bool = Field(description="true when `limit` cut the list: ask again from the last seq returned")


class StateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    blocks: dict[str, Any] = Field(min_length=1, description="block name -> JSON value (null removes the block)")
    expected: dict[str, Annotated[int, Field(ge=0, le=MAX_INT)]] | None = Field(
        None, description="block name -> the version you read (0: absent); a mismatch is a 409"
    )


class Health(BaseModel):
    status: str
    version: str


# -- the app -----------------------------------------------------------------------------


# The app factory: its nested route handlers' branches count toward it; each route is a few lines.
def create_app(  # noqa: C901
    mem: Memory,
    keys: KeyRing | None = None,
    *,
    close_on_shutdown: bool = False,
    limits: ServiceLimits | None = None,
    eval_dir: Path | None = None,
) -> FastAPI:
    """The FastAPI app serving ``mem``; with ``keys``, every ``/v1`` route needs a Bearer key.

    ``limits`` caps request bodies (413 naming ``body``); the embedder's batch cap and
    timeout are the :class:`BatchingEmbedder`'s that :func:`serve` builds from them.
    The inspector at ``/ui`` and its read routes (``eval_dir``: results to show) are
    :mod:`memory.service.inspect_routes`.
    """
    ring = keys or KeyRing()
    limits = limits or ServiceLimits()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            mem.close()

    app = FastAPI(
        title="turnmem",
        responses=ERRORS,
        version=memory.__version__,
        description="Conversation memory for LLM chat apps: an append-only log per session with gap-free seqs, "
        "idempotent and conditional writes, deltas, and budgeted context assembly.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc from local files (docs_routes.py), not from a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.state.memory = mem
    app.state.keys = ring
    app.state.limits = limits
    app.add_middleware(Faults)  # a route's exception (disk full, a bug): a JSON answer, the connection kept
    app.add_middleware(JsonBodyCheck)  # inside the size limit: it reads only bodies within it
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_request_bytes)
    write_lock = threading.Lock()  # one writer at a time in this process; SQLite orders processes
    waits = WaitSlots(limits.max_waiting, limits.max_waiting_per_namespace)  # flush, wait_indexed: not the pool
    app.state.waits = waits
    warned: list[bool] = []

    def key_patterns(creds: HTTPAuthorizationCredentials | None) -> list[str]:
        """The namespace patterns of the request's key (``["*"]`` when the server has no keys)."""
        if not ring.keys:
            if creds is not None and not warned:
                warned.append(True)
                log.warning(
                    "a request sent an API key, but this server has no keys (no --keys, no $%s): "
                    "keys are not checked and every request may use every namespace",
                    KEYS_ENV,
                )
            return ["*"]
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise PermissionDenied("authorization: send 'Authorization: Bearer <key>'", status=401)
        patterns = ring.namespaces_of(creds.credentials)
        if patterns is None:
            raise PermissionDenied("authorization: unknown API key", status=401)
        return patterns

    def authorize(namespace: str, creds: HTTPAuthorizationCredentials | None) -> None:
        if not any(fnmatch.fnmatchcase(namespace, p) for p in key_patterns(creds)):
            raise PermissionDenied(f"namespace: this key may not use namespace {namespace!r}", status=403)

    @app.exception_handler(TurnmemError)
    async def _turnmem_error(request: Request, exc: TurnmemError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc, request.url.path), status_code=422)

    @app.get("/healthz", response_model=Health, tags=["service"])
    async def healthz() -> Health:  # async: on the event loop, never queued behind the thread pool
        return Health(status="ok", version=memory.__version__)

    app.include_router(namespace_router(mem, key_patterns, authorize, write_lock, waits))

    @app.get("/v1/namespaces/{ns}/sessions/{session}", response_model=SessionInfo, tags=["sessions"])
    def session_info(ns: NAME, session: NAME, creds: Creds) -> SessionInfo:
        authorize(ns, creds)
        return SessionInfo(session=session, last_seq=mem.last_seq(session, namespace=ns))

    @app.delete(
        "/v1/namespaces/{ns}/sessions/{session}",
        response_model=DeleteResponse,
        tags=["sessions"],
        responses={404: {"model": ErrorBody, "description": "no such session"}},
    )
    def delete_session(ns: NAME, session: NAME, creds: Creds) -> DeleteResponse:
        authorize(ns, creds)
        with write_lock:
            return DeleteResponse(deleted=mem.delete(ns, session))

    @app.post(
        "/v1/namespaces/{ns}/sessions/{session}/messages",
        response_model=AppendResponse,
        tags=["sessions"],
        responses={
            409: {"model": ErrorBody, "description": "stale base_seq; `current_seq` is the session's seq"},
            422: {"model": ErrorBody, "description": "bad input, or idempotency_key reused with another body"},
            **BUSY,
            **WAITING,
        },
    )
    async def append(ns: NAME, session: NAME, body: AppendRequest, creds: Creds) -> AppendResponse:
        """Append a batch to the session: all of it or nothing; replays and retries store nothing twice.
        A call that waits (``wait_indexed``, or a write the indexer has no room for yet) takes a
        waiting slot (503 ``Busy`` when none is free) and waits on its thread, not the shared pool."""
        authorize(ns, creds)

        def prepare() -> list[PreparedMessage]:
            mem.check_write(session, ns, body.idempotency_key, body.base_seq)  # names and key, before embedding
            return mem.prepare(body.messages, timestamp=body.timestamp)  # validate + chunk outside the lock

        def store(prepared: list[PreparedMessage]) -> list[int]:
            mem.wait_room(prepared)  # backpressure, before the lock: a full queue holds up no other writer
            with write_lock:
                seqs = mem.add_prepared(
                    prepared,
                    session=session,
                    namespace=ns,
                    idempotency_key=body.idempotency_key,
                    base_seq=body.base_seq,
                )
                mark = mem.write_mark()
            if body.wait_indexed:
                mem.wait_indexed(mark)  # outside the lock: this batch and those before it, not the later ones
            return seqs

        if body.wait_indexed:  # refused before any work when no slot is free
            async with waits.slot(ns, "wait_indexed"):
                prepared = await waits.run(prepare)
                seqs = await waits.run(partial(store, prepared))
        else:
            prepared = await run_in_threadpool(prepare)
            if mem.has_room(prepared):
                seqs = await run_in_threadpool(store, prepared)
            else:  # it will wait for the indexer (up to embed_timeout): not on a thread others need
                async with waits.slot(ns, "add"):
                    seqs = await waits.run(partial(store, prepared))
        return AppendResponse(first_seq=seqs[0], last_seq=seqs[-1], seqs=seqs)

    @app.get(
        "/v1/namespaces/{ns}/sessions/{session}/messages",
        response_model=MessagesResponse,
        response_model_exclude_none=True,
        tags=["sessions"],
    )
    def since(
        ns: NAME,
        session: NAME,
        creds: Creds,
        since: Annotated[int, Query(ge=0, le=MAX_INT, description="the last seq you saw; 0 for everything")] = 0,
        limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    ) -> MessagesResponse:
        """The messages after ``since``: what a client that saw ``since`` missed."""
        authorize(ns, creds)
        msgs = mem.since(session, since, namespace=ns, limit=limit)
        last = mem.last_seq(session, namespace=ns)
        seen = msgs[-1].seq if msgs else since
        return MessagesResponse(messages=msgs, last_seq=last, has_more=seen < last and limit is not None)

    @app.get("/v1/namespaces/{ns}/sessions/{session}/state", response_model=dict[str, StateBlock], tags=["state"])
    def get_state(ns: NAME, session: NAME, creds: Creds) -> dict[str, StateBlock]:
        """The session's current state blocks (pinned in every context of the session)."""
        authorize(ns, creds)
        return mem.state(session, namespace=ns)

    @app.patch(
        "/v1/namespaces/{ns}/sessions/{session}/state",
        response_model=dict[str, StateBlock],
        tags=["state"],
        responses={409: {"model": ErrorBody, "description": "a block moved past the expected version"}},
    )
    def patch_state(ns: NAME, session: NAME, body: StateRequest, creds: Creds) -> dict[str, StateBlock]:
        """Set blocks atomically (null removes one); ``expected`` makes it conditional."""
        authorize(ns, creds)
        with write_lock:
            return mem.set_state(session, body.blocks, namespace=ns, expected=body.expected)

    @app.put("/v1/namespaces/{ns}/sessions/{session}/state-machine", response_model=StateMachine, tags=["state"])
    def put_machine(ns: NAME, session: NAME, body: StateMachine, creds: Creds) -> StateMachine:
        """Attach a stage machine; the ``stage`` block starts at its initial stage if unset."""
        authorize(ns, creds)
        with write_lock:
            mem.set_state_machine(session, body, namespace=ns)
        return body

    @app.get("/v1/namespaces/{ns}/sessions/{session}/tool-calls", response_model=list[ToolCallState], tags=["sessions"])
    def tool_calls(ns: NAME, session: NAME, creds: Creds) -> list[ToolCallState]:
        """Each tool call of the session with its status: pending, completed, error or retried."""
        authorize(ns, creds)
        return mem.tool_calls(session, namespace=ns)

    @app.post("/v1/namespaces/{ns}/sessions/{session}/context", response_model=Context, tags=["read"], responses=BUSY)
    def session_context(ns: NAME, session: NAME, body: ContextRequest, creds: Creds) -> Response:
        """The context for the session's next model call, within ``budget`` tokens."""
        authorize(ns, creds)
        return context_response(mem, ns, session, body)

    install_inspector(app, mem, key_patterns, authorize, eval_dir=eval_dir)
    return app


def serve(
    data: str | Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    index: str | None = None,
    keys: KeyRing | None = None,
    log_level: str = "info",
    limits: ServiceLimits | None = None,
    eval_dir: str | Path | None = None,
) -> None:
    """Open the memory at ``data`` (a folder or a PostgreSQL DSN; None: ``$TURNMEM_DATABASE_URL``) and
    serve it with uvicorn until interrupted. Several servers may serve one PostgreSQL database."""
    import uvicorn  # noqa: PLC0415 - lazy: ~0.4 s that only `serve` needs (the app runs on any ASGI server)

    ring = keys if keys is not None else KeyRing.load()
    if not ring.keys and not is_loopback(host):
        raise InvalidArgument(
            f"host: refusing to serve on {host} without API keys; give --keys FILE (or ${KEYS_ENV}), "
            "or bind to 127.0.0.1",
            field="host",
        )
    parse_location(data, field="data")  # a wrong --data fails before the model loads
    folder = eval_folder(eval_dir)
    limits = limits or ServiceLimits()
    embedder = BatchingEmbedder(default_embedder(), max_batch=limits.embed_batch, timeout=limits.embed_timeout)
    embedder.inner.embed(["warm-up"])  # load the model now (no timeout): /healthz answers only when writes are fast
    mem = Memory.open(  # (checks the embedder's fingerprint: one embed)
        data,
        index=index,
        embedder=embedder,
        max_pending=limits.max_pending,
        pending_timeout_s=limits.embed_timeout,
        read_wait_s=limits.read_wait_s,
    )
    app = create_app(mem, ring, close_on_shutdown=True, limits=limits, eval_dir=folder)
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=_log_config(log_level))


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with turnmem's own warnings printed the same way at the same level."""
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415 - lazy, as in serve

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["turnmem"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


__all__ = ["KeyRing", "ServiceLimits", "create_app", "serve", "is_loopback"]
