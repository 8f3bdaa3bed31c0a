"""The SQLite store's tables, and its schema versions with the step from each to the next."""

from __future__ import annotations

import sqlite3

from memory.stores.tombstones import namespace_key, read_salt

SCHEMA_VERSION = 5

# Version 1, as the first turnmem wrote it; a new log starts here and is stepped up.
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    namespace TEXT PRIMARY KEY,
    last_pos INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, session)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    role TEXT NOT NULL,
    msg_id TEXT,
    ts REAL NOT NULL,
    tokens INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (namespace, session, seq),
    UNIQUE (namespace, session, msg_id)
);
CREATE INDEX IF NOT EXISTS messages_by_pos ON messages (namespace, pos);
CREATE INDEX IF NOT EXISTS messages_by_session_pos ON messages (namespace, session, pos);
CREATE TABLE IF NOT EXISTS tool_calls (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    call_id TEXT NOT NULL,
    call_seq INTEGER NOT NULL,
    result_seq INTEGER,
    PRIMARY KEY (namespace, session, call_id)
);
CREATE INDEX IF NOT EXISTS tool_calls_by_call ON tool_calls (namespace, session, call_seq);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_ns ON chunks (namespace, id);
CREATE INDEX IF NOT EXISTS chunks_by_message ON chunks (message_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (
    text, scope, tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS state_blocks (
    namespace TEXT NOT NULL,
    session TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    value TEXT,
    updated_at REAL NOT NULL,
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
    created_at REAL NOT NULL,
    PRIMARY KEY (namespace, session, key)
);
CREATE TABLE IF NOT EXISTS deletions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    session TEXT,
    created_at REAL NOT NULL
);
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Deleting a session looked its chunks up through (namespace, id): a scan of the namespace."""
    conn.execute("CREATE INDEX IF NOT EXISTS chunks_by_session ON chunks (namespace, session, seq)")


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Idempotency keys remember a fingerprint of their request (NULL for keys written before)."""
    conn.execute("ALTER TABLE idempotency ADD COLUMN fingerprint TEXT")


PENDING = "vector = x''"
"""A chunk stored before its vector (write-behind indexing) has an empty vector until it is embedded."""


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """Chunks may be stored before they are embedded (an empty vector): a partial index finds them."""
    conn.execute(f"CREATE INDEX IF NOT EXISTS chunks_pending ON chunks (namespace, id) WHERE {PENDING}")


DELETIONS_V5 = """
CREATE TABLE deletions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace_key TEXT NOT NULL,
    created_at REAL NOT NULL
)"""


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    """A tombstone keeps no name: the namespace's salted key instead of the namespace and the
    session in clear (memory/stores/tombstones.py). The old rows are rewritten with the same ids,
    and the old table's pages zeroed (``secure_delete``); the WAL is truncated after the open."""
    if "namespace" not in {r[1] for r in conn.execute("PRAGMA table_info(deletions)")}:
        return  # already nameless
    salt = read_salt(conn)
    rows = conn.execute("SELECT id, namespace, created_at FROM deletions ORDER BY id").fetchall()
    top = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='deletions'").fetchone()
    conn.execute("DROP TABLE deletions")
    conn.execute(DELETIONS_V5)
    conn.executemany(
        "INSERT INTO deletions(id, namespace_key, created_at) VALUES (?, ?, ?)",
        [(i, namespace_key(salt, ns), t) for i, ns, t in rows],
    )
    if top is not None:  # ids keep growing from where they were
        moved = conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name='deletions'", (top[0],))
        if moved.rowcount == 0:
            conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('deletions', ?)", (top[0],))


STEPS = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}
