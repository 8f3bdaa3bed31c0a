"""One tenant cannot stall the others: waiting calls (flush, ``wait_indexed`` writes) run in
bounded slots on threads of their own, never on the pool the other routes share; ``/healthz``
is answered on the event loop. Through a real uvicorn server whose indexer waits behind a gate,
so every flush waits for as long as the test wants.

The "within N s" bounds below are behaviour checks, not speed measurements: on the code before
this change, 40 waiting flushes held all 40 threads of the pool, and ``/healthz`` or another
tenant's read answered only once a flush ended (here: never, until the gate opens after 60 s)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from memory import Memory
from memory.client import Client
from memory.embedders import Embedder
from memory.errors import Busy
from memory.service.app import create_app
from memory.service.limits import ServiceLimits
from tests.fakes import serve
from tests.memory.test_write_behind import FACT, GatedEmbedder

pytestmark = pytest.mark.fake_embedder  # waiting for the indexer: the model is not the point

ABUSERS = 40  # as many as the thread pool every sync route shares


class Service:
    def __init__(self, url: str, emb: GatedEmbedder, app: object) -> None:
        self.url, self.emb, self.app = url, emb, app

    def waiting(self) -> int:
        return int(self.app.state.waits.busy)  # type: ignore[attr-defined]


def _service(
    open_memory: Callable[..., Memory], memory_embedder: Embedder, limits: ServiceLimits, **opts: object
) -> Iterator[Service]:
    emb = GatedEmbedder(memory_embedder)
    mem = open_memory("tenants", embedder=emb, **opts)
    app = create_app(mem, limits=limits)
    try:
        with serve(app) as url:
            yield Service(url, emb, app)
    finally:
        emb.gate.set()


@pytest.fixture
def roomy(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> Iterator[Service]:
    """Slots for every abuser: all 40 wait at once."""
    yield from _service(open_memory, memory_embedder, ServiceLimits(max_waiting=64, max_waiting_per_namespace=64))


@pytest.fixture
def full_queue(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> Iterator[Service]:
    """Room for 2 chunks in the indexer's queue: a write past it waits (backpressure) for 120 s."""
    limits = ServiceLimits(max_waiting=64, max_waiting_per_namespace=64)
    yield from _service(open_memory, memory_embedder, limits, max_pending=2, pending_timeout_s=120)


@pytest.fixture
def tight(open_memory: Callable[..., Memory], memory_embedder: Embedder) -> Iterator[Service]:
    """Three slots in all, two per namespace."""
    yield from _service(open_memory, memory_embedder, ServiceLimits(max_waiting=3, max_waiting_per_namespace=2))


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _in_threads(n: int, call: Callable[[int], httpx.Response]) -> tuple[list[threading.Thread], list[int]]:
    statuses: list[int] = []

    def run(i: int) -> None:
        statuses.append(call(i).status_code)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads, statuses


def test_healthz_and_other_tenants_answer_while_40_flushes_and_waiting_writes_wait(roomy: Service) -> None:
    url = roomy.url
    with Client(url) as client:
        client.add([FACT], session="s", namespace="abuser")  # its vector waits behind the gate
        client.add([FACT], session="s", namespace="victim")

    def abuse(i: int) -> httpx.Response:
        if i % 2:
            return httpx.post(f"{url}/v1/namespaces/abuser/flush", params={"timeout": 120}, timeout=180)
        body = {"messages": [FACT], "wait_indexed": True, "idempotency_key": f"k{i}"}
        return httpx.post(f"{url}/v1/namespaces/abuser/sessions/w{i}/messages", json=body, timeout=180)

    threads, statuses = _in_threads(ABUSERS, abuse)
    _until(lambda: roomy.waiting() == ABUSERS, "the 40 waiting calls never all waited")
    with httpx.Client(base_url=url, timeout=5.0) as other:  # would time out on the old pool
        assert other.get("/healthz").json()["status"] == "ok"
        ctx = other.post("/v1/namespaces/victim/sessions/s/context", json={"budget": 500})
        assert ctx.status_code == 200 and "4471" in ctx.text
        assert other.get("/v1/namespaces/victim/sessions/s/messages").json()["last_seq"] == 1
        write = other.post("/v1/namespaces/victim/sessions/s/messages", json={"messages": [FACT]})
        assert write.json()["seqs"] == [2]  # a write that does not wait is not held either
    assert roomy.waiting() == ABUSERS and not statuses  # they all still wait
    roomy.emb.gate.set()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [200] * ABUSERS
    assert roomy.waiting() == 0


