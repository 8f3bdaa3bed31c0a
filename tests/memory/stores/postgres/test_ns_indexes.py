"""A large namespace's own HNSW index on PostgreSQL: built once it crosses the size (in the
background, on the first search that finds it due), used by search (the planner proves the partial
index's predicate: EXPLAIN), close to the exact top-k, rebuilt after an interrupted build, skipped
while another process builds it, and dropped with its namespace or a re-embedding to another dimension."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest
from psycopg import sql

from eval.cli import main
from memory.models import parse_message
from memory.stores.postgres import PgVectorIndex, PostgresStore
from memory.stores.postgres.ns_indexes import LOCK_CLASS, index_name
from memory.stores.rows import PreparedChunk, PreparedMessage

DIM = 384
BIG = "team o'neil; -- big"  # a quote and a comment marker: the literal in the SQL must be quoted safely
BIG_CHUNKS, SMALL_CHUNKS, MIN_CHUNKS = 2_600, 300, 2_000


def topic_vectors(rng: np.random.Generator, centers: np.ndarray, n: int) -> np.ndarray:
    """Unit vectors around random picks of ``centers`` (neighbours at cosine ~0.6, as pg_load draws them)."""
    c = centers[rng.integers(0, len(centers), size=n)]
    v = c + 0.8 * rng.normal(size=(n, DIM)).astype(np.float32) / math.sqrt(DIM)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def fill(store: PostgresStore, namespace: str, vectors: np.ndarray, batch: int = 650) -> None:
    """One one-chunk message per vector, ``batch`` messages per append."""
    for start in range(0, len(vectors), batch):
        msgs = []
        for i, vec in enumerate(vectors[start : start + batch], start):
            msg = parse_message({"role": "user", "content": f"note {i}"})
            msgs.append(PreparedMessage(msg, time.time(), 5, [PreparedChunk(0, 1, "text", f"note {i}", 2, vec)]))
        store.append(namespace, f"s{start // batch}", msgs)


@pytest.fixture(scope="module")
def loaded(pg_server: str) -> Iterator[tuple[PostgresStore, np.ndarray]]:
    from tests.conftest import schema_dsn

    store = PostgresStore(schema_dsn(pg_server))
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(64, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    fill(store, BIG, topic_vectors(rng, centers, BIG_CHUNKS))
    fill(store, "small", topic_vectors(rng, centers, SMALL_CHUNKS))
    yield store, topic_vectors(rng, centers, 20)
    store.close()


@pytest.fixture(scope="module")
def built(loaded: tuple[PostgresStore, np.ndarray]) -> Iterator[tuple[PostgresStore, PgVectorIndex, np.ndarray]]:
    """The big namespace's own index, built the way it is in production: the first search asks for it."""
    store, queries = loaded
    index = PgVectorIndex(store, DIM, own_index_min_chunks=MIN_CHUNKS)
    assert store.namespace_indexes() == []
    first = index.search(queries[0], 10, namespace=BIG)  # exact meanwhile
    assert first[0].size == 10
    index.search(queries[0], 10, namespace="small")  # below the size: never asked for
    assert index.builder.wait(timeout=120)
    yield store, index, queries
    index.close()


def exact(store: PostgresStore, q: np.ndarray, namespace: str, k: int) -> set[int]:
    with store._read() as conn:
        rows = conn.execute(
            "SELECT id FROM chunks WHERE namespace=%s ORDER BY embedding <#> %s LIMIT %s", (namespace, q, k)
        ).fetchall()
    return {r[0] for r in rows}


def plan(store: PostgresStore, index: PgVectorIndex, namespace: str, q: np.ndarray, k: int) -> str:
    """EXPLAIN of the statement the search runs on a namespace with its own index."""
    with store._read() as conn:
        return "\n".join(r[0] for r in index.own_index_rows(conn, q, namespace, k, explain="EXPLAIN (COSTS OFF) "))


def test_a_large_namespace_gets_its_own_index_and_search_uses_it(
    built: tuple[PostgresStore, PgVectorIndex, np.ndarray],
) -> None:
    store, index, queries = built
    [row] = store.namespace_indexes()
    assert (row.namespace, row.dim, row.state, row.valid) == (BIG, DIM, "ready", True)
    assert row.chunks == BIG_CHUNKS and row.build_s is not None and row.name == index_name(BIG, DIM)
    with store._read() as conn:
        definition = conn.execute("SELECT pg_get_indexdef(to_regclass(%s))", (row.name,)).fetchone()[0]
    assert "hnsw" in definition and "neil; -- big'::text" in definition  # the namespace, quoted
    # before ANALYZE has seen the namespace grow (as here) and after
    assert f"Index Scan using {row.name} on chunks" in plan(store, index, BIG, queries[0], 64)
    with store._read() as conn:
        conn.execute("ANALYZE chunks")
    assert f"Index Scan using {row.name} on chunks" in plan(store, index, BIG, queries[0], 512)
    assert store.namespaces_due(DIM, MIN_CHUNKS) == []


