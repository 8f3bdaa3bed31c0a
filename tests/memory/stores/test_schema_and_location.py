"""Which store a location opens (and which it refuses), and schema versions read on open:
an older schema is migrated in a transaction, a newer one refused naming both versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memory.embedders import Embedder
from memory.errors import InvalidArgument, SchemaMismatch
from memory.memory import Memory
from memory.stores import DATABASE_URL_ENV, parse_location
from memory.stores.postgres import SCHEMA_VERSION as PG_VERSION
from memory.stores.postgres import PostgresStore
from memory.stores.sqlite import SCHEMA_VERSION, SQLiteStore
from memory.stores.sqlite.schema import SCHEMA_V1
from memory.tokens import TokenCounter
from tests.memory.stores.test_contract import prepared, user


@pytest.mark.parametrize("location", ["mysql://root@db/mem", "redis://localhost:6379", "sqlite://x.db", "s3://b/k"])
def test_a_url_of_a_store_turnmem_does_not_have_is_refused(
    location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder: Embedder
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgument) as err:
        Memory.open(location, embedder=fake_embedder)
    assert err.value.field == "path"
    scheme = location.split("://")[0]
    assert f"{scheme}://" in str(err.value) and "postgresql://" in str(err.value) and "folder" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no folder named after the scheme


def test_locations_select_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_location("postgresql://u@h/db").kind == "postgres"
    assert parse_location("POSTGRES://u@h/db").dsn == "POSTGRES://u@h/db"
    assert parse_location(tmp_path / "m").folder == tmp_path / "m"
    assert parse_location("relative/folder").kind == "sqlite"
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    with pytest.raises(InvalidArgument, match=DATABASE_URL_ENV):
        parse_location(None)
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u@h/db")
    assert parse_location(None).dsn == "postgresql://u@h/db"


def test_memory_open_reads_the_database_url(pg_dsn: str, monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, pg_dsn)
    with Memory.open(embedder=embedder) as mem:
        assert isinstance(mem.store, PostgresStore)
        mem.add([{"role": "user", "content": "hello"}], session="s")
    with Memory.open(pg_dsn, embedder=embedder) as again:
        assert again.last_seq("s") == 1
    with pytest.raises(InvalidArgument, match="index: on PostgreSQL"):
        Memory.open(pg_dsn, embedder=embedder, index="faiss")


def test_an_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument) as err:
        PostgresStore("postgresql://nobody:secret@127.0.0.1:1/none", timeout_s=2)
    assert "cannot connect to PostgreSQL" in str(err.value) and "secret" not in str(err.value)


OLD_USER = "carol@example.com"  # the name a tombstone of schema 4 kept in clear


def _v1_log(path: Path) -> None:
    """A log as turnmem's first schema wrote it: version 1, one session with a message and a chunk."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
    conn.execute("INSERT INTO namespaces VALUES ('ns', 1, 0)")
    conn.execute("INSERT INTO sessions VALUES ('ns', 's', 1, 0, 0)")
    conn.execute(
        "INSERT INTO messages(namespace, session, seq, pos, role, msg_id, ts, tokens, data) "
        "VALUES ('ns', 's', 1, 1, 'user', NULL, 0, 5, '{\"role\": \"user\", \"content\": \"old hello\"}')"
    )
    conn.execute(
        "INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, tokens, vector) "
        "VALUES (1, 'ns', 's', 1, 0, 1, 'text', 'old hello', 2, zeroblob(32))"
    )
    conn.execute("INSERT INTO chunks_fts(rowid, text, scope) VALUES (1, 'old hello', '')")
    conn.execute("INSERT INTO idempotency VALUES ('ns', 's', 'old-key', '[1]', 0)")
    for i, (ns, session) in enumerate([(OLD_USER, OLD_USER), ("ns", OLD_USER), (OLD_USER, None)], 1):  # tombstones
        conn.execute("INSERT INTO deletions(namespace, session, created_at) VALUES (?, ?, ?)", (ns, session, i))
    conn.commit()
    conn.close()


