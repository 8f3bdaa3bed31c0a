"""The store conformance suite (:mod:`tests.memory.stores.conformance`) on :class:`SQLiteStore`: a
real file in the test's tmp folder, opened anew for each handle (one connection per thread)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.stores.base import Store
from memory.stores.sqlite import SQLiteStore
from tests.memory.stores.conformance import *  # noqa: F403 - the suite's cases and fixtures, collected here
from tests.memory.stores.conformance import Backend


def count_rows(store: Store, table: str) -> int:
    """Rows of ``table``, read behind the protocol's back."""
    assert isinstance(store, SQLiteStore)
    return int(store._conn().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """A SQLite file: no claims (one writing process per folder), and FTS5 rows of its own."""
    return Backend("SQLiteStore", SQLiteStore, tmp_path / "log.db", count_rows, own_tables=("chunks_fts",))
