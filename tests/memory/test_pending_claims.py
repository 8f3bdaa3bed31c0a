"""Replicas on one PostgreSQL database share the chunks waiting for their vectors: a chunk is
claimed before it is embedded, so a replica that opens leaves alone what a live one is embedding,
an indexer waits for chunks another holds instead of embedding them again, and the chunks of a
replica killed mid-embedding are taken over by a live one once its claim runs out."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import memory.write.indexer
from memory import Memory
from memory.embedders import Embedder
from memory.errors import TimedOut
from memory.stores.postgres import PostgresStore
from tests.memory.test_write_behind import FACT, on_indexer

ROOT = Path(__file__).resolve().parents[2]


class Recording:
    """The real embedder; on an indexer thread it says it started (``entered``) and waits for
    ``gate``; it records what it embedded: which replica embedded the fact, and how many times."""

    def __init__(self, inner: Embedder, *, open_gate: bool = True) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.gate, self.entered = threading.Event(), threading.Event()
        if open_gate:
            self.gate.set()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if on_indexer():
            self.entered.set()
            assert self.gate.wait(timeout=60), "the test never opened the gate"
        self.texts += texts
        return self.inner.embed(texts)

    @property
    def facts(self) -> int:
        """How many times this replica embedded the fact's chunk."""
        return self.texts.count(FACT["content"])


def _has_vector(mem: Memory, chunk_id: int) -> bool:
    return chunk_id not in mem.store.pending_chunk_ids().tolist()


def test_a_replica_that_opens_leaves_alone_the_chunks_a_live_one_is_embedding(pg_dsn: str, embedder: Embedder) -> None:
    a_emb, b_emb = Recording(embedder, open_gate=False), Recording(embedder)
    a = Memory.open(pg_dsn, embedder=a_emb)
    b = None
    try:
        a.add([FACT], session="s")
        assert a_emb.entered.wait(timeout=60)  # A's indexer holds chunk 1 and is embedding it
        b = Memory.open(pg_dsn, embedder=b_emb)  # B finds chunk 1 without a vector on open
        b.flush()  # B's pass over the log's pending chunks is done
        assert b_emb.facts == 0 and not _has_vector(b, 1)  # B left it to A
        a_emb.gate.set()
        a.flush()
        assert _has_vector(b, 1) and a_emb.facts == 1 and b_emb.facts == 0  # embedded once
    finally:
        a_emb.gate.set()
        a.close()
        if b is not None:
            b.close()


def test_an_indexer_waits_for_chunks_another_holds_rather_than_embedding_them_again(
    pg_dsn: str, embedder: Embedder
) -> None:
    a_emb, b_emb = Recording(embedder), Recording(embedder, open_gate=False)
    a = Memory.open(pg_dsn, embedder=a_emb)
    a._indexer.linger = 3600.0  # A's indexer takes its queue only when someone waits for it
    b = None
    try:
        a.add([FACT], session="s")  # queued at A, not claimed yet
        b = Memory.open(pg_dsn, embedder=b_emb)  # B's pass over the log claims it and embeds it
        assert b_emb.entered.wait(timeout=60)
        with pytest.raises(TimedOut, match="flush"):
            a.flush(timeout=1.0)  # A's indexer finds chunk 1 held by B and waits for its vector
        assert a_emb.facts == 0 and not _has_vector(a, 1)
        b_emb.gate.set()
        a.flush(timeout=60)  # returns once B wrote the vector
        assert _has_vector(a, 1) and a_emb.facts == 0 and b_emb.facts == 1
        assert "dense" in a.search("locker code at the gym", k=1)[0].scores
    finally:
        b_emb.gate.set()
        a.close()
        if b is not None:
            b.close()


def test_flush_of_a_namespace_waits_for_chunks_another_replica_stored(pg_dsn: str, embedder: Embedder) -> None:
    """``flush(namespace=...)`` on B covers a write acknowledged by A: B embeds what nobody holds."""
    a_emb, b_emb = Recording(embedder), Recording(embedder)
    a = Memory.open(pg_dsn, embedder=a_emb)
    a._indexer.linger = 3600.0  # A never gets to it: nobody waits on A
    b = Memory.open(pg_dsn, embedder=b_emb)
    try:
        a.add([FACT], session="s")
        b.flush(timeout=60, namespace="default")
        assert _has_vector(b, 1) and b_emb.facts == 1
        a.flush(timeout=60)  # A's indexer then finds it done: nothing embedded twice
        assert a_emb.facts == 0
    finally:
        a.close()
        b.close()


