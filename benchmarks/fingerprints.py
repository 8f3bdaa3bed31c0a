"""Context fingerprints: one hash per (set, question, budget, strategy), to prove a refactor changed no context.

    python benchmarks/fingerprints.py [--sets tuning,chat] [--out benchmarks/results/fingerprints.json]
    python benchmarks/fingerprints.py --check benchmarks/results/fingerprints.json

Ingests LoCoMo's tuning half (categories 1-4, captions for images) and the chat set (seed 7) as
``turnmem eval`` does, then builds every question's context with ``turnmem`` (the defaults) and
``turnmem-generic`` at every budget from 256 to 4096, and hashes each whole ``Context`` (messages,
tokens, hits with their score breakdowns, sources). ``--check`` rebuilds them and lists every key
whose hash moved; its exit code is 1 if any did.

The memory embeds at write time (``index_writes="sync"``): each ``add`` embeds its own turns in
one batch, so the vectors do not depend on how the background indexer happened to batch them
(ONNX Runtime's floats differ in the last digits with the batch's padding, which moves the
session scores by ~1e-9 from run to run). Two hashes per context: ``exact`` (the whole JSON) and
``chosen`` (messages, tokens, and each hit's chunk, reason and rank: what was put in the context).
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
from memory.models import Context

ROOT = Path(__file__).resolve().parents[1]
TUNING = ["conv-26", "conv-41", "conv-43", "conv-47", "conv-49"]
BUDGETS = [256, 512, 1024, 2048, 4096]
VARIANTS: dict[str, dict[str, Any]] = {"turnmem": {}, "turnmem-generic": GENERIC_OVERRIDES}


def dataset(name: str, locomo: str | None, only: list[str] | None = None) -> Dataset:
    ds = load_dataset("chat") if name == "chat" else load_locomo(locomo, images="caption")
    convs = TUNING if name == "tuning" else [c.id for c in ds.conversations]
    if only:
        convs = [c for c in convs if c in only]
    return ds.select(categories=None if name == "chat" else ["1", "2", "3", "4"], conversations=convs)


def fingerprint(ctx: Context) -> str:
    """``exact:chosen``: a hash of the whole context, and one of what it holds (no scores)."""
    chosen = json.dumps(
        [ctx.messages, ctx.tokens, [(h.chunk_id, h.reason, h.rank) for h in ctx.hits]], sort_keys=True, default=str
    )
    return f"{_h(ctx.model_dump_json())}:{_h(chosen)}"


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprints(ds: Dataset, folder: Path, dump: Path | None = None) -> dict[str, str]:
    """``{"<conv>/<question index>/<budget>/<variant>": hash}`` for every question of ``ds``."""
    out: dict[str, str] = {}
    with Memory.open(folder, index_writes="sync") as mem:
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
                        key = f"{conv.id}/{i}/{budget}/{name}"
                        out[key] = fingerprint(ctx)
                        if dump is not None:
                            (dump / (key.replace("/", "_") + ".json")).write_text(ctx.model_dump_json(indent=1))
                bar.advance(task)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="tuning,chat")
    ap.add_argument("--data", default=None, help="path to locomo10.json")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fingerprints.json"))
    ap.add_argument("--check", default=None, help="a fingerprints JSON to compare against")
    ap.add_argument("--conversations", default=None, help="only these conversation ids (comma-separated)")
    ap.add_argument("--dump", default=None, help="a folder to write every context's JSON into (for diffs)")
    args = ap.parse_args()
    got: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="turnmem-fp-") as tmp:
        for name in [s for s in args.sets.split(",") if s]:
            only = args.conversations.split(",") if args.conversations else None
            dump = Path(args.dump) if args.dump else None
            if dump is not None:
                dump.mkdir(parents=True, exist_ok=True)
            ds = dataset(name, args.data, only)
            if ds.conversations:
                got[name] = fingerprints(ds, Path(tmp) / name, dump)
    if args.check:
        want = json.loads(Path(args.check).read_text())["sets"]

        def part(value: str | None, i: int) -> str | None:
            return None if value is None else value.split(":")[i]

        moved = [f"{s}:{k}" for s in got for k in got[s] if part(want.get(s, {}).get(k), 1) != part(got[s][k], 1)]
        rescored = [f"{s}:{k}" for s in got for k in got[s] if part(want.get(s, {}).get(k), 0) != part(got[s][k], 0)]
        moved_convs = sorted({m.split("/")[0] for m in moved})
        print("conversations with moved contexts:", ", ".join(moved_convs) or "none")
        total = sum(len(v) for v in got.values())
        print(f"{total - len(moved)} of {total} contexts hold the same messages and hits; {len(moved)} moved")
        print(f"{total - len(rescored)} of {total} are byte-identical (scores included); {len(rescored)} differ")
        for key in moved:
            print("  moved:", key)
        sys.exit(1 if moved else 0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"budgets": BUDGETS, "variants": list(VARIANTS), "sets": got}, indent=0) + "\n")
    print(f"wrote {out}: {sum(len(v) for v in got.values())} contexts")


if __name__ == "__main__":
    main()
