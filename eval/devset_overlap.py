"""How many content words a question shares with its evidence: the check that a development set
paraphrases, so that word overlap alone does not find the evidence.

Words are lower-cased, stop words dropped and the rest stemmed (Snowball English, the stemmer
the BM25 baseline uses), so "watching" and "watch" count as shared. Two measures per
(question, evidence turn) pair: Jaccard (shared / union) and containment (the share of the
question's words that the evidence turn holds: the stricter one for long turns).
"""

from __future__ import annotations

import re
from typing import Any

import Stemmer

from eval.dataset_models import Dataset

STOP = frozenset(
    "a an the and or of to in on for with at by from is are was were be been am i i'm me my you your it its this "
    "that what which who how do did does have has had can should would could will about into up out as if not no "
    "so than then there these those our we us they them their he she her his when where why much many any some "
    "all just also too very please now get got i've it's what's let's we'll i'll i'd one us after before while over "
    "again off".split()
)
_WORD = re.compile(r"[a-z0-9€°'-]+")
_STEMMER = Stemmer.Stemmer("english")


def content_words(text: str) -> set[str]:
    """The stemmed content words of ``text``."""
    words = [w.strip("'-") for w in _WORD.findall(text.lower())]
    return set(_STEMMER.stemWords([w for w in words if len(w) > 1 and w not in STOP]))


def pair_overlap(question: str, evidence: str) -> tuple[float, float]:
    """(Jaccard, containment) of the content words of a question and one evidence turn."""
    a, b = content_words(question), content_words(evidence)
    if not a or not b:
        return 0.0, 0.0
    shared = len(a & b)
    return shared / len(a | b), shared / len(a)


def _stats(pairs: list[tuple[float, float]]) -> dict[str, float]:
    n = len(pairs)
    if not n:
        return {"pairs": 0}
    return {
        "pairs": n,
        "jaccard_mean": round(sum(j for j, _ in pairs) / n, 4),
        "containment_mean": round(sum(c for _, c in pairs) / n, 4),
        "no_shared_word": round(sum(c == 0 for _, c in pairs) / n, 4),
    }


def overlap_summary(dataset: Dataset) -> dict[str, Any]:
    """Overlap over every (question, evidence turn) pair: in all, per category and per role."""
    pairs: dict[str, list[tuple[float, float]]] = {"all": []}
    for conv in dataset.conversations:
        by_id = {t.id: t for t in conv.turns}
        for q in conv.questions:
            for e in q.evidence:
                turn = by_id[e]
                value = pair_overlap(q.question, turn.text)
                for key in ("all", q.category, f"role:{turn.message['role']}"):
                    pairs.setdefault(key, []).append(value)
    return {key: _stats(values) for key, values in pairs.items()}
