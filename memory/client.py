"""``Client`` and ``AsyncClient``: the REST service with the methods and errors of ``Memory``.

A chatbot moves from the embedded memory to the service by changing one line::

    mem = Memory.open("data")                                   # embedded
    mem = Client("http://127.0.0.1:8080", api_key="sk-...")     # service

Both clients share the request building and response parsing below; only the I/O differs.

Retries (timeouts, dropped connections, 502/503/504, with backoff) go only where repeating
the request is safe: reads (GETs, ``assemble``, ``search``), writes that carry their
idempotency key (``add`` sends a fresh one per call unless you give yours, so a retry never
stores a message twice), and idempotent ones (``PUT`` of a stage machine, ``DELETE``). A
``set_state`` (PATCH: each call makes a new version) is retried only when the request
surely never reached the server (the connection failed). A retried ``DELETE`` whose first
attempt may have gone through (its answer was lost) and which then finds nothing reports
success with ``deleted == 0``, since the first attempt did the deleting.

Errors come back as the same classes ``Memory`` raises (:class:`InvalidMessage`,
:class:`Conflict` with ``current_seq``, ...; a 413 for a body over the server's limit as
:class:`InvalidArgument` naming ``body``), plus :class:`PermissionDenied` for a refused key
and :class:`ServiceError` when the service stays unreachable. ``flush`` (``POST
/v1/namespaces/{ns}/flush``) raises :class:`TimedOut` when the service answers 504, and is not
retried on it: it already waited its ``timeout``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from memory.errors import (
    BudgetTooSmall,
    Conflict,
    IdempotencyConflict,
    InvalidArgument,
    InvalidMessage,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ServiceError,
    TimedOut,
    TurnmemError,
    UpstreamError,
)
from memory.models import Context, Hit, Message, MessageInput, StoredMessage, ToolCallState
from memory.state import StateBlock, StateMachine
from memory.validation import check_limit, check_name, check_seq

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_NAMESPACE = "default"
KEY_ENV = "TURNMEM_API_KEY"
RETRY_STATUS = frozenset({502, 503, 504})
# Methods whose repetition has the effect of one request (RFC 9110, 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Transport errors raised before the request left: any request may be sent again.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class _Call:
    """One HTTP request, and how to read its answer.

    ``idempotent`` marks a POST that may be repeated: a read (context, search) or a write
    carrying its idempotency key; methods in :data:`IDEMPOTENT_METHODS` are so by definition.
    """

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    idempotent: bool = False
    timeout: float | None = None  # seconds for this request, when it may take longer than the client's timeout

    @property
    def safe_to_repeat(self) -> bool:
        return self.idempotent or self.method in IDEMPOTENT_METHODS


def _seg(value: str, name: str) -> str:
    """A namespace or session as a URL segment, checked as ``Memory`` checks it (a URL cannot carry a non-string)."""
    return quote(check_name(value, name), safe="")


def _session_path(namespace: str, session: str) -> str:
    return f"/v1/namespaces/{_seg(namespace, 'namespace')}/sessions/{_seg(session, 'session')}"


def _json_time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _message_json(msg: MessageInput) -> Any:
    if isinstance(msg, StoredMessage):
        return msg.model_dump(mode="json", exclude_none=True, exclude={"namespace", "session", "seq"})
    if isinstance(msg, Message):
        return msg.model_dump(mode="json", exclude_none=True)
    return msg


def _raise_for(resp: httpx.Response) -> None:
    """Turn an error answer into the exception ``Memory`` would have raised."""
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail")
    text = detail if isinstance(detail, str) else resp.text[:500] or resp.reason_phrase
    kind, fld = body.get("error"), body.get("field")
    status = resp.status_code
    if status in (401, 403):
        raise PermissionDenied(text, status=status)
    if status == 409:
        raise Conflict(text, current_seq=int(body.get("current_seq", -1)))
    if status == 404:
        raise NotFound(text)
    if status in (413, 422):  # 413: the body is over the server's byte limit (field: body)
        if kind == "IdempotencyConflict":
            raise IdempotencyConflict(text, current_seq=int(body.get("current_seq", -1)))
        if kind == "InvalidTransition":
            raise InvalidTransition(text, current=body.get("current"), allowed=list(body.get("allowed") or []))
        if kind == "BudgetTooSmall":
            raise BudgetTooSmall(text, budget=int(body.get("budget", 0)), required=int(body.get("required", 0)))
        if kind == "InvalidMessage" or (isinstance(fld, str) and fld.startswith("messages")):
            raise InvalidMessage(text, field=fld)
        raise InvalidArgument(text, field=fld)
    if status == 502:
        raise UpstreamError(text)
    if status == 504 and kind == "TimedOut":  # a flush that ran out of time (the writes are stored)
        raise TimedOut(text)
    raise ServiceError(f"turnmem service answered {status}: {text}", status=status)


class _Api:
    """Request building and response parsing shared by both clients (no I/O here)."""

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

    def _timeout_of(self, call: _Call) -> float | httpx.Timeout:
        return self.timeout if call.timeout is None else call.timeout

    def _delay(self, attempt: int) -> float:
        return self.backoff * (2**attempt) * (0.5 + random.random())

    @staticmethod
    def _retryable(call: _Call, resp: httpx.Response | None, exc: Exception | None) -> bool:
        """Whether to send ``call`` again after this outcome (see the module docstring)."""
        if isinstance(exc, _UNSENT):
            return True  # it never reached the server
        if not call.safe_to_repeat:
            return False
        return isinstance(exc, httpx.TransportError) or (resp is not None and resp.status_code in RETRY_STATUS)

    @staticmethod
    def _maybe_done(exc: Exception | None, resp: httpx.Response | None) -> bool:
        """Whether a failed attempt may still have been carried out by the server."""
        if exc is not None:
            return not isinstance(exc, _UNSENT)
        return resp is not None and resp.status_code in RETRY_STATUS  # a proxy may have forwarded it

    @staticmethod
    def _deleted_before(call: _Call, resp: httpx.Response | None, maybe_done: bool) -> bool:
        """A DELETE retried after an attempt that may have gone through, now finding nothing:
        the earlier attempt deleted it, so the call succeeded."""
        return call.method == "DELETE" and maybe_done and resp is not None and resp.status_code == 404

    @staticmethod
    def _give_up(call: _Call, exc: Exception | None, resp: httpx.Response | None) -> None:
        if resp is not None:
            _raise_for(resp)
        raise ServiceError(f"{call.method} {call.path}: the turnmem service is unreachable ({exc!r})") from exc

    # -- requests ----------------------------------------------------------------------------

    @staticmethod
    def _add(
        messages: Iterable[MessageInput],
        session: str,
        namespace: str,
        timestamp: Any,
        idempotency_key: str | None,
        base_seq: int | None,
        wait_indexed: bool = False,
    ) -> _Call:
        if isinstance(messages, (dict, Message)):
            raise InvalidMessage("messages: pass a list of messages (wrap a single message in [...])", field="messages")
        body: dict[str, Any] = {
            "messages": [_message_json(m) for m in messages],
            "idempotency_key": uuid.uuid4().hex if idempotency_key is None else idempotency_key,
        }
        if base_seq is not None:
            body["base_seq"] = base_seq
        if timestamp is not None:
            body["timestamp"] = _json_time(timestamp)
        if wait_indexed:
            body["wait_indexed"] = True
        return _Call("POST", _session_path(namespace, session) + "/messages", json=body, idempotent=True)

    @staticmethod
    def _assemble(
        query: str | None,
        session: str | None,
        namespace: str,
        budget: int,
        system: str | None,
        now: Any,
        overrides: dict[str, Any],
        timezone: str | None = None,
    ) -> _Call:
        body: dict[str, Any] = {"query": query, "budget": budget}
        if system is not None:
            body["system"] = system
        if timezone is not None:
            body["timezone"] = timezone
        if now is not None:
            body["now"] = _json_time(now)
        if overrides:
            body["config"] = overrides
        path = (
            _session_path(namespace, session)
            if session is not None
            else f"/v1/namespaces/{_seg(namespace, 'namespace')}"
        )
        return _Call("POST", path + "/context", json=body, idempotent=True)  # a read

    @staticmethod
    def _flush(namespace: str, timeout: float) -> _Call:
        # not retried on a 5xx: a 504 already waited `timeout` seconds; call flush again to wait more
        path = f"/v1/namespaces/{_seg(namespace, 'namespace')}/flush"
        wait = timeout + 10.0 if isinstance(timeout, (int, float)) else None  # the server checks the value
        return _Call("POST", path, params={"timeout": timeout}, timeout=wait)

    @staticmethod
    def _since(session: str, seq: int, namespace: str, limit: int | None) -> _Call:
        params: dict[str, Any] = {"since": check_seq(seq)}  # checked here: a query string drops the type
        check_limit(limit)
        if limit is not None:
            params["limit"] = limit
        return _Call("GET", _session_path(namespace, session) + "/messages", params=params)

    @staticmethod
    def _search(query: str, namespace: str, k: int, sessions: Sequence[str] | None) -> _Call:
        body: dict[str, Any] = {"query": query, "k": k}
        if sessions is not None:
            body["sessions"] = list(sessions)
        return _Call("POST", f"/v1/namespaces/{_seg(namespace, 'namespace')}/search", json=body, idempotent=True)

    @staticmethod
    def _delete(namespace: str, session: str | None) -> _Call:
        path = (
            _session_path(namespace, session)
            if session is not None
            else f"/v1/namespaces/{_seg(namespace, 'namespace')}"
        )
        return _Call("DELETE", path)

    @staticmethod
    def _messages(namespace: str, session: str | None, after: int = 0) -> _Call:
        """Every message of a session; or one page of a namespace's (the caller follows ``next_after``)."""
        if session is not None:
            return _Call("GET", _session_path(namespace, session) + "/messages", params={"since": 0})
        return _Call("GET", f"/v1/namespaces/{_seg(namespace, 'namespace')}/messages", params={"after": after})

    @staticmethod
    def _set_state(session: str, blocks: dict[str, Any], namespace: str, expected: dict[str, int] | None) -> _Call:
        body: dict[str, Any] = {"blocks": blocks}
        if expected is not None:
            body["expected"] = expected
        return _Call("PATCH", _session_path(namespace, session) + "/state", json=body)

    @staticmethod
    def _machine(session: str, machine: StateMachine | dict[str, Any], namespace: str) -> _Call:
        spec = machine.model_dump() if isinstance(machine, StateMachine) else machine
        return _Call("PUT", _session_path(namespace, session) + "/state-machine", json=spec)

    # -- answers -----------------------------------------------------------------------------

    @staticmethod
    def _blocks(data: Any) -> dict[str, StateBlock]:
        return {k: StateBlock.model_validate(v) for k, v in data.items()}

    @staticmethod
    def _as_override_error(exc: InvalidArgument) -> InvalidArgument:
        """The service names a bad override ``config.X``; ``assemble(X=...)`` names it ``X`` as Memory does."""
        if exc.field and exc.field.startswith("config."):
            name = exc.field[len("config.") :]
            text = str(exc)
            return InvalidArgument(text[len("config.") :] if text.startswith("config.") else text, field=name)
        return exc

    @staticmethod
    def _seqs(data: Any) -> list[int]:
        return [int(s) for s in data["seqs"]]

    @staticmethod
    def _stored(data: Any) -> list[StoredMessage]:
        return [StoredMessage.model_validate(m) for m in data["messages"]]


