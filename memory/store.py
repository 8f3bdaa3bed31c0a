"""The durable log: SQLite in WAL mode holding namespaces, sessions, messages and chunks.

The log is the source of truth. Every chunk keeps its vector, so any vector index is
derived state that can be rebuilt (or caught up after a crash) from here. One ``append``
is one ``BEGIN IMMEDIATE`` transaction: either every message of the call is stored with
its chunks, vectors, tool-call links and idempotency record, or nothing is.

Concurrency: SQLite serializes writers across threads and processes; ``seq`` (per
session) and ``pos`` (per namespace) are read and bumped inside the write transaction,
so they are gap-free and strictly increasing whatever the number of writers. Chunk ids
come from AUTOINCREMENT inside the same serialized transaction, so they grow in commit
order: an index catches up by reading chunks above the highest id it has seen.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memory.errors import Conflict, InvalidArgument, InvalidMessage, NotFound
from memory.models import Hit, Message, StoredMessage

SCHEMA_VERSION = 1

_SCHEMA = """
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

MAX_NAME = 256


def scope_token(kind: str, value: str) -> str:
    """A token that FTS5 indexes as one word, naming a namespace or session."""
    return f"{kind}{hashlib.sha1(value.encode()).hexdigest()[:16]}"


def check_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{field}: give a non-empty string (got {value!r})", field=field)
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field}: at most {MAX_NAME} characters (got {len(value)})", field=field)
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidArgument(
            f"{field}: control characters and lone surrogates are not allowed in {value!r}", field=field
        )
    return value


@dataclass
class PreparedChunk:
    """A chunk ready to store: its text, token count, kind, position and vector."""

    part: int
    parts: int
    kind: str
    text: str
    tokens: int
    vector: np.ndarray


@dataclass
class PreparedMessage:
    message: Message
    ts: float
    tokens: int
    chunks: list[PreparedChunk]


@dataclass
class AppendResult:
    seqs: list[int]
    new_chunk_ids: list[int]
    new_chunk_sessions: list[str]
    new_vectors: np.ndarray | None
    replayed: bool = False


@dataclass
class ChunkRow:
    id: int
    message_id: int
    namespace: str
    session: str
    seq: int
    part: int
    parts: int
    kind: str
    text: str
    tokens: int

    def hit(self, *, role: str, rank: int, scores: dict[str, float], reason: str = "retrieved") -> Hit:
        return Hit(
            chunk_id=self.id,
            text=self.text,
            namespace=self.namespace,
            session=self.session,
            seq=self.seq,
            part=self.part,
            parts=self.parts,
            role=role,
            rank=rank,
            scores=scores,
            reason=reason,
            tokens=self.tokens,
        )


@dataclass
class MessageRow:
    id: int
    namespace: str
    session: str
    seq: int
    pos: int
    role: str
    ts: float
    tokens: int
    data: dict[str, Any]

    def message(self) -> Message:
        return Message.model_validate(self.data)

    def stored(self) -> StoredMessage:
        return StoredMessage.model_validate(
            {**self.data, "namespace": self.namespace, "session": self.session, "seq": self.seq}
        )


_MSG_COLS = "id, namespace, session, seq, pos, role, ts, tokens, data"
_CHUNK_COLS = "id, message_id, namespace, session, seq, part, parts, kind, text, tokens"
_MSG_COLS_M = ", ".join("m." + c.strip() for c in _MSG_COLS.split(","))
_FIRST_CHUNK_COLS = ", ".join("c." + c.strip() for c in _CHUNK_COLS.split(","))


def _msg_row(r: tuple) -> MessageRow:
    return MessageRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))


