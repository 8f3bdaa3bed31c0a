"""Deletion tombstones that keep no name: what a delete leaves for other processes' caches.

A delete writes one row to ``deletions``: an id (the order other processes catch up in) and a
*namespace key*, ``sha256(salt + ":" + namespace)``, never the namespace or the session in clear.
The salt is random per database (``meta.tombstone_salt``, written on open), so a key cannot be
looked up in a table made for another database; someone who holds this database and guesses a
name can still check the guess, as with any hash. Readers need no more than the key: a
process's per-namespace caches ask "was anything in my namespace deleted since deletion N?"
(:meth:`~memory.stores.cache.IncrementalCache`) with their own namespace's key, and an index kept
in sync (:mod:`memory.write.index_sync`) maps the keys to the namespaces it holds and reconciles
those with the log (which drops the deleted chunks, whichever session they were in).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Protocol

SALT_KEY = "tombstone_salt"


class _Conn(Protocol):
    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


def new_salt() -> str:
    return secrets.token_hex(16)


def namespace_key(salt: str, namespace: str) -> str:
    """The tombstone's key of ``namespace`` (PostgreSQL computes the same in SQL for its migration)."""
    return hashlib.sha256(f"{salt}:{namespace}".encode()).hexdigest()


def read_salt(conn: _Conn, placeholder: str = "?") -> str:
    """This database's salt (the store wrote it when it opened the schema)."""
    row = conn.execute(f"SELECT value FROM meta WHERE key={placeholder}", (SALT_KEY,)).fetchone()
    if row is None:  # pragma: no cover - every open writes it before anything reads it
        raise RuntimeError("meta.tombstone_salt is missing: open the store to write it")
    return str(row[0])


class KeyCache:
    """The salt, read once per store (it never changes)."""

    def __init__(self) -> None:
        self.salt: str | None = None

    def key(self, conn: _Conn, namespace: str, placeholder: str = "?") -> str:
        if self.salt is None:
            self.salt = read_salt(conn, placeholder)
        return namespace_key(self.salt, namespace)
