"""Bulk-load a PostgreSQL store with synthetic history for :mod:`bench_postgres`.

Embedding a million chunks with MiniLM takes days on 2 cores, so the rows are written with
binary ``COPY`` straight into the store's own tables (created by :class:`PostgresStore` and
:class:`PgVectorIndex`, so the columns, the generated ``tsvector`` and every index are the ones
production uses):

- text: LoCoMo turns (``/work/shared/data/locomo10.json``), message records, token counts and
  chunks made by the same code as ``Memory.add`` (``parse_message``, ``count_message``,
  ``Chunker``); namespace ``i`` replays conversation ``i % 10``, cycled with fresh session names;
- vectors: synthetic, clustered unit vectors (384-d): each namespace draws its topics from a
  shared pool of random directions and each chunk is ``normalize(topic + sigma * noise)``;
  queries are drawn the same way, so a query has true neighbours in its namespace;
- layout: namespaces are written interleaved, a block of each in turn, as many users writing at
  once would leave them, so one namespace's rows are spread over the table's pages.

The secondary indexes are dropped for the load and re-created from their own definitions
(``pg_get_indexdef``) afterwards; each build is timed.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from tqdm import tqdm

from eval.datasets import load_locomo
from memory.models import parse_message
from memory.stores.postgres import PgVectorIndex, PostgresStore
from memory.stores.postgres.schema import COUNT_BM25_STATS
from memory.tokens import count_message, get_counter
from memory.write.chunking import Chunker

LOCOMO = Path("/work/shared/data/locomo10.json")
DIM = 384
TOPIC_POOL = 4096
SIGMA = 0.8  # noise norm relative to the topic's: neighbours within a topic at cosine ~0.6


@dataclass(frozen=True)
class Turn:
    """One LoCoMo message as ``Memory.prepare`` would store it (the vector aside)."""

    session: str
    role: str
    ts: float
    tokens: int
    data: str
    chunks: tuple[tuple[str, str, int], ...]  # (kind, text, tokens)


@functools.lru_cache(maxsize=4)
def locomo(path: Path = LOCOMO, limit: int = 10) -> tuple[list[list[Turn]], list[str]]:
    """The first ``limit`` LoCoMo conversations' turns, in order, prepared by the store's own code
    path; and their questions."""
    counter = get_counter("o200k_base")
    chunker = Chunker(counter)
    out: list[list[Turn]] = []
    conversations = load_locomo(path, images="caption").conversations[:limit]
    for conv in conversations:
        turns = []
        for sess in conv.sessions:
            for t in sess.turns:
                raw = dict(t.message)
                if t.timestamp is not None:
                    raw["timestamp"] = t.timestamp
                msg = parse_message(raw, index=0)
                pieces = chunker.split(msg)
                turns.append(
                    Turn(
                        session=sess.id,
                        role=msg.role,
                        ts=msg.timestamp.timestamp() if msg.timestamp else 0.0,
                        tokens=count_message(counter, msg.to_openai(priced=True)),
                        data=json.dumps(msg.to_record(), ensure_ascii=False),
                        chunks=tuple((p.kind, p.text, p.tokens) for p in pieces),
                    )
                )
        out.append(turns)
    return out, [q.question for conv in conversations for q in conv.questions]


class Topics:
    """Clustered unit vectors: a shared pool of topic directions, a subset per namespace."""

    def __init__(self, seed: int = 0, pool: int = TOPIC_POOL, sigma: float = SIGMA) -> None:
        self.rng = np.random.default_rng(seed)
        centers = self.rng.normal(size=(pool, DIM)).astype(np.float32)
        self.centers = centers / np.linalg.norm(centers, axis=1, keepdims=True)
        self.sigma = sigma

    def of(self, namespace_index: int, n_topics: int) -> np.ndarray:
        """The topic ids of a namespace (fixed by its index)."""
        rng = np.random.default_rng(namespace_index)
        return rng.choice(self.centers.shape[0], size=n_topics, replace=False)

    def draw(self, topics: np.ndarray, n: int) -> np.ndarray:
        """``n`` unit vectors around topics picked at random from ``topics``."""
        c = self.centers[self.rng.choice(topics, size=n)]
        v = c + self.sigma * self.rng.normal(size=(n, DIM)).astype(np.float32) / math.sqrt(DIM)
        return np.ascontiguousarray(v / np.linalg.norm(v, axis=1, keepdims=True), dtype=np.float32)


@dataclass
class Spec:
    """A namespace to fill: its name, how many chunks, its conversation and topics."""

    name: str
    chunks: int
    conversation: int
    topics: np.ndarray


def namespace_specs(topics: Topics, namespaces: int, chunks_per_ns: int, big: int) -> list[Spec]:
    """``namespaces`` of ``chunks_per_ns`` chunks (``ns-0000``...) and, if ``big``, one ``big`` namespace."""
    specs = [Spec(f"ns-{i:04d}", chunks_per_ns, i % 10, topics.of(i, 32)) for i in range(namespaces)]
    if big:
        specs.append(Spec("big", big, 0, topics.of(10**6, 256)))
    return specs


STAGE = """CREATE TEMP TABLE stage (
    namespace TEXT, session TEXT, seq BIGINT, pos BIGINT, role TEXT, ts DOUBLE PRECISION, tokens INTEGER,
    data TEXT, part INTEGER, parts INTEGER, kind TEXT, text TEXT, ctokens INTEGER, embedding vector
)"""
STAGE_TYPES = ["text", "text", "int8", "int8", "text", "float8", "int4", "text", "int4", "int4", "text", "text", "int4"]

FLUSH = [
    "INSERT INTO messages(namespace, session, seq, pos, role, ts, tokens, data) "
    "SELECT namespace, session, seq, pos, role, ts, tokens, data FROM stage WHERE part = 0",
    "INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, tokens, embedding) "
    "SELECT m.id, s.namespace, s.session, s.seq, s.part, s.parts, s.kind, s.text, s.ctokens, s.embedding "
    "FROM stage s JOIN messages m ON m.namespace = s.namespace AND m.session = s.session AND m.seq = s.seq",
    "TRUNCATE stage",
]


class Cursor:
    """Where one namespace is in its conversation: turn index, cycle, seqs per session, pos, chunks."""

    def __init__(self, spec: Spec, turns: Sequence[Turn]) -> None:
        self.spec, self.turns = spec, turns
        self.i = self.pos = self.chunks = 0
        self.seqs: dict[str, int] = {}

    def take(self, n_chunks: int) -> Iterator[tuple[Turn, str, int, int, float]]:
        """Messages until ``n_chunks`` more chunks (or the namespace is full): (turn, session, seq, pos, ts)."""
        goal = min(self.spec.chunks, self.chunks + n_chunks)
        while self.chunks < goal:
            cycle, k = divmod(self.i, len(self.turns))
            t = self.turns[k]
            session = f"c{cycle}-{t.session}"
            self.seqs[session] = self.seqs.get(session, 0) + 1
            self.i += 1
            self.pos += 1
            self.chunks += len(t.chunks)
            yield t, session, self.seqs[session], self.pos, t.ts + cycle * 3.2e7  # a cycle a year later


def _rows(cursors: list[Cursor], topics: Topics, block: int) -> Iterator[list[tuple[Any, ...]]]:
    """Rounds of staged rows: each namespace's next share of chunks in turn (interleaved pages)."""
    rounds = math.ceil(max(c.spec.chunks for c in cursors) / block)
    for _ in range(rounds):
        batch: list[tuple[Any, ...]] = []
        for c in cursors:
            share = math.ceil(c.spec.chunks / rounds)
            msgs = list(c.take(share))
            n = sum(len(t.chunks) for t, *_ in msgs)
            if not n:
                continue
            vecs = iter(topics.draw(c.spec.topics, n))
            for t, session, seq, pos, ts in msgs:
                for part, (kind, text, tok) in enumerate(t.chunks):
                    batch.append(
                        (c.spec.name, session, seq, pos, t.role, ts, t.tokens, t.data)
                        + (part, len(t.chunks), kind, text, tok, next(vecs))
                    )
        yield batch


