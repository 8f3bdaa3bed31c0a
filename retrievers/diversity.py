"""Diversity and session-level scoring over candidate vectors (numpy, no loops over chunks
beyond the candidate list)."""

from __future__ import annotations

import numpy as np


def mmr_order(scores: np.ndarray, vectors: np.ndarray, *, lam: float = 0.7, limit: int | None = None) -> np.ndarray:
    """Maximal marginal relevance (Carbonell & Goldstein, 1998) over candidates.

    ``scores`` are relevance in [0, 1] (higher is better), ``vectors`` unit rows. Picks, one
    at a time, ``argmax lam * score - (1 - lam) * max cosine to what is already picked``.
    Returns candidate positions in pick order (all of them unless ``limit``).
    """
    n = int(scores.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    limit = n if limit is None else min(limit, n)
    sims = vectors @ vectors.T
    picked: list[int] = []
    max_sim = np.full(n, -np.inf)
    available = np.ones(n, dtype=bool)
    for _ in range(limit):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        value = lam * scores - (1.0 - lam) * penalty
        value[~available] = -np.inf
        j = int(np.argmax(value))
        picked.append(j)
        available[j] = False
        max_sim = np.maximum(max_sim, sims[j])
    return np.asarray(picked, dtype=np.int64)


def session_scores(query: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cosine between the query and each session's centroid (mean of its chunk vectors)."""
    if centroids.size == 0:
        return np.zeros(0, dtype=np.float64)
    norms = np.linalg.norm(centroids, axis=1)
    norms[norms == 0] = 1.0
    scores: np.ndarray = (centroids @ query.astype(np.float64).reshape(-1)) / norms
    return scores
