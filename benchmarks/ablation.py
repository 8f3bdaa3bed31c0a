"""Ablation of the ``turnmem`` pipeline: each retrieval piece on/off, measured by the harness.

    python benchmarks/ablation.py [--data ../shared/data/locomo10.json] [--categories 1,2,3,4]
        [--budgets 512,1024,2048] [--variants base,no-lexical,...] [--synthetic]

Every variant is ``Memory.assemble`` with some ``AssembleConfig`` fields overridden, run on
the same ingested memory and the same query vectors (one ingest, kept in
``results/memdata-<dataset>`` for reruns). Prints a table (mean evidence recall per budget)
and writes ``results/ablation-<dataset>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eval.datasets import load_locomo
from eval.runner import run
from eval.strategies import Turnmem

ROOT = Path(__file__).resolve().parents[1]

# name -> AssembleConfig overrides (relative to the current defaults)
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "rrf-fusion": {"fusion": "rrf"},
    "dense-only": {"lexical_weight": 0.0},
    "no-recency": {"recency_weight": 0.0},
    "window-uncapped": {"window_max_messages": None},
    "no-session-prior": {"session_weight": 0.0},
    "no-neighbors": {"neighbors": 0.0},
    "+mmr-0.7": {"mmr_lambda": 0.7},
    "+density-packing": {"pack": "density"},
    "cand-128": {"candidates": 128},
    "cand-32": {"candidates": 32},
    "lexical-1.5": {"lexical_weight": 1.5},
    "lexical-0.7": {"lexical_weight": 0.7},
    "session-0.35": {"session_weight": 0.35},
    "neighbors-0.5": {"neighbors": 0.5},
    "speaker-0.1": {"speaker_weight": 0.1},
    "speaker-0.2": {"speaker_weight": 0.2},
    "speaker-0.35": {"speaker_weight": 0.35},
    "time-0.15": {"time_weight": 0.15},
    "time-0.3": {"time_weight": 0.3},
    "time-0.5": {"time_weight": 0.5},
    "speaker-0.15+time-0.3": {"speaker_weight": 0.15, "time_weight": 0.3},
    "speaker-0.2+time-0.3": {"speaker_weight": 0.2, "time_weight": 0.3},
    "speaker-0.2+time-0.5": {"speaker_weight": 0.2, "time_weight": 0.5},
    "names-in-bm25": {"lexical_names": True},
    "no-answer-type": {"answer_type_weight": 0.0},
    "no-speaker": {"speaker_weight": 0.0},
    "no-time": {"time_weight": 0.0},
    "session-2-default": {"speaker_weight": 0.0, "time_weight": 0.0, "lexical_names": True, "answer_type_weight": 0.0},
    "previous-default": {
        "fusion": "rrf",
        "window_max_messages": None,
        "session_weight": 0.0,
        "neighbors": 0.0,
        "speaker_weight": 0.0,
        "time_weight": 0.0,
        "lexical_names": True,
        "answer_type_weight": 0.0,
    },
}


def named(name: str, overrides: dict[str, Any]) -> Turnmem:
    strat = Turnmem(**overrides)
    strat.name = name
    return strat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--synthetic", action="store_true", help="use the seeded synthetic set instead of LoCoMo")
    ap.add_argument("--turns", type=int, default=3000)
    ap.add_argument("--categories", default="1,2,3,4")
    ap.add_argument("--conversations", default=None)
    ap.add_argument("--budgets", default="512,1024,2048")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--baselines", default="dense,bm25")
    args = ap.parse_args()

    if args.synthetic:
        from eval.synthetic import generate

        ds = generate(turns=args.turns, seed=7)
        tag = "synthetic"
    else:
        ds = load_locomo(args.data, images="caption").select(
            categories=[c for c in args.categories.split(",") if c],
            conversations=args.conversations.split(",") if args.conversations else None,
        )
        tag = "locomo"
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = [named(v, VARIANTS[v]) for v in args.variants.split(",") if v]
    strategies: list[Any] = [b for b in args.baselines.split(",") if b] + variants
    res = run(ds, strategies=strategies, budgets=budgets, memory_dir=ROOT / "results" / f"memdata-{tag}")
    cell = {(r["strategy"], r["budget"]): r for r in res.summary}
    names = list(dict.fromkeys(r["strategy"] for r in res.summary))
    lines = ["| variant | " + " | ".join(str(b) for b in budgets) + " | p95 ms |", "|---" * (len(budgets) + 2) + "|"]
    for n in names:
        vals = [f"{cell[(n, b)]['recall']:.3f}" for b in budgets]
        p95 = max(cell[(n, b)]["latency_p95_ms"] for b in budgets)
        lines.append(f"| {n} | " + " | ".join(vals) + f" | {p95:.1f} |")
    table = "\n".join(lines)
    print(table)
    out = ROOT / "results" / f"ablation-{tag}"
    out.with_suffix(".md").write_text(table + "\n")
    out.with_suffix(".json").write_text(
        json.dumps({"summary": res.summary, "by_category": res.by_category, "config": res.config}, indent=1)
    )
    print(f"wrote {out}.md / .json")


if __name__ == "__main__":
    main()
