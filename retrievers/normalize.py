"""Min-max normalisation: the one way scores are put on [0, 1].

Used for each ranked list of a weighted fusion (:func:`retrievers.fusion.weighted_fusion`), for
the fused relevance of the candidates that scoring sees and for the session-topic prior
(:mod:`memory.read.ranking`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def minmax(scores: ArrayLike) -> np.ndarray:
    """``scores`` rescaled to [0, 1] in float64, the lowest to 0 and the highest to 1; all ones when
    they are all equal (none is worse than the best)."""
    s: np.ndarray = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        empty: np.ndarray = s.copy()
        return empty
    lo, hi = float(s.min()), float(s.max())
    out: np.ndarray = (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)
    return out


__all__ = ["minmax"]
