"""The namespace routes of the REST service: listing namespaces and their sessions and messages,
deleting a namespace, namespace-wide context and search, and ``POST /v1/namespaces/{ns}/flush``,
which answers once everything the service acknowledged before the call is embedded and indexed.

Flush: a write is acknowledged when its log commits and its vectors follow on the background
indexer (:mod:`memory.write.indexer`); a client that needs them (a test, an import followed by an
evaluation, a handover) calls flush instead of sending ``wait_indexed`` with every write. It waits
for this server's indexer and, on a database shared by replicas, for every chunk of the namespace
committed before the call by any replica (it embeds those no live replica holds). Past
``timeout`` seconds it answers 504 ``TimedOut`` naming ``timeout``: the writes are stored and
their vectors still come; call it again to keep waiting. A flush waits on a thread of its own, in
one of the service's waiting slots (:mod:`memory.service.waits`): when none is free it answers 503
``Busy`` with ``Retry-After`` at once; the other routes' threads are never the ones it holds.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from memory.errors import TimedOut
from memory.memory import Memory
from memory.models import MAX_INT, Context, Hit, StoredMessage
from memory.service.common import (
    NAME,
    NAME_PATTERN,
    Authorize,
    ContextRequest,
    Creds,
    KeyPatterns,
    as_of_json,
    context_response,
    no_surrogates,
)
from memory.service.errors import BUSY, ErrorBody
from memory.service.limits import MAX_BATCH, MAX_PAGE
from memory.service.waits import WaitSlots
from memory.validation import MAX_NAME, MAX_QUERY_CHARS

FLUSH_TIMEOUT_S = 30.0  # how long a flush waits unless it says otherwise
MAX_FLUSH_TIMEOUT_S = 300.0
WAITING: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "as many calls wait as the server allows (Busy; retry after "
        "`Retry-After` s), or the embedder is saturated (TimedOut)",
    },
}


class NamespaceMessages(BaseModel):
    messages: list[StoredMessage]
    next_after: int | None = Field(
        None, description="the cursor of the next page (pass it as `after`); null on the last page"
    )
    has_more: bool = Field(False, description="true when more messages follow: ask again with after=next_after")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(max_length=MAX_QUERY_CHARS)
    k: int = Field(10, ge=1, le=1000, strict=True)
    sessions: list[Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)]] | None = Field(
        None, max_length=MAX_BATCH
    )
    as_of: int | float | str | None = Field(
        None,
        description="search what existed at a point: a seq of the one session in `sessions` (an integer) or a "
        "time (ISO 8601, or a Unix time with a fraction)",
        examples=[12, "2024-05-03T14:00:00Z"],
    )

    @field_validator("query")
    @classmethod
    def _text(cls, value: str) -> str:
        return no_surrogates(value, "query") or ""

    _as_of = field_validator("as_of", mode="before")(as_of_json)


class SearchResponse(BaseModel):
    hits: list[Hit]


class DeleteResponse(BaseModel):
    deleted: int = Field(description="messages removed (with their chunks and vectors)")


class SessionInfo(BaseModel):
    session: str
    last_seq: int


class FlushResponse(BaseModel):
    indexed: bool = Field(True, description="every write acknowledged before the call has its vectors")
    waited_s: float = Field(description="how long the flush waited")


def namespace_router(
    mem: Memory, key_patterns: KeyPatterns, authorize: Authorize, write_lock: threading.Lock, waits: WaitSlots
) -> APIRouter:
    """The namespace routes over ``mem``; ``write_lock`` is the one the service's writes share,
    ``waits`` the slots of the waiting calls (flush)."""
    router = APIRouter()

    @router.get("/v1/namespaces", response_model=list[str], tags=["namespaces"])
    def list_namespaces(creds: Creds) -> list[str]:
        patterns = key_patterns(creds)
        return [n for n in mem.namespaces() if any(fnmatch.fnmatchcase(n, p) for p in patterns)]

    @router.delete(
        "/v1/namespaces/{ns}",
        response_model=DeleteResponse,
        tags=["namespaces"],
        responses={404: {"model": ErrorBody, "description": "no such namespace"}},
    )
    def delete_namespace(ns: NAME, creds: Creds) -> DeleteResponse:
        authorize(ns, creds)
        with write_lock:
            return DeleteResponse(deleted=mem.delete(ns))

    @router.get("/v1/namespaces/{ns}/sessions", response_model=list[SessionInfo], tags=["namespaces"])
    def list_sessions(ns: NAME, creds: Creds) -> list[SessionInfo]:
        authorize(ns, creds)
        return [SessionInfo(session=s["session"], last_seq=s["last_seq"]) for s in mem.sessions(ns)]

    @router.get(
        "/v1/namespaces/{ns}/messages",
        response_model=NamespaceMessages,
        response_model_exclude_none=True,
        tags=["namespaces"],
    )
    def namespace_messages(
        ns: NAME,
        creds: Creds,
        after: Annotated[
            int, Query(ge=0, le=MAX_INT, description="the cursor `next_after` of the page before; 0: from the start")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="messages per page")] = MAX_PAGE,
    ) -> NamespaceMessages:
        """The namespace's messages in the order they were stored, a page at a time."""
        authorize(ns, creds)
        msgs, cursor = mem.messages_page(namespace=ns, after=after, limit=limit)
        return NamespaceMessages(messages=msgs, next_after=cursor, has_more=cursor is not None)

    @router.post(
        "/v1/namespaces/{ns}/flush",
        response_model=FlushResponse,
        tags=["namespaces"],
        responses={
            504: {"model": ErrorBody, "description": "not everything was indexed within `timeout` s (TimedOut)"},
            503: {
                "model": ErrorBody,
                "description": "background indexing failed (IndexingFailed; retried), or as many calls "
                "wait as the server allows (Busy; retry after `Retry-After` s)",
            },
        },
    )
    async def flush(
        ns: NAME,
        creds: Creds,
        timeout: Annotated[
            float, Query(gt=0, le=MAX_FLUSH_TIMEOUT_S, description="seconds to wait at most (504 past it)")
        ] = FLUSH_TIMEOUT_S,
    ) -> Any:
        """Wait until every write acknowledged before this call is embedded and indexed (on a
        database shared by replicas: every write to the namespace, whichever replica took it)."""
        authorize(ns, creds)
        started = time.monotonic()
        try:
            async with waits.slot(ns, "flush"):  # a thread of its own: not one the other routes need
                await waits.run(lambda: mem.flush(timeout=timeout, namespace=ns))
        except TimedOut as exc:
            return JSONResponse({**exc.body(), "field": "timeout"}, status_code=504)  # it waited: a gateway timeout
        return FlushResponse(waited_s=round(time.monotonic() - started, 3))

    @router.post("/v1/namespaces/{ns}/context", response_model=Context, tags=["read"], responses=BUSY)
    def namespace_context(ns: NAME, body: ContextRequest, creds: Creds) -> Response:
        """A context over the whole namespace (no session: the window is the namespace's timeline)."""
        authorize(ns, creds)
        return context_response(mem, ns, None, body)

    @router.post("/v1/namespaces/{ns}/search", response_model=SearchResponse, tags=["read"], responses=BUSY)
    def search(ns: NAME, body: SearchRequest, creds: Creds) -> SearchResponse:
        authorize(ns, creds)
        return SearchResponse(
            hits=mem.search(body.query, namespace=ns, k=body.k, sessions=body.sessions, as_of=body.as_of)
        )

    return router


__all__ = [
    "DeleteResponse",
    "FlushResponse",
    "NamespaceMessages",
    "SearchRequest",
    "SearchResponse",
    "SessionInfo",
    "namespace_router",
]
