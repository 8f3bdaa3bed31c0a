"""Metrics: one implementation used for every strategy (definitions in docs/metrics.md).

- Evidence recall at budget: the share of a question's evidence turns that are in the
  context (:func:`evidence_recall`), with ``recall_all`` (all of them) and ``recall_any``
  (at least one).
- Ranking metrics, for strategies that rank (LongMemEval's definitions, from its
  ``src/retrieval/eval_utils.py``): :func:`recall_any_at_k`, :func:`recall_all_at_k`,
  :func:`ndcg_at_k`, at turn level and session level.
- Knowledge updates: ``latest_value``, for a question whose evidence superseded older
  statements (``stale``), is 1.0 if the newest statement is in the context, else 0.0
  (``None`` for questions without stale evidence; summaries average over those that have it).
- Cost: context tokens and their share of the full history; latency percentiles.
- Answer accuracy (when an answer model and a judge ran, :mod:`eval.answers`): the judge's
  verdict (J), and token F1 / exact match against the gold answer after
  :func:`normalize_answer` (:func:`token_f1`, :func:`exact_match`); questions graded on
  refusing score F1 and EM by :func:`is_refusal`.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

RANK_KS: tuple[int, ...] = (5, 10, 50)


def evidence_recall(evidence: Iterable[Hashable], present: Iterable[Hashable]) -> float:
    """Share of ``evidence`` items in ``present`` (1.0 if there is no evidence to find)."""
    ev = set(evidence)
    if not ev:
        return 1.0
    return len(ev & set(present)) / len(ev)


def recall_all(evidence: Iterable[Hashable], present: Iterable[Hashable]) -> bool:
    ev = set(evidence)
    return ev <= set(present)


def recall_any(evidence: Iterable[Hashable], present: Iterable[Hashable]) -> bool:
    ev = set(evidence)
    return not ev or bool(ev & set(present))


def recall_any_at_k(ranking: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    """1.0 if any relevant item is in the top ``k`` of ``ranking``."""
    rel = set(relevant)
    return float(bool(rel & set(ranking[:k])))


def recall_all_at_k(ranking: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    """1.0 if every relevant item is in the top ``k`` of ``ranking``."""
    rel = set(relevant)
    return float(rel <= set(ranking[:k]))


def _dcg(relevances: Sequence[float], k: int) -> float:
    """LongMemEval's DCG: ``rel[0] + sum(rel[i] / log2(i + 1) for i >= 1)`` over the top k."""
    r = np.asarray(relevances, dtype=float)[:k]
    if r.size == 0:
        return 0.0
    return float(r[0] + np.sum(r[1:] / np.log2(np.arange(2, r.size + 1))))