def test_a_sqlite_log_of_the_previous_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "turnmem.db"
    _v1_log(path)
    store = SQLiteStore(path)
    try:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "5"
        # version 5: the tombstones keep the namespace's key, the same ids, no name in any file
        assert store.deletions_after(0) == [
            (1, store.namespace_key(OLD_USER)),
            (2, store.namespace_key("ns")),
            (3, store.namespace_key(OLD_USER)),
        ]
        assert [p.name for p in tmp_path.iterdir() if OLD_USER.encode() in p.read_bytes()] == []
        indexes = {r[0] for r in store._conn().execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"chunks_by_session", "chunks_pending"} <= indexes  # version 4: chunks waiting for a vector
        assert store.pending_chunk_ids().tolist() == []  # the old chunk has its vector
        columns = {r[1] for r in store._conn().execute("PRAGMA table_info(idempotency)")}
        assert "fingerprint" in columns  # version 3: keys remember their request
        # a key written before fingerprints still replays (it cannot tell another body apart)
        assert store.append("ns", "s", [], idempotency_key="old-key").seqs == [1]
        assert [r.data["content"] for r in store.all_messages("ns", "s")] == ["old hello"]
        assert store.delete("ns", "s") == 1
        assert store.deletions_after(3) == [(4, store.namespace_key("ns"))]  # ids go on from the old ones
    finally:
        store.close()


def test_a_postgres_database_of_the_previous_schema_is_migrated(pg_dsn: str) -> None:
    pg = PostgresStore(pg_dsn)
    with pg._write() as conn:  # as version 1 left it: idempotency keys without a fingerprint
        conn.execute("ALTER TABLE idempotency DROP COLUMN fingerprint")
        conn.execute("DROP INDEX chunks_pending")  # and every chunk with its vector
        conn.execute("ALTER TABLE chunks ALTER COLUMN embedding SET NOT NULL")
        conn.execute("DROP TABLE namespace_indexes")  # and no namespace with an index of its own
        conn.execute("ALTER TABLE chunks DROP COLUMN claimed_by, DROP COLUMN claimed_until")  # and no claims
        conn.execute("DROP TABLE deletions")  # and tombstones with names in clear
        conn.execute(
            "CREATE TABLE deletions (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, namespace TEXT NOT NULL, "
            "session TEXT, created_at DOUBLE PRECISION NOT NULL)"
        )
        conn.execute(
            "INSERT INTO deletions(namespace, session, created_at) VALUES (%s, %s, 1), ('ns', %s, 2), (%s, NULL, 3)",
            (OLD_USER, OLD_USER, OLD_USER, OLD_USER),
        )
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    pg.close()
    pg = PostgresStore(pg_dsn)
    try:
        assert pg.get_meta("schema_version") == str(PG_VERSION) == "7"
        # version 7: tombstones keep the key Python computes, the same ids, and no name
        keys = [(1, pg.namespace_key(OLD_USER)), (2, pg.namespace_key("ns")), (3, pg.namespace_key(OLD_USER))]
        assert pg.deletions_after(0) == keys
        with pg._read() as conn:
            assert conn.execute(
                "SELECT count(*) FROM deletions d WHERE d::text LIKE %s", (f"%{OLD_USER}%",)
            ).fetchone() == (0,)
        pg.append("ns", "gone", [])  # ids go on from the old ones
        assert pg.delete("ns", "gone") == 0 and pg.deletions_after(3)[0][0] == 4
        with pg._read() as conn:
            cols = {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name='idempotency' AND table_schema=current_schema()"
                )
            }
        assert "fingerprint" in cols
        with pg._read() as conn:  # version 4: a chunk may wait for its vector
            nullable = conn.execute(
                "SELECT is_nullable FROM information_schema.columns "
                "WHERE table_name='chunks' AND column_name='embedding' AND table_schema=current_schema()"
            ).fetchone()
            assert nullable is not None and nullable[0] == "YES"
            assert conn.execute("SELECT to_regclass('chunks_pending') IS NOT NULL").fetchone() == (True,)
            claims = conn.execute(  # version 6: an indexer claims the chunks it embeds
                "SELECT column_name FROM information_schema.columns WHERE table_name='chunks' "
                "AND column_name LIKE 'claimed%%' AND table_schema=current_schema() ORDER BY 1"
            ).fetchall()
            assert claims == [("claimed_by",), ("claimed_until",)]
        assert pg.namespace_indexes() == []  # version 5: the registry of large namespaces' own indexes
    finally:
        pg.close()


