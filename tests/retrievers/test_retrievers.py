from __future__ import annotations

import numpy as np
import pytest

from indexers import FaissIndex
from memory import Memory
from retrievers.base import Candidates, Query
from retrievers.dense import DenseRetriever
from retrievers.fusion import HybridRetriever, reciprocal_rank_fusion, weighted_fusion
from retrievers.lexical import BM25sRetriever, FTSRetriever, query_terms, tokens
from retrievers.recency import RecencyScorer


def cands(ids: list[int], scores: list[float], name: str) -> Candidates:
    s = np.asarray(scores, dtype=np.float32)
    return Candidates(np.asarray(ids, dtype=np.int64), s, {name: s})


def test_rrf_known_values() -> None:
    a = cands([1, 2, 3], [0.9, 0.8, 0.7], "dense")
    b = cands([3, 4], [5.0, 4.0], "lexical")
    fused = reciprocal_rank_fusion([a, b], k=60)
    # 3: 1/63 + 1/61; 1: 1/61; 2: 1/62; 4: 1/62 (a tie: lower id first)
    assert fused.ids.tolist() == [3, 1, 2, 4]
    assert fused.ids.dtype == np.int64 and fused.scores.dtype == np.float32
    assert fused.scores[0] == pytest.approx(1 / 63 + 1 / 61)
    got = dict(zip(fused.ids.tolist(), fused.scores.tolist()))
    assert got[1] == pytest.approx(1 / 61) and got[2] == pytest.approx(1 / 62) and got[4] == pytest.approx(1 / 62)
    comp = dict(zip(fused.ids.tolist(), fused.components["dense"].tolist()))
    assert np.isnan(comp[4]) and comp[1] == pytest.approx(0.9)  # raw scores kept, nan where absent
    weighted = reciprocal_rank_fusion([a, b], weights=[2.0, 0.0], k=60)
    assert weighted.ids.tolist()[:3] == [1, 2, 3]
    assert weighted.scores[:3].tolist() == pytest.approx([2 / 61, 2 / 62, 2 / 63])
    small_k = reciprocal_rank_fusion([a, b], k=1)  # 3: 1/4 + 1/2 beats 1: 1/2
    assert small_k.ids.tolist() == [3, 1, 2, 4]
    assert small_k.scores.tolist() == pytest.approx([0.75, 0.5, 1 / 3, 1 / 3])
    only = reciprocal_rank_fusion([b], k=0)  # one list keeps its order: 1/1, 1/2
    assert only.ids.tolist() == [3, 4] and only.scores.tolist() == pytest.approx([1.0, 0.5])
    assert reciprocal_rank_fusion([]).ids.size == 0
    assert reciprocal_rank_fusion([Candidates.empty(), b]).ids.tolist() == [3, 4]
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([a, b], weights=[1.0])  # would silently ignore b


def test_weighted_fusion_known_values() -> None:
    a = cands([1, 2, 3], [0.9, 0.5, 0.1], "dense")  # normalized: 1, .5, 0
    b = cands([3, 1], [10.0, 0.0], "lexical")  # normalized: 1, 0
    fused = weighted_fusion([a, b], weights=[1.0, 1.0])
    got = dict(zip(fused.ids.tolist(), fused.scores.tolist()))
    assert got == pytest.approx({1: 1.0, 2: 0.5, 3: 1.0})
    assert fused.ids.tolist() == [1, 3, 2]  # 1 and 3 tie: lower id first
    fused = weighted_fusion([a, b], weights=[1.0, 3.0])
    assert fused.ids.tolist() == [3, 1, 2]
    assert fused.scores.tolist() == pytest.approx([3.0, 1.0, 0.5])
    comp = dict(zip(fused.ids.tolist(), fused.components["lexical"].tolist()))
    assert comp[3] == pytest.approx(10.0) and np.isnan(comp[2])
    flat = weighted_fusion([cands([5, 6], [0.3, 0.3], "dense")])  # equal scores normalize to 1
    assert flat.scores.tolist() == pytest.approx([1.0, 1.0])
    assert weighted_fusion([]).ids.size == 0
    with pytest.raises(ValueError, match="weights"):
        weighted_fusion([a, b], weights=[1.0, 1.0, 1.0])


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
    assert np.all(np.diff(mono) < 0) and mono[0] == 1.0 and np.all(mono > 0)
    by_time = RecencyScorer().score(np.zeros(10), np.arange(10) * 86400.0 * 7)
    assert np.all(np.diff(by_time) < 0)
    default = RecencyScorer()  # 200 turns, 30 days
    assert default.score(np.array([200, 0]), np.array([0, 30 * 86400])).tolist() == pytest.approx([0.5, 0.5])
    assert RecencyScorer(None, None).score(np.array([10**6]), np.array([10**9])).tolist() == [1.0]
    assert RecencyScorer().score(np.array([-5]), np.array([-5]))[0] == 1.0  # future clamps to now


