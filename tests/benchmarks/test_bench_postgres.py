"""The PostgreSQL benchmark's loader and read measurements at a tiny size: the bulk load fills the
store's own schema (every index production has, gap-free seqs and positions, full text), a memory
opened on it assembles from the loaded rows, and the per-namespace vector query is the filtered
exact scan through a b-tree on ``namespace``."""

from __future__ import annotations

import os

import psycopg
import pytest
from bench_postgres import buffers_mb, reads
from pg_load import Topics, load, locomo, namespace_specs

from memory.embedders import Embedder
from memory.memory import Memory
from memory.stores.postgres import PgVectorIndex, PostgresStore
from tests.conftest import schema_dsn

NAMESPACES, PER_NS, BIG = 3, 40, 300


@pytest.fixture(scope="module")
def loaded(pg_server: str) -> tuple[str, Topics, list]:
    dsn = schema_dsn(pg_server)
    topics = Topics(seed=1)
    specs = namespace_specs(topics, NAMESPACES, PER_NS, BIG)
    timings = load(dsn, specs, topics, block=15, maintenance_mem="64MB")
    assert timings["chunks"] == NAMESPACES * PER_NS + BIG
    return dsn, topics, specs


def _indexes(dsn: str) -> set[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()").fetchall()
    return {r[0].split(" ON ", 1)[1] for r in rows}  # without the schema-qualified table's prefix


def test_the_load_fills_the_stores_schema_consistently(loaded: tuple[str, Topics, list], pg_server: str) -> None:
    dsn, _, specs = loaded
    fresh = schema_dsn(pg_server)
    store = PostgresStore(fresh)
    PgVectorIndex(store, 384)
    store.close()
    strip = lambda defs: {d.split(".", 1)[1] if "." in d.split(" ")[0] else d for d in defs}  # noqa: E731
    assert strip(_indexes(dsn)) == strip(_indexes(fresh))  # the same indexes, HNSW included
    with psycopg.connect(dsn, autocommit=True) as conn:
        per_ns = dict(conn.execute("SELECT namespace, COUNT(*) FROM chunks GROUP BY namespace").fetchall())
        assert per_ns == {s.name: s.chunks for s in specs}
        # seqs 1..n per session and positions 1..n per namespace, as appends would have left them
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM (SELECT s.namespace FROM sessions s JOIN messages m USING (namespace, session) "
                "GROUP BY s.namespace, s.session, s.last_seq "
                "HAVING COUNT(*) <> s.last_seq OR MAX(m.seq) <> s.last_seq) x"
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM namespaces n WHERE n.last_pos <> (SELECT COUNT(DISTINCT pos) FROM messages m "
                "WHERE m.namespace = n.namespace)"
            ).fetchone()[0]
            == 0
        )
        assert conn.execute("SELECT COUNT(*) FROM chunks WHERE tsv = ''::tsvector").fetchone()[0] == 0
        # BM25's per-namespace statistics as appends keep them (else every score falls to the floor)
        stats = conn.execute(
            "SELECT COUNT(*) FROM namespaces n JOIN (SELECT namespace, COUNT(*) AS c, SUM(tokens) AS t "
            "FROM chunks GROUP BY namespace) s USING (namespace) WHERE (n.chunks, n.chunk_tokens) <> (s.c, s.t)"
        ).fetchone()[0]
        assert stats == 0
    conversations, questions = locomo(limit=NAMESPACES)  # cached: the turns the load used
    assert len(conversations) == NAMESPACES and questions


def test_a_memory_opened_on_the_load_assembles_from_it(loaded: tuple[str, Topics, list], embedder: Embedder) -> None:
    dsn, topics, specs = loaded
    spec = specs[1]
    mem = Memory.open(dsn, embedder=embedder)
    try:
        session = mem.store.sessions(spec.name)[0]["session"]
        ctx = mem.assemble(
            "what did they talk about?",
            session=session,
            namespace=spec.name,
            budget=400,
            query_vector=topics.draw(spec.topics, 1)[0],
        )
        assert ctx.tokens <= 400 and any(h.reason == "retrieved" for h in ctx.hits)
        ids, _ = mem.index.search(topics.draw(spec.topics, 1)[0], 10, namespace=spec.name)
        assert len(ids) == 10 and set(mem.store.chunks(ids.tolist())[int(i)].namespace for i in ids) == {spec.name}
    finally:
        mem.close()


def test_reads_time_every_measure_and_the_vector_plan_filters_by_namespace(
    loaded: tuple[str, Topics, list], embedder: Embedder
) -> None:
    dsn, topics, specs = loaded
    out = reads(
        dsn,
        topics,
        specs,
        ["Where did Caroline go?"],
        sample=2,
        queries=4,
        budget=512,
        embedder=embedder,
        big_queries=2,
        gin_baseline=True,
    )
    for label, n in (("per-namespace", 4), ("big", 2)):
        r = out[label]
        assert r["assemble_ms"]["requests"] == n and r["assemble_ms"]["p95_ms"] > 0
        assert r["assemble_gin_ms"]["requests"] == r["text_search_gin_ms"]["requests"] == n
        # the store's full-text plan reads the namespace's rows first; the baseline lets the GIN run
        rows_first = [line for line in r["explain_text"] if "Subquery Scan on c" in line]
        assert rows_first and "never executed" not in rows_first[0]
        assert "never executed" in next(line for line in r["explain_text_gin"] if "Subquery Scan on c" in line)
        assert r["assemble_cold_ms"]["requests"] == r["namespaces"]
        assert set(r["vector_search_ms"]) == {"64", str(out["k_search"])}
        plan = "\n".join(r["explain_vector"])
        assert f"namespace = '{specs[0].name if label != 'big' else 'big'}'" in plan or "namespace = 'ns-" in plan
        assert "[...]" in plan  # vector literals shortened
    assert out["big"]["hnsw_at_max_ef"]["recall"] > 0


def test_shared_buffers_sizes_read_as_a_share_of_memory_or_a_size() -> None:
    assert buffers_mb("6GB") == 6144 and buffers_mb("512mb") == 512
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    assert abs(buffers_mb("25%") - total_mb / 4) <= 1
    with pytest.raises(SystemExit, match="--shared-buffers"):
        buffers_mb("lots")
