"""One exception hierarchy, so callers catch by meaning; each class knows its HTTP answer.

Every error carries a message that names the offending field and says how to fix it.
Nothing raised from here leaves partial state behind: validation happens before any
write, and writes are single SQLite transactions.

Each class carries the HTTP status the service answers it with (``status_code``) and a stable
name (``code``, the ``error`` of the JSON body). :meth:`TurnmemError.body` is the body the
service sends; :data:`REGISTRY` and :func:`error_from_body` turn such a body back into the same
class on the client: one mapping, used both ways (as chromadb's errors do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TurnmemError(Exception):
    """Root of every error turnmem raises on purpose."""

    status_code: int = 500  # the HTTP status the service answers with
    code: str = "TurnmemError"  # the body's ``error``: the class the clients raise again

    def body(self) -> dict[str, Any]:
        """The JSON body the service answers with: ``detail``, ``error``, ``field`` when the error
        names one, then the fields of the class (``current_seq``, ``budget``, ...)."""
        body: dict[str, Any] = {"detail": str(self), "error": self.code}
        field = getattr(self, "field", None)
        if field is not None:
            body["field"] = field
        return body

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        """The error again from a :meth:`body` the service answered ``status`` with."""
        return cls(detail)


class InvalidMessage(TurnmemError, ValueError):
    """A message (or a batch of messages) failed validation.

    ``field`` is a dotted path such as ``messages[1].tool_call_id``.
    """

    status_code = 422
    code = "InvalidMessage"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, field=body.get("field"))


class InvalidArgument(TurnmemError, ValueError):
    """An argument other than a message is wrong (a namespace name, a budget, a share).

    The service answers 422 (413 for a request body over its byte limit, naming ``body``)."""

    status_code = 422
    code = "InvalidArgument"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, field=body.get("field"))


class BudgetTooSmall(TurnmemError, ValueError):
    """The budget cannot hold what must always be in the context (the pinned part)."""

    status_code = 422
    code = "BudgetTooSmall"

    def __init__(self, message: str, *, budget: int, required: int) -> None:
        super().__init__(message)
        self.budget = budget
        self.required = required

    def body(self) -> dict[str, Any]:
        body = super().body()
        body.setdefault("field", "budget")
        return {**body, "budget": self.budget, "required": self.required}

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, budget=int(body.get("budget", 0)), required=int(body.get("required", 0)))


class NotFound(TurnmemError, KeyError):
    """A namespace, session or message does not exist."""

    status_code = 404
    code = "NotFound"

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else ""


class Conflict(TurnmemError):
    """A conditional write lost a race: ``base_seq`` is not the session's current seq (or a state
    block moved past its expected version). The service answers 409 with ``current_seq``."""

    status_code = 409
    code = "Conflict"

    def __init__(self, message: str, *, current_seq: int) -> None:
        super().__init__(message)
        self.current_seq = current_seq

    def body(self) -> dict[str, Any]:
        return {**super().body(), "current_seq": self.current_seq}

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, current_seq=int(body.get("current_seq", -1)))


class IdempotencyConflict(Conflict):
    """An ``idempotency_key`` came back with another request than the one it first answered
    (HTTP 422, as the IETF Idempotency-Key draft says); nothing was stored. ``field`` is
    ``"idempotency_key"``."""

    status_code = 422
    code = "IdempotencyConflict"

    def __init__(self, message: str, *, current_seq: int) -> None:
        super().__init__(message, current_seq=current_seq)
        self.field = "idempotency_key"


class InvalidTransition(TurnmemError, ValueError):
    """A stage change the session's state machine does not allow (``allowed`` lists the legal ones)."""

    status_code = 422
    code = "InvalidTransition"

    def __init__(self, message: str, *, current: str | None, allowed: list[str]) -> None:
        super().__init__(message)
        self.field = "stage"
        self.current = current
        self.allowed = allowed

    def body(self) -> dict[str, Any]:
        return {**super().body(), "current": self.current, "allowed": self.allowed}

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, current=body.get("current"), allowed=list(body.get("allowed") or []))


class UpstreamError(TurnmemError):
    """An outside service (an OpenAI-compatible endpoint) failed or answered badly.

    ``status`` is the HTTP status it last answered with (None if it never answered; None too on
    the client, since the service answers 502 without it)."""

    status_code = 502
    code = "UpstreamError"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PermissionDenied(TurnmemError):
    """The service refused the API key: missing, unknown (``status`` 401), or not allowed this
    namespace (403). The service answers with ``status``."""

    status_code = 403
    code = "PermissionDenied"

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status
        self.status_code = status

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, status=status)


class ServiceError(TurnmemError):
    """The turnmem service could not be reached, or failed (5xx), after the client's retries.

    ``status`` is what it answered (None when nothing answered)."""

    code = "ServiceError"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(f"turnmem service answered {status}: {detail}", status=status)