def test_query_terms() -> None:
    assert query_terms("What is the booking reference for INV-48213?") == ["booking", "reference", "inv-48213"]
    assert query_terms("the the a") == []
    assert query_terms("Casa Azul, casa AZUL") == ["casa", "azul"]
    assert query_terms("Where is (INV-48213)? It's in the desk.") == ["inv-48213", "desk"]
    assert query_terms("one two three four", max_terms=2) == ["one", "two"]
    assert tokens("Desk, desk and the DESK lamp") == ["desk", "desk", "desk", "lamp"]  # repeats kept


def test_bm25s_uses_term_frequency() -> None:
    """Documents keep repeated words: tf 4 in a 6-word text beats tf 1 in a 2-word one
    (deduplicated documents would rank the short one first)."""
    ids = np.array([1, 2, 3], dtype=np.int64)
    texts = ["desk desk desk desk chair lamp", "desk pen", "a sunny afternoon"]
    r = BM25sRetriever(lambda ns: (ids, texts, ["s"] * 3), lambda ns: 0)
    out = r.retrieve(Query("desk", "ns"), 5)
    assert out.ids.tolist() == [1, 2] and out.scores[0] > out.scores[1] > 0


def test_bm25s_finds_exact_id_and_filters_sessions() -> None:
    ids = np.array([10, 11, 12, 13], dtype=np.int64)
    texts = ["my invoice is INV-48213", "the invoice number is INV-99999", "lunch was great", "invoice INV-48213 paid"]
    sessions = ["a", "a", "b", "b"]
    calls = []

    def corpus(ns: str) -> tuple[np.ndarray, list[str], list[str]]:
        calls.append(ns)
        return ids, texts, sessions

    version = [1]
    r = BM25sRetriever(corpus, lambda ns: version[0])
    out = r.retrieve(Query("INV-48213", "ns"), 5)
    assert set(out.ids.tolist()) == {10, 13}  # not INV-99999: the exact token only
    assert out.components["lexical"].tolist() == out.scores.tolist()
    assert r.retrieve(Query("what about inv-48213?", "ns"), 1).ids.tolist()[0] in (10, 13)
    assert r.retrieve(Query("INV-48213", "ns", sessions=["b"]), 5).ids.tolist() == [13]
    assert r.retrieve(Query("INV-48213", "ns", sessions=[]), 5).ids.size == 0  # no sessions: nothing
    assert r.retrieve(Query("INV-48213", "ns"), 0).ids.size == 0
    assert r.retrieve(Query("zebra", "ns"), 5).ids.size == 0  # unknown words score nothing
    r.retrieve(Query("lunch", "ns"), 5)
    assert calls == ["ns"]  # built once while the version does not change
    assert r.retrieve(Query("the of", "ns"), 5).ids.size == 0
    texts.append("INV-48213 refunded")
    ids = np.append(ids, 14)
    sessions.append("c")
    version[0] = 2
    assert set(r.retrieve(Query("INV-48213", "ns"), 5).ids.tolist()) == {10, 13, 14}  # rebuilt
    assert calls == ["ns", "ns"]


def test_bm25s_near_duplicate_ids_only_the_exact_one() -> None:
    """Ids that differ by a digit look alike to an embedding model; BM25 keeps them apart."""
    texts = [f"Invoice INV-{n} for the standing desk was paid" for n in (48213, 48231, 48214, 84213, 48123)]
    ids = np.arange(1, 6, dtype=np.int64)
    r = BM25sRetriever(lambda ns: (ids, texts, ["s"] * 5), lambda ns: 0)
    assert r.retrieve(Query("INV-48213", "ns"), 5).ids.tolist() == [1]


def test_bm25s_empty_namespace() -> None:
    r = BM25sRetriever(lambda ns: (np.zeros(0, dtype=np.int64), [], []), lambda ns: 0)
    assert r.retrieve(Query("anything", "ns"), 5).ids.size == 0


def test_dense_retriever_through_an_index() -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(20, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    idx = FaissIndex(16)
    idx.add(np.arange(1, 21), vecs, namespace="ns", sessions=["a"] * 10 + ["b"] * 10)

    class Embedder:
        calls = 0

        def embed(self, texts: list[str]) -> np.ndarray:
            Embedder.calls += 1
            return vecs[[4]]

    d = DenseRetriever(idx, Embedder())
    out = d.retrieve(Query("text", "ns"), 3)
    assert out.ids[0] == 5 and out.scores[0] == pytest.approx(1.0, abs=1e-5) and Embedder.calls == 1
    assert out.ids.tolist() == (np.argsort(-(vecs @ vecs[4]))[:3] + 1).tolist()
    out = d.retrieve(Query(None, "ns", sessions=["b"], vector=vecs[4]), 3)  # a given vector: no embedding
    assert Embedder.calls == 1 and set(out.ids.tolist()) <= set(range(11, 21))
    assert d.retrieve(Query(None, "ns"), 3).ids.size == 0
    assert d.retrieve(Query("text", "other"), 3).ids.size == 0


@pytest.mark.fake_embedder  # full-text search: the model is not the point
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
    assert len(fts.retrieve(Query("INV-48213", "default", sessions=[]), 5)) == 0  # no sessions: nothing
    assert len(fts.retrieve(Query("the of", "default"), 5)) == 0
    assert mem.search("INV-48213", sessions=[]) == []  # dense and lexical agree: no leak from other sessions