def ndcg_at_k(ranking: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    """NDCG@k with binary relevance, as LongMemEval computes it (0.0 without relevant items).

    The ideal ranking puts every relevant item first (the ideal DCG counts all relevant
    items, even those the ranking never returned).
    """
    rel = set(relevant)
    if not rel:
        return 0.0
    actual = [1.0 if item in rel else 0.0 for item in ranking[:k]]
    ideal = [1.0] * len(rel)
    idcg = _dcg(ideal, k)
    return _dcg(actual, k) / idcg if idcg else 0.0


def dedupe(items: Iterable[Hashable]) -> list[Hashable]:
    """Keep the first occurrence of each item (e.g. turn ranking → session ranking)."""
    seen: set[Hashable] = set()
    out = []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def ranking_metrics(
    ranking: Sequence[Hashable],
    relevant: Iterable[Hashable],
    *,
    prefix: str,
    ks: Sequence[int] = RANK_KS,
) -> dict[str, float]:
    """``{prefix}recall_any@k``, ``{prefix}recall_all@k`` and ``{prefix}ndcg@k`` for each k."""
    rel = list(relevant)
    out: dict[str, float] = {}
    for k in ks:
        out[f"{prefix}recall_any@{k}"] = recall_any_at_k(ranking, rel, k)
        out[f"{prefix}recall_all@{k}"] = recall_all_at_k(ranking, rel, k)
        out[f"{prefix}ndcg@{k}"] = ndcg_at_k(ranking, rel, k)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation); NaN for no values."""
    if len(values) == 0:
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=float), q))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "‘’“”–—"})
_REFUSALS = (
    "not mentioned",
    "no information",
    "not available",
    "not in the conversation",
    "does not mention",
    "doesn t mention",
    "does not say",
    "doesn t say",
    "not specified",
    "no mention",
    "cannot be determined",
    "can t be determined",
    "i don t know",
    "unknown",
)


def normalize_answer(text: str) -> str:
    """Lowercase, punctuation to spaces, drop the articles a/an/the, collapse whitespace (SQuAD's rule)."""
    t = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", t).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if prediction and gold are equal after :func:`normalize_answer`."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall after :func:`normalize_answer` (bag of words)."""
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def is_refusal(prediction: str) -> bool:
    """Whether an answer declines (\"not mentioned\", \"no information\", \"unknown\"...): how LoCoMo's own
    evaluation scores its adversarial category, which has no answer to find."""
    t = f" {normalize_answer(prediction)} "
    return any(f" {phrase} " in t for phrase in _REFUSALS)


class AnswerRecord(BaseModel):
    """What the answer model said to one question with one context, and how it was graded.

    ``error`` is set (and the scores are None) when the endpoint failed after its retries
    or the judge gave no label: the question counts as failed, not as wrong.
    """

    answer: str | None = None
    gold: str | None = None
    refusal: bool = False  # graded on refusing (LoCoMo category 5, LongMemEval abstention)
    verdict: str | None = None  # CORRECT | WRONG
    reason: str | None = None  # the judge's one-sentence reason
    j: float | None = None
    f1: float | None = None
    em: float | None = None
    tokens_in: int = 0  # the answer prompt, counted with the run's counter
    latency_ms: float | None = None  # the answer call (when it was made, for cached answers)
    cached: bool = False
    error: str | None = None


class QuestionRecord(BaseModel):
    """One question answered by one strategy at one budget: what every summary is built from."""

    dataset: str
    conversation: str
    question_id: str
    question: str
    category: str
    strategy: str
    budget: int
    tokens: int
    full_tokens: int
    latency_ms: float
    evidence: list[str]
    found: list[str]
    recall: float
    recall_all: bool
    recall_any: bool
    ranks: dict[str, int | None] = Field(default_factory=dict)  # evidence turn → rank (1-based)
    stale: list[str] = Field(default_factory=list)  # superseded statements (knowledge updates)
    latest_value: float | None = None  # 1.0: the newest statement is in the context (None: no stale)
    ranking: dict[str, float] = Field(default_factory=dict)  # ranking metrics, if any
    answer: AnswerRecord | None = None  # answer accuracy, when the run asked a model (eval.answers)

    @property
    def token_share(self) -> float:
        return self.tokens / self.full_tokens if self.full_tokens else 0.0


def make_record(
    *,
    dataset: str,
    conversation: str,
    question_id: str,
    question: str,
    category: str,
    strategy: str,
    budget: int,
    tokens: int,
    full_tokens: int,
    latency_ms: float,
    evidence: Sequence[str],
    present: Iterable[str],
    ranking: Sequence[str] | None = None,
    session_of: dict[str, str] | None = None,
    evidence_sessions: Sequence[str] = (),
    stale: Sequence[str] = (),
) -> QuestionRecord:
    """Score one context (``present``: the turn ids it holds) against a question's evidence
    (and, when ``stale`` lists superseded statements, whether it holds the newest one)."""
    present_set = set(present)
    found = [e for e in evidence if e in present_set]
    metrics: dict[str, float] = {}
    ranks: dict[str, int | None] = {}
    if ranking is not None:
        metrics.update(ranking_metrics(ranking, evidence, prefix="turn_"))
        pos = {t: i + 1 for i, t in enumerate(ranking)}
        ranks = {e: pos.get(e) for e in evidence}
        if session_of is not None:
            sessions = dedupe(session_of[t] for t in ranking if t in session_of)
            rel_sessions = list(evidence_sessions) or dedupe(session_of[e] for e in evidence if e in session_of)
            metrics.update(ranking_metrics(sessions, rel_sessions, prefix="session_"))
    return QuestionRecord(
        dataset=dataset,
        conversation=conversation,
        question_id=question_id,
        question=question,
        category=category,
        strategy=strategy,
        budget=budget,
        tokens=tokens,
        full_tokens=full_tokens,
        latency_ms=latency_ms,
        evidence=list(evidence),
        found=found,
        recall=evidence_recall(evidence, present_set),
        recall_all=recall_all(evidence, present_set),
        recall_any=recall_any(evidence, present_set),
        ranks=ranks,
        ranking=metrics,
        stale=list(stale),
        latest_value=latest_value(evidence, stale, present_set),
    )


def latest_value(evidence: Iterable[Hashable], stale: Iterable[Hashable], present: Iterable[Hashable]) -> float | None:
    """1.0 if the newest statement (the evidence) is all in ``present``, 0.0 if not; ``None``
    when nothing was superseded (no ``stale`` turns), where the score means nothing."""
    if not list(stale):
        return None
    return float(recall_all(evidence, present))


def _mean_defined(values: Sequence[float | None]) -> float:
    """Mean of the values that are not ``None`` (NaN if none are)."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else math.nan


def summarize(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """Aggregate records of one strategy at one budget (see report.SUMMARY_COLUMNS)."""
    n = len(records)
    if n == 0:
        return {"questions": 0}
    lat = [r.latency_ms for r in records]
    out: dict[str, Any] = {
        "questions": n,
        "recall": float(np.mean([r.recall for r in records])),
        "recall_all": float(np.mean([r.recall_all for r in records])),
        "recall_any": float(np.mean([r.recall_any for r in records])),
        "tokens_mean": float(np.mean([r.tokens for r in records])),
        "latency_p50_ms": percentile(lat, 50),
        "latency_p95_ms": percentile(lat, 95),
        "token_share": float(np.mean([r.token_share for r in records])),
        "latest_value": _mean_defined([r.latest_value for r in records]),
    }
    keys = sorted({k for r in records for k in r.ranking})
    for k in keys:
        vals = [r.ranking[k] for r in records if k in r.ranking]
        out[k] = float(np.mean(vals)) if vals else math.nan
    if any(r.answer is not None for r in records):
        out.update(summarize_answers([r.answer for r in records if r.answer is not None]))
    return out


def summarize_answers(answers: Sequence[AnswerRecord]) -> dict[str, Any]:
    """``answer_j``, ``answer_f1``, ``answer_em`` (means over the questions that did not fail),
    ``answer_tokens_in`` (mean), ``answer_latency_p50_ms`` and ``answer_failed`` (a count)."""
    ok = [a for a in answers if a.error is None]

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    return {
        "answer_j": mean([a.j for a in ok if a.j is not None]),
        "answer_f1": mean([a.f1 for a in ok if a.f1 is not None]),
        "answer_em": mean([a.em for a in ok if a.em is not None]),
        "answer_tokens_in": mean([float(a.tokens_in) for a in answers]),
        "answer_latency_p50_ms": percentile([a.latency_ms for a in answers if a.latency_ms is not None], 50),
        "answer_failed": len(answers) - len(ok),
    }
