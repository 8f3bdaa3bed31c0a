"""State sync over the REST service: seqs, concurrent writers, retries, idempotency, base_seq, since, delete."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from memory.client import AsyncClient, Client
from memory.errors import Conflict, IdempotencyConflict, InvalidArgument, InvalidMessage, NotFound
from tests.service.helpers import ALPHA_KEY, ServerProcess

WRITERS, APPENDS = 8, 100


class LossyTransport(httpx.BaseTransport):
    """Loses a share of the requests: half before they reach the server (connect error), half
    after the server answered (the answer never arrives: a client read timeout)."""

    def __init__(self, rate: float, seed: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.lost_before = 0
        self.lost_after = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            r = self.rng.random()
        if r < self.rate / 2:
            with self.lock:
                self.lost_before += 1
            raise httpx.ConnectError("injected: connection refused", request=request)
        resp = self.inner.handle_request(request)
        if r < self.rate:
            resp.read()
            resp.close()
            with self.lock:
                self.lost_after += 1
            raise httpx.ReadTimeout("injected: the answer was lost", request=request)
        return resp

    def close(self) -> None:
        self.inner.close()


class AsyncLossyTransport(httpx.AsyncBaseTransport):
    def __init__(self, rate: float, seed: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rate = rate
        self.rng = random.Random(seed)
        self.lost_after = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        r = self.rng.random()
        if r < self.rate / 2:
            raise httpx.ConnectError("injected", request=request)
        resp = await self.inner.handle_async_request(request)
        if r < self.rate:
            await resp.aread()
            await resp.aclose()
            self.lost_after += 1
            raise httpx.ReadTimeout("injected", request=request)
        return resp

    async def aclose(self) -> None:
        await self.inner.aclose()


def _write_burst(server: ServerProcess, session: str, transports: list[httpx.BaseTransport | None]) -> dict[str, int]:
    """WRITERS threads × APPENDS single-message appends; returns content -> acknowledged seq."""
    acked: dict[str, int] = {}
    lock = threading.Lock()

    def writer(w: int) -> None:
        with Client(server.url, api_key=ALPHA_KEY, transport=transports[w], retries=12, backoff=0.01) as client:
            for i in range(APPENDS):
                text = f"writer {w} message {i}: the parcel for order {w * 1000 + i} left the depot"
                [seq] = client.add([{"role": "user", "content": text}], session=session, namespace="alpha")
                with lock:
                    acked[text] = seq

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))
    return acked


def _check_log(client: Client, session: str, acked: dict[str, int]) -> None:
    stored = client.since(session, 0, namespace="alpha")
    assert [m.seq for m in stored] == list(range(1, WRITERS * APPENDS + 1))  # gap-free, nothing lost
    texts = [m.content for m in stored]
    assert len(set(texts)) == len(texts) == WRITERS * APPENDS  # nothing duplicated
    assert {m.content: m.seq for m in stored} == acked  # every answer told the truth
    assert client.last_seq(session, namespace="alpha") == WRITERS * APPENDS


def test_concurrent_writers_get_exactly_seqs_1_to_800(server: ServerProcess, alpha: Client, session_name: str) -> None:
    acked = _write_burst(server, session_name, [None] * WRITERS)
    _check_log(alpha, session_name, acked)
    # each writer's own messages keep its order
    for w in range(WRITERS):
        seqs = [
            acked[f"writer {w} message {i}: the parcel for order {w * 1000 + i} left the depot"] for i in range(APPENDS)
        ]
        assert seqs == sorted(seqs)


def test_concurrent_writers_with_lost_requests_and_answers_lose_and_duplicate_nothing(
    server: ServerProcess, alpha: Client, session_name: str
) -> None:
    transports = [LossyTransport(0.3, seed=w) for w in range(WRITERS)]
    acked = _write_burst(server, session_name, transports)  # type: ignore[arg-type]
    assert sum(t.lost_after for t in transports) > 50  # many writes were stored but their answer was lost
    assert sum(t.lost_before for t in transports) > 50
    _check_log(alpha, session_name, acked)


def test_async_client_retries_lose_and_duplicate_nothing(server: ServerProcess, session_name: str) -> None:
    async def run() -> tuple[dict[str, int], int]:
        transports = [AsyncLossyTransport(0.3, seed=100 + w) for w in range(4)]
        acked: dict[str, int] = {}

        async def writer(w: int) -> None:
            async with AsyncClient(
                server.url, api_key=ALPHA_KEY, transport=transports[w], retries=12, backoff=0.01
            ) as client:
                for i in range(25):
                    text = f"async writer {w} note {i}"
                    [seq] = await client.add(
                        [{"role": "user", "content": text}], session=session_name, namespace="alpha"
                    )
                    acked[text] = seq

        await asyncio.gather(*(writer(w) for w in range(4)))
        return acked, sum(t.lost_after for t in transports)

    acked, lost = asyncio.run(run())
    assert lost > 0
    with Client(server.url, api_key=ALPHA_KEY) as client:
        stored = client.since(session_name, namespace="alpha")
    assert [m.seq for m in stored] == list(range(1, 101))
    assert {m.content: m.seq for m in stored} == acked


def _post(server: ServerProcess, session: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/namespaces/alpha/sessions/{session}/messages",
        content=json.dumps(body),  # escaped JSON, so a lone surrogate reaches the server as a client could send it
        headers={"Authorization": f"Bearer {ALPHA_KEY}", "Content-Type": "application/json"},
        timeout=60,
    )


def test_idempotent_replay_returns_the_first_answer_and_stores_nothing(
    server: ServerProcess, alpha: Client, session_name: str
) -> None:
    first = _post(
        server,
        session_name,
        {
            "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
            "idempotency_key": "turn-1",
        },
    )
    assert first.status_code == 200
    assert first.json() == {"first_seq": 1, "last_seq": 2, "seqs": [1, 2]}
    alpha.add([{"role": "user", "content": "c"}], session=session_name, namespace="alpha")
    # the same key and body again, even after another write: the first answer, nothing stored
    body = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    again = _post(server, session_name, {**body, "idempotency_key": "turn-1"})
    assert again.status_code == 200 and again.json() == first.json()
    # the same key with another body: 422 naming idempotency_key, nothing stored
    other = _post(server, session_name, {"messages": [{"role": "user", "content": "a"}], "idempotency_key": "turn-1"})
    assert other.status_code == 422
    assert other.json()["error"] == "IdempotencyConflict" and other.json()["field"] == "idempotency_key"
    assert other.json()["current_seq"] == 3
    with pytest.raises(IdempotencyConflict, match="idempotency_key"):
        alpha.add([{"role": "user", "content": "z"}], session=session_name, namespace="alpha", idempotency_key="turn-1")
    assert [m.content for m in alpha.since(session_name, namespace="alpha")] == ["a", "b", "c"]
    # keys are per session: the same key in another session is a new write
    assert alpha.add(
        [{"role": "user", "content": "x"}], session=session_name + "-b", namespace="alpha", idempotency_key="turn-1"
    ) == [1]


def test_stale_base_seq_is_a_409_with_the_current_seq_and_stores_nothing(
    server: ServerProcess, alpha: Client, session_name: str
) -> None:
    assert alpha.add(
        [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}],
        session=session_name,
        namespace="alpha",
        base_seq=0,
    ) == [1, 2]
    resp = _post(server, session_name, {"messages": [{"role": "user", "content": "late"}], "base_seq": 1})
    assert resp.status_code == 409
    assert resp.json()["current_seq"] == 2 and resp.json()["error"] == "Conflict"
    with pytest.raises(Conflict) as info:
        alpha.add([{"role": "user", "content": "late"}], session=session_name, namespace="alpha", base_seq=1)
    assert info.value.current_seq == 2
    assert alpha.last_seq(session_name, namespace="alpha") == 2
    # the client catches up with since(base_seq) and retries with the current seq
    missed = alpha.since(session_name, 1, namespace="alpha")
    assert [m.content for m in missed] == ["two"]
    assert alpha.add(
        [{"role": "user", "content": "late"}], session=session_name, namespace="alpha", base_seq=missed[-1].seq
    ) == [3]


def test_two_clients_racing_with_base_seq_one_wins_one_gets_409(server: ServerProcess, session_name: str) -> None:
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def racer(k: int) -> None:
        with Client(server.url, api_key=ALPHA_KEY) as client:
            barrier.wait()
            try:
                client.add(
                    [{"role": "user", "content": f"racer {k}"}], session=session_name, namespace="alpha", base_seq=0
                )
                outcomes.append("won")
            except Conflict as exc:
                assert exc.current_seq == 1
                outcomes.append("conflict")

    threads = [threading.Thread(target=racer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
    with Client(server.url, api_key=ALPHA_KEY) as client:
        assert client.last_seq(session_name, namespace="alpha") == 1


def test_since_returns_exactly_what_was_missed_and_pages_with_limit(
    server: ServerProcess, alpha: Client, session_name: str
) -> None:
    alpha.add([{"role": "user", "content": f"m{i}"} for i in range(1, 8)], session=session_name, namespace="alpha")
    assert [m.seq for m in alpha.since(session_name, 4, namespace="alpha")] == [5, 6, 7]
    assert alpha.since(session_name, 7, namespace="alpha") == []
    assert alpha.since(session_name, 99, namespace="alpha") == []
    page = httpx.get(
        f"{server.url}/v1/namespaces/alpha/sessions/{session_name}/messages",
        params={"since": 2, "limit": 3},
        headers={"Authorization": f"Bearer {ALPHA_KEY}"},
    ).json()
    assert [m["seq"] for m in page["messages"]] == [3, 4, 5]
    assert page["last_seq"] == 7 and page["has_more"] is True
    # a fresh session is empty, not an error
    assert alpha.since(session_name + "-new", 0, namespace="alpha") == []


def test_delete_session_and_namespace_forget_log_chunks_and_vectors(
    server: ServerProcess, admin: Client, session_name: str
) -> None:
    ns = "alpha-forget-" + session_name
    admin.add([{"role": "user", "content": "my locker code is 4471"}], session=session_name, namespace=ns)
    admin.add([{"role": "user", "content": "my bike is a green Brompton"}], session="keep", namespace=ns)
    assert any("4471" in h.text for h in admin.search("locker code", namespace=ns))
    assert admin.delete(ns, session_name) == 1
    assert admin.since(session_name, namespace=ns) == []
    assert all("4471" not in h.text for h in admin.search("locker code 4471", namespace=ns, k=50))
    assert [s["session"] for s in admin.sessions(ns)] == ["keep"]
    assert admin.delete(ns) == 1
    assert ns not in admin.namespaces()
    assert admin.search("Brompton", namespace=ns) == []
    with pytest.raises(NotFound):  # as Memory.delete does: nothing left to forget is a 404
        admin.delete(ns)


def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    server: ServerProcess, alpha: Client, session_name: str
) -> None:
    alpha.add([{"role": "user", "content": "kept"}], session=session_name, namespace="alpha")
    bad_batch = {"messages": [{"role": "user", "content": "fine"}, {"role": "tool", "content": "no call id"}]}
    resp = _post(server, session_name, bad_batch)
    assert resp.status_code == 422
    assert resp.json()["field"] == "messages[1].tool_call_id"
    assert "tool_call_id" in resp.json()["detail"]
    cases = [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "x"}], "base_seq": -1}, "base_seq"),
        ({"messages": [{"role": "user", "content": "x"}], "idempotency_key": "k" * 300}, "idempotency_key"),
        ({"messages": [{"role": "user", "content": "x"}], "idempotency_key": "k\ud800"}, "idempotency_key"),
        ({"messages": [{"role": "user", "content": "x"}], "colour": "red"}, "colour"),
        ({"messages": [{"role": "user", "content": "x"}], "timestamp": "yesterday"}, "timestamp"),
    ]
    for body, field in cases:
        resp = _post(server, session_name, body)
        assert resp.status_code == 422, body
        assert resp.json()["field"] == field, resp.json()
    assert [m.content for m in alpha.since(session_name, namespace="alpha")] == ["kept"]
    with pytest.raises(InvalidMessage) as info:
        alpha.add(bad_batch["messages"], session=session_name, namespace="alpha")
    assert info.value.field == "messages[1].tool_call_id"
    with pytest.raises(InvalidArgument) as arg:
        alpha.assemble("x", session=session_name, namespace="alpha", budget=100, window_share=3)
    assert arg.value.field == "window_share"  # as Memory.assemble names it (the wire says config.window_share)
    with pytest.raises(InvalidArgument) as arg:
        alpha.assemble("x", session=session_name, namespace="alpha", budget=0)
    assert arg.value.field == "budget"
    assert alpha.last_seq(session_name, namespace="alpha") == 1
