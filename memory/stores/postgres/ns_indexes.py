"""A large namespace's own HNSW index on PostgreSQL: built, listed, dropped.

Why: pgvector 0.6 filters by namespace *after* the graph walk of the table-wide HNSW index, so a
namespace that is a small share of the table cannot use it (``ef_search`` would have to exceed
pgvector's 1000) and is scanned exactly: 100,000 vectors, ~0.4-0.7 s. A namespace of at least
``namespace_index_min_chunks`` chunks (a meta row, so every replica agrees; default
:data:`NAMESPACE_INDEX_MIN_CHUNKS`) gets a partial HNSW index of its own,
``... USING hnsw ((embedding::vector(dim)) vector_ip_ops) WHERE namespace = '<ns>' AND
vector_dims(embedding) = dim`` (:func:`index_ddl`), and its search walks a graph of its rows only
(:mod:`memory.stores.postgres.vectors`, with the namespace as a literal: the planner matches a
partial index's predicate only against constants).

When: the first search that finds a namespace at the size without a ready index asks its
process's :class:`NamespaceIndexBuilder` (one background thread) to build it, and searches stay
exact until it is ready; or at once, with ``turnmem namespace-indexes --build NS`` (or
:meth:`NamespaceIndexes.build_namespace_index`). Search is where the need shows, and it already reads
the namespace's size in its first round trip: writes pay nothing for it.

How, with any number of replicas:

- ``CREATE INDEX CONCURRENTLY``: writers of the table are not blocked while it builds; it runs on a
  connection of its own (outside the pool, outside any transaction);
- one builder per index: a session-level advisory lock on the index's name, taken with
  ``pg_try_advisory_lock`` on that connection, so a second replica skips it, and a builder that
  dies releases it with its connection; the registry table ``namespace_indexes`` says ``building``
  or ``ready``, and search uses an index only once it is ``ready``;
- a build that failed or was interrupted leaves an INVALID index (``pg_index.indisvalid``): the
  next builder drops it (``DROP INDEX CONCURRENTLY``) and builds again;
- deleting a namespace deletes its registry rows and drops its indexes after the delete commits
  (a ``DROP INDEX`` inside the delete's transaction would lock the whole table until it commits);
  an index still building is left to its builder, which drops it when it finds its row gone.
  :meth:`NamespaceIndexes.sweep_namespace_indexes` drops what a crash between the two left behind.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

import psycopg
from psycopg import sql
from pydantic import BaseModel

from memory.stores.postgres.connection import PgBase

log = logging.getLogger("turnmem.postgres")

#: a namespace with at least this many chunks gets an HNSW index of its own (meta ``namespace_index_min_chunks``;
#: 0 turns automatic builds off). Chosen from measurements: see the README's PostgreSQL section.
NAMESPACE_INDEX_MIN_CHUNKS = 20_000
META_KEY = "namespace_index_min_chunks"
LOCK_CLASS = 0x746D  # "tm": the first half of the advisory lock key; the second is hashtext(schema.index name)
BUILD_MEMORY = "256MB"  # maintenance_work_mem for a build (when the server's is lower): the graph fits in it
INDEX_PREFIX = "ns_hnsw_"
RETRY_S = 60.0  # a namespace found due is queued again after this long (a failed or skipped build)

Outcome = Literal["built", "ready", "busy", "no-namespace"]


class NamespaceIndex(BaseModel):
    """A registry row: a namespace's own HNSW index for one dimension."""

    namespace: str
    dim: int
    name: str
    state: Literal["building", "ready"]
    chunks: int  # the namespace's chunks when its build started
    started_at: float
    build_s: float | None
    valid: bool | None  # pg_index.indisvalid; None: the index does not exist


def index_name(namespace: str, dim: int) -> str:
    """The index's name: a hash of the namespace (any text) keeps it a short, plain identifier."""
    return f"{INDEX_PREFIX}{hashlib.sha1(namespace.encode()).hexdigest()[:16]}_{dim}"


def index_ddl(namespace: str, dim: int) -> sql.Composed:
    """``CREATE INDEX CONCURRENTLY`` of ``namespace``'s own index, the namespace quoted as a literal."""
    return sql.SQL(
        "CREATE INDEX CONCURRENTLY {name} ON chunks USING hnsw ((embedding::vector({dim})) vector_ip_ops) "
        "WHERE namespace = {ns} AND vector_dims(embedding) = {dim}"
    ).format(name=sql.Identifier(index_name(namespace, dim)), dim=sql.Literal(dim), ns=sql.Literal(namespace))


def _try_lock(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(current_schema() || '.' || %s))", (LOCK_CLASS, name)
    ).fetchone()
    return bool(row and row[0])


def _unlock(conn: psycopg.Connection, name: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema() || '.' || %s))", (LOCK_CLASS, name))


