"""The ``Retriever`` protocol: a query in, ranked chunk ids with scores out.

Retrievers return arrays (ids int64, scores float32, best first), as bm25s and faiss do;
fusion and packing work on those arrays. Nothing here knows about SQLite or HTTP: a
lexical retriever is handed any object that can search text (see ``TextSearcher``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Query:
    """What to look for and where: text and/or a precomputed vector, in one namespace.

    ``among`` (sorted int64 chunk ids, or None for all) limits the search to those chunks, inside
    each retriever, so that it returns the best ``k`` of them: a point in the history passes the
    chunks stored by then (:mod:`memory.read.as_of`)."""

    text: str | None
    namespace: str
    sessions: Sequence[str] | None = None
    vector: np.ndarray | None = None
    among: np.ndarray | None = None


@dataclass
class Candidates:
    """Ranked chunk ids; ``components`` keeps each source's raw score (nan if absent)."""

    ids: np.ndarray
    scores: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@runtime_checkable
class Retriever(Protocol):
    name: str

    def retrieve(self, query: Query, k: int) -> Candidates: ...


@runtime_checkable
class TextSearcher(Protocol):
    """Full-text search over chunk text (turnmem's SQLite log implements it with FTS5)."""

    def search_text(
        self,
        query_terms: Sequence[str],
        namespace: str,
        k: int,
        sessions: Sequence[str] | None = None,
        among: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...
