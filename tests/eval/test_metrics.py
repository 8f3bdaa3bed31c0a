"""Metrics on hand-made cases whose answers are worked out in the comments."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from eval.metrics import (
    QuestionRecord,
    dedupe,
    evidence_recall,
    latest_value,
    make_record,
    ndcg_at_k,
    percentile,
    ranking_metrics,
    recall_all,
    recall_all_at_k,
    recall_any,
    recall_any_at_k,
    summarize,
)


def record(**kw: object) -> QuestionRecord:
    base: dict[str, object] = {
        "dataset": "d",
        "conversation": "c",
        "question_id": "q",
        "question": "?",
        "category": "1",
        "strategy": "s",
        "budget": 100,
        "tokens": 10,
        "full_tokens": 100,
        "latency_ms": 1.0,
        "evidence": ["a"],
        "present": [],
    }
    base.update(kw)
    return make_record(**base)  # type: ignore[arg-type]


# -- evidence recall at budget -----------------------------------------------------------------


def test_evidence_recall() -> None:
    # evidence {a, b, c}, context holds a and c (and x): 2 of 3.
    assert evidence_recall(["a", "b", "c"], ["a", "c", "x"]) == pytest.approx(2 / 3)
    assert evidence_recall(["a", "b", "c"], ["c", "b", "a"]) == 1.0
    assert evidence_recall(["a"], []) == 0.0
    # No evidence: nothing to miss, recall 1.0.
    assert evidence_recall([], ["a"]) == 1.0
    assert evidence_recall([], []) == 1.0
    # Duplicates count once: {a, b}, a present → 1/2.
    assert evidence_recall(["a", "a", "b"], ["a"]) == 0.5
    # Generators are fine (consumed once).
    assert evidence_recall((e for e in "ab"), (p for p in "b")) == 0.5


def test_recall_all_and_any() -> None:
    assert recall_all(["a", "b"], ["b", "a", "z"]) is True
    assert recall_all(["a", "b"], ["a"]) is False
    assert recall_any(["a", "b"], ["b"]) is True
    assert recall_any(["a", "b"], ["c"]) is False
    # Without evidence both hold, as evidence_recall is 1.0.
    assert recall_all([], ["x"]) is True and recall_any([], []) is True


# -- ranking metrics (LongMemEval's definitions) -------------------------------------------------


def test_recall_at_k() -> None:
    ranking = ["x", "a", "y", "b", "z"]
    # a is at rank 2, b at rank 4.
    assert recall_any_at_k(ranking, ["a", "b"], 1) == 0.0
    assert recall_any_at_k(ranking, ["a", "b"], 2) == 1.0
    assert recall_all_at_k(ranking, ["a", "b"], 3) == 0.0
    assert recall_all_at_k(ranking, ["a", "b"], 4) == 1.0
    assert recall_all_at_k(ranking, ["a", "b"], 50) == 1.0  # k past the end
    assert recall_all_at_k(ranking, ["a", "q"], 50) == 0.0  # q never ranked
    assert recall_any_at_k([], ["a"], 5) == 0.0
    # LongMemEval: any([]) = 0, all([]) = 1 when nothing is relevant.
    assert recall_any_at_k(ranking, [], 5) == 0.0
    assert recall_all_at_k(ranking, [], 5) == 1.0


def test_ndcg_hand_computed() -> None:
    # DCG = rel[0] + sum_{i>=1} rel[i] / log2(i + 1)  (0-based i): positions 1 and 2 undiscounted.
    # [x, a, y, b], relevant {a, b}, k=4:
    #   DCG  = 0 + 1/log2(2) + 0 + 1/log2(4) = 1 + 0.5 = 1.5
    #   IDCG = [1, 1] → 1 + 1/log2(2) = 2
    assert ndcg_at_k(["x", "a", "y", "b"], ["a", "b"], 4) == pytest.approx(0.75)
    # Rank 2 is as good as rank 1.
    assert ndcg_at_k(["x", "a"], ["a"], 2) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "x"], ["a"], 2) == pytest.approx(1.0)
    # Rank 3: 1/log2(3) ≈ 0.6309.
    assert ndcg_at_k(["x", "y", "a"], ["a"], 3) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["x", "y", "a"], ["a"], 3) == pytest.approx(0.6309297535714575)
    # Outside the top k: 0.
    assert ndcg_at_k(["x", "y", "a"], ["a"], 2) == 0.0
    assert ndcg_at_k(["a", "b"], ["a", "b"], 10) == pytest.approx(1.0)
    # The ideal ranking holds every relevant item first, even those never returned:
    # [a] vs relevant {a, b}: DCG = 1, IDCG = 1 + 1 = 2.
    assert ndcg_at_k(["a"], ["a", "b"], 10) == pytest.approx(0.5)
    # Ideal truncated at k: [x, a], relevant {a, b, c}, k=2: DCG = 1, IDCG = 1 + 1 = 2.
    assert ndcg_at_k(["x", "a", "b"], ["a", "b", "c"], 2) == pytest.approx(0.5)
    # [b, x, x2, a], relevant {a, b}, k=10: DCG = 1 + 1/log2(4) = 1.5, IDCG = 2.
    assert ndcg_at_k(["b", "x", "x2", "a"], ["a", "b"], 10) == pytest.approx(0.75)
    assert ndcg_at_k(["x"], [], 10) == 0.0
    assert ndcg_at_k([], ["a"], 10) == 0.0


def _longmemeval_ndcg(rankings: list[int], correct_docs: set[str], corpus_ids: list[str], k: int) -> float:
    """LongMemEval's src/retrieval/eval_utils.py, with rankings as corpus indices."""

    def dcg(relevances: list[int], k: int) -> float:
        r = np.asarray(relevances, dtype=float)[:k]
        if r.size:
            return float(r[0] + np.sum(r[1:] / np.log2(np.arange(2, r.size + 1))))
        return 0.0

    relevances = [1 if doc in correct_docs else 0 for doc in corpus_ids]
    sorted_relevances = [relevances[i] for i in rankings[:k]]
    ideal = dcg(sorted(relevances, reverse=True), k)
    return 0.0 if ideal == 0 else dcg(sorted_relevances, k) / ideal