@pytest.mark.parametrize("k", [64, 512])
def test_its_top_k_is_close_to_the_exact_scan(built: tuple[PostgresStore, PgVectorIndex, np.ndarray], k: int) -> None:
    store, index, queries = built
    recalls = []
    with store._read() as conn:  # the search's own statement, not its exact fallback
        for q in queries:
            got = index.own_index_rows(conn, q, BIG, k)
            assert len(got) == k
            recalls.append(len({r[0] for r in got} & exact(store, q, BIG, k)) / k)
    assert np.mean(recalls) >= 0.95, recalls
    ids, scores = index.search(queries[1], k, namespace=BIG)
    assert ids.size == k and np.all(np.diff(scores) <= 1e-6)


Built = tuple[PostgresStore, PgVectorIndex, np.ndarray]


def test_an_interrupted_build_is_dropped_and_built_again(built: Built) -> None:
    store, _, queries = built
    name = index_name("small", DIM)
    with store._read() as conn:  # what a builder killed mid-way leaves: an INVALID index and a 'building' row
        conn.execute(
            "INSERT INTO namespace_indexes(namespace, dim, name, state, chunks, started_at) "
            "VALUES ('small', %s, %s, 'building', 1, 0)",
            (DIM, name),
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            unique = sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY {} ON chunks (namespace)")
            conn.execute(unique.format(sql.Identifier(name)))
    assert {r.name: r.valid for r in store.namespace_indexes()}[name] is False
    index = PgVectorIndex(store, DIM, own_index_min_chunks=SMALL_CHUNKS)
    try:
        index.search(queries[0], 10, namespace="small")
        assert index.builder.wait(timeout=120)
    finally:
        index.close()
    rows = {r.namespace: r for r in store.namespace_indexes()}
    assert rows["small"].state == "ready" and rows["small"].valid and rows["small"].chunks == SMALL_CHUNKS
    assert f"Index Scan using {name} on chunks" in plan(store, index, "small", queries[0], 10)
    assert store.drop_namespace_indexes("small") == [name]


def test_a_build_held_by_another_process_is_skipped(built: tuple[PostgresStore, PgVectorIndex, np.ndarray]) -> None:
    store, _, _ = built
    name = index_name("small", DIM)
    with psycopg.connect(store.dsn, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema() || '.' || %s))", (LOCK_CLASS, name))
        assert store.build_namespace_index("small", DIM) == "busy"
        assert store.drop_namespace_indexes("small") == []
    assert all(r.namespace != "small" for r in store.namespace_indexes())
    assert store.build_namespace_index(BIG, DIM) == "ready"  # built already: nothing to do


def test_deleting_the_namespace_drops_its_index(pg_dsn: str) -> None:
    store = PostgresStore(pg_dsn)
    try:
        rng = np.random.default_rng(0)
        vecs = rng.normal(size=(60, DIM)).astype(np.float32)
        fill(store, "gone", vecs / np.linalg.norm(vecs, axis=1, keepdims=True), batch=30)
        assert store.build_namespace_index("gone", DIM) == "built"
        name = index_name("gone", DIM)
        store.delete("gone", "s0")  # a session: the namespace keeps its index
        assert [r.name for r in store.namespace_indexes()] == [name]
        store.delete("gone")
        assert store.namespace_indexes() == []
        with store._read() as conn:
            assert conn.execute("SELECT to_regclass(%s)", (name,)).fetchone() == (None,)
        # what a crash between the delete's commit and the drop leaves is swept: an orphan index
        fill(store, "gone", vecs[:5] / np.linalg.norm(vecs[:5], axis=1, keepdims=True))
        assert store.build_namespace_index("gone", DIM) == "built"
        with store._read() as conn:
            conn.execute("DELETE FROM namespace_indexes")
        assert store.sweep_namespace_indexes() == [name]
    finally:
        store.close()


