from __future__ import annotations

import numpy as np

from retrievers.diversity import mmr_order, session_scores


def test_mmr_skips_near_duplicates() -> None:
    a = np.array([1.0, 0.0, 0.0])
    a_dup = np.array([0.999, 0.0447, 0.0])
    b = np.array([0.0, 1.0, 0.0])
    vecs = np.stack([a, a_dup / np.linalg.norm(a_dup), b])
    scores = np.array([1.0, 0.98, 0.8])
    assert mmr_order(scores, vecs, lam=1.0).tolist() == [0, 1, 2]  # pure relevance
    assert mmr_order(scores, vecs, lam=0.5).tolist() == [0, 2, 1]  # the duplicate drops behind b
    assert mmr_order(scores, vecs, lam=0.5, limit=1).tolist() == [0]
    assert mmr_order(np.zeros(0), np.zeros((0, 3))).size == 0


def test_session_scores() -> None:
    q = np.array([1.0, 0.0])
    cents = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(session_scores(q, cents), [1.0, 0.0, 2**-0.5, 0.0])