def _valid(conn: psycopg.Connection, name: str) -> bool | None:
    row = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)).fetchone()
    return None if row is None else bool(row[0])


def _cancel(conn: psycopg.Connection) -> None:
    """Cancel the statement running on ``conn`` (from another thread); nothing if it has ended."""
    try:
        conn.cancel_safe(timeout=5.0)
    except psycopg.Error as exc:  # pragma: no cover - the connection closed meanwhile
        log.info("cancelling a namespace index build: %s", exc)


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name)))


class NamespaceIndexes(PgBase):
    """Build, list and drop namespaces' own HNSW indexes; a namespace's delete drops them."""

    def namespace_index_min_chunks(self) -> int:
        """The size from which a namespace gets its own index (0: never automatically)."""
        value = self.get_meta(META_KEY)
        return NAMESPACE_INDEX_MIN_CHUNKS if value is None else int(value)

    def namespace_indexes(self) -> list[NamespaceIndex]:
        """The registry, with each index's validity, by namespace and dimension."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT r.namespace, r.dim, r.name, r.state, r.chunks, r.started_at, r.build_s, i.indisvalid "
                "FROM namespace_indexes r LEFT JOIN pg_index i ON i.indexrelid = to_regclass(r.name) "
                'ORDER BY r.namespace COLLATE "C", r.dim'
            ).fetchall()
        keys = ("namespace", "dim", "name", "state", "chunks", "started_at", "build_s", "valid")
        return [NamespaceIndex(**dict(zip(keys, r))) for r in rows]

    def namespaces_due(self, dim: int, min_chunks: int | None = None) -> list[str]:
        """Namespaces of at least ``min_chunks`` chunks (default: the configured size) without a ready index."""
        low = self.namespace_index_min_chunks() if min_chunks is None else min_chunks
        with self._read() as conn:
            rows = conn.execute(
                "SELECT n.namespace FROM namespaces n WHERE n.chunks >= %s AND %s > 0 AND NOT EXISTS "
                "(SELECT 1 FROM namespace_indexes r WHERE r.namespace = n.namespace AND r.dim = %s "
                "AND r.state = 'ready') ORDER BY n.chunks DESC",
                (low, low, dim),
            ).fetchall()
        return [r[0] for r in rows]

    def build_namespace_index(
        self,
        namespace: str,
        dim: int,
        *,
        memory: str = BUILD_MEMORY,
        connected: Callable[[psycopg.Connection], None] | None = None,
    ) -> Outcome:
        """Build ``namespace``'s own index for ``dim``-d vectors now (blocking; writers are not blocked).

        Returns ``"built"``, ``"ready"`` (it was already), ``"busy"`` (another process builds it) or
        ``"no-namespace"``. ``connected`` receives the build's connection (to cancel it from another
        thread). An interrupted build leaves no registry row in ``building`` that
        the next caller cannot take over: the lock goes with the connection."""
        name = index_name(namespace, dim)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            if connected is not None:
                connected(conn)
            if not _try_lock(conn, name):
                return "busy"
            try:
                return self._build_locked(conn, namespace, dim, name, memory)
            finally:
                if not conn.closed:
                    _unlock(conn, name)

    def _build_locked(self, conn: psycopg.Connection, namespace: str, dim: int, name: str, memory: str) -> Outcome:
        chunks = conn.execute("SELECT chunks FROM namespaces WHERE namespace=%s", (namespace,)).fetchone()
        state = conn.execute(
            "SELECT state FROM namespace_indexes WHERE namespace=%s AND dim=%s", (namespace, dim)
        ).fetchone()
        valid = _valid(conn, name)
        if chunks is None:  # deleted (or never written): nothing to index
            if state is not None or valid is not None:
                conn.execute("DELETE FROM namespace_indexes WHERE namespace=%s AND dim=%s", (namespace, dim))
                _drop(conn, name)
            return "no-namespace"
        if valid and state is not None and state[0] == "ready":
            return "ready"
        if valid is False:  # a build that failed or was interrupted: INVALID, never used, still maintained
            log.warning("dropping the invalid index %s of namespace %r (an interrupted build)", name, namespace)
            _drop(conn, name)
        now = time.time()
        conn.execute(
            "INSERT INTO namespace_indexes(namespace, dim, name, state, chunks, started_at) "
            "VALUES (%s, %s, %s, 'building', %s, %s) ON CONFLICT (namespace, dim) DO UPDATE SET "
            "state = 'building', chunks = excluded.chunks, started_at = excluded.started_at, build_s = NULL",
            (namespace, dim, name, int(chunks[0]), now),
        )
        if not valid:
            conn.execute(
                "SELECT set_config('maintenance_work_mem', %s, false) "
                "WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes(%s)",
                (memory, memory),
            )
            log.info("building the HNSW index %s of namespace %r (%d chunks)", name, namespace, int(chunks[0]))
            try:
                conn.execute(index_ddl(namespace, dim))
            except BaseException:
                if not conn.closed:  # cancelled or failed: leave neither an INVALID index nor a 'building' row
                    _drop(conn, name)
                    conn.execute(
                        "DELETE FROM namespace_indexes WHERE namespace=%s AND dim=%s AND state='building'",
                        (namespace, dim),
                    )
                raise
        done = conn.execute(
            "UPDATE namespace_indexes SET state='ready', build_s=%s WHERE namespace=%s AND dim=%s AND name=%s "
            "RETURNING 1",
            (time.time() - now, namespace, dim, name),
        ).fetchone()
        if done is None:  # the namespace was deleted while its index was built
            _drop(conn, name)
            return "no-namespace"
        return "built"

    def drop_namespace_indexes(self, namespace: str, dims: list[int] | None = None) -> list[str]:
        """Drop ``namespace``'s own indexes (of ``dims``, default all) and their registry rows; returns the
        names dropped. One still building is left to its builder (it drops it on finding its row gone)."""
        with self._read() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "DELETE FROM namespace_indexes WHERE namespace=%s AND (%s::int[] IS NULL OR dim = ANY(%s::int[])) "
                    "RETURNING name",
                    (namespace, dims, dims),
                ).fetchall()
            ]
            return [name for name in names if self._drop_unless_building(conn, name)]

    @staticmethod
    def _drop_unless_building(conn: psycopg.Connection, name: str) -> bool:
        if not _try_lock(conn, name):
            return False
        try:
            _drop(conn, name)
        finally:
            _unlock(conn, name)
        return True

    def sweep_namespace_indexes(self) -> list[str]:
        """Drop what an interrupted delete or build left: registry rows of namespaces that no longer
        exist, and indexes of this kind without a registry row and without a builder. Returns the names."""
        with self._read() as conn:
            gone = conn.execute(
                "DELETE FROM namespace_indexes r WHERE NOT EXISTS "
                "(SELECT 1 FROM namespaces n WHERE n.namespace = r.namespace) RETURNING name"
            ).fetchall()
            orphans = conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass('chunks') AND c.relname LIKE %s "
                "AND NOT EXISTS (SELECT 1 FROM namespace_indexes r WHERE r.name = c.relname)",
                (INDEX_PREFIX.replace("_", "\\_") + "%",),
            ).fetchall()
            names = sorted({r[0] for r in gone} | {r[0] for r in orphans})
            return [name for name in names if self._drop_unless_building(conn, name)]

    def delete(self, namespace: str, session: str | None = None) -> int:
        """The log's delete (the next class in the store's bases); a namespace's own indexes go after it commits."""
        n: int = super().delete(namespace, session)  # type: ignore[misc]
        if session is None:
            self.drop_namespace_indexes(namespace)
        return n