def _secondary_indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, definition) of the chunks and messages indexes that no constraint owns."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename IN ('chunks', 'messages') AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def load(
    dsn: str, specs: list[Spec], topics: Topics, *, block: int = 50, maintenance_mem: str = "4GB"
) -> dict[str, Any]:
    """Create the store's schema (and HNSW index), then bulk-load ``specs``; returns timings."""
    store = PostgresStore(dsn)
    PgVectorIndex(store, DIM)  # the HNSW expression index production creates on open
    store.close()
    turns, _ = locomo(limit=1 + max(s.conversation for s in specs))
    cursors = [Cursor(s, turns[s.conversation]) for s in specs]
    total = sum(s.chunks for s in specs)
    timings: dict[str, Any] = {"chunks": total, "index_build_s": {}}
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute(f"SET maintenance_work_mem = '{maintenance_mem}'")
        indexes = _secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute(STAGE)
        t0 = time.perf_counter()
        with tqdm(total=total, unit="chunk", desc="COPY", smoothing=0.05) as bar:
            for batch in _rows(cursors, topics, block):
                with conn.cursor() as cur, cur.copy("COPY stage FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([*STAGE_TYPES, "vector"])
                    for row in batch:
                        copy.write_row(row)
                with conn.transaction():
                    for sql in FLUSH:
                        conn.execute(sql)
                bar.update(len(batch))
        conn.execute(
            "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) "
            "SELECT namespace, session, MAX(seq), MIN(ts), MAX(ts) FROM messages GROUP BY namespace, session"
        )
        conn.execute(
            "INSERT INTO namespaces(namespace, last_pos, created_at) "
            "SELECT namespace, MAX(pos), MIN(ts) FROM messages GROUP BY namespace"
        )
        conn.execute(COUNT_BM25_STATS)  # BM25's per-namespace statistics, as appends keep them
        timings["copy_s"] = time.perf_counter() - t0
        for name, definition in tqdm(sorted(indexes, key=lambda x: "hnsw" in x[0]), desc="indexes"):
            t = time.perf_counter()
            conn.execute(definition)
            timings["index_build_s"][name] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("VACUUM ANALYZE chunks")
        conn.execute("VACUUM ANALYZE messages")
        timings["analyze_s"] = time.perf_counter() - t
    return timings