class Store:
    """SQLite log. Thread-safe: one connection per thread; SQLite locks across processes."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.synchronous = synchronous
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        conn = self._conn()
        conn.executescript(
            "BEGIN IMMEDIATE;\n"
            + _SCHEMA
            + f"INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;"
        )

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE so writers queue up front."""
        conn = conn or self._conn()
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:  # busy beyond busy_timeout: retry until ours
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                try:
                    conn.close()
                except sqlite3.Error:  # pragma: no cover
                    pass
            self._conns.clear()
        self._local = threading.local()

    def data_version(self) -> int:
        """Changes when another connection (thread or process) commits."""
        return int(self._conn().execute("PRAGMA data_version").fetchone()[0])

    # -- meta ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- writes --------------------------------------------------------------------------

    def append(
        self,
        namespace: str,
        session: str,
        messages: Sequence[PreparedMessage],
        *,
        base_seq: int | None = None,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        """Append messages to a session in one transaction and return their seqs.

        - ``idempotency_key`` seen before for this session: nothing is stored, the first
          call's seqs are returned.
        - a message whose ``id`` is already stored in the session is skipped and its
          stored seq returned (a retried write never duplicates).
        - ``base_seq`` given and not the session's current last seq: :class:`Conflict`.
        - a tool result must answer a call made earlier in the session (or in this batch)
          that has no result yet: otherwise :class:`InvalidMessage`, and nothing is stored.
        """
        now = time.time()
        with self._write() as conn:
            if idempotency_key is not None:
                row = conn.execute(
                    "SELECT seqs FROM idempotency WHERE namespace=? AND session=? AND key=?",
                    (namespace, session, idempotency_key),
                ).fetchone()
                if row is not None:
                    return AppendResult(json.loads(row[0]), [], [], None, replayed=True)
            srow = conn.execute(
                "SELECT last_seq FROM sessions WHERE namespace=? AND session=?", (namespace, session)
            ).fetchone()
            last_seq = 0 if srow is None else int(srow[0])
            if base_seq is not None and base_seq != last_seq:
                raise Conflict(
                    f"base_seq: the session is at seq {last_seq}, not {base_seq}; fetch what you "
                    f"missed with since({base_seq}) and retry with base_seq={last_seq}",
                    current_seq=last_seq,
                )
            nrow = conn.execute("SELECT last_pos FROM namespaces WHERE namespace=?", (namespace,)).fetchone()
            last_pos = 0 if nrow is None else int(nrow[0])
            if nrow is None:
                conn.execute(
                    "INSERT INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now)
                )
            if srow is None:
                conn.execute(
                    "INSERT INTO sessions(namespace, session, last_seq, created_at, updated_at) VALUES (?, ?, 0, ?, ?)",
                    (namespace, session, now, now),
                )
            seqs: list[int] = []
            chunk_ids: list[int] = []
            vectors: list[np.ndarray] = []
            batch_ids: dict[str, int] = {}
            ns_tok, ss_tok = scope_token("n", namespace), scope_token("s", session)
            for i, prepared in enumerate(messages):
                msg = prepared.message
                if msg.id is not None:
                    if msg.id in batch_ids:
                        seqs.append(batch_ids[msg.id])
                        continue
                    dup = conn.execute(
                        "SELECT seq FROM messages WHERE namespace=? AND session=? AND msg_id=?",
                        (namespace, session, msg.id),
                    ).fetchone()
                    if dup is not None:
                        seqs.append(int(dup[0]))
                        continue
                last_seq += 1
                last_pos += 1
                seq = last_seq
                if msg.role == "tool":
                    self._link_result(conn, namespace, session, msg.tool_call_id or "", seq, i)
                for call in msg.tool_calls or ():
                    try:
                        conn.execute(
                            "INSERT INTO tool_calls(namespace, session, call_id, call_seq) VALUES (?, ?, ?, ?)",
                            (namespace, session, call.id, seq),
                        )
                    except sqlite3.IntegrityError:
                        raise InvalidMessage(
                            f"messages[{i}].tool_calls: call id {call.id!r} is already used in session "
                            f"{session!r}; give every tool call a new id",
                            field=f"messages[{i}].tool_calls",
                        ) from None
                record = msg.to_record()
                cur = conn.execute(
                    "INSERT INTO messages(namespace, session, seq, pos, role, msg_id, ts, tokens, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        namespace,
                        session,
                        seq,
                        last_pos,
                        msg.role,
                        msg.id,
                        prepared.ts,
                        prepared.tokens,
                        json.dumps(record, ensure_ascii=False),
                    ),
                )
                message_id = int(cur.lastrowid or 0)
                for ch in prepared.chunks:
                    vec = np.ascontiguousarray(ch.vector, dtype=np.float32)
                    c = conn.execute(
                        "INSERT INTO chunks(message_id, namespace, session, seq, part, parts, kind, text, "
                        "tokens, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            message_id,
                            namespace,
                            session,
                            seq,
                            ch.part,
                            ch.parts,
                            ch.kind,
                            ch.text,
                            ch.tokens,
                            vec.tobytes(),
                        ),
                    )
                    cid = int(c.lastrowid or 0)
                    conn.execute(
                        "INSERT INTO chunks_fts(rowid, text, scope) VALUES (?, ?, ?)",
                        (cid, ch.text, f"{ns_tok} {ss_tok}"),
                    )
                    chunk_ids.append(cid)
                    vectors.append(vec)
                if msg.id is not None:
                    batch_ids[msg.id] = seq
                seqs.append(seq)
            conn.execute(
                "UPDATE sessions SET last_seq=?, updated_at=? WHERE namespace=? AND session=?",
                (last_seq, now, namespace, session),
            )
            conn.execute("UPDATE namespaces SET last_pos=? WHERE namespace=?", (last_pos, namespace))
            if idempotency_key is not None:
                conn.execute(
                    "INSERT INTO idempotency(namespace, session, key, seqs, created_at) VALUES (?, ?, ?, ?, ?)",
                    (namespace, session, idempotency_key, json.dumps(seqs), now),
                )
        vec_arr = np.stack(vectors) if vectors else None
        return AppendResult(seqs, chunk_ids, [session] * len(chunk_ids), vec_arr)

    @staticmethod
    def _link_result(conn: sqlite3.Connection, namespace: str, session: str, call_id: str, seq: int, i: int) -> None:
        row = conn.execute(
            "SELECT result_seq FROM tool_calls WHERE namespace=? AND session=? AND call_id=?",
            (namespace, session, call_id),
        ).fetchone()
        field = f"messages[{i}].tool_call_id"
        if row is None:
            raise InvalidMessage(
                f"{field}: no assistant message in session {session!r} made a tool call with id "
                f"{call_id!r}; add the assistant message with that tool_calls entry first "
                "(in the same add() or an earlier one)",
                field=field,
            )
        if row[0] is not None:
            raise InvalidMessage(
                f"{field}: tool call {call_id!r} already has its result (seq {row[0]}); a retried "
                "tool gets a new call id",
                field=field,
            )
        conn.execute(
            "UPDATE tool_calls SET result_seq=? WHERE namespace=? AND session=? AND call_id=?",
            (seq, namespace, session, call_id),
        )

    def delete(self, namespace: str, session: str | None = None) -> int:
        """Forget a namespace or one session: log rows, chunks, full-text entries. Returns
        the number of messages removed; raises :class:`NotFound` if there was nothing."""
        where, args = (
            ("namespace=?", (namespace,))
            if session is None
            else (
                "namespace=? AND session=?",
                (namespace, session),
            )
        )
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE {where}", args)]
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({','.join('?' * len(batch))})", batch)
            conn.execute(f"DELETE FROM chunks WHERE {where}", args)
            n = conn.execute(f"DELETE FROM messages WHERE {where}", args).rowcount
            conn.execute(f"DELETE FROM tool_calls WHERE {where}", args)
            conn.execute(f"DELETE FROM idempotency WHERE {where}", args)
            n_state = conn.execute(f"DELETE FROM state_blocks WHERE {where}", args).rowcount
            n_state += conn.execute(f"DELETE FROM state_machines WHERE {where}", args).rowcount
            gone = conn.execute(f"DELETE FROM sessions WHERE {where}", args).rowcount
            if session is None:
                gone += conn.execute("DELETE FROM namespaces WHERE namespace=?", (namespace,)).rowcount
            if not gone and not n and not n_state:
                what = f"namespace {namespace!r}" if session is None else f"session {session!r} in {namespace!r}"
                raise NotFound(f"{what} does not exist")
            conn.execute(
                "INSERT INTO deletions(namespace, session, created_at) VALUES (?, ?, ?)",
                (namespace, session, time.time()),
            )
        return n

    # -- session state -------------------------------------------------------------------

    @staticmethod
    def _ensure_session(conn: sqlite3.Connection, namespace: str, session: str, now: float) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO namespaces(namespace, last_pos, created_at) VALUES (?, 0, ?)", (namespace, now)
        )
        conn.execute(
            "INSERT OR IGNORE INTO sessions(namespace, session, last_seq, created_at, updated_at) "
            "VALUES (?, ?, 0, ?, ?)",
            (namespace, session, now, now),
        )

    @staticmethod
    def _state_rows(conn: sqlite3.Connection, namespace: str, session: str) -> dict[str, tuple[int, str | None, float]]:
        """name -> (latest version, JSON value or None if removed, updated_at)."""
        rows = conn.execute(
            "SELECT name, version, value, updated_at FROM state_blocks b WHERE namespace=? AND session=? AND "
            "version=(SELECT MAX(version) FROM state_blocks WHERE namespace=b.namespace AND session=b.session "
            "AND name=b.name)",
            (namespace, session),
        )
        return {name: (int(v), value, float(t)) for name, v, value, t in rows}

    def state(self, namespace: str, session: str) -> dict[str, tuple[int, str | None, float]]:
        return self._state_rows(self._conn(), namespace, session)

    def state_history(self, namespace: str, session: str, name: str) -> list[tuple[int, str | None, float]]:
        rows = self._conn().execute(
            "SELECT version, value, updated_at FROM state_blocks WHERE namespace=? AND session=? AND name=? "
            "ORDER BY version",
            (namespace, session, name),
        )
        return [(int(v), value, float(t)) for v, value, t in rows]

    def set_state(
        self,
        namespace: str,
        session: str,
        values: dict[str, str | None],
        *,
        expected: dict[str, int] | None = None,
        check: Any = None,
    ) -> dict[str, tuple[int, str | None, float]]:
        """Write new versions of several blocks in one transaction (JSON text, None removes).

        ``expected``: name -> version the caller saw (0: absent); a mismatch raises
        :class:`Conflict` and writes nothing. ``check(current, machine_spec)`` may raise to refuse.
        """
        now = time.time()
        with self._write() as conn:
            current = self._state_rows(conn, namespace, session)
            for name, want in (expected or {}).items():
                have = current.get(name, (0, None, 0.0))[0]
                if have != want:
                    raise Conflict(
                        f"state.{name}: the block is at version {have}, not {want}; read the state again and retry",
                        current_seq=have,
                    )
            if check is not None:
                spec = conn.execute(
                    "SELECT spec FROM state_machines WHERE namespace=? AND session=?", (namespace, session)
                ).fetchone()
                check(current, spec[0] if spec else None)
            self._ensure_session(conn, namespace, session, now)
            out: dict[str, tuple[int, str | None, float]] = {}
            for name, value in values.items():
                version = current.get(name, (0, None, 0.0))[0] + 1
                conn.execute(
                    "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (namespace, session, name, version, value, now),
                )
                out[name] = (version, value, now)
        return out

    def state_machine(self, namespace: str, session: str) -> str | None:
        row = (
            self._conn()
            .execute("SELECT spec FROM state_machines WHERE namespace=? AND session=?", (namespace, session))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def set_state_machine(self, namespace: str, session: str, spec: str | None, initial_stage: str | None) -> None:
        """Attach (or with None detach) a machine; the stage block starts at ``initial_stage`` if unset."""
        now = time.time()
        with self._write() as conn:
            self._ensure_session(conn, namespace, session, now)
            if spec is None:
                conn.execute("DELETE FROM state_machines WHERE namespace=? AND session=?", (namespace, session))
                return
            conn.execute(
                "INSERT INTO state_machines(namespace, session, spec) VALUES (?, ?, ?) "
                "ON CONFLICT(namespace, session) DO UPDATE SET spec=excluded.spec",
                (namespace, session, spec),
            )
            stage = self._state_rows(conn, namespace, session).get("stage")
            if initial_stage is not None and (stage is None or stage[1] is None):
                version = 1 if stage is None else stage[0] + 1
                conn.execute(
                    "INSERT INTO state_blocks(namespace, session, name, version, value, updated_at) "
                    "VALUES (?, ?, 'stage', ?, ?, ?)",
                    (namespace, session, version, json.dumps(initial_stage), now),
                )

    # -- reads ---------------------------------------------------------------------------

    def last_seq(self, namespace: str, session: str) -> int:
        row = (
            self._conn()
            .execute("SELECT last_seq FROM sessions WHERE namespace=? AND session=?", (namespace, session))
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def last_pos(self, namespace: str) -> int:
        row = self._conn().execute("SELECT last_pos FROM namespaces WHERE namespace=?", (namespace,)).fetchone()
        return 0 if row is None else int(row[0])

    def namespaces(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT namespace FROM namespaces ORDER BY namespace")]

    def sessions(self, namespace: str) -> list[dict[str, Any]]:
        rows = self._conn().execute(
            "SELECT session, last_seq, created_at, updated_at FROM sessions WHERE namespace=? "
            "ORDER BY created_at, session",
            (namespace,),
        )
        return [{"session": r[0], "last_seq": r[1], "created_at": r[2], "updated_at": r[3]} for r in rows]

    def messages_since(
        self, namespace: str, session: str, since: int = 0, limit: int | None = None
    ) -> list[MessageRow]:
        sql = f"SELECT {_MSG_COLS} FROM messages WHERE namespace=? AND session=? AND seq>? ORDER BY seq"
        args: tuple = (namespace, session, since)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        return [_msg_row(r) for r in self._conn().execute(sql, args)]

    def tail(
        self, namespace: str, session: str | None, before_pos: int | None = None, limit: int = 64
    ) -> list[MessageRow]:
        """The latest messages (newest first) of a session, or of the whole namespace."""
        if session is None:
            sql = f"SELECT {_MSG_COLS} FROM messages WHERE namespace=?"
            args: tuple = (namespace,)
        else:
            sql = f"SELECT {_MSG_COLS} FROM messages WHERE namespace=? AND session=?"
            args = (namespace, session)
        if before_pos is not None:
            sql += " AND pos<?"
            args += (before_pos,)
        sql += " ORDER BY pos DESC LIMIT ?"
        return [_msg_row(r) for r in self._conn().execute(sql, (*args, limit))]

    def messages_by_pos(self, namespace: str, positions: Iterable[int]) -> dict[int, MessageRow]:
        pos = list(dict.fromkeys(positions))
        out: dict[int, MessageRow] = {}
        conn = self._conn()
        for start in range(0, len(pos), 500):
            batch = pos[start : start + 500]
            sql = f"SELECT {_MSG_COLS} FROM messages WHERE namespace=? AND pos IN ({','.join('?' * len(batch))})"
            for r in conn.execute(sql, (namespace, *batch)):
                row = _msg_row(r)
                out[row.pos] = row
        return out

    def messages_by_seq(self, namespace: str, session: str, seqs: Iterable[int]) -> dict[int, MessageRow]:
        s = list(dict.fromkeys(seqs))
        out: dict[int, MessageRow] = {}
        conn = self._conn()
        for start in range(0, len(s), 500):
            batch = s[start : start + 500]
            sql = (
                f"SELECT {_MSG_COLS} FROM messages WHERE namespace=? AND session=? "
                f"AND seq IN ({','.join('?' * len(batch))})"
            )
            for r in conn.execute(sql, (namespace, session, *batch)):
                row = _msg_row(r)
                out[row.seq] = row
        return out

    def messages_by_keys(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], MessageRow]:
        """Messages by (session, seq) across sessions, one query per 400 keys."""
        out: dict[tuple[str, int], MessageRow] = {}
        conn = self._conn()
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), 400):
            batch = keys[start : start + 400]
            params: list[object] = []
            for session, seq in batch:
                params += [session, int(seq)]
            params.append(namespace)
            values = ",".join("(?,?)" for _ in batch)
            # driven by the keys through the (namespace, session, seq) unique index: O(keys log n)
            sql = (
                f"WITH k(session, seq) AS (VALUES {values}) SELECT {_MSG_COLS_M} FROM k "
                "CROSS JOIN messages m ON m.namespace=? AND m.session=k.session AND m.seq=k.seq"
            )
            for r in conn.execute(sql, params):
                row = _msg_row(r)
                out[(row.session, row.seq)] = row
        return out

    def all_messages(self, namespace: str, session: str | None = None) -> list[MessageRow]:
        if session is None:
            rows = self._conn().execute(
                f"SELECT {_MSG_COLS} FROM messages WHERE namespace=? ORDER BY pos", (namespace,)
            )
        else:
            rows = self._conn().execute(
                f"SELECT {_MSG_COLS} FROM messages WHERE namespace=? AND session=? ORDER BY seq", (namespace, session)
            )
        return [_msg_row(r) for r in rows]

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        conn = self._conn()
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            sql = f"SELECT {_CHUNK_COLS} FROM chunks WHERE id IN ({','.join('?' * len(batch))})"
            for r in conn.execute(sql, batch):
                out[r[0]] = ChunkRow(*r)
        return out

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors of these chunk ids."""
        out: dict[int, np.ndarray] = {}
        conn = self._conn()
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            sql = f"SELECT id, vector FROM chunks WHERE id IN ({','.join('?' * len(batch))})"
            for cid, blob in conn.execute(sql, batch):
                out[int(cid)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def first_chunks(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ChunkRow]:
        """The first chunk (part 0) of each (session, seq) message that exists."""
        out: dict[tuple[str, int], ChunkRow] = {}
        conn = self._conn()
        keys = list(keys)
        for start in range(0, len(keys), 400):
            batch = keys[start : start + 400]
            values = ",".join("(?,?)" for _ in batch)
            params: list[object] = []
            for session, seq in batch:
                params += [session, int(seq)]
            params.append(namespace)
            # keys first, then the (namespace, session, seq) unique index and chunks_by_message:
            # O(keys · log n), where filtering the namespace's chunks would scan all of them
            sql = (
                f"WITH k(session, seq) AS (VALUES {values}) SELECT {_FIRST_CHUNK_COLS} FROM k "
                "CROSS JOIN messages m ON m.namespace=? AND m.session=k.session AND m.seq=k.seq "
                "CROSS JOIN chunks c ON c.message_id=m.id AND c.part=0"
            )
            for r in conn.execute(sql, params):
                row = ChunkRow(*r)
                out[(row.session, row.seq)] = row
        return out

    def _chunks_version(self, namespace: str) -> tuple[int, int, str]:
        """Changes whenever the namespace's chunks do (added, deleted, re-embedded): a cache key.

        O(1): the namespace's last position grows with every append, deletions are logged,
        and re-embedding bumps ``meta.vectors_version`` (a COUNT over the chunks would cost
        milliseconds per context at 100k chunks).
        """
        row = (
            self._conn()
            .execute(
                "SELECT (SELECT last_pos FROM namespaces WHERE namespace=?), "
                "(SELECT COALESCE(MAX(id), 0) FROM deletions), "
                "(SELECT value FROM meta WHERE key='vectors_version')",
                (namespace,),
            )
            .fetchone()
        )
        return int(row[0] or 0), int(row[1]), str(row[2] or "")

    def speakers(self, namespace: str) -> dict[str, str]:
        """The participants' ``name`` values in a namespace, keyed by lowercased name
        (cached until the namespace's chunks change)."""
        version = self._chunks_version(namespace)
        cache = self.__dict__.setdefault("_speakers", {})
        hit = cache.get(namespace)
        if hit is not None and hit[0] == version:
            return hit[1]
        rows = self._conn().execute(
            "SELECT DISTINCT json_extract(data, '$.name') FROM messages WHERE namespace=?", (namespace,)
        )
        names = {str(r[0]).lower(): str(r[0]) for r in rows if r[0]}
        cache[namespace] = (version, names)
        return names

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean chunk vector (cached until the namespace's chunks change)."""
        conn = self._conn()
        version = self._chunks_version(namespace)
        cache = self.__dict__.setdefault("_centroids", {})
        hit = cache.get(namespace)
        if hit is not None and hit[0] == version:
            return hit[1], hit[2]
        sums: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for session, blob in conn.execute("SELECT session, vector FROM chunks WHERE namespace=?", (namespace,)):
            v = np.frombuffer(blob, dtype=np.float32)
            if session in sums:
                sums[session] += v
            else:
                sums[session] = v.astype(np.float64)
            counts[session] = counts.get(session, 0) + 1
        names = sorted(sums)
        cents = np.stack([sums[n] / counts[n] for n in names]) if names else np.zeros((0, 0))
        cache[namespace] = (version, names, cents)
        return names, cents

    def chunks_of_message(self, message_id: int) -> list[ChunkRow]:
        rows = self._conn().execute(f"SELECT {_CHUNK_COLS} FROM chunks WHERE message_id=? ORDER BY part", (message_id,))
        return [ChunkRow(*r) for r in rows]

    def chunk_vectors(
        self, *, after_id: int = 0, namespace: str | None = None, batch: int = 4096
    ) -> Iterator[tuple[str, np.ndarray, list[str], np.ndarray]]:
        """Stream ``(namespace, ids, sessions, vectors)`` batches of chunks with id > after_id."""
        conn = self._conn()
        last = after_id
        while True:
            if namespace is None:
                rows = conn.execute(
                    "SELECT id, namespace, session, vector FROM chunks WHERE id>? ORDER BY id LIMIT ?", (last, batch)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, namespace, session, vector FROM chunks WHERE namespace=? AND id>? ORDER BY id LIMIT ?",
                    (namespace, last, batch),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            by_ns: dict[str, list[tuple]] = {}
            for r in rows:
                by_ns.setdefault(r[1], []).append(r)
            for ns, group in by_ns.items():
                ids = np.fromiter((g[0] for g in group), dtype=np.int64, count=len(group))
                vecs = np.frombuffer(b"".join(g[3] for g in group), dtype=np.float32).reshape(len(group), -1)
                yield ns, ids, [g[2] for g in group], vecs

    def chunk_ids(self, namespace: str) -> np.ndarray:
        rows = self._conn().execute("SELECT id FROM chunks WHERE namespace=?", (namespace,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def max_chunk_id(self) -> int:
        row = self._conn().execute("SELECT COALESCE(MAX(id), 0) FROM chunks").fetchone()
        return int(row[0])

    def chunk_count(self, namespace: str | None = None) -> int:
        if namespace is None:
            return int(self._conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        return int(self._conn().execute("SELECT COUNT(*) FROM chunks WHERE namespace=?", (namespace,)).fetchone()[0])

    def deletions_after(self, after_id: int) -> list[tuple[int, str, str | None]]:
        return [
            (r[0], r[1], r[2])
            for r in self._conn().execute(
                "SELECT id, namespace, session FROM deletions WHERE id>? ORDER BY id", (after_id,)
            )
        ]

    def max_deletion_id(self) -> int:
        return int(self._conn().execute("SELECT COALESCE(MAX(id), 0) FROM deletions").fetchone()[0])

    def tool_links(
        self, namespace: str, session: str, *, call_seqs: Iterable[int] = (), call_ids: Iterable[str] = ()
    ) -> list[tuple[str, int, int | None]]:
        """``(call_id, call_seq, result_seq)`` rows for calls made at these seqs or with these ids."""
        out: list[tuple[str, int, int | None]] = []
        conn = self._conn()
        cs = list(call_seqs)
        if cs:
            sql = (
                "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=? AND session=? "
                f"AND call_seq IN ({','.join('?' * len(cs))})"
            )
            out.extend(conn.execute(sql, (namespace, session, *cs)).fetchall())
        ci = list(call_ids)
        if ci:
            sql = (
                "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=? AND session=? "
                f"AND call_id IN ({','.join('?' * len(ci))})"
            )
            out.extend(conn.execute(sql, (namespace, session, *ci)).fetchall())
        return out

    def session_tool_links(self, namespace: str, session: str) -> list[tuple[str, int, int | None]]:
        """Every ``(call_id, call_seq, result_seq)`` of a session, in call order."""
        return (
            self._conn()
            .execute(
                "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=? AND session=? "
                "ORDER BY call_seq, rowid",
                (namespace, session),
            )
            .fetchall()
        )

    def search_text(
        self, query_terms: Sequence[str], namespace: str, k: int, sessions: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """BM25 (FTS5) over chunk text within a namespace; higher score is better."""
        terms = [t.replace('"', '""') for t in query_terms if t]
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scope = scope_token("n", namespace)
        quoted = " OR ".join('text:"' + t + '"' for t in terms)
        # The namespace filter intersects with a posting list as long as the namespace; when the
        # log holds one namespace it filters nothing, so skip it (40 % of the query at 100k chunks).
        only = self._conn().execute("SELECT COUNT(*), MAX(namespace) FROM namespaces").fetchone()
        match = quoted if only == (1, namespace) else f"scope:{scope} AND ({quoted})"
        if sessions:
            match += " AND (" + " OR ".join(f"scope:{scope_token('s', s)}" for s in sessions) + ")"
        rows = (
            self._conn()
            .execute(
                "SELECT rowid, bm25(chunks_fts, 1.0, 0.0) AS s FROM chunks_fts "
                "WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
                (match, k),
            )
            .fetchall()
        )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((-r[1] for r in rows), dtype=np.float32, count=len(rows))
        return ids, scores

    # -- maintenance ---------------------------------------------------------------------

    def update_message_tokens(self, tokens: dict[int, int]) -> None:
        with self._write() as conn:
            conn.executemany("UPDATE messages SET tokens=? WHERE id=?", [(t, i) for i, t in tokens.items()])

    def iter_message_rows(self) -> Iterator[MessageRow]:
        for r in self._conn().execute(f"SELECT {_MSG_COLS} FROM messages ORDER BY id"):
            yield _msg_row(r)

    def replace_vectors(self, items: Sequence[tuple[int, np.ndarray]]) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('vectors_version', '1') ON CONFLICT(key) "
                "DO UPDATE SET value=CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
            )
            conn.executemany(
                "UPDATE chunks SET vector=? WHERE id=?",
                [(np.ascontiguousarray(v, dtype=np.float32).tobytes(), int(i)) for i, v in items],
            )

    def iter_chunk_texts(self, batch: int = 1024) -> Iterator[list[tuple[int, str]]]:
        last = 0
        conn = self._conn()
        while True:
            rows = conn.execute("SELECT id, text FROM chunks WHERE id>? ORDER BY id LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(r[0], r[1]) for r in rows]
