"""The clients retry only what is safe, against a real uvicorn server: reads, writes with
their idempotency key, idempotent methods; a PATCH only when it never left; a DELETE whose
answer was lost reports success on its retry instead of NotFound."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from memory.client import AsyncClient, Client
from memory.errors import NotFound, ServiceError
from tests.service.helpers import ALPHA_KEY, ServerProcess


class ScriptedTransport(httpx.BaseTransport):
    """Fails the first requests of a method as scripted: ``refuse`` (connection refused: it never
    reached the server) or ``lose`` (the server answered, the answer never arrives)."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.inner = httpx.HTTPTransport()
        self.script = {k: list(v) for k, v in script.items()}
        self.sent: list[str] = []  # methods that reached the server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        plan = self.script.get(request.method) or []
        step = plan.pop(0) if plan else "pass"
        if step == "refuse":
            raise httpx.ConnectError("injected: connection refused", request=request)
        self.sent.append(request.method)
        resp = self.inner.handle_request(request)
        if step == "lose":
            resp.read()
            resp.close()
            raise httpx.ReadTimeout("injected: the answer was lost", request=request)
        return resp

    def close(self) -> None:
        self.inner.close()


class AsyncScriptedTransport(httpx.AsyncBaseTransport):
    def __init__(self, script: dict[str, list[str]]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.script = {k: list(v) for k, v in script.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        plan = self.script.get(request.method) or []
        step = plan.pop(0) if plan else "pass"
        if step == "refuse":
            raise httpx.ConnectError("injected", request=request)
        resp = await self.inner.handle_async_request(request)
        if step == "lose":
            await resp.aread()
            await resp.aclose()
            raise httpx.ReadTimeout("injected", request=request)
        return resp

    async def aclose(self) -> None:
        await self.inner.aclose()


def _client(server: ServerProcess, script: dict[str, list[str]]) -> tuple[Client, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return Client(server.url, api_key=ALPHA_KEY, backoff=0.01, transport=transport), transport


def test_a_delete_whose_answer_was_lost_reports_success(server: ServerProcess, session_name: str) -> None:
    client, transport = _client(server, {"DELETE": ["lose"]})
    with client:
        client.add([{"role": "user", "content": "my code is 4471"}], session=session_name, namespace="alpha")
        assert client.delete("alpha", session_name) == 0  # the first attempt deleted it; no NotFound
        assert transport.sent.count("DELETE") == 2
        assert client.last_seq(session_name, namespace="alpha") == 0
        with pytest.raises(NotFound):  # a later, separate delete still says there is nothing
            client.delete("alpha", session_name)


def test_a_delete_that_never_left_still_reports_not_found(server: ServerProcess, session_name: str) -> None:
    client, transport = _client(server, {"DELETE": ["refuse"]})
    with client, pytest.raises(NotFound):
        client.delete("alpha", session_name)  # retried (it never left), and there was nothing to delete
    assert transport.sent == ["DELETE"]


def test_a_patch_whose_answer_was_lost_is_not_repeated(server: ServerProcess, session_name: str) -> None:
    client, transport = _client(server, {"PATCH": ["lose"]})
    with client:
        with pytest.raises(ServiceError):
            client.set_state(session_name, {"task": "hotel"}, namespace="alpha")
        assert transport.sent.count("PATCH") == 1
        # It went through once: one version, not two.
        assert client.state(session_name, namespace="alpha")["task"].version == 1


def test_a_patch_that_never_left_is_retried(server: ServerProcess, session_name: str) -> None:
    client, transport = _client(server, {"PATCH": ["refuse", "refuse"]})
    with client:
        blocks = client.set_state(session_name, {"task": "hotel"}, namespace="alpha")
        assert blocks["task"].version == 1 and transport.sent.count("PATCH") == 1


def test_reads_and_keyed_writes_are_retried_after_a_lost_answer(server: ServerProcess, session_name: str) -> None:
    client, transport = _client(server, {"POST": ["lose", "lose"], "GET": ["lose"]})
    with client:
        seqs = client.add([{"role": "user", "content": "one"}], session=session_name, namespace="alpha")
        assert seqs == [1]  # stored once though sent twice: the idempotency key
        assert [m.seq for m in client.since(session_name, 0, namespace="alpha")] == [1]
        ctx = client.assemble("one", session=session_name, namespace="alpha", budget=200)
        assert ctx.tokens <= 200
    assert transport.sent.count("POST") == 4 and transport.sent.count("GET") == 2


def test_async_delete_whose_answer_was_lost_reports_success(server: ServerProcess, session_name: str) -> None:
    async def run() -> int:
        transport = AsyncScriptedTransport({"DELETE": ["lose"]})
        async with AsyncClient(server.url, api_key=ALPHA_KEY, backoff=0.01, transport=transport) as client:
            await client.add([{"role": "user", "content": "x"}], session=session_name, namespace="alpha")
            deleted = await client.delete("alpha", session_name)
            assert await client.last_seq(session_name, namespace="alpha") == 0
            return deleted

    assert asyncio.run(run()) == 0
