"""Fusing ranked lists: reciprocal rank fusion and a normalized weighted sum."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from retrievers.base import Candidates, Query, Retriever
from retrievers.normalize import minmax


def _union(lists: Sequence[Candidates]) -> np.ndarray:
    if not lists:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([np.asarray(c.ids, dtype=np.int64) for c in lists]))


def _fuse(
    lists: Sequence[Candidates], weights: Sequence[float] | None, score: Callable[[Candidates], np.ndarray]
) -> Candidates:
    """Sum ``w_i * score(list_i)`` per id over the lists; keep each source's raw scores."""
    ids = _union(lists)
    ws = list(weights) if weights is not None else [1.0] * len(lists)
    if len(ws) != len(lists):
        raise ValueError(f"weights: got {len(ws)} weights for {len(lists)} ranked lists; give one per list")
    if ids.size == 0:
        return Candidates.empty()
    fused = np.zeros(ids.size, dtype=np.float64)
    components: dict[str, np.ndarray] = {}
    for cand, w in zip(lists, ws):
        if len(cand) == 0:
            continue
        pos = np.searchsorted(ids, cand.ids)
        fused[pos] += w * score(cand)
        for name, vals in cand.components.items():
            col = components.setdefault(name, np.full(ids.size, np.nan, dtype=np.float32))
            col[pos] = vals
    order = np.argsort(-fused, kind="stable")
    return Candidates(ids[order], fused[order].astype(np.float32), {n: c[order] for n, c in components.items()})


def reciprocal_rank_fusion(
    lists: Sequence[Candidates], *, weights: Sequence[float] | None = None, k: float = 60.0
) -> Candidates:
    """RRF (Cormack et al., 2009): score(d) = sum_i w_i / (k + rank_i(d)), rank from 1."""
    return _fuse(lists, weights, lambda cand: 1.0 / (k + np.arange(1, len(cand) + 1)))


def weighted_fusion(lists: Sequence[Candidates], *, weights: Sequence[float] | None = None) -> Candidates:
    """Min-max normalize each list's scores to [0, 1], then a weighted sum (absent = 0)."""
    return _fuse(lists, weights, lambda cand: minmax(cand.scores))


class HybridRetriever:
    """Runs several retrievers and fuses their rankings (``rrf`` or ``weighted``)."""

    name = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        *,
        method: str = "rrf",
        weights: Sequence[float] | None = None,
        rrf_k: float = 60.0,
        depth: int | None = None,
    ) -> None:
        if method not in ("rrf", "weighted"):
            raise ValueError(f"method: use 'rrf' or 'weighted', not {method!r}")
        self.retrievers = list(retrievers)
        self.method = method
        self.weights = weights
        self.rrf_k = rrf_k
        self.depth = depth

    def retrieve(self, query: Query, k: int) -> Candidates:
        depth = self.depth or k
        lists = [r.retrieve(query, depth) for r in self.retrievers]
        if self.method == "rrf":
            fused = reciprocal_rank_fusion(lists, weights=self.weights, k=self.rrf_k)
        else:
            fused = weighted_fusion(lists, weights=self.weights)
        return Candidates(fused.ids[:k], fused.scores[:k], {n: v[:k] for n, v in fused.components.items()})
