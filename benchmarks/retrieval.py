"""Retrieval results, reported honestly: the data no choice looked at, apart from the data tuned on.

    python benchmarks/retrieval.py [--sets heldout,tuning,chat] [--data ../shared/data/locomo10.json]

Runs ``eval.run`` (the same harness as ``turnmem eval``) on

- ``heldout``: LoCoMo's held-out half (conv-30, 42, 44, 48, 50), categories 1-4: no retrieval
  choice of issue 14 looked at these conversations (they were looked at once by issue 5's
  neighbour choice, see docs/ablation.md);
- ``tuning``: LoCoMo's tuning half (conv-26, 41, 43, 47, 49), categories 1-4: where the
  defaults were chosen;
- ``chat``: the seeded chatbot-shaped set (``eval/synthetic_chat.py``), a development set
  (tuned on, like the tuning half);
- ``prefs`` and ``projects``: the development sets of issue 30 (``eval/synthetic_prefs.py``,
  ``eval/synthetic_projects.py``; docs/devsets.md), tuned on; each projects question is asked
  as of its point in the history (``asked_after``);

with plain dense RAG, BM25 (bm25s, stemmed, stop words out), ``turnmem`` (the defaults) and
``turnmem-generic`` (the defaults without LoCoMo-shaped priors). Writes
``benchmarks/results/retrieval.json`` (summaries per strategy × budget and per category);
``benchmarks/update_readme.py`` turns it into the README's tables; each set's recall-vs-tokens
plot goes to ``docs/img/retrieval_<set>.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from eval.datasets import Dataset, load_dataset, load_locomo
from eval.report import plot_recall_vs_tokens
from eval.runner import run

ROOT = Path(__file__).resolve().parents[1]
TUNING = ["conv-26", "conv-41", "conv-43", "conv-47", "conv-49"]
HELDOUT = ["conv-30", "conv-42", "conv-44", "conv-48", "conv-50"]
STRATEGIES = ["dense", "bm25", "turnmem", "turnmem-generic"]
SETS: dict[str, dict[str, Any]] = {
    "heldout": {"title": "LoCoMo held-out half (cats 1-4), untouched by tuning", "budgets": [512, 1024, 2048]},
    "tuning": {"title": "LoCoMo tuning half (cats 1-4), tuned on", "budgets": [512, 1024, 2048]},
    "chat": {"title": "chatbot set (synthetic, seed 7), tuned on", "budgets": [1024, 2048, 4096]},
    "prefs": {"title": "preferences set (synthetic, seed 7), tuned on", "budgets": [1024, 2048, 4096]},
    "projects": {
        "title": "projects set (synthetic, seed 7; each question as of its point), tuned on",
        "budgets": [1024, 2048, 4096],
    },
}


def dataset(name: str, locomo: str | None) -> Dataset:
    if name in ("chat", "prefs", "projects"):
        return load_dataset(name)
    convs = HELDOUT if name == "heldout" else TUNING
    return load_locomo(locomo, images="caption").select(categories=["1", "2", "3", "4"], conversations=convs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--data", default=None, help="path to locomo10.json")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--memory-dir", default=str(ROOT / "results" / "memdata-retrieval"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "retrieval.json"))
    args = ap.parse_args()
    out = Path(args.out)
    report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {"sets": {}}
    for name in [s for s in args.sets.split(",") if s]:
        spec = SETS[name]
        ds = dataset(name, args.data)
        t0 = time.perf_counter()
        res = run(
            ds,
            strategies=args.strategies.split(","),
            budgets=spec["budgets"],
            memory_dir=Path(args.memory_dir) / ds.name,
        )
        print(f"\n## {spec['title']}")
        print(res.markdown())
        plot_recall_vs_tokens(res.summary, ROOT / "docs" / "img" / f"retrieval_{name}.png", title=spec["title"])
        report["sets"][name] = {
            **spec,
            "dataset": ds.name,
            "conversations": [c.id for c in ds.conversations],
            "questions": len(ds.questions),
            "summary": res.summary,
            "by_category": res.by_category,
            "minutes": round((time.perf_counter() - t0) / 60, 1),
        }
    report["machine"] = f"{platform.platform()}, {platform.machine()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
