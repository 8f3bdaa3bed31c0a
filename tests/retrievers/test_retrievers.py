from __future__ import annotations

import numpy as np
import pytest

from memory import Memory
from retrievers.base import Candidates, Query
from retrievers.fusion import HybridRetriever, reciprocal_rank_fusion, weighted_fusion
from retrievers.lexical import BM25sRetriever, FTSRetriever, query_terms
from retrievers.recency import RecencyScorer


def cands(ids: list[int], scores: list[float], name: str) -> Candidates:
    s = np.asarray(scores, dtype=np.float32)
    return Candidates(np.asarray(ids, dtype=np.int64), s, {name: s})


def test_rrf_known_values() -> None:
    a = cands([1, 2, 3], [0.9, 0.8, 0.7], "dense")
    b = cands([3, 4], [5.0, 4.0], "lexical")
    fused = reciprocal_rank_fusion([a, b], k=60)
    # 3: 1/63 + 1/61; 1: 1/61; 2: 1/62; 4: 1/62
    assert fused.ids.tolist()[0] == 3
    assert fused.scores[0] == pytest.approx(1 / 63 + 1 / 61)
    got = dict(zip(fused.ids.tolist(), fused.scores.tolist()))
    assert got[1] == pytest.approx(1 / 61) and got[2] == pytest.approx(1 / 62) and got[4] == pytest.approx(1 / 62)
    comp = dict(zip(fused.ids.tolist(), fused.components["dense"].tolist()))
    assert np.isnan(comp[4]) and comp[1] == pytest.approx(0.9)  # raw scores kept, nan where absent
    weighted = reciprocal_rank_fusion([a, b], weights=[2.0, 0.0], k=60)
    assert weighted.ids.tolist()[:3] == [1, 2, 3]


def test_weighted_fusion_known_values() -> None:
    a = cands([1, 2, 3], [0.9, 0.5, 0.1], "dense")  # normalized: 1, .5, 0
    b = cands([3, 1], [10.0, 0.0], "lexical")  # normalized: 1, 0
    fused = weighted_fusion([a, b], weights=[1.0, 1.0])
    got = dict(zip(fused.ids.tolist(), fused.scores.tolist()))
    assert got == pytest.approx({1: 1.0, 2: 0.5, 3: 1.0})
    assert weighted_fusion([]).ids.size == 0


def test_hybrid_truncates_to_k() -> None:
    class Fixed:
        def __init__(self, c: Candidates) -> None:
            self.c = c

        def retrieve(self, query: Query, k: int) -> Candidates:
            return self.c

    h = HybridRetriever([Fixed(cands([1, 2, 3], [3, 2, 1], "x")), Fixed(cands([4, 3], [2, 1], "y"))])
    out = h.retrieve(Query("q", "ns"), 2)
    assert len(out) == 2 and out.ids.tolist()[0] == 3
    with pytest.raises(ValueError, match="method"):
        HybridRetriever([], method="max")


def test_recency_half_lives() -> None:
    r = RecencyScorer(turn_half_life=10, time_half_life_s=100)
    s = r.score(np.array([0, 10, 20, 0]), np.array([0, 0, 0, 100]))
    assert s.tolist() == pytest.approx([1.0, 0.5, 0.25, 0.5])
    only_turns = RecencyScorer(turn_half_life=10, time_half_life_s=None)
    assert only_turns.score(np.array([10]), np.array([1e9])).tolist() == pytest.approx([0.5])
    mono = RecencyScorer().score(np.arange(0, 1000, 50), np.zeros(20))
    assert np.all(np.diff(mono) < 0)
    assert RecencyScorer().score(np.array([-5]), np.array([-5]))[0] == 1.0  # future clamps to now


def test_query_terms() -> None:
    assert query_terms("What is the booking reference for INV-48213?") == ["booking", "reference", "inv-48213"]
    assert query_terms("the the a") == []
    assert query_terms("Casa Azul, casa AZUL") == ["casa", "azul"]


def test_bm25s_finds_exact_id_and_filters_sessions() -> None:
    ids = np.array([10, 11, 12, 13], dtype=np.int64)
    texts = ["my invoice is INV-48213", "the invoice number is INV-99999", "lunch was great", "invoice INV-48213 paid"]
    sessions = ["a", "a", "b", "b"]
    calls = []

    def corpus(ns: str) -> tuple[np.ndarray, list[str], list[str]]:
        calls.append(ns)
        return ids, texts, sessions

    r = BM25sRetriever(corpus, lambda ns: 1)
    out = r.retrieve(Query("INV-48213", "ns"), 5)
    assert set(out.ids.tolist()) == {10, 13}
    assert r.retrieve(Query("INV-48213", "ns", sessions=["b"]), 5).ids.tolist() == [13]
    r.retrieve(Query("lunch", "ns"), 5)
    assert calls == ["ns"]  # built once while the version does not change
    assert r.retrieve(Query("the of", "ns"), 5).ids.size == 0


def test_fts_retriever_on_a_real_log(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "Invoice INV-48213 is for the standing desk."},
            {"role": "assistant", "content": "Thanks, noted the standing desk invoice."},
            {"role": "user", "content": "Lunch was great today."},
        ],
        session="s",
    )
    mem.add([{"role": "user", "content": "INV-48213 again in another session"}], session="t")
    fts = FTSRetriever(mem.store)
    out = fts.retrieve(Query("INV-48213", "default"), 5)
    texts = [c.text for c in mem.store.chunks(out.ids.tolist()).values()]
    assert len(out) == 2 and all("INV-48213" in t for t in texts)
    assert np.all(np.diff(out.scores) <= 0)
    scoped = fts.retrieve(Query("INV-48213", "default", sessions=["t"]), 5)
    assert [mem.store.chunks([i])[i].session for i in scoped.ids.tolist()] == ["t"]
    assert len(fts.retrieve(Query("INV-48213", "other-namespace"), 5)) == 0
    assert len(fts.retrieve(Query("desk", "default"), 5)) == 2  # porter stemming / plain match
