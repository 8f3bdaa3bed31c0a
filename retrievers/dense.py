"""Dense retrieval: cosine similarity of unit vectors through any ``Index``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from indexers.base import Index
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
        ids, scores = self.index.search(vec, k, namespace=query.namespace, sessions=query.sessions)
        return Candidates(ids, scores, {"dense": scores})
