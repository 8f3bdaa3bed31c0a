"""One exception hierarchy, so callers catch by meaning.

Every error carries a message that names the offending field and says how to fix it.
Nothing raised from here leaves partial state behind: validation happens before any
write, and writes are single SQLite transactions.
"""

from __future__ import annotations


class TurnmemError(Exception):
    """Root of every error turnmem raises on purpose."""


class InvalidMessage(TurnmemError, ValueError):
    """A message (or a batch of messages) failed validation.

    ``field`` is a dotted path such as ``messages[1].tool_call_id``.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidArgument(TurnmemError, ValueError):
    """An argument other than a message is wrong (a namespace name, a budget, a share)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BudgetTooSmall(TurnmemError, ValueError):
    """The budget cannot hold what must always be in the context (the pinned part)."""

    def __init__(self, message: str, *, budget: int, required: int) -> None:
        super().__init__(message)
        self.budget = budget
        self.required = required


class NotFound(TurnmemError, KeyError):
    """A namespace, session or message does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else ""


class Conflict(TurnmemError):
    """A conditional write lost a race: ``base_seq`` is not the session's current seq."""

    def __init__(self, message: str, *, current_seq: int) -> None:
        super().__init__(message)
        self.current_seq = current_seq


class IdempotencyConflict(Conflict):
    """An ``idempotency_key`` came back with another request than the one it first answered
    (HTTP 422); nothing was stored. ``field`` is ``"idempotency_key"``."""

    def __init__(self, message: str, *, current_seq: int) -> None:
        super().__init__(message, current_seq=current_seq)
        self.field = "idempotency_key"


class InvalidTransition(TurnmemError, ValueError):
    """A stage change the session's state machine does not allow (``allowed`` lists the legal ones)."""

    def __init__(self, message: str, *, current: str | None, allowed: list[str]) -> None:
        super().__init__(message)
        self.field = "stage"
        self.current = current
        self.allowed = allowed


class UpstreamError(TurnmemError):
    """An outside service (an OpenAI-compatible endpoint) failed or answered badly.

    ``status`` is the HTTP status it last answered with (None if it never answered)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PermissionDenied(TurnmemError):
    """The service refused the API key: missing, unknown, or not allowed this namespace."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class ServiceError(TurnmemError):
    """The turnmem service could not be reached, or failed (5xx), after the client's retries."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TimedOut(TurnmemError, TimeoutError):
    """A step took longer than its limit (e.g. the service's embedding queue); safe to retry later.
    The service answers 503 with ``Retry-After``."""


class IndexingFailed(TurnmemError):
    """Embedding or indexing stored turns failed in the background (write-behind indexing). The
    turns themselves are stored (the window and full-text search have them); their chunks are
    retried, and any left without a vector are indexed when a memory next opens the store.
    ``chunk_ids`` are the chunks that failed; the cause is chained. The service answers 503."""

    def __init__(self, message: str, *, chunk_ids: list[int]) -> None:
        super().__init__(message)
        self.chunk_ids = chunk_ids


class IndexMismatch(TurnmemError, ValueError):
    """A vector index was used wrongly (wrong vector dimension, another model's index)."""


class SchemaMismatch(TurnmemError):
    """The stored schema is one this version of turnmem can neither read nor migrate."""

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


__all__ = [
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
]