def test_reembedding_to_another_dimension_drops_the_old_dimensions_indexes(pg_dsn: str) -> None:
    store = PostgresStore(pg_dsn)
    try:
        rng = np.random.default_rng(1)
        vecs = rng.normal(size=(40, DIM)).astype(np.float32)
        fill(store, "n", vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
        assert store.build_namespace_index("n", DIM) == "built"
        store.reembed(lambda texts: np.eye(16, dtype=np.float32)[[len(t) % 16 for t in texts]], {"dim": "16"})
        assert store.namespace_indexes() == []
        with store._read() as conn:
            assert conn.execute("SELECT to_regclass(%s)", (index_name("n", DIM),)).fetchone() == (None,)
        index = PgVectorIndex(store, 16, own_index_min_chunks=10)  # the next search asks for one of the new dimension
        try:
            assert index.search(np.eye(16, dtype=np.float32)[6], 3, namespace="n")[0].size == 3
            assert index.builder.wait(timeout=60)
        finally:
            index.close()
        assert [(r.dim, r.state, r.valid) for r in store.namespace_indexes()] == [(16, "ready", True)]
    finally:
        store.close()


def test_the_cli_sets_the_size_builds_lists_and_drops(pg_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = PostgresStore(pg_dsn)
    try:
        rng = np.random.default_rng(2)
        vecs = rng.normal(size=(30, DIM)).astype(np.float32)
        fill(store, "cli", vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
        fill(store, "tiny", vecs[:5] / np.linalg.norm(vecs[:5], axis=1, keepdims=True))
        store.set_meta("dim", str(DIM))  # as the embedder's identity records it
        assert main(["namespace-indexes", "--data", pg_dsn, "--min-chunks", "20", "--build-due"]) == 0
        assert "cli: built" in capsys.readouterr().out
        assert store.namespace_index_min_chunks() == 20  # every replica reads it from the database
        assert [(r.namespace, r.state) for r in store.namespace_indexes()] == [("cli", "ready")]
        assert main(["namespace-indexes", "--data", pg_dsn, "--drop", "cli"]) == 0
        assert store.namespace_indexes() == []
        assert main(["namespace-indexes", "--data", pg_dsn, "--min-chunks", "-1"]) == 2
        assert "min_chunks: give an int >= 0" in capsys.readouterr().err
        index = PgVectorIndex(store, DIM)  # the size set above, read from the database by search
        try:
            index.search(vecs[0], 5, namespace="tiny")
            index.search(vecs[0], 5, namespace="cli")
            assert index.builder.wait(timeout=60)
        finally:
            index.close()
        assert [r.namespace for r in store.namespace_indexes()] == ["cli"]
    finally:
        store.close()


def test_closing_cancels_a_build_and_leaves_nothing_behind(pg_dsn: str) -> None:
    store = PostgresStore(pg_dsn)
    index = PgVectorIndex(store, DIM, own_index_min_chunks=10)
    try:
        rng = np.random.default_rng(4)
        vecs = rng.normal(size=(20, DIM)).astype(np.float32)
        fill(store, "n", vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
        with psycopg.connect(pg_dsn) as blocker:  # a transaction that holds the build up (a SHARE lock)
            blocker.execute("LOCK TABLE chunks IN SHARE MODE")
            index.search(vecs[0], 5, namespace="n")
            deadline = time.monotonic() + 30
            with psycopg.connect(pg_dsn, autocommit=True) as watch:
                while not watch.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'CREATE INDEX%'"
                ).fetchone():
                    assert time.monotonic() < deadline, "the build never started"
                    time.sleep(0.05)
            index.close()  # cancels it, while it still waits
            assert index.builder.wait(timeout=10) and store.namespace_indexes() == []
        with store._read() as conn:
            assert conn.execute("SELECT to_regclass(%s)", (index_name("n", DIM),)).fetchone() == (None,)
    finally:
        index.close()
        store.close()


def test_replicas_asking_at_once_build_it_once(pg_dsn: str) -> None:
    stores = [PostgresStore(pg_dsn) for _ in range(3)]  # three processes' stores on one database
    try:
        rng = np.random.default_rng(5)
        vecs = rng.normal(size=(400, DIM)).astype(np.float32)
        fill(stores[0], "shared", vecs / np.linalg.norm(vecs, axis=1, keepdims=True), batch=200)
        with ThreadPoolExecutor(3) as pool:
            outcomes = list(pool.map(lambda s: s.build_namespace_index("shared", DIM), stores))
        assert outcomes.count("built") == 1 and set(outcomes) <= {"built", "busy", "ready"}, outcomes
        assert [(r.namespace, r.state, r.valid) for r in stores[1].namespace_indexes()] == [("shared", "ready", True)]
    finally:
        for s in stores:
            s.close()
