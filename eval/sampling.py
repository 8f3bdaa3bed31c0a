"""``--sample N --seed S``: a seeded sample of a dataset's questions, stratified by category."""

from __future__ import annotations

import random

from eval.datasets import Dataset
from memory.errors import InvalidArgument


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split ``n`` over categories in proportion to ``sizes`` (largest remainder), at least one
    per category while ``n`` allows, never more than a category holds."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    cats = sorted(sizes)
    take = {c: 0 for c in cats}
    if n >= len(cats):
        for c in cats:
            take[c] = 1 if sizes[c] else 0
    left = n - sum(take.values())
    quotas = {c: left * sizes[c] / total for c in cats}
    for c in cats:
        take[c] += min(int(quotas[c]), sizes[c] - take[c])
    # hand out what is left by the largest remainder, then by size, then by name (deterministic)
    order = sorted(cats, key=lambda c: (-(quotas[c] - int(quotas[c])), -sizes[c], c))
    while sum(take.values()) < n:
        for c in order:
            if sum(take.values()) < n and take[c] < sizes[c]:
                take[c] += 1
    return take


def sample_questions(dataset: Dataset, n: int, seed: int = 7) -> Dataset:
    """A copy of ``dataset`` keeping ``n`` of its questions (all if it has fewer), each category
    represented in proportion, drawn with ``random.Random(seed)``; questions keep their order."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgument(f"sample: give a positive number of questions (got {n!r})", field="sample")
    by_cat: dict[str, list[tuple[str, str]]] = {}
    for c in dataset.conversations:
        for q in c.questions:
            by_cat.setdefault(q.category, []).append((c.id, q.id))
    take = allocate({c: len(v) for c, v in by_cat.items()}, n)
    rng = random.Random(seed)
    keep: set[tuple[str, str]] = set()
    for cat in sorted(by_cat):
        keep.update(rng.sample(by_cat[cat], take[cat]))
    convs = [
        c.model_copy(update={"questions": [q for q in c.questions if (c.id, q.id) in keep]})
        for c in dataset.conversations
    ]
    return dataset.model_copy(update={"conversations": convs})
