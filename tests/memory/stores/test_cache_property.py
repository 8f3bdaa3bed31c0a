"""Property: whatever the appends, deletes and reads in between, the SQLite store's cached
speakers and session centroids (folded forward append by append) equal a fresh recompute
bit for bit: a new handle on the same file (empty caches, one fold over the whole log)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory.stores.sqlite import SQLiteStore
from memory.tokens import TokenCounter
from tests.memory.stores.conformance import recomputed
from tests.memory.stores.test_contract import prepared, user

NAMESPACES = ["n1", "n2"]
SESSIONS = ["a", "b", "c", "d"]
NAMES = [None, "Ana", "ana", "Bo", "Ōtsuka"]

append = st.tuples(
    st.just("append"),
    st.sampled_from(NAMESPACES),
    st.sampled_from(SESSIONS),
    st.lists(st.tuples(st.sampled_from(NAMES), st.integers(0, 160)), min_size=1, max_size=3),
)
delete = st.tuples(st.just("delete"), st.sampled_from(NAMESPACES), st.sampled_from([None, *SESSIONS]))
read = st.tuples(st.just("read"), st.sampled_from(NAMESPACES))
operations = st.lists(st.one_of(append, append, append, delete, read, read), min_size=1, max_size=25)


def check(store: SQLiteStore, path: Path) -> None:
    fresh = SQLiteStore(path)
    try:
        for ns in NAMESPACES:
            want_speakers, want_names, want_cents = recomputed(store, ns)
            names, cents = store.session_centroids(ns)
            fresh_names, fresh_cents = fresh.session_centroids(ns)
            assert store.speakers(ns) == fresh.speakers(ns) == want_speakers
            assert names == fresh_names == want_names
            assert np.array_equal(cents, fresh_cents)
            if names:
                np.testing.assert_allclose(cents, want_cents, rtol=1e-12, atol=1e-12)
    finally:
        fresh.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, seed=st.integers(0, 2**16))
def test_cached_equals_recomputed_after_any_appends_and_deletes(
    ops: list[tuple[Any, ...]], seed: int, counter: TokenCounter
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.db"
        store = SQLiteStore(path)
        try:
            for i, op in enumerate(ops):
                if op[0] == "append":
                    _, ns, session, turns = op
                    raws = [user(f"t{i} " + "word " * n, **({"name": name} if name else {})) for name, n in turns]
                    store.append(ns, session, prepared(counter, raws, seed=seed + i))
                elif op[0] == "delete":
                    _, ns, session = op
                    if store.all_messages(ns, session):
                        store.delete(ns, session)
                else:
                    store.speakers(op[1]), store.session_centroids(op[1])
                if i % 5 == 4:
                    check(store, path)
            check(store, path)
        finally:
            store.close()
