"""Dense retrieval: cosine similarity of unit vectors through any ``Index``.

A query limited to some chunks (``Query.among``: a point in the history) is ranked among them by an
:class:`indexers.base.AmongIndex` (FAISS, pgvector) inside its search; any other index is searched
deeper until ``k`` of its hits are among them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from indexers.base import AmongIndex, Index
from retrievers.base import Candidates, Query


class TextEmbedder(Protocol):
    """What dense retrieval needs of an embedder (``memory.embedders.Embedder`` is one)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class DenseRetriever:
    """Embeds the query (unless it comes with a vector) and searches the index."""

    name = "dense"

    def __init__(self, index: Index, embedder: TextEmbedder) -> None:
        self.index = index
        self.embedder = embedder

    def query_vector(self, query: Query) -> np.ndarray | None:
        if query.vector is not None:
            return np.asarray(query.vector, dtype=np.float32).reshape(-1)
        if not query.text:
            return None
        vector: np.ndarray = self.embedder.embed([query.text])[0]
        return vector

    def retrieve(self, query: Query, k: int) -> Candidates:
        vec = self.query_vector(query)
        if vec is None or k <= 0:
            return Candidates.empty()
        if query.among is None:
            ids, scores = self.index.search(vec, k, namespace=query.namespace, sessions=query.sessions)
        elif isinstance(self.index, AmongIndex):
            ids, scores = self.index.search_among(
                vec, k, namespace=query.namespace, among=query.among, sessions=query.sessions
            )
        else:
            ids, scores = self._deeper(vec, k, query, query.among)
        return Candidates(ids, scores, {"dense": scores})

    def _deeper(self, vec: np.ndarray, k: int, query: Query, among: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """An index that cannot filter by id (Chroma): search four times deeper until ``k`` of the
        hits are in ``among`` or the index has no more to give."""
        depth = k
        while True:
            ids, scores = self.index.search(vec, depth, namespace=query.namespace, sessions=query.sessions)
            keep = np.isin(ids, among)
            if int(keep.sum()) >= k or ids.size < depth:
                return ids[keep][:k], scores[keep][:k]
            depth *= 4
