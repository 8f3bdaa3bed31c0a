"""Stores: the ``Store`` protocol and its implementations, chosen by the location a memory opens.

- a folder path: :class:`memory.stores.sqlite.SQLiteStore` (embedded default, ``turnmem.db`` in it)
- ``postgresql://...`` or ``postgres://...``: :class:`memory.stores.postgres.PostgresStore`
  (imported only then: psycopg, psycopg_pool and pgvector are the ``postgres`` extra)

Any other ``scheme://`` location is refused instead of becoming a folder named after the scheme.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from memory.errors import InvalidArgument
from memory.stores.base import Store
from memory.stores.sqlite import SQLiteStore

DATABASE_URL_ENV = "TURNMEM_DATABASE_URL"
POSTGRES_SCHEMES = ("postgresql", "postgres")
SUPPORTED = "a folder path (SQLite), postgresql://USER@HOST/DB or postgres://USER@HOST/DB (PostgreSQL with pgvector)"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


@dataclass(frozen=True)
class Location:
    """Where a memory lives: ``kind`` is ``"sqlite"`` (``folder`` set) or ``"postgres"`` (``dsn`` set)."""

    kind: str
    folder: Path | None = None
    dsn: str | None = None


def parse_location(location: str | Path | None, *, field: str = "path") -> Location:
    """A folder or a PostgreSQL DSN; None reads ``$TURNMEM_DATABASE_URL``. Other URLs are refused."""
    if location is None:
        location = os.environ.get(DATABASE_URL_ENV) or None
        if location is None:
            raise InvalidArgument(f"{field}: give {SUPPORTED}, or set {DATABASE_URL_ENV}", field=field)
    if isinstance(location, Path):
        return Location("sqlite", folder=location)
    if not isinstance(location, str) or not location.strip():
        raise InvalidArgument(f"{field}: give {SUPPORTED} (got {location!r})", field=field)
    match = _URL.match(location)
    if match is None:
        return Location("sqlite", folder=Path(location))
    scheme = match.group(1).lower()
    if scheme in POSTGRES_SCHEMES:
        return Location("postgres", dsn=location)
    raise InvalidArgument(f"{field}: {scheme}:// is not a store turnmem has; give {SUPPORTED}", field=field)


def open_store(location: Location, *, log_file: str) -> Store:
    """The store at ``location`` (a SQLite folder is created if missing)."""
    if location.kind == "postgres":
        try:
            from memory.stores.postgres import PostgresStore  # noqa: PLC0415 - lazy: the optional `postgres` extra
        except ImportError as exc:
            raise InvalidArgument(
                f"path: a PostgreSQL store needs psycopg, psycopg-pool and pgvector ({exc.name} is missing); "
                "pip install 'turnmem[postgres]'",
                field="path",
            ) from None

        assert location.dsn is not None
        return PostgresStore(location.dsn)
    assert location.folder is not None
    location.folder.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(location.folder / log_file)


__all__ = ["DATABASE_URL_ENV", "Location", "Store", "open_store", "parse_location"]
