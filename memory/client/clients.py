"""``Client`` and ``AsyncClient``: the REST service with the methods and errors of ``Memory``.

A chatbot moves from the embedded memory to the service by changing one line::

    mem = Memory.open("data")                                   # embedded
    mem = Client("http://127.0.0.1:8080", api_key="sk-...")     # service

Both clients share the request building and response parsing (:mod:`memory.client.requests`)
and the retry decisions and error mapping (:mod:`memory.client.transport`); only the I/O differs.

Retries (timeouts, dropped connections, 502/503/504, with backoff) go only where repeating
the request is safe: reads (GETs, ``assemble``, ``search``), writes that carry their
idempotency key (``add`` sends a fresh one per call unless you give yours, so a retry never
stores a message twice), and idempotent ones (``PUT`` of a stage machine, ``DELETE``). A
``set_state`` (PATCH: each call makes a new version) is retried only when the request
surely never reached the server (the connection failed). A retried ``DELETE`` whose first
attempt may have gone through (its answer was lost) and which then finds nothing reports
success with ``deleted == 0``, since the first attempt did the deleting.

Errors come back as the same classes ``Memory`` raises (:class:`InvalidMessage`,
:class:`Conflict` with ``current_seq``, :class:`TimedOut` after the retries of a 503, ...; a 413
for a body over the server's limit as :class:`InvalidArgument` naming ``body``): the body's
``error`` names the class (:data:`memory.errors.REGISTRY`, the one the service answers from).
Plus :class:`PermissionDenied` for a refused key and :class:`ServiceError` when the service
stays unreachable or answers a 5xx that names no class. ``flush`` (``POST
/v1/namespaces/{ns}/flush``) raises :class:`TimedOut` when the service answers 504, and is not
retried on it: it already waited its ``timeout``. A waiting call past the server's waiting slots
gets :class:`Busy` (503: ``add(wait_indexed=True)`` is retried, a flush is not: call it again
later); a storage fault comes back as :class:`StorageError` (507 for a full disk, not retried;
503 when transient, retried like any 503). A reset or dropped connection is retried like a
timeout, for the calls above that are safe to repeat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import httpx

from memory.client import requests as req
from memory.client.transport import DEFAULT_URL, Call, Transport
from memory.client.transport import IDEMPOTENT_METHODS as IDEMPOTENT_METHODS
from memory.client.transport import KEY_ENV as KEY_ENV
from memory.client.transport import RETRY_STATUS as RETRY_STATUS
from memory.errors import TurnmemError
from memory.models import Context, Hit, MessageInput, StoredMessage, ToolCallState
from memory.session.state import StateBlock, StateMachine
from memory.validation import DEFAULT_NAMESPACE

T = TypeVar("T")


class Client(Transport):
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

    def _send(self, call: Call[T]) -> T:
        tries = self._attempts(call)
        for delay in tries:
            if delay is not None:
                time.sleep(delay)
            try:
                resp = self._http.request(
                    call.method, call.path, json=call.json, params=call.params or None, timeout=self._timeout_of(call)
                )
                tries.answered(resp)
            except httpx.TransportError as e:
                tries.failed(e)
        return tries.result()

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
        return self._send(req.add(messages, session, namespace, timestamp, idempotency_key, base_seq, wait_indexed))

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
        as_of: Any = None,
        **overrides: Any,
    ) -> Context:
        """The context for the next model call, within ``budget`` tokens (see :meth:`Memory.assemble`;
        ``as_of``: a seq of ``session`` or a time, the point in the history to build it from)."""
        return self._send(req.assemble(query, session, namespace, budget, system, now, overrides, timezone, as_of))

    def search(
        self,
        query: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        k: int = 10,
        sessions: Sequence[str] | None = None,
        as_of: Any = None,
    ) -> list[Hit]:
        return self._send(req.search(query, namespace, k, sessions, as_of))

    def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        """The messages of a session after ``seq``: what a client that saw ``seq`` missed."""
        return self._send(req.since(session, seq, namespace, limit))

    def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        """Every stored message of a session, or of a namespace in order (following its pages)."""
        data = self._send(req.messages(namespace, session))
        out = req.stored(data)
        while session is None and data.get("next_after") is not None:
            data = self._send(req.messages(namespace, None, data["next_after"]))
            out += req.stored(data)
        return out

    def messages_page(
        self, *, namespace: str = DEFAULT_NAMESPACE, after: int = 0, limit: int = 1000
    ) -> tuple[list[StoredMessage], int | None]:
        """Up to ``limit`` (at most 1,000 over REST) messages of a namespace in stored order after the
        cursor ``after`` (0: from the start), and the next page's cursor (None: the last page)."""
        return self._send(req.messages_page(namespace, after, limit))

    def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return self._send(req.last_seq(session, namespace))

    def namespaces(self) -> list[str]:
        return self._send(req.namespaces())

    def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return self._send(req.sessions(namespace))

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace, or one session of it: log rows, chunks and vectors."""
        return self._send(req.delete(namespace, session))

    def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        return self._send(req.state(session, namespace))

    def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expected: dict[str, int] | None = None,
    ) -> dict[str, StateBlock]:
        return self._send(req.set_state(session, blocks, namespace, expected))

    def state_history(self, session: str, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StateBlock]:
        """Every version of one block, oldest first (value None where it was removed)."""
        return self._send(req.state_history(session, name, namespace))

    def state_machine(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> StateMachine | None:
        """The session's attached stage machine, or None."""
        return self._send(req.state_machine(session, namespace))

    def summaries(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StoredMessage]:
        """The session's rolling summaries, oldest first (each covers ``metadata["summary_of"]``)."""
        return self._send(req.summaries(session, namespace))

    def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        return self._send(req.transition(session, stage, namespace, expected_version))

    def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        self._send(req.set_state_machine(session, machine, namespace))

    def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        return self._send(req.tool_calls(session, namespace))

    def flush(self, timeout: float = 30.0, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Wait until every write the service acknowledged before the call is embedded and indexed
        (on replicas sharing PostgreSQL: every write to ``namespace``, whichever replica took it).
        Raises :class:`TimedOut` after ``timeout`` seconds (at most 300); the writes stay stored."""
        self._send(req.flush(namespace, timeout))

    def health(self) -> dict[str, Any]:
        return self._send(req.health())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(Transport):
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

    async def _send(self, call: Call[T]) -> T:
        tries = self._attempts(call)
        for delay in tries:
            if delay is not None:
                await asyncio.sleep(delay)
            try:
                resp = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params or None, timeout=self._timeout_of(call)
                )
                tries.answered(resp)
            except httpx.TransportError as e:
                tries.failed(e)
        return tries.result()

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
        return await self._send(
            req.add(messages, session, namespace, timestamp, idempotency_key, base_seq, wait_indexed)
        )

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
        as_of: Any = None,
        **overrides: Any,
    ) -> Context:
        return await self._send(
            req.assemble(query, session, namespace, budget, system, now, overrides, timezone, as_of)
        )

    async def search(
        self,
        query: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        k: int = 10,
        sessions: Sequence[str] | None = None,
        as_of: Any = None,
    ) -> list[Hit]:
        return await self._send(req.search(query, namespace, k, sessions, as_of))

    async def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        return await self._send(req.since(session, seq, namespace, limit))

    async def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        data = await self._send(req.messages(namespace, session))
        out = req.stored(data)
        while session is None and data.get("next_after") is not None:
            data = await self._send(req.messages(namespace, None, data["next_after"]))
            out += req.stored(data)
        return out

    async def messages_page(
        self, *, namespace: str = DEFAULT_NAMESPACE, after: int = 0, limit: int = 1000
    ) -> tuple[list[StoredMessage], int | None]:
        return await self._send(req.messages_page(namespace, after, limit))

    async def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return await self._send(req.last_seq(session, namespace))

    async def namespaces(self) -> list[str]:
        return await self._send(req.namespaces())

    async def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return await self._send(req.sessions(namespace))

    async def delete(self, namespace: str, session: str | None = None) -> int:
        return await self._send(req.delete(namespace, session))

    async def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        return await self._send(req.state(session, namespace))

    async def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expected: dict[str, int] | None = None,
    ) -> dict[str, StateBlock]:
        return await self._send(req.set_state(session, blocks, namespace, expected))

    async def state_history(self, session: str, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StateBlock]:
        return await self._send(req.state_history(session, name, namespace))

    async def state_machine(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> StateMachine | None:
        return await self._send(req.state_machine(session, namespace))

    async def summaries(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StoredMessage]:
        return await self._send(req.summaries(session, namespace))

    async def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        return await self._send(req.transition(session, stage, namespace, expected_version))

    async def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        await self._send(req.set_state_machine(session, machine, namespace))

    async def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        return await self._send(req.tool_calls(session, namespace))

    async def flush(self, timeout: float = 30.0, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Wait until every write the service acknowledged before the call is indexed (:meth:`Client.flush`)."""
        await self._send(req.flush(namespace, timeout))

    async def health(self) -> dict[str, Any]:
        return await self._send(req.health())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "Client", "TurnmemError"]