def test_a_waiting_call_past_the_slots_gets_503_busy_with_retry_after_and_stores_nothing(tight: Service) -> None:
    url = tight.url
    with Client(url, retries=0) as client:
        client.add([FACT], session="s", namespace="a")

        def flush_a(i: int) -> httpx.Response:
            return httpx.post(f"{url}/v1/namespaces/a/flush", params={"timeout": 120}, timeout=180)

        threads, statuses = _in_threads(2, flush_a)
        _until(lambda: tight.waiting() == 2, "two flushes of namespace a never waited")

        third = httpx.post(f"{url}/v1/namespaces/a/flush", params={"timeout": 120}, timeout=10)
        assert third.status_code == 503 and third.headers["Retry-After"] == "1"
        assert third.json()["error"] == "Busy" and "namespace 'a'" in third.json()["detail"]
        body = {"messages": [FACT], "wait_indexed": True}
        write = httpx.post(f"{url}/v1/namespaces/a/sessions/s/messages", json=body, timeout=10)
        assert write.status_code == 503 and write.json()["error"] == "Busy"
        assert client.since("s", 0, namespace="a")[-1].seq == 1  # refused before anything was stored
        with pytest.raises(Busy):
            client.flush(120, namespace="a")  # the client raises the same class

        other, other_status = _in_threads(1, lambda i: httpx.post(f"{url}/v1/namespaces/b/flush", timeout=180))
        _until(lambda: tight.waiting() == 3, "namespace b's flush never got the last slot")
        full = httpx.post(f"{url}/v1/namespaces/c/flush", timeout=10)
        assert full.status_code == 503 and "this server already has 3 calls waiting" in full.json()["detail"]
        assert client.assemble(None, session="s", namespace="a", budget=300).tokens > 0  # reads go on

        tight.emb.gate.set()
        for t in [*threads, *other]:
            t.join(timeout=60)
        assert statuses == [200, 200] and other_status == [200]
        assert tight.waiting() == 0
        client.flush(30, namespace="a")  # the slots are free again
        seqs = client.add([FACT], session="s", namespace="a", wait_indexed=True)
        assert seqs == [2]


def test_writes_waiting_for_room_in_the_indexers_queue_do_not_hold_the_pool(full_queue: Service) -> None:
    """Backpressure: with the queue full, a plain write waits for the indexer (up to the embed
    timeout). It waits in a slot, before the write lock: other tenants read and /healthz answers."""
    url = full_queue.url
    with Client(url) as client:
        client.add([FACT, FACT], session="s", namespace="victim")  # the queue is full now

    def write(i: int) -> httpx.Response:
        body = {"messages": [FACT], "idempotency_key": f"k{i}"}
        return httpx.post(f"{url}/v1/namespaces/abuser/sessions/w{i}/messages", json=body, timeout=180)

    threads, statuses = _in_threads(ABUSERS, write)
    _until(lambda: full_queue.waiting() == ABUSERS, "the 40 writes never all waited for room")
    with httpx.Client(base_url=url, timeout=5.0) as other:
        assert other.get("/healthz").status_code == 200
        assert other.get("/v1/namespaces/victim/sessions/s/messages").json()["last_seq"] == 2
        state = other.patch("/v1/namespaces/victim/sessions/s/state", json={"blocks": {"n": 1}})
        assert state.status_code == 200  # the write lock is free: nobody waits for room holding it
    assert not statuses
    full_queue.emb.gate.set()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [200] * ABUSERS
