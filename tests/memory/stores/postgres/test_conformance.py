"""The store conformance suite (:mod:`tests.memory.stores.conformance`) on :class:`PostgresStore`:
a real PostgreSQL with pgvector (pgserver), a fresh schema per test, a pool per handle."""

from __future__ import annotations

import pytest

from memory.stores.base import Store
from memory.stores.postgres import PostgresStore
from tests.memory.stores.conformance import *  # noqa: F403 - the suite's cases and fixtures, collected here
from tests.memory.stores.conformance import CLAIMS_PENDING, Backend


def count_rows(store: Store, table: str) -> int:
    """Rows of ``table``, read behind the protocol's back."""
    assert isinstance(store, PostgresStore)
    with store._read() as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def backend(pg_dsn: str) -> Backend:
    """A database shared by replicas: the chunks waiting for their vector are claimed."""
    return Backend("PostgresStore", PostgresStore, pg_dsn, count_rows, capabilities=frozenset({CLAIMS_PENDING}))
