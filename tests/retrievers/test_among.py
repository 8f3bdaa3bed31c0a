"""Retrieval limited to some chunks (``Query.among``, a point in the history): the best ``k`` of
them, from an index that ranks among them (FAISS ``search_among``), from one that cannot (searched
deeper until ``k`` are among them), from bm25s, and from a custom retriever that ignores ``among``
(:class:`memory.read.as_of.RetrieverAsOf` filters it and asks deeper)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from indexers.base import Index
from indexers.faiss_index import FaissIndex
from memory.read.as_of import Point, RetrieverAsOf
from retrievers.base import Candidates, Query
from retrievers.dense import DenseRetriever
from retrievers.lexical import BM25sRetriever

DIM = 8


class NoEmbedder:
    def embed(self, texts: Any) -> np.ndarray:  # pragma: no cover - queries come with vectors
        raise AssertionError("the query has a vector")


class PlainIndex:
    """A FAISS index seen through the ``Index`` protocol only: no ``search_among`` (as Chroma)."""

    def __init__(self, inner: FaissIndex) -> None:
        self.inner, self.dim = inner, inner.dim
        self.searches: list[int] = []

    def search(
        self, query: np.ndarray, k: int, *, namespace: str, sessions: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        self.searches.append(k)
        return self.inner.search(query, k, namespace=namespace, sessions=sessions)


def index_with_newer_closer() -> tuple[FaissIndex, np.ndarray, np.ndarray]:
    """Ids 1-10 far from the query, 11-100 ever closer to it: a top 5 of all holds none of 1-10."""
    rng = np.random.default_rng(3)
    q = np.zeros(DIM, dtype=np.float32)
    q[0] = 1.0
    vecs = []
    for i in range(100):
        v = rng.normal(size=DIM).astype(np.float32) * 0.3
        v[0] = 0.1 if i < 10 else 1.0 + i / 50
        vecs.append(v / np.linalg.norm(v))
    idx = FaissIndex(DIM)
    ids = np.arange(1, 101, dtype=np.int64)
    mat = np.stack(vecs)
    idx.add(ids, mat, namespace="ns", sessions=["s"] * 100)
    return idx, q, mat


def test_dense_ranks_among_the_allowed_ids_with_and_without_search_among() -> None:
    idx, q, mat = index_with_newer_closer()
    among = np.arange(1, 11, dtype=np.int64)
    assert not set(idx.search(q, 5, namespace="ns")[0].tolist()) & set(among.tolist())
    best = (np.argsort(-(mat[:10] @ q), kind="stable")[:5] + 1).tolist()  # brute force over ids 1-10
    inside = DenseRetriever(idx, NoEmbedder()).retrieve(Query(None, "ns", None, q, among=among), 5)
    plain = PlainIndex(idx)
    deeper = DenseRetriever(cast(Index, plain), NoEmbedder()).retrieve(Query(None, "ns", None, q, among=among), 5)
    assert len(inside) == 5 and set(inside.ids.tolist()) <= set(among.tolist())
    assert inside.ids.tolist() == deeper.ids.tolist() == best  # the best 5 of the allowed ten
    assert plain.searches == [5, 20, 80, 320]  # four times deeper each time, until the index ran out


def test_bm25s_scores_only_the_allowed_chunks() -> None:
    texts = ["the red kayak"] * 3 + ["kayak kayak kayak trip"] * 6
    ids = np.arange(1, 10, dtype=np.int64)
    bm25 = BM25sRetriever(lambda ns: (ids, texts, ["s"] * 9), lambda ns: 1)
    got = bm25.retrieve(Query("kayak", "ns", among=ids[:3]), 5)
    assert sorted(got.ids.tolist()) == [1, 2, 3]


def test_a_custom_retriever_that_ignores_among_is_filtered_and_asked_deeper() -> None:
    class Newest:
        name = "newest"

        def __init__(self) -> None:
            self.asked: list[int] = []

        def retrieve(self, query: Query, k: int) -> Candidates:
            self.asked.append(k)
            top = np.arange(100, 100 - min(k, 100), -1, dtype=np.int64)  # newest first, among ignored
            return Candidates(top, np.linspace(1, 0, top.size).astype(np.float32))

    inner = Newest()
    point = Point("ns", 10, None, None, np.arange(1, 11, dtype=np.int64))
    got = RetrieverAsOf(inner, point).retrieve(Query("x", "ns"), 4)
    assert got.ids.tolist() == [10, 9, 8, 7] and inner.asked == [4, 16, 64, 256]
