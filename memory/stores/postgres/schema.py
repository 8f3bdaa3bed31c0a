"""The PostgreSQL store's tables and schema version.

The same tables as the SQLite store, with PostgreSQL's own full-text and vector columns on
``chunks``: ``tsv`` (a stored generated ``tsvector``, English stemming, GIN-indexed) and
``embedding`` (pgvector); and, on ``namespaces``, the chunk count and their total tokens that BM25
needs (:mod:`memory.stores.postgres.bm25`). The HNSW index on the embeddings needs a fixed
dimension, so it is an expression index created for the embedder's dimension when a memory opens
the store (:mod:`memory.stores.postgres.vectors`).
A chunk's ``embedding`` is NULL from its append until write-behind indexing fills it in,
right after the commit (the partial index ``chunks_pending`` finds such chunks); the indexer
embedding it holds a lease on it meanwhile (``claimed_by``, ``claimed_until``: see
:mod:`memory.stores.postgres.pending`), so replicas sharing the database embed it once.
A large namespace gets an HNSW index of its own, recorded in ``namespace_indexes``
(:mod:`memory.stores.postgres.ns_indexes`).
"""

from __future__ import annotations

SCHEMA_VERSION = 7

# Serializes concurrent first opens: CREATE ... IF NOT EXISTS is not safe against a racing twin.
SCHEMA_LOCK = 0x7475726E6D656D  # "turnmem"

# the registry of namespaces' own HNSW indexes: one builder per row, search uses it once 'ready'
NAMESPACE_INDEXES = """
CREATE TABLE IF NOT EXISTS namespace_indexes (
    namespace TEXT NOT NULL,
    dim INTEGER NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('building', 'ready')),
    chunks BIGINT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    build_s DOUBLE PRECISION,
    PRIMARY KEY (namespace, dim)
);"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    namespace TEXT PRIMARY KEY,
    last_pos BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    chunks BIGINT NOT NULL DEFAULT 0,
    chunk_tokens BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, session)
);
CREATE TABLE IF NOT EXISTS messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    seq BIGINT NOT NULL,
    pos BIGINT NOT NULL,
    role TEXT NOT NULL,
    msg_id TEXT,
    ts DOUBLE PRECISION NOT NULL,
    tokens INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (namespace, session, seq),
    UNIQUE (namespace, session, msg_id)
);
CREATE INDEX IF NOT EXISTS messages_by_pos ON messages (namespace, pos);
CREATE INDEX IF NOT EXISTS messages_by_session_pos ON messages (namespace, session, pos);
CREATE TABLE IF NOT EXISTS tool_calls (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    call_id TEXT NOT NULL,
    call_seq BIGINT NOT NULL,
    result_seq BIGINT,
    PRIMARY KEY (namespace, session, call_id)
);
CREATE INDEX IF NOT EXISTS tool_calls_by_call ON tool_calls (namespace, session, call_seq);
CREATE TABLE IF NOT EXISTS chunks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    seq BIGINT NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    embedding vector,
    claimed_by TEXT,
    claimed_until DOUBLE PRECISION,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX IF NOT EXISTS chunks_by_ns ON chunks (namespace, id);
CREATE INDEX IF NOT EXISTS chunks_by_session ON chunks (namespace, session, seq);
CREATE INDEX IF NOT EXISTS chunks_by_message ON chunks (message_id);
CREATE INDEX IF NOT EXISTS chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks (namespace, id) WHERE embedding IS NULL;
CREATE TABLE IF NOT EXISTS state_blocks (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    value TEXT,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, session, name, version)
);
CREATE TABLE IF NOT EXISTS state_machines (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (namespace, session)
);
CREATE TABLE IF NOT EXISTS idempotency (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    key TEXT NOT NULL,
    seqs TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    fingerprint TEXT,
    PRIMARY KEY (namespace, session, key)
);
{NAMESPACE_INDEXES}
CREATE TABLE IF NOT EXISTS deletions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace_key TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
"""

# BM25's statistics per namespace counted from the chunks stored (appends keep them up to date)
COUNT_BM25_STATS = """
UPDATE namespaces n SET chunks = s.chunks, chunk_tokens = s.chunk_tokens
FROM (SELECT namespace, count(*) AS chunks, sum(tokens) AS chunk_tokens FROM chunks GROUP BY namespace) s
WHERE n.namespace = s.namespace"""

# steps[v] takes a database at version v to v + 1.
STEPS: dict[int, str] = {
    1: "ALTER TABLE idempotency ADD COLUMN IF NOT EXISTS fingerprint TEXT",  # the request a key answered
    # BM25's statistics per namespace, counted once from the chunks already stored; and the
    # HNSW indexes dropped, to be rebuilt partial (vectors.hnsw_index) when a memory opens it
    2: f"""
ALTER TABLE namespaces ADD COLUMN IF NOT EXISTS chunks BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS chunk_tokens BIGINT NOT NULL DEFAULT 0;
{COUNT_BM25_STATS};
DO $$ DECLARE i record; BEGIN  -- HNSW indexes become partial by dimension; the next open builds them
    FOR i IN SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'chunks'
             AND indexname LIKE 'chunks\\_hnsw\\_%' LOOP
        EXECUTE format('DROP INDEX %I', i.indexname);
    END LOOP;
END $$;
""",
    # chunks are stored before their vector (write-behind indexing)
    3: "ALTER TABLE chunks ALTER COLUMN embedding DROP NOT NULL; "
    "CREATE INDEX IF NOT EXISTS chunks_pending ON chunks (namespace, id) WHERE embedding IS NULL",
    4: NAMESPACE_INDEXES,  # large namespaces' own HNSW indexes
    # an indexer claims the chunks it embeds (a lease), so replicas do not embed one chunk twice;
    # nullable columns without a default: no table rewrite, however many chunks are stored
    5: "ALTER TABLE chunks ADD COLUMN IF NOT EXISTS claimed_by TEXT, "
    "ADD COLUMN IF NOT EXISTS claimed_until DOUBLE PRECISION",
    # a tombstone keeps no name: the namespace's salted key (memory/stores/tombstones.py computes
    # the same sha256 in Python), no session; a new table with the same ids, the old one dropped
    # (its files go with it, where an UPDATE would leave dead rows holding the names)
    6: """
DO $$ BEGIN
IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
           AND table_name = 'deletions' AND column_name = 'namespace') THEN
    CREATE TABLE deletions_v7 (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        namespace_key TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    INSERT INTO deletions_v7 (id, namespace_key, created_at) OVERRIDING SYSTEM VALUE
        SELECT id, encode(sha256(convert_to(
            (SELECT value FROM meta WHERE key = 'tombstone_salt') || ':' || namespace, 'UTF8')), 'hex'), created_at
        FROM deletions;
    PERFORM setval(pg_get_serial_sequence('deletions_v7', 'id'), (SELECT COALESCE(MAX(id), 0) FROM deletions) + 1,
                   false);
    DROP TABLE deletions;
    ALTER TABLE deletions_v7 RENAME TO deletions;
END IF;
END $$;
""",
}
