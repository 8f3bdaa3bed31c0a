"""Where the store's names used to live: kept so that ``from memory.store import ...`` keeps working.

``Store`` is the protocol every store implements (:mod:`memory.stores.base`); the implementations
are :class:`memory.stores.sqlite.SQLiteStore` and :class:`memory.stores.postgres.PostgresStore`.
"""

from memory.stores.base import Store
from memory.stores.rows import (
    MAX_NAME,
    AppendResult,
    CandidateRow,
    ChunkRow,
    MessageRow,
    PreparedChunk,
    PreparedMessage,
    check_name,
)
from memory.stores.sqlite import SCHEMA_VERSION, SQLiteStore, scope_token

__all__ = [
    "MAX_NAME",
    "SCHEMA_VERSION",
    "AppendResult",
    "CandidateRow",
    "ChunkRow",
    "MessageRow",
    "PreparedChunk",
    "PreparedMessage",
    "SQLiteStore",
    "Store",
    "check_name",
    "scope_token",
]