class TimedOut(TurnmemError, TimeoutError):
    """A step took longer than its limit (e.g. the service's embedding queue); safe to retry later.
    The service answers 503 with ``Retry-After`` (504 naming ``timeout`` for a flush that waited
    its ``timeout``)."""

    status_code = 503
    code = "TimedOut"


class Busy(TurnmemError):
    """The service already runs as many waiting calls (``flush``, ``wait_indexed`` writes) as it
    allows, in all or in this namespace; nothing was done: retry after ``Retry-After`` seconds.
    The service answers 503 with ``Retry-After``."""

    status_code = 503
    code = "Busy"


class StorageError(TurnmemError):
    """The database or the disk failed the operation (disk full, an I/O error, a lost database
    connection); nothing of it was stored. ``transient`` errors (a lost connection, a locked
    database) are worth retrying soon: the service answers 503 with ``Retry-After``; the others
    (disk full) need an operator: 507 Insufficient Storage. The driver's error is chained."""

    code = "StorageError"

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        self.status_code = 503 if transient else 507

    def body(self) -> dict[str, Any]:
        return {**super().body(), "transient": self.transient}

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, transient=bool(body.get("transient", status == 503)))


class IndexingFailed(TurnmemError):
    """Embedding or indexing stored turns failed in the background (write-behind indexing). The
    turns themselves are stored (the window and full-text search have them); their chunks are
    retried, and any left without a vector are indexed when a memory next opens the store.
    ``chunk_ids`` are the chunks that failed (empty on the client: the body does not carry them);
    the cause is chained. The service answers 503 with ``Retry-After``."""

    status_code = 503
    code = "IndexingFailed"

    def __init__(self, message: str, *, chunk_ids: list[int]) -> None:
        super().__init__(message)
        self.chunk_ids = chunk_ids

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, chunk_ids=[int(i) for i in body.get("chunk_ids") or []])


class IndexMismatch(TurnmemError, ValueError):
    """A vector index was used wrongly (wrong vector dimension, another model's index)."""

    code = "IndexMismatch"


class SchemaMismatch(TurnmemError):
    """The stored schema is one this version of turnmem can neither read nor migrate.
    (``found`` and ``supported`` are -1 on the client: the body does not carry them.)"""

    code = "SchemaMismatch"

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported

    @classmethod
    def from_body(cls, detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
        return cls(detail, found=int(body.get("found", -1)), supported=int(body.get("supported", -1)))


# Every class by its ``code``: what the clients read a body's ``error`` with.
REGISTRY: dict[str, type[TurnmemError]] = {
    cls.code: cls
    for cls in (
        TurnmemError,
        InvalidMessage,
        InvalidArgument,
        BudgetTooSmall,
        NotFound,
        Conflict,
        IdempotencyConflict,
        InvalidTransition,
        UpstreamError,
        PermissionDenied,
        ServiceError,
        TimedOut,
        Busy,
        StorageError,
        IndexingFailed,
        IndexMismatch,
        SchemaMismatch,
    )
}


def _by_status(detail: str, body: Mapping[str, Any], status: int) -> TurnmemError:
    """An error answer whose ``error`` names no class (a proxy's 502, FastAPI's 404 for a route
    the server does not have, a server older than this client): read by its status alone."""
    field = body.get("field")
    if status in (401, 403):
        return PermissionDenied(detail, status=status)
    if status == 409:
        return Conflict.from_body(detail, body, status)
    if status == 404:
        return NotFound(detail)
    if status in (413, 422):
        messages = isinstance(field, str) and field.startswith("messages")
        return (InvalidMessage if messages else InvalidArgument).from_body(detail, body, status)
    if status == 502:
        return UpstreamError(detail)
    if status == 507:
        return StorageError(detail)
    return ServiceError.from_body(detail, body, status)


def error_from_body(body: Any, status: int, text: str = "") -> TurnmemError:
    """The error a service's error answer stands for: the :data:`REGISTRY` class its ``error``
    names, rebuilt from the body's fields (see each class's ``from_body``); ``text`` is the
    message when the body has no ``detail`` (an answer that is not JSON)."""
    body = body if isinstance(body, Mapping) else {}
    detail = body.get("detail")
    detail = detail if isinstance(detail, str) else text
    name = body.get("error")
    cls = REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        return _by_status(detail, body, status)
    return cls.from_body(detail, body, status)


__all__ = [
    "REGISTRY",
    "Busy",
    "StorageError",
    "TurnmemError",
    "SchemaMismatch",
    "InvalidMessage",
    "InvalidArgument",
    "BudgetTooSmall",
    "NotFound",
    "Conflict",
    "IdempotencyConflict",
    "IndexMismatch",
    "IndexingFailed",
    "InvalidTransition",
    "PermissionDenied",
    "ServiceError",
    "TimedOut",
    "UpstreamError",
    "error_from_body",
]