CHILD = """
import sys, time
import memory.embedders.identity, memory.write.pending
from memory import Memory

memory.write.pending.CLAIM_LEASE_S = float(sys.argv[4])  # this replica's claims run out fast


class Hangs:  # claimed, then stuck in the embedder until killed
    name, dim = sys.argv[2], int(sys.argv[3])

    def embed(self, texts):
        print("embedding", flush=True)
        time.sleep(600)


memory.embedders.identity.check = lambda store, embedder: None  # the parent made the database with the real model
mem = Memory.open(sys.argv[1], embedder=Hangs())
mem.add([{"role": "user", "content": "The locker code at the climbing gym is 4471."}], session="s")
time.sleep(600)
"""


def _line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The child's next line, or ``""`` when it prints none within ``timeout`` (never a hang)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else ""


def test_the_chunks_of_a_replica_killed_mid_embedding_are_taken_over_by_a_live_one(
    pg_dsn: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = 2.0
    monkeypatch.setattr(memory.write.indexer, "SWEEP_S", 0.3)  # the live replica's idle sweep (30 s by default)
    Memory.open(pg_dsn, embedder=embedder).close()  # the database, with the real model's identity
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    args = [pg_dsn, embedder.name, str(embedder.dim), str(lease)]
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), *args], env=env, stdout=subprocess.PIPE, text=True
    )
    live: Memory | None = None
    try:
        # The live replica opens only once the child holds the claim: opened before, its sweep could
        # take the chunk first and the child would never reach its embedder.
        assert _line(child, timeout=120) == "embedding"  # claimed, stuck
        live_emb = Recording(embedder)
        live = Memory.open(pg_dsn, embedder=live_emb)
        time.sleep(1.0)  # the live replica sweeps several times meanwhile: the claim is live, it waits
        assert not _has_vector(live, 1) and live_emb.facts == 0
        child.send_signal(signal.SIGKILL)  # kill -9 mid-embedding: its claim stays until it runs out
        child.wait(timeout=30)
        deadline = time.monotonic() + 30
        while not _has_vector(live, 1) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _has_vector(live, 1) and live_emb.facts == 1  # arrived, embedded once here
        hit = live.search("what is the gym locker code?", k=1)[0]
        assert "4471" in hit.text and hit.scores["dense"] > 0.5
    finally:
        if child.poll() is None:
            child.kill()
        if live is not None:
            live.close()


def test_claims_are_leases_that_run_out_and_end_with_the_vector(pg_dsn: str) -> None:
    store = PostgresStore(pg_dsn)
    try:
        with store._write() as conn:  # one chunk waiting for its vector
            conn.execute("INSERT INTO namespaces(namespace, created_at) VALUES ('n', 0)")
            conn.execute(
                "INSERT INTO messages(namespace, session, seq, pos, role, ts, tokens, data) "
                "VALUES ('n', 's', 1, 1, 'user', 0, 3, '{\"role\": \"user\", \"name\": \"Ana\"}')"
            )
            conn.execute(
                "INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, tokens) "
                "VALUES (1, 'n', 's', 1, 0, 1, 'text', 'hello there', 2)"
            )
        first = store.claim_pending("a", [1], lease_s=0.5)
        assert first.rows == [(1, "hello there", "Ana")] and first.busy == []
        other = store.claim_pending("b", [1], lease_s=0.5)
        assert other.rows == [] and other.busy == [1]  # held by a: b waits
        assert store.claim_pending("b", None, namespace="n").rows == []  # a sweep skips it too
        time.sleep(0.7)
        taken = store.claim_pending("b", None, namespace="n", lease_s=30)  # a's lease ran out
        assert [r[0] for r in taken.rows] == [1]
        assert store.fill_vectors([(1, np.ones(4, dtype=np.float32))]) == [1]
        with store._read() as conn:
            assert conn.execute("SELECT claimed_by, claimed_until FROM chunks").fetchall() == [(None, None)]
        assert store.claim_pending("a", [1]).rows == [] and store.claim_pending("a", [1]).busy == []
    finally:
        store.close()
