"""Three ``turnmem serve`` replicas on one PostgreSQL database, on loopback: writers spread
round-robin across them get seqs exactly 1..800 (also with 30% of requests lost and retried), a
write acknowledged by one replica is in the next context built by another (by full text at once,
by vector once its replica's indexer wrote it, counted as ``unindexed`` until then), an idempotency key
replayed on another replica stores once, Memory and a replica answer the parity scenario the same,
and kill -9 of one replica mid-burst loses no acknowledged write while the others keep answering."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from memory.client import Client
from memory.embedders import Embedder
from memory.errors import ServiceError
from memory.memory import Memory
from memory.service.process import ServerProcess
from tests.conftest import schema_dsn
from tests.service.test_client_parity import scenario
from tests.service.test_sync import LossyTransport

WRITERS, APPENDS, REPLICAS = 8, 100, 3

pytestmark = pytest.mark.slow  # three servers start, each loading its own MiniLM (~2 min on 2 busy cores)


@pytest.fixture(scope="module")
def replicas(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    dsn = schema_dsn(pg_server)
    logs: Path = tmp_path_factory.mktemp("replicas")
    procs = [ServerProcess(dsn, workdir=logs) for _ in range(REPLICAS)]
    procs[0].start(timeout=300)  # the first creates the schema; the others start side by side
    with ThreadPoolExecutor(REPLICAS - 1) as pool:
        list(pool.map(lambda p: p.start(timeout=300), procs[1:]))
    try:
        yield procs
    finally:
        for p in procs:
            p.stop()


def _round_robin_burst(replicas: list[ServerProcess], session: str, lossy: bool) -> tuple[dict[str, int], int]:
    """WRITERS threads × APPENDS appends, writer w's i-th to replica (w + i) % 3; returns the
    acknowledged seqs and how many answers were lost after the server had stored the write."""
    acked: dict[str, int] = {}
    lock = threading.Lock()
    transports: list[LossyTransport] = []

    def writer(w: int) -> None:
        clients = []
        for r in range(REPLICAS):
            transport = LossyTransport(0.3, seed=w * 10 + r) if lossy else None
            if transport is not None:
                with lock:
                    transports.append(transport)
            clients.append(Client(replicas[r].url, transport=transport, retries=12, backoff=0.01))
        try:
            for i in range(APPENDS):
                text = f"writer {w} message {i}: the parcel for order {w * 1000 + i} left the depot"
                [seq] = clients[(w + i) % REPLICAS].add([{"role": "user", "content": text}], session=session)
                with lock:
                    acked[text] = seq
        finally:
            for c in clients:
                c.close()

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))
    return acked, sum(t.lost_after for t in transports)


@pytest.mark.parametrize("lossy", [False, True], ids=["clean", "30pct-lost"])
def test_writers_round_robin_across_replicas_get_seqs_1_to_800(replicas: list[ServerProcess], lossy: bool) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    acked, lost_after = _round_robin_burst(replicas, session, lossy)
    if lossy:
        assert lost_after > 50  # many writes were stored but their answer never arrived: retried
    with Client(replicas[1].url) as check:
        stored = check.since(session, 0)
        assert [m.seq for m in stored] == list(range(1, WRITERS * APPENDS + 1))
        assert {m.content: m.seq for m in stored} == acked  # nothing lost, nothing duplicated
        assert check.last_seq(session) == WRITERS * APPENDS


def test_a_write_acknowledged_by_one_replica_is_in_the_next_context_of_another(
    replicas: list[ServerProcess],
) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    a, b, c = (Client(r.url) for r in replicas)
    try:
        for i in range(20):
            c.add([{"role": "user", "content": f"chatter {i} about the garden"}], session=session)
        b.assemble("warm up", session=session, budget=300)
        a.add([{"role": "user", "content": "The door code for the studio is 4417."}], session=session)
        for i in range(20):
            c.add([{"role": "user", "content": f"more chatter {i} about the weather"}], session=session)
        # README, "Sync semantics": a replica waits for the vectors of its own writes only; another
        # replica's write is in its next context at once by full text, and by vector once that
        # replica's indexer wrote it, until when the context counts it in `unindexed` (counted
        # before the search: a vector written in between shows as a dense score, never as neither)
        ctx = b.assemble("what is the door code?", session=session, budget=300, window_share=0.1)
        hit = next(h for h in ctx.hits if "4417" in h.text and h.reason == "retrieved")
        assert "dense" in hit.scores or ctx.unindexed >= 1
        b.flush(60)  # every replica's chunks of the namespace have their vectors
        assert b.assemble("what is the door code?", session=session, budget=300, window_share=0.1).unindexed == 0
        assert b.search("studio door code", k=1)[0].text == "The door code for the studio is 4417."
        # the same idempotency key on another replica stores once
        first = a.add([{"role": "user", "content": "once"}], session=session, idempotency_key="k-1")
        again = c.add([{"role": "user", "content": "once"}], session=session, idempotency_key="k-1")
        assert first == again and sum(m.content == "once" for m in b.since(session, 0)) == 1
    finally:
        for client in (a, b, c):
            client.close()


def test_memory_and_a_replica_answer_the_same_on_postgres(replicas: list[ServerProcess], embedder: Embedder) -> None:
    """The parity scenario of test_client_parity, embedded Memory against a replica, both on PostgreSQL."""
    mem = Memory.open(str(replicas[0].data), embedder=embedder)
    try:
        embedded = scenario(mem, f"parity-{uuid.uuid4().hex[:8]}")
    finally:
        mem.close()
    with Client(replicas[2].url) as client:
        remote = scenario(client, f"parity-{uuid.uuid4().hex[:8]}")
    for step, (a, b) in enumerate(zip(embedded, remote)):
        assert a == b, f"step {step}: embedded {a!r} != service {b!r}"
    assert embedded[3] == ("IdempotencyConflict", 4)
    assert embedded[5] == ("Conflict", 4) and embedded[6] == ("InvalidMessage", "messages[1].tool_call_id")
    assert any("LULU-7731" in str(m.get("content")) for m in embedded[8][0])


def test_kill_9_of_one_replica_mid_burst_loses_no_acknowledged_write(replicas: list[ServerProcess]) -> None:
    """Runs last in this module: replica 0 stays dead. A write that replica 0 did not acknowledge is
    retried on the next replica with the same idempotency key, so it is stored at most once."""
    session = f"s-{uuid.uuid4().hex[:8]}"
    acked: dict[str, int] = {}
    lock = threading.Lock()
    killed = threading.Event()
    after_kill = [0]

    def writer(w: int) -> None:
        clients = [Client(r.url, retries=1, backoff=0.01, timeout=10) for r in replicas]
        try:
            for i in range(60):
                text = f"writer {w} line {i}: parcel {w * 1000 + i}"
                for attempt in range(REPLICAS):
                    client = clients[(w + i + attempt) % REPLICAS]
                    try:
                        [seq] = client.add(
                            [{"role": "user", "content": text}], session=session, idempotency_key=f"{session}-{w}-{i}"
                        )
                    except ServiceError:
                        continue  # that replica is gone: the next one, same key
                    with lock:
                        acked[text] = seq
                        after_kill[0] += killed.is_set()
                    break
                else:
                    raise AssertionError(f"no replica answered for {text!r}")
        finally:
            for c in clients:
                c.close()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(writer, w) for w in range(4)]
        while len(acked) < 40:
            time.sleep(0.05)
        replicas[0].kill()
        killed.set()
        for f in futures:
            f.result()
    assert after_kill[0] > 40  # the other replicas kept answering
    with Client(replicas[1].url) as check:
        stored = check.since(session, 0)
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    texts = [m.content for m in stored]
    assert len(texts) == len(set(texts))  # a retried write is stored once
    assert {t: s for t, s in zip(texts, (m.seq for m in stored)) if t in acked} == acked  # every ack holds
    assert len(stored) == len(acked) == 240
