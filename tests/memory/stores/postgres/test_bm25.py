"""Full text on PostgreSQL reads a small namespace's rows first and lets the GIN index find a large
one's matches: the namespace's size chooses, in the statement, and both plans rank the same."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from memory.stores.postgres import PostgresStore
from memory.stores.postgres.bm25 import bm25_query
from memory.tokens import TokenCounter
from tests.memory.stores.test_contract import prepared, user

WORDS = ["coffee", "invoice", "lisbon", "hotel", "zanzibar", "meeting", "train"]


@pytest.fixture
def pg(pg_dsn: str, counter: TokenCounter) -> PostgresStore:
    store = PostgresStore(pg_dsn)
    rng = np.random.default_rng(5)
    for ns in ("n1", "n2"):
        for session in ("a", "b"):
            texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 9)))) + f" note {i}" for i in range(12)]
            store.append(ns, session, prepared(counter, [user(t) for t in texts]))
    return store


def _branch(pg: PostgresStore, scan_below: int) -> str:
    """Which branch of the statement ran (EXPLAIN ANALYZE marks the other one never executed)."""
    sql, args = bm25_query(["coffee", "hotel"], "n1", 10, scan_below=scan_below)
    with pg._read() as conn:
        plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, args)]
    rows_first = next(line for line in plan if "Subquery Scan on c" in line)  # the namespace's rows, then @@
    return "gin" if "never executed" in rows_first else "rows first"


def test_the_namespace_size_chooses_the_plan_and_both_rank_alike(pg: PostgresStore) -> None:
    with pg._read() as conn:
        assert conn.execute("SELECT chunks FROM namespaces WHERE namespace = 'n1'").fetchone()[0] == 24
    assert _branch(pg, 25) == "rows first"  # 24 chunks < 25
    assert _branch(pg, 24) == "gin"
    results = {}
    for below in (0, 10**9):
        pg.text_scan_below = below
        for terms, sessions in ((["coffee", "zanzibar"], None), (["hotel", "train", "note"], ["b"])):
            results.setdefault((tuple(terms), below), pg.search_text(terms, "n1", 15, sessions=sessions))
    for terms in (("coffee", "zanzibar"), ("hotel", "train", "note")):
        (gin_ids, gin_scores), (rows_ids, rows_scores) = results[(terms, 0)], results[(terms, 10**9)]
        assert gin_ids.size > 3 and gin_ids.tolist() == rows_ids.tolist()
        np.testing.assert_array_equal(gin_scores, rows_scores)
    pg.close()


def test_an_unknown_namespace_has_no_matches_on_either_plan(pg: PostgresStore) -> None:
    for below in (0, 10**9):
        sql, args = bm25_query(["coffee"], "nobody", 10, scan_below=below)
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            assert conn.execute(sql, args).fetchall() == []
    pg.close()
