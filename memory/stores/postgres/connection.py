"""PostgreSQL connections (a psycopg_pool pool, autocommit outside explicit transactions), the
schema on open, and meta."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool, PoolTimeout

from memory.errors import InvalidArgument
from memory.stores.postgres.schema import SCHEMA, SCHEMA_LOCK, SCHEMA_VERSION, STEPS
from memory.stores.schema import upgrade
from memory.stores.tombstones import SALT_KEY, new_salt


def bigint_array(values: Iterable[int]) -> str:
    """A ``bigint[]`` literal (pass it as ``%s::bigint[]``): psycopg's list dumper takes ~1 ms for the
    ~900 keys an assembly reads, a joined string a few microseconds."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def text_array(values: Iterable[str]) -> str:
    """A ``text[]`` literal (pass it as ``%s::text[]``): every element quoted, ``\\`` and ``"`` escaped."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)


class PgBase:
    """The pool and transactions; the concern modules (log, reads, search, state, caches) build on it."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 8, timeout_s: float = 30.0) -> None:
        self.dsn = dsn
        self.where = redact(dsn)
        self._open_schema(timeout_s)
        self.pool = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout_s,
            kwargs={"autocommit": True},
            configure=register_vector,
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=timeout_s)
        except PoolTimeout as exc:  # pragma: no cover - the schema step connected a moment ago
            raise InvalidArgument(f"location: cannot connect to PostgreSQL at {self.where}: {exc}") from None

    def _open_schema(self, timeout_s: float) -> None:
        """Create the tables, or read the version found and step it up, in one transaction."""
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=max(1, int(timeout_s)))
        except psycopg.OperationalError as exc:
            raise InvalidArgument(
                f"location: cannot connect to PostgreSQL at {self.where}: {str(exc).strip()}", field="location"
            ) from None
        with conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as exc:
                raise InvalidArgument(
                    f"location: the database at {self.where} has no pgvector extension and it could not be "
                    f"created ({str(exc).strip()}); install pgvector (e.g. the pgvector/pgvector:pg16 image) "
                    "or ask an administrator to run CREATE EXTENSION vector",
                    field="location",
                ) from None
            fresh = conn.execute("SELECT to_regclass('meta') IS NULL").fetchone()[0]  # type: ignore[index]
            if fresh:
                conn.execute(SCHEMA)
                found = SCHEMA_VERSION
            else:
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                found = 1 if row is None else int(row[0])
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING", (SALT_KEY, new_salt())
            )
            steps = {v: partial(conn.execute, sql) for v, sql in STEPS.items()}
            upgrade(found, SCHEMA_VERSION, steps, where=self.where)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                (str(SCHEMA_VERSION),),
            )

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit: each statement sees everything committed before it."""
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def _write(self, *, derived: bool = False) -> Iterator[psycopg.Connection]:
        """One transaction (READ COMMITTED); the write methods take their row locks in it.

        ``derived``: the transaction writes only what the log can give again (a vector, a claim on a
        chunk to embed), so its commit does not wait for the WAL to reach the disk
        (``synchronous_commit = off``; others see it at once all the same). A crash of the database
        may lose the last such commits: their chunks are without a vector again, and embedded again."""
        with self.pool.connection() as conn, conn.transaction():
            if derived:
                conn.execute("SET LOCAL synchronous_commit = off")
            yield conn

    def close(self) -> None:
        self.pool.close()

    # -- meta ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key=%s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                (key, value),
            )