def test_ndcg_matches_longmemeval_reference() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        corpus = [f"t{i}" for i in range(rng.randint(1, 30))]
        relevant = set(rng.sample(corpus, rng.randint(0, min(5, len(corpus)))))
        order = list(range(len(corpus)))
        rng.shuffle(order)
        k = rng.choice([1, 2, 3, 5, 10, 50])
        ranking = [corpus[i] for i in order]
        expected = _longmemeval_ndcg(order, relevant, corpus, k)
        assert ndcg_at_k(ranking, relevant, k) == pytest.approx(expected, abs=1e-12)
        top = set(ranking[:k])
        assert recall_any_at_k(ranking, relevant, k) == float(any(d in top for d in relevant))
        assert recall_all_at_k(ranking, relevant, k) == float(all(d in top for d in relevant))


def test_ranking_metrics_keys() -> None:
    m = ranking_metrics(["x", "a"], ["a"], prefix="turn_", ks=(1, 2))
    assert m == {
        "turn_recall_any@1": 0.0,
        "turn_recall_all@1": 0.0,
        "turn_ndcg@1": 0.0,
        "turn_recall_any@2": 1.0,
        "turn_recall_all@2": 1.0,
        "turn_ndcg@2": 1.0,
    }
    assert set(ranking_metrics([], [], prefix="p_")) == {
        f"p_{m}@{k}" for k in (5, 10, 50) for m in ("recall_any", "recall_all", "ndcg")
    }


def test_dedupe() -> None:
    assert dedupe(["s1", "s3", "s1", "s2", "s3"]) == ["s1", "s3", "s2"]
    assert dedupe([]) == []


# -- one record -------------------------------------------------------------------------------


