"""Context fingerprints: one hash per (set, question, budget, strategy), to prove a refactor changed no context.

    python benchmarks/fingerprints.py [--sets tuning,chat] [--out benchmarks/results/fingerprints.json]
    python benchmarks/fingerprints.py --check benchmarks/results/fingerprints.json

Ingests LoCoMo's tuning half (categories 1-4, captions for images) and the chat set (seed 7) as
``turnmem eval`` does, then builds every question's context with ``turnmem`` (the defaults) and
``turnmem-generic`` at every budget from 256 to 4096, and hashes each whole ``Context`` (messages,
tokens, hits with their score breakdowns, sources). ``--check`` rebuilds them and lists every key
whose hash moved; its exit code is 1 if any did.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.progress import Progress

from eval.datasets import Dataset, load_dataset, load_locomo
from eval.ingest import ingest
from eval.strategies import GENERIC_OVERRIDES
from memory.memory import Memory

ROOT = Path(__file__).resolve().parents[1]
TUNING = ["conv-26", "conv-41", "conv-43", "conv-47", "conv-49"]
BUDGETS = [256, 512, 1024, 2048, 4096]
VARIANTS: dict[str, dict[str, Any]] = {"turnmem": {}, "turnmem-generic": GENERIC_OVERRIDES}


def dataset(name: str, locomo: str | None) -> Dataset:
    if name == "chat":
        return load_dataset("chat")
    return load_locomo(locomo, images="caption").select(categories=["1", "2", "3", "4"], conversations=TUNING)


def fingerprint(ctx_json: str) -> str:
    return hashlib.sha256(ctx_json.encode()).hexdigest()[:16]


def fingerprints(ds: Dataset, folder: Path) -> dict[str, str]:
    """``{"<conv>/<question index>/<budget>/<variant>": hash}`` for every question of ``ds``."""
    out: dict[str, str] = {}
    with Memory.open(folder) as mem:
        ingest(mem, ds, progress=True)
        questions = [(c, i, q) for c in ds.conversations for i, q in enumerate(c.questions)]
        vectors = mem.embedder.embed([q.question for _, _, q in questions])
        with Progress() as bar:
            task = bar.add_task(f"contexts {ds.name}", total=len(questions))
            for (conv, i, q), vec in zip(questions, vectors):
                now = q.date.timestamp() if q.date else None
                for budget in BUDGETS:
                    for name, overrides in VARIANTS.items():
                        ctx = mem.assemble(
                            q.question,
                            namespace=conv.id,
                            budget=budget,
                            query_vector=vec,
                            now=now,
                            **overrides,
                        )
                        out[f"{conv.id}/{i}/{budget}/{name}"] = fingerprint(ctx.model_dump_json())
                bar.advance(task)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="tuning,chat")
    ap.add_argument("--data", default=None, help="path to locomo10.json")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fingerprints.json"))
    ap.add_argument("--check", default=None, help="a fingerprints JSON to compare against")
    args = ap.parse_args()
    got: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="turnmem-fp-") as tmp:
        for name in [s for s in args.sets.split(",") if s]:
            got[name] = fingerprints(dataset(name, args.data), Path(tmp) / name)
    if args.check:
        want = json.loads(Path(args.check).read_text())["sets"]
        moved = [f"{s}:{k}" for s in got for k in got[s] if want.get(s, {}).get(k) != got[s][k]]
        total = sum(len(v) for v in got.values())
        print(f"{total - len(moved)} of {total} contexts identical; {len(moved)} moved")
        for key in moved[:50]:
            print("  moved:", key)
        sys.exit(1 if moved else 0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"budgets": BUDGETS, "variants": list(VARIANTS), "sets": got}, indent=0) + "\n")
    print(f"wrote {out}: {sum(len(v) for v in got.values())} contexts")


if __name__ == "__main__":
    main()
