"""``POST /v1/namespaces/{ns}/flush`` through a real uvicorn server: it answers once everything
acknowledged before it is embedded and indexed, 504 ``TimedOut`` naming ``timeout`` when that
takes longer (the writes stay stored), and ``Client.flush`` / ``AsyncClient.flush`` call it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from memory import Memory
from memory.client import AsyncClient, Client
from memory.embedders import Embedder
from memory.errors import InvalidArgument, PermissionDenied, TimedOut
from memory.service.app import create_app
from tests.fakes import serve
from tests.memory.test_write_behind import FACT, GatedEmbedder
from tests.service.helpers import ServerProcess

pytestmark = pytest.mark.fake_embedder  # waiting for the indexer: the model is not the point


@pytest.fixture
def gated_service(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> Iterator[tuple[str, GatedEmbedder]]:
    """A server (uvicorn in a thread) whose indexer embeds only once the test opens the gate."""
    emb = GatedEmbedder(memory_embedder)
    mem = open_memory("flush", embedder=emb, read_wait_s=0)  # reads see the held vectors missing at once
    try:
        with serve(create_app(mem)) as url:
            yield url, emb
    finally:
        emb.gate.set()


def test_a_context_says_over_rest_how_many_chunks_had_no_vector_yet(
    open_memory: Callable[..., Memory], memory_embedder: Embedder
) -> None:
    """Read-your-writes through the service: a context waits for the server's own writes up to
    its bound; past it the answer's ``unindexed`` (and the client's ``Context.unindexed``) says so."""
    emb = GatedEmbedder(memory_embedder)
    mem = open_memory("ryw", embedder=emb, read_wait_s=0.05)
    try:
        with serve(create_app(mem)) as url, Client(url) as client:
            client.add([FACT], session="s")
            assert emb.entered.wait(10)  # the server's indexer holds it: the context's wait runs out
            body = {"query": "what is the locker code at the gym?", "budget": 300}
            raw = httpx.post(f"{url}/v1/namespaces/default/sessions/s/context", json=body)
            assert raw.status_code == 200 and raw.json()["unindexed"] == 1
            explained = httpx.post(f"{url}/v1/namespaces/default/sessions/s/context/explain", json=body)
            assert explained.json()["context"]["unindexed"] == 1  # what the inspector's context view shows
            assert client.assemble(body["query"], session="s", budget=300).unindexed == 1
            emb.gate.set()
            client.flush(30)
            ctx = client.assemble(body["query"], session="s", budget=300)
            assert ctx.unindexed == 0 and "dense" in client.search("locker code at the gym", k=1)[0].scores
    finally:
        emb.gate.set()


def test_flush_waits_for_the_vectors_and_times_out_with_a_504_naming_timeout(
    gated_service: tuple[str, GatedEmbedder],
) -> None:
    url, emb = gated_service
    with Client(url) as client:
        client.add([FACT], session="s")  # acknowledged; its vector waits behind the gate
        started = time.monotonic()
        with pytest.raises(TimedOut, match=r"after 0\.5 s"):
            client.flush(0.5)
        assert 0.5 <= time.monotonic() - started < 5  # not retried: it already waited its timeout
        raw = httpx.post(f"{url}/v1/namespaces/default/flush", params={"timeout": 0.2})
        assert raw.status_code == 504 and raw.json()["error"] == "TimedOut" and raw.json()["field"] == "timeout"
        hit = client.search("what is the locker code at the gym?", k=1)[0]
        assert "4471" in hit.text and "dense" not in hit.scores  # stored, found by full text only
        emb.gate.set()
        client.flush(30)
        assert "dense" in client.search("what is the locker code at the gym?", k=1)[0].scores
        for bad in (0, -1, 301):
            with pytest.raises(InvalidArgument) as err:
                client.flush(bad)
            assert err.value.field == "timeout"


def test_the_async_client_flushes_too(gated_service: tuple[str, GatedEmbedder]) -> None:
    url, emb = gated_service
    emb.gate.set()

    async def run() -> dict:
        async with AsyncClient(url) as client:
            await client.add([FACT], session="a")
            await client.flush(30)
            return (await client.search("locker code at the gym", k=1))[0].scores

    assert "dense" in asyncio.run(run())


def test_flush_on_the_shared_server_checks_the_key(server: ServerProcess, alpha: Client, session_name: str) -> None:
    alpha.add([FACT], session=session_name, namespace="alpha")
    alpha.flush(namespace="alpha")
    assert "dense" in alpha.search("locker code at the gym", namespace="alpha", k=1, sessions=[session_name])[0].scores
    with pytest.raises(PermissionDenied):
        alpha.flush(namespace="beta")
    schema = httpx.get(server.url + "/openapi.json").json()
    assert schema["paths"]["/v1/namespaces/{ns}/flush"]["post"]["tags"] == ["namespaces"]
