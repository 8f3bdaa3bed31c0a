"""The ``Index`` protocol: a vector index scoped by namespace and session.

An index is derived state. turnmem's SQLite log keeps every chunk and its vector, so any
index can be rebuilt from the log (``Memory.rebuild_index``); an index only has to be a
fast, scoped nearest-neighbour search over unit vectors (inner product == cosine).

Ids are the log's integer chunk ids (positive int64). ``add`` is an upsert: adding an id
that is present replaces its vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from memory.errors import IndexMismatch


@runtime_checkable
class Index(Protocol):
    """Scoped vector search. Every backend passes ``tests/indexers/test_contract.py``."""

    dim: int

    def add(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, *, namespace: str, sessions: Sequence[str]
    ) -> None:
        """Upsert ``vectors`` (n × dim float32, unit norm) under ``ids`` in ``namespace``;
        ``sessions[i]`` is the session of ``ids[i]``."""
        ...

    def delete(self, ids: Sequence[int] | np.ndarray, *, namespace: str) -> None:
        """Remove these ids from ``namespace``; unknown ids are ignored."""
        ...

    def drop(self, namespace: str, session: str | None = None) -> None:
        """Forget a whole namespace, or one session of it."""
        ...

    def search(
        self, query: np.ndarray, k: int, *, namespace: str, sessions: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` by inner product within ``namespace`` (and ``sessions`` if given).

        Returns ``(ids int64, scores float32)``, best first, possibly fewer than k.
        """
        ...

    def ids(self, namespace: str) -> np.ndarray:
        """All ids stored in ``namespace`` (int64, any order)."""
        ...

    def namespaces(self) -> list[str]:
        """Namespaces that hold at least one vector."""
        ...

    def persist(self) -> None:
        """Make the current state durable (a no-op for backends that write through)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class AmongIndex(Index, Protocol):
    """An index that can rank only some of its ids (a point in the history: the chunks stored by
    then) inside the search, so it returns the best ``k`` of them. An index without it is searched
    deeper and filtered (:class:`retrievers.dense.DenseRetriever`)."""

    def search_among(
        self,
        query: np.ndarray,
        k: int,
        *,
        namespace: str,
        among: np.ndarray,
        sessions: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` by inner product among the ids ``among`` (int64) of ``namespace`` (and ``sessions``)."""
        ...


@runtime_checkable
class LiveIndex(Index, Protocol):
    """An index that is the store's own rows (pgvector in the log's database): written in the log's
    transaction, it is never behind the log, so ``Memory`` neither catches it up nor reconciles it."""

    live: bool


def check_vectors(vectors: np.ndarray, dim: int, *, field: str = "vectors") -> np.ndarray:
    """Validate a batch of vectors and return it as C-contiguous float32 (n × dim)."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise IndexMismatch(
            f"{field}: expected vectors of dimension {dim}, got shape {tuple(np.shape(vectors))}; "
            "the index was built with another embedding model: open it with the same model or "
            "rebuild it (Memory.rebuild_index(reembed=True))"
        )
    return np.ascontiguousarray(arr)


def prepare_batch(
    ids: Sequence[int] | np.ndarray, vectors: np.ndarray, sessions: Sequence[str], dim: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Validate an ``add`` batch; ids repeated inside it keep their last vector (upsert order)."""
    vecs = check_vectors(vectors, dim)
    arr = check_ids(ids, vecs.shape[0])
    if len(sessions) != arr.shape[0]:
        raise ValueError(f"sessions: got {len(sessions)} sessions for {arr.shape[0]} ids; give one per id")
    if arr.size == 0:
        return arr, vecs, []
    _, last = np.unique(arr[::-1], return_index=True)
    keep = np.sort(arr.shape[0] - 1 - last)
    return arr[keep], vecs[keep], [sessions[i] for i in keep]


EMPTY_RESULT = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def check_query(query: np.ndarray, dim: int) -> np.ndarray:
    """Validate a search query: exactly one vector of the index's dimension (1 × dim float32)."""
    q = check_vectors(query, dim, field="query")
    if q.shape[0] != 1:
        raise ValueError("query: search takes one query vector")
    return q


def check_ids(ids: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"ids: got {arr.shape[0]} ids for {n} vectors; give one id per vector")
    if arr.size and arr.min() < 0:
        raise ValueError("ids: ids must be non-negative int64")
    return arr
