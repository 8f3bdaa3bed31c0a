"""``retrievers.normalize.minmax``, the one min-max normalisation: known values, and bit for bit the
three copies it replaced (weighted fusion's per-list step, the relevance of the candidates and the
session prior in ``memory.read.retrieval``) on the scores of a real conversation (LoCoMo conv-26)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.datasets import load_locomo
from memory.embedders import Embedder
from memory.memory import Memory
from retrievers.diversity import session_scores
from retrievers.normalize import minmax
from tests.conftest import LOCOMO


def old_fusion_minmax(scores: np.ndarray) -> np.ndarray:
    """retrievers.fusion._minmax as it was (on ``Candidates.scores``, float32)."""
    s = scores.astype(np.float64)
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)


def old_relevance(scores: np.ndarray) -> np.ndarray:
    """The relevance normalisation of memory.read.retrieval.retrieve as it was."""
    rel = scores.astype(np.float64)
    lo, hi = float(rel.min()), float(rel.max())
    return (rel - lo) / (hi - lo) if hi > lo else np.ones_like(rel)


def old_session_prior(ss: np.ndarray) -> list[float]:
    """The session-prior normalisation of memory.read.retrieval._session_prior as it was."""
    lo, hi = float(ss.min()), float(ss.max())
    return ((ss - lo) / (hi - lo) if hi > lo else np.ones_like(ss)).tolist()


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_minmax_known_values() -> None:
    assert minmax(np.array([3.0, 1.0, 2.0], dtype=np.float32)).tolist() == [1.0, 0.0, 0.5]
    out = minmax([0.25, 0.25])
    assert out.dtype == np.float64 and out.tolist() == [1.0, 1.0]  # nothing to tell apart: all as good as the best
    assert minmax(np.zeros(0, dtype=np.float32)).size == 0
    x = np.array([0.3, 0.9], dtype=np.float64)
    minmax(x)
    assert x.tolist() == [0.3, 0.9]  # the input is left as it is


def test_minmax_is_the_three_old_copies_bit_for_bit_on_real_scores(locomo_memory_dir: Path, embedder: Embedder) -> None:
    """Fused, dense and lexical scores of every conv-26 question, and its query-to-session cosines.

    The fused scores are a weighted sum of two min-max normalised lists, so they reach past 1: the
    relevance step normalises them again, over the candidates scoring sees. That second min-max is
    not a no-op (it changes the numbers of most questions here), which is why it stays.
    """
    questions = [
        q.question for c in load_locomo(LOCOMO).select(conversations=["conv-26"]).conversations for q in c.questions
    ]
    renormalised = 0
    with Memory.open(locomo_memory_dir, embedder=embedder) as mem:
        (namespace,) = mem.namespaces()
        names, cents = mem.store.session_centroids(namespace)
        assert len(names) > 1
        for question, vec in zip(questions, mem.embedder.embed(questions)):
            hits = mem.search(question, namespace=namespace, k=64)
            fused = np.array([h.scores["final"] for h in hits], dtype=np.float32)
            assert same_bits(minmax(fused), old_relevance(fused))
            renormalised += not same_bits(minmax(fused), fused.astype(np.float64))
            for source in ("dense", "lexical"):
                raw = np.array([h.scores[source] for h in hits if source in h.scores], dtype=np.float32)
                if raw.size:
                    assert same_bits(minmax(raw), old_fusion_minmax(raw))
            ss = session_scores(np.asarray(vec, dtype=np.float64), cents)
            assert minmax(ss).tolist() == old_session_prior(ss)
    assert renormalised > len(questions) // 2


@pytest.mark.parametrize("seed", range(5))
def test_minmax_matches_the_old_copies_on_random_scores_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = rng.choice(rng.normal(size=7), size=50).astype(np.float32)  # repeated values
    assert same_bits(minmax(s), old_fusion_minmax(s)) and same_bits(minmax(s), old_relevance(s))
