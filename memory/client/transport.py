"""What both REST clients share below their methods: a request, its retries, its errors.

A :class:`Call` is one request and how to read its answer (:mod:`memory.client.requests` makes
them). :class:`Attempts` decides how often a call is sent and when to give up, and turns the last
answer into a result or into the exception ``Memory`` would have raised (:func:`raise_for`);
:class:`Transport` holds the settings of a client. ``Client`` and ``AsyncClient`` keep only the
I/O: sending a request and sleeping between tries (see :mod:`memory.client` for the retry policy).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from memory.errors import InvalidArgument, ServiceError, error_from_body

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8080"
KEY_ENV = "TURNMEM_API_KEY"
RETRY_STATUS = frozenset({502, 503, 504})
# Methods whose repetition has the effect of one request (RFC 9110, 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Transport errors raised before the request left: any request may be sent again.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _as_is(data: Any) -> Any:
    return data


@dataclass
class Call(Generic[T]):
    """One HTTP request, and how to read its answer.

    ``idempotent`` marks a POST that may be repeated: a read (context, search) or a write
    carrying its idempotency key; methods in :data:`IDEMPOTENT_METHODS` are so by definition.
    ``read`` turns the answer's JSON into the method's result; ``remap`` rewrites an
    :class:`InvalidArgument` the service raised into the one ``Memory`` would have.
    """

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    idempotent: bool = False
    timeout: float | None = None  # seconds for this request, when it may take longer than the client's timeout
    read: Callable[[Any], T] = _as_is
    remap: Callable[[InvalidArgument], InvalidArgument] | None = None

    @property
    def safe_to_repeat(self) -> bool:
        return self.idempotent or self.method in IDEMPOTENT_METHODS


def raise_for(resp: httpx.Response) -> None:
    """Turn an error answer into the exception ``Memory`` would have raised: the class the body's
    ``error`` names (:func:`memory.errors.error_from_body`, the registry the service answers from)."""
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
    except ValueError:
        body = None
    raise error_from_body(body, resp.status_code, resp.text[:500] or resp.reason_phrase)


def _retryable(call: Call[Any], resp: httpx.Response | None, exc: Exception | None) -> bool:
    """Whether to send ``call`` again after this outcome (see :mod:`memory.client`)."""
    if isinstance(exc, UNSENT):
        return True  # it never reached the server
    if not call.safe_to_repeat:
        return False
    return isinstance(exc, httpx.TransportError) or (resp is not None and resp.status_code in RETRY_STATUS)


def _maybe_done(exc: Exception | None, resp: httpx.Response | None) -> bool:
    """Whether a failed attempt may still have been carried out by the server."""
    if exc is not None:
        return not isinstance(exc, UNSENT)
    return resp is not None and resp.status_code in RETRY_STATUS  # a proxy may have forwarded it


class Attempts(Generic[T]):
    """The tries of one call, for either client: iterate for the delay before each try (None
    before the first), report its outcome with :meth:`answered` or :meth:`failed`, then take
    :meth:`result`. The iteration stops once an outcome is not worth another try.

    This is the REST client's own retry policy, not :mod:`memory.llm`'s (which retries every
    chat-completions POST on 408/409/429/5xx, honouring ``Retry-After``): a completion has no
    effect to repeat, but a turnmem call may. So a call is repeated only when that is safe
    (:attr:`Call.safe_to_repeat`, or the request never left), only on 502/503/504 or a broken
    connection (a 409 here is a lost race, a 500 a bug: neither gets better by waiting), and a
    ``DELETE`` that may have gone through counts as done (:meth:`_deleted_before`)."""

    def __init__(self, call: Call[T], retries: int, backoff: float) -> None:
        self.call = call
        self.retries = retries
        self.backoff = backoff
        self.resp: httpx.Response | None = None
        self.exc: Exception | None = None
        self.maybe_done = False  # an earlier attempt may have been carried out

    def __iter__(self) -> Iterator[float | None]:
        for attempt in range(self.retries + 1):
            delay = None
            if attempt:
                self.maybe_done = self.maybe_done or _maybe_done(self.exc, self.resp)
                delay = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
            self.resp, self.exc = None, None
            yield delay
            if not _retryable(self.call, self.resp, self.exc):
                return

    def answered(self, resp: httpx.Response) -> None:
        self.resp = resp

    def failed(self, exc: httpx.TransportError) -> None:
        self.exc = exc

    def result(self) -> T:
        """The call's result from the last answer, or the error it stands for."""
        call, resp = self.call, self.resp
        if self._deleted_before():
            return call.read({"deleted": 0})
        if resp is None:
            raise ServiceError(
                f"{call.method} {call.path}: the turnmem service is unreachable ({self.exc!r})"
            ) from self.exc
        try:
            raise_for(resp)
        except InvalidArgument as exc:
            if call.remap is None:
                raise
            raise call.remap(exc) from None
        return call.read(resp.json())

    def _deleted_before(self) -> bool:
        """A DELETE retried after an attempt that may have gone through, now finding nothing:
        the earlier attempt deleted it, so the call succeeded."""
        resp = self.resp
        return self.call.method == "DELETE" and self.maybe_done and resp is not None and resp.status_code == 404


class Transport:
    """The settings both clients share: where the service is, the key, timeouts and retries."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(retries, int) or retries < 0:
            raise InvalidArgument(f"retries: give an int >= 0 (got {retries!r})", field="retries")
        self.base_url = base_url.rstrip("/")
        key = api_key if api_key is not None else os.environ.get(KEY_ENV)
        self.headers = {"User-Agent": "turnmem-client", **(headers or {})}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def _timeout_of(self, call: Call[T]) -> float | httpx.Timeout:
        return self.timeout if call.timeout is None else call.timeout

    def _attempts(self, call: Call[T]) -> Attempts[T]:
        return Attempts(call, self.retries, self.backoff)