class Client(_Api):
    """Synchronous client of ``turnmem serve`` (httpx), with the methods of :class:`memory.Memory`.

    ``transport`` is any ``httpx.BaseTransport`` (tests use it to inject failures).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key=api_key, timeout=timeout, retries=retries, backoff=backoff, headers=headers)
        self._http = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport)

    def _send(self, call: _Call) -> Any:
        resp: httpx.Response | None = None
        exc: Exception | None = None
        maybe_done = False  # an earlier attempt may have been carried out
        for attempt in range(self.retries + 1):
            if attempt:
                maybe_done = maybe_done or self._maybe_done(exc, resp)
                time.sleep(self._delay(attempt - 1))
            resp, exc = None, None
            try:
                resp = self._http.request(
                    call.method, call.path, json=call.json, params=call.params or None, timeout=self._timeout_of(call)
                )
            except httpx.TransportError as e:
                exc = e
            if not self._retryable(call, resp, exc):
                break
        if self._deleted_before(call, resp, maybe_done):
            return {"deleted": 0}
        if resp is None or resp.status_code >= 400:
            self._give_up(call, exc, resp)
        assert resp is not None
        return resp.json()

    def add(
        self,
        messages: Iterable[MessageInput],
        *,
        session: str,
        namespace: str = DEFAULT_NAMESPACE,
        timestamp: Any = None,
        idempotency_key: str | None = None,
        base_seq: int | None = None,
        wait_indexed: bool = False,
    ) -> list[int]:
        """Append messages to a session; returns the seq of each (see :meth:`Memory.add`)."""
        call = self._add(messages, session, namespace, timestamp, idempotency_key, base_seq, wait_indexed)
        return self._seqs(self._send(call))

    def assemble(
        self,
        query: str | None = None,
        *,
        session: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        budget: int = 4000,
        system: str | None = None,
        now: Any = None,
        timezone: str | None = None,
        **overrides: Any,
    ) -> Context:
        """The context for the next model call, within ``budget`` tokens (see :meth:`Memory.assemble`)."""
        try:
            data = self._send(self._assemble(query, session, namespace, budget, system, now, overrides, timezone))
        except InvalidArgument as exc:
            raise self._as_override_error(exc) from None
        return Context.model_validate(data)

    def search(
        self, query: str, *, namespace: str = DEFAULT_NAMESPACE, k: int = 10, sessions: Sequence[str] | None = None
    ) -> list[Hit]:
        return [Hit.model_validate(h) for h in self._send(self._search(query, namespace, k, sessions))["hits"]]

    def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        """The messages of a session after ``seq``: what a client that saw ``seq`` missed."""
        return self._stored(self._send(self._since(session, seq, namespace, limit)))

    def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        """Every stored message of a session, or of a namespace in order (following its pages)."""
        data = self._send(self._messages(namespace, session))
        out = self._stored(data)
        while session is None and data.get("next_after") is not None:
            data = self._send(self._messages(namespace, None, data["next_after"]))
            out += self._stored(data)
        return out

    def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return int(self._send(_Call("GET", _session_path(namespace, session)))["last_seq"])

    def namespaces(self) -> list[str]:
        return list(self._send(_Call("GET", "/v1/namespaces")))

    def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return list(self._send(_Call("GET", f"/v1/namespaces/{_seg(namespace, 'namespace')}/sessions")))

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace, or one session of it: log rows, chunks and vectors."""
        return int(self._send(self._delete(namespace, session))["deleted"])

    def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        return self._blocks(self._send(_Call("GET", _session_path(namespace, session) + "/state")))

    def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expected: dict[str, int] | None = None,
    ) -> dict[str, StateBlock]:
        return self._blocks(self._send(self._set_state(session, blocks, namespace, expected)))

    def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        expected = None if expected_version is None else {"stage": expected_version}
        return self.set_state(session, {"stage": stage}, namespace=namespace, expected=expected)["stage"]

    def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        self._send(self._machine(session, machine, namespace))

    def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        data = self._send(_Call("GET", _session_path(namespace, session) + "/tool-calls"))
        return [ToolCallState.model_validate(t) for t in data]

    def flush(self, timeout: float = 30.0, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Wait until every write the service acknowledged before the call is embedded and indexed
        (on replicas sharing PostgreSQL: every write to ``namespace``, whichever replica took it).
        Raises :class:`TimedOut` after ``timeout`` seconds (at most 300); the writes stay stored."""
        self._send(self._flush(namespace, timeout))

    def health(self) -> dict[str, Any]:
        return dict(self._send(_Call("GET", "/healthz")))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Api):
    """The asyncio twin of :class:`Client`: the same methods, awaited."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key=api_key, timeout=timeout, retries=retries, backoff=backoff, headers=headers)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    async def _send(self, call: _Call) -> Any:
        resp: httpx.Response | None = None
        exc: Exception | None = None
        maybe_done = False  # an earlier attempt may have been carried out
        for attempt in range(self.retries + 1):
            if attempt:
                maybe_done = maybe_done or self._maybe_done(exc, resp)
                await asyncio.sleep(self._delay(attempt - 1))
            resp, exc = None, None
            try:
                resp = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params or None, timeout=self._timeout_of(call)
                )
            except httpx.TransportError as e:
                exc = e
            if not self._retryable(call, resp, exc):
                break
        if self._deleted_before(call, resp, maybe_done):
            return {"deleted": 0}
        if resp is None or resp.status_code >= 400:
            self._give_up(call, exc, resp)
        assert resp is not None
        return resp.json()

    async def add(
        self,
        messages: Iterable[MessageInput],
        *,
        session: str,
        namespace: str = DEFAULT_NAMESPACE,
        timestamp: Any = None,
        idempotency_key: str | None = None,
        base_seq: int | None = None,
        wait_indexed: bool = False,
    ) -> list[int]:
        call = self._add(messages, session, namespace, timestamp, idempotency_key, base_seq, wait_indexed)
        return self._seqs(await self._send(call))

    async def assemble(
        self,
        query: str | None = None,
        *,
        session: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        budget: int = 4000,
        system: str | None = None,
        now: Any = None,
        timezone: str | None = None,
        **overrides: Any,
    ) -> Context:
        try:
            data = await self._send(self._assemble(query, session, namespace, budget, system, now, overrides, timezone))
        except InvalidArgument as exc:
            raise self._as_override_error(exc) from None
        return Context.model_validate(data)

    async def search(
        self, query: str, *, namespace: str = DEFAULT_NAMESPACE, k: int = 10, sessions: Sequence[str] | None = None
    ) -> list[Hit]:
        data = await self._send(self._search(query, namespace, k, sessions))
        return [Hit.model_validate(h) for h in data["hits"]]

    async def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        return self._stored(await self._send(self._since(session, seq, namespace, limit)))

    async def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        data = await self._send(self._messages(namespace, session))
        out = self._stored(data)
        while session is None and data.get("next_after") is not None:
            data = await self._send(self._messages(namespace, None, data["next_after"]))
            out += self._stored(data)
        return out

    async def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return int((await self._send(_Call("GET", _session_path(namespace, session))))["last_seq"])

    async def namespaces(self) -> list[str]:
        return list(await self._send(_Call("GET", "/v1/namespaces")))

    async def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return list(await self._send(_Call("GET", f"/v1/namespaces/{_seg(namespace, 'namespace')}/sessions")))

    async def delete(self, namespace: str, session: str | None = None) -> int:
        return int((await self._send(self._delete(namespace, session)))["deleted"])

    async def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        return self._blocks(await self._send(_Call("GET", _session_path(namespace, session) + "/state")))

    async def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expected: dict[str, int] | None = None,
    ) -> dict[str, StateBlock]:
        return self._blocks(await self._send(self._set_state(session, blocks, namespace, expected)))

    async def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        expected = None if expected_version is None else {"stage": expected_version}
        return (await self.set_state(session, {"stage": stage}, namespace=namespace, expected=expected))["stage"]

    async def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        await self._send(self._machine(session, machine, namespace))

    async def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        data = await self._send(_Call("GET", _session_path(namespace, session) + "/tool-calls"))
        return [ToolCallState.model_validate(t) for t in data]

    async def flush(self, timeout: float = 30.0, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Wait until every write the service acknowledged before the call is indexed (:meth:`Client.flush`)."""
        await self._send(self._flush(namespace, timeout))

    async def health(self) -> dict[str, Any]:
        return dict(await self._send(_Call("GET", "/healthz")))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "Client", "TurnmemError"]