def test_a_postgres_database_of_version_5_keeps_its_waiting_chunks_and_claims_them(
    pg_dsn: str, counter: TokenCounter
) -> None:
    pg = PostgresStore(pg_dsn)
    pg.append("n", "s", prepared(counter, [user("coffee with Ana"), user("a trip to Zanzibar")]))
    with pg._write() as conn:  # as version 5 left it: no claim columns, one chunk still waiting for its vector
        conn.execute("UPDATE chunks SET embedding = NULL WHERE id = 2")
        conn.execute("ALTER TABLE chunks DROP COLUMN claimed_by, DROP COLUMN claimed_until")
        conn.execute("UPDATE meta SET value='5' WHERE key='schema_version'")
    pg.close()
    pg = PostgresStore(pg_dsn)
    try:
        assert pg.get_meta("schema_version") == str(PG_VERSION) and pg.pending_chunk_ids().tolist() == [2]
        claim = pg.claim_pending("replica-a", None, namespace="n")
        assert [r[:2] for r in claim.rows] == [(2, "a trip to Zanzibar")]
        assert pg.claim_pending("replica-b", [2]).busy == [2]  # held by replica-a
        assert pg.fill_vectors([(2, pg.vectors([1])[1])]) == [2] and pg.pending_chunk_ids().size == 0
    finally:
        pg.close()


def _bm25_stats(pg: PostgresStore) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """BM25's statistics as the namespaces rows hold them, and as the chunks say they should be."""
    with pg._read() as conn:
        kept = conn.execute("SELECT namespace, chunks, chunk_tokens FROM namespaces ORDER BY namespace").fetchall()
        counted = conn.execute(
            "SELECT n.namespace, count(c.id), COALESCE(sum(c.tokens), 0) FROM namespaces n "
            "LEFT JOIN chunks c ON c.namespace = n.namespace GROUP BY n.namespace ORDER BY n.namespace"
        ).fetchall()
    return kept, counted


def test_a_postgres_database_of_version_2_gains_bm25_statistics(pg_dsn: str, counter: TokenCounter) -> None:
    pg = PostgresStore(pg_dsn)
    pg.append("n1", "a", prepared(counter, [user("coffee with Ana"), user("coffee again"), user("a trip to Zanzibar")]))
    pg.append("n2", "a", prepared(counter, [user("one more chunk elsewhere")], seed=1))
    with pg._write() as conn:  # as version 2 left it: no statistics, an HNSW index for all rows
        conn.execute("ALTER TABLE namespaces DROP COLUMN chunks, DROP COLUMN chunk_tokens")
        conn.execute("CREATE INDEX chunks_hnsw_8 ON chunks USING hnsw ((embedding::vector(8)) vector_ip_ops)")
        conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    pg.close()
    pg = PostgresStore(pg_dsn)
    try:
        assert pg.get_meta("schema_version") == str(PG_VERSION)
        kept, counted = _bm25_stats(pg)
        assert kept == counted and [r[1] for r in kept] == [3, 1]
        assert pg.search_text(["coffee", "zanzibar"], "n1", 5)[0].size == 3  # BM25 reads them at once
        with pg._read() as conn:  # dropped: a memory that opens it builds the partial one (vectors.py)
            assert conn.execute("SELECT to_regclass('chunks_hnsw_8')").fetchone() == (None,)
        # the writes keep them: an append adds, a session delete subtracts, a namespace delete drops the row
        pg.append("n1", "b", prepared(counter, [user("coffee in session b")], seed=2))
        pg.delete("n1", "a")
        pg.delete("n2")
        kept, counted = _bm25_stats(pg)
        assert kept == counted and [r[:2] for r in kept] == [("n1", 1)]
    finally:
        pg.close()


def test_a_newer_schema_is_refused_naming_both_versions(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "turnmem.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='9' WHERE key='schema_version'")
    with pytest.raises(SchemaMismatch) as err:
        SQLiteStore(path)
    assert err.value.found == 9 and err.value.supported == SCHEMA_VERSION
    assert "schema version 9" in str(err.value) and f"schema version {SCHEMA_VERSION}" in str(err.value)

    pg = PostgresStore(pg_dsn)
    pg.set_meta("schema_version", "8")
    pg.close()
    with pytest.raises(SchemaMismatch) as err:
        PostgresStore(pg_dsn)
    assert "schema version 8" in str(err.value) and f"schema version {PG_VERSION}" in str(err.value)


def test_an_old_schema_without_a_migration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "turnmem.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='0' WHERE key='schema_version'")
    with pytest.raises(SchemaMismatch, match="schema version 0 is older than 5 and has no migration"):
        SQLiteStore(path)