def test_record_turn_and_session_ranking() -> None:
    session_of = {"D1:1": "s1", "D1:2": "s1", "D2:1": "s2", "D3:4": "s3"}
    rec = record(
        evidence=["D3:4", "D2:1"],
        present=["D2:1", "D1:1"],
        ranking=["D1:2", "D3:4", "D1:1", "D2:1"],
        session_of=session_of,
        tokens=100,
        full_tokens=1000,
    )
    # Budget recall: D2:1 in the context, D3:4 not → 1/2.
    assert rec.recall == 0.5 and not rec.recall_all and rec.recall_any
    assert rec.found == ["D2:1"]
    assert rec.ranks == {"D3:4": 2, "D2:1": 4}
    # Turn ranking [D1:2, D3:4, D1:1, D2:1], relevant {D3:4, D2:1}:
    #   @5: both in → any 1, all 1; DCG = 0 + 1 + 0 + 1/log2(4) = 1.5, IDCG = 2 → 0.75.
    assert rec.ranking["turn_recall_any@5"] == 1.0 and rec.ranking["turn_recall_all@5"] == 1.0
    assert rec.ranking["turn_ndcg@5"] == pytest.approx(0.75)
    # Session ranking: first-seen order s1, s3, s2 (D1:1 repeats s1); relevant {s3, s2}:
    #   DCG@5 = 0 + 1/log2(2) + 1/log2(3); IDCG = 1 + 1 = 2.
    assert rec.ranking["session_ndcg@5"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert rec.ranking["session_recall_all@5"] == 1.0
    assert rec.ranking["session_recall_any@5"] == 1.0
    assert rec.token_share == pytest.approx(0.1)


def test_record_session_level_uses_given_evidence_sessions() -> None:
    session_of = {"a:0": "a", "a:1": "a", "b:0": "b", "c:0": "c"}
    # evidence_sessions (LongMemEval's answer_session_ids) win over those of the evidence turns:
    # session ranking [a, b, c]; relevant {c} → rank 3: any@5 = 1, ndcg@5 = 1/log2(3).
    rec = record(
        evidence=["a:1"],
        present=["a:1"],
        ranking=["a:0", "b:0", "a:1", "c:0"],
        session_of=session_of,
        evidence_sessions=["c"],
    )
    assert rec.ranking["session_recall_any@5"] == 1.0
    assert rec.ranking["session_ndcg@5"] == pytest.approx(1 / math.log2(3))
    # Without them, the evidence's own session a (rank 1) is what counts.
    rec = record(evidence=["a:1"], present=[], ranking=["a:0", "b:0", "a:1", "c:0"], session_of=session_of)
    assert rec.ranking["session_ndcg@5"] == 1.0
    # The turn a:1 is third: turn any@5 = 1, ndcg@5 = 1/log2(3).
    assert rec.ranking["turn_ndcg@5"] == pytest.approx(1 / math.log2(3))
    assert rec.recall == 0.0 and rec.ranks == {"a:1": 3}


def test_record_without_ranking() -> None:
    rec = record(evidence=["a", "b"], present=["b", "zz"])
    assert rec.ranking == {} and rec.ranks == {}
    assert rec.found == ["b"] and rec.recall == 0.5
    # A turn ranking without session_of: turn metrics only.
    rec = record(evidence=["a"], present=[], ranking=["x", "a"])
    assert rec.ranking["turn_recall_any@5"] == 1.0
    assert not any(k.startswith("session_") for k in rec.ranking)
    # An evidence turn the ranking never returned has no rank.
    assert rec.ranks == {"a": 2}
    assert record(evidence=["a"], ranking=["x"]).ranks == {"a": None}


def test_token_share() -> None:
    assert record(tokens=256, full_tokens=1024).token_share == 0.25
    assert record(tokens=5, full_tokens=0).token_share == 0.0
    # The field is not stored (a property): results.json keeps tokens and full_tokens.
    assert "token_share" not in record().model_dump()


# -- aggregates ---------------------------------------------------------------------------------


def test_percentile() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    # Linear interpolation: position 0.95 * (5 - 1) = 3.8 → 40 + 0.8 * (50 - 40) = 48.
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert percentile([7.0], 95) == 7.0
    assert percentile([3, 1, 2], 0) == 1.0 and percentile([3, 1, 2], 100) == 3.0
    assert math.isnan(percentile([], 95))


def test_summarize() -> None:
    # Three questions, evidence {a, b}: contexts hold {a, b}, {a}, {} → recall 1, 0.5, 0.
    recs = [
        record(question_id=str(i), tokens=t, latency_ms=float(ms), evidence=["a", "b"], present=p)
        for i, (t, ms, p) in enumerate([(10, 4, ["a", "b"]), (20, 1, ["a"]), (30, 2, [])])
    ]
    s = summarize(recs)
    assert s["questions"] == 3
    assert s["recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert s["recall_all"] == pytest.approx(1 / 3)
    assert s["recall_any"] == pytest.approx(2 / 3)
    assert s["tokens_mean"] == 20
    # Latencies sorted 1, 2, 4: p50 = 2; p95 at position 1.9 → 2 + 0.9 * 2 = 3.8.
    assert s["latency_p50_ms"] == 2.0
    assert s["latency_p95_ms"] == pytest.approx(3.8)
    # token shares 0.1, 0.2, 0.3.
    assert s["token_share"] == pytest.approx(0.2)
    assert not any("@" in k for k in s)  # no ranking metrics without rankings
    assert summarize([]) == {"questions": 0}


def test_summarize_ranking_metrics_average_over_ranked_records() -> None:
    ranked = [
        record(evidence=["a"], ranking=["a"]),  # turn_recall_any@5 = 1
        record(evidence=["a"], ranking=["x"]),  # turn_recall_any@5 = 0
    ]
    s = summarize([*ranked, record(evidence=["a"])])
    assert s["questions"] == 3
    assert s["turn_recall_any@5"] == pytest.approx(0.5)
    assert s["turn_ndcg@10"] == pytest.approx(0.5)


# -- knowledge updates -------------------------------------------------------------------------


def test_latest_value() -> None:
    # newest statement "new", superseded "old": only the newest one counts.
    assert latest_value(["new"], ["old"], ["new", "x"]) == 1.0
    assert latest_value(["new"], ["old"], ["old", "x"]) == 0.0  # the stale value alone is a miss
    assert latest_value(["new"], ["old"], ["old", "new"]) == 1.0
    # nothing superseded: the score is undefined, not 1.0 or 0.0
    assert latest_value(["new"], [], ["new"]) is None
    assert latest_value(["new"], (s for s in ()), ["new"]) is None


def test_records_and_summaries_carry_latest_value() -> None:
    hit = record(evidence=["n"], present=["n"], stale=["o"])
    miss = record(evidence=["n"], present=["o"], stale=["o"])
    plain = record(evidence=["a"], present=[])
    assert (hit.latest_value, miss.latest_value, plain.latest_value) == (1.0, 0.0, None)
    assert hit.stale == ["o"] and plain.stale == []
    # averaged over the records that have stale evidence only: (1 + 0) / 2, the plain one left out
    assert summarize([hit, miss, plain])["latest_value"] == 0.5
    assert math.isnan(summarize([plain])["latest_value"])
