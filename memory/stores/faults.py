"""Storage faults as :class:`memory.errors.StorageError`: what a database driver or the disk raised,
read by meaning (full, transient, or another failure of the storage), whichever store raised it.

- SQLite: ``SQLITE_FULL`` ("database or disk is full") is full; ``SQLITE_BUSY``/``LOCKED``
  (beyond the busy timeout) is transient; another ``OperationalError`` (I/O error, read-only
  file, no such table under a broken file) is a storage failure; an ``IntegrityError`` or a
  programming error is not a fault of the storage and is left alone.
- PostgreSQL (psycopg, matched by module so this module loads no driver): an
  ``OperationalError`` (connection lost, server shutting down, pool timeout) is transient; a
  ``DiskFull`` (SQLSTATE 53100) is full.
- the disk (FAISS or Chroma files, the index's manifest): ``OSError`` ENOSPC / EDQUOT is full.
"""

from __future__ import annotations

import errno
import sqlite3

from memory.errors import StorageError

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_TRANSIENT_SQLITE = ("locked", "busy")
_PG_FULL_SQLSTATES = frozenset({"53100", "53200"})  # disk_full, out_of_memory
_PG_TRANSIENT = ("OperationalError", "PoolTimeout", "PoolClosed", "InterfaceError")


def _sqlite(exc: sqlite3.Error) -> StorageError | None:
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) or isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError
    ):
        return None
    text = str(exc)
    code = getattr(exc, "sqlite_errorname", "")
    if code == "SQLITE_FULL" or "disk is full" in text:
        return StorageError(
            f"storage: the database or its disk is full ({text}); nothing of this request was stored: "
            "free disk space (or raise the database's size limit), then retry",
        )
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or any(w in text for w in _TRANSIENT_SQLITE):
        return StorageError(
            f"storage: the database is busy ({text}); nothing of this request was stored: retry shortly",
            transient=True,
        )
    return StorageError(f"storage: the database failed ({text}); nothing of this request was stored")


def _postgres(exc: BaseException) -> StorageError | None:
    names = {c.__name__ for c in type(exc).__mro__ if c.__module__.startswith(("psycopg", "psycopg_pool"))}
    if not names:
        return None
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in _PG_FULL_SQLSTATES or "DiskFull" in names:
        return StorageError(f"storage: PostgreSQL is out of disk space ({exc}); nothing of this request was stored")
    if names & set(_PG_TRANSIENT):
        return StorageError(
            f"storage: PostgreSQL is unreachable or shutting down ({exc}); nothing of this request was stored: "
            "retry shortly",
            transient=True,
        )
    return None


def storage_error(exc: BaseException) -> StorageError | None:
    """The :class:`StorageError` ``exc`` stands for, or None when it is no fault of the storage."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc)
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        where = f" writing {exc.filename}" if exc.filename else ""
        return StorageError(f"storage: the disk is full{where} ({exc.strerror}); free disk space, then retry")
    return _postgres(exc)


__all__ = ["storage_error"]