class NamespaceIndexBuilder:
    """Builds namespaces' own indexes on one background thread of this process, when search finds a
    namespace due (:meth:`request`); another replica building the same index makes it skip it."""

    def __init__(self, store: NamespaceIndexes, dim: int, *, retry_s: float = RETRY_S) -> None:
        self.store, self.dim, self.retry_s = store, dim, retry_s
        self._cond = threading.Condition()
        self._queue: list[str] = []
        self._asked: dict[str, float] = {}  # namespace -> when it was last queued (monotonic)
        self._conn: psycopg.Connection | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, namespace: str) -> None:
        """Queue a build of ``namespace``'s index, unless it was queued less than ``retry_s`` ago."""
        with self._cond:
            now = time.monotonic()
            if self._closed or now - self._asked.get(namespace, -self.retry_s) < self.retry_s:
                return
            self._asked[namespace] = now
            self._queue.append(namespace)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="turnmem-ns-index", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or building; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._conn is None, timeout)

    def _connected(self, conn: psycopg.Connection) -> None:
        with self._cond:
            self._conn = conn
            if self._closed:
                _cancel(conn)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                namespace = self._queue[0]
            try:
                self.store.sweep_namespace_indexes()
                outcome = self.store.build_namespace_index(namespace, self.dim, connected=self._connected)
                log.info("namespace %r: its own HNSW index is %s", namespace, outcome)
            except Exception as exc:  # retried on a search after retry_s; the search meanwhile is exact
                log.warning("building the HNSW index of namespace %r failed: %s", namespace, exc)
            finally:
                with self._cond:
                    self._queue.pop(0)
                    self._conn = None
                    self._cond.notify_all()

    def close(self, timeout: float = 10.0) -> None:
        """Stop: a build under way is cancelled (its invalid index dropped; the next request builds it)."""
        with self._cond:
            self._closed = True
            self._queue[1:] = []
            if self._conn is not None:
                _cancel(self._conn)
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
