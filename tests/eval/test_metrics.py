from __future__ import annotations

import math

import pytest

from eval.metrics import (
    dedupe,
    evidence_recall,
    make_record,
    ndcg_at_k,
    percentile,
    recall_all,
    recall_all_at_k,
    recall_any,
    recall_any_at_k,
    summarize,
)


def test_evidence_recall_cases() -> None:
    assert evidence_recall(["a", "b", "c"], ["a", "c", "x"]) == pytest.approx(2 / 3)
    assert evidence_recall(["a"], []) == 0.0
    assert evidence_recall([], ["a"]) == 1.0  # nothing to find
    assert evidence_recall(["a", "a", "b"], ["a"]) == 0.5  # duplicates count once
    assert recall_all(["a", "b"], ["b", "a", "z"]) and not recall_all(["a", "b"], ["a"])
    assert recall_any(["a", "b"], ["b"]) and not recall_any(["a", "b"], ["c"])


def test_ranking_recall_at_k() -> None:
    ranking = ["x", "a", "y", "b", "z"]
    assert recall_any_at_k(ranking, ["a", "b"], 1) == 0.0
    assert recall_any_at_k(ranking, ["a", "b"], 2) == 1.0
    assert recall_all_at_k(ranking, ["a", "b"], 3) == 0.0
    assert recall_all_at_k(ranking, ["a", "b"], 4) == 1.0
    assert recall_all_at_k(ranking, ["a", "q"], 50) == 0.0  # q never ranked


def test_ndcg_longmemeval_definition() -> None:
    # LongMemEval's DCG: rel[0] + sum_{i>=1} rel[i] / log2(i + 1), 0-based i.
    # Ranking [x, a, y, b], relevant {a, b}, k=4:
    #   DCG  = 0 + 1/log2(2) + 0 + 1/log2(4) = 1 + 0.5 = 1.5
    #   IDCG = 1 + 1/log2(2) = 2
    assert ndcg_at_k(["x", "a", "y", "b"], ["a", "b"], 4) == pytest.approx(0.75)
    # Positions 1 and 2 are both undiscounted in this definition.
    assert ndcg_at_k(["x", "a"], ["a"], 2) == pytest.approx(1.0)
    # Third position: 1/log2(3).
    assert ndcg_at_k(["x", "y", "a"], ["a"], 3) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], ["a", "b"], 10) == pytest.approx(1.0)
    # The ideal DCG counts relevant items the ranking never returned.
    assert ndcg_at_k(["a"], ["a", "b"], 10) == pytest.approx(1 / 2)
    assert ndcg_at_k(["x"], [], 10) == 0.0
    assert ndcg_at_k(["x", "y", "a"], ["a"], 2) == 0.0


def test_session_level_ranking_via_record() -> None:
    session_of = {"D1:1": "s1", "D1:2": "s1", "D2:1": "s2", "D3:4": "s3"}
    rec = make_record(
        dataset="d",
        conversation="c",
        question_id="q",
        question="?",
        category="4",
        strategy="dense",
        budget=512,
        tokens=100,
        full_tokens=1000,
        latency_ms=1.0,
        evidence=["D3:4", "D2:1"],
        present=["D2:1", "D1:1"],
        ranking=["D1:2", "D3:4", "D1:1", "D2:1"],
        session_of=session_of,
    )
    assert rec.recall == 0.5 and not rec.recall_all and rec.recall_any
    assert rec.found == ["D2:1"]
    assert rec.ranks == {"D3:4": 2, "D2:1": 4}
    assert rec.ranking["turn_recall_any@5"] == 1.0 and rec.ranking["turn_recall_all@5"] == 1.0
    # sessions in first-seen order: s1, s3, s2; relevant {s3, s2}
    # DCG@5 = 0 + 1/log2(2) + 1/log2(3); IDCG = 1 + 1
    assert rec.ranking["session_ndcg@5"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert rec.ranking["session_recall_all@5"] == 1.0
    assert rec.token_share == pytest.approx(0.1)


def test_percentile_and_summarize() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert math.isnan(percentile([], 95))
    recs = [
        make_record(
            dataset="d",
            conversation="c",
            question_id=str(i),
            question="?",
            category="1",
            strategy="s",
            budget=10,
            tokens=t,
            full_tokens=100,
            latency_ms=float(i),
            evidence=["a", "b"],
            present=p,
        )
        for i, (t, p) in enumerate([(10, ["a", "b"]), (20, ["a"]), (30, [])])
    ]
    s = summarize(recs)
    assert s["questions"] == 3
    assert s["recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert s["recall_all"] == pytest.approx(1 / 3)
    assert s["recall_any"] == pytest.approx(2 / 3)
    assert s["tokens_mean"] == 20
    assert s["latency_p50_ms"] == 1.0
    assert s["token_share"] == pytest.approx(0.2)


def test_dedupe() -> None:
    assert dedupe(["s1", "s3", "s1", "s2", "s3"]) == ["s1", "s3", "s2"]
