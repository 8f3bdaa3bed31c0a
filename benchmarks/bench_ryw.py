"""Read-your-writes: what a context right after ``add`` costs, and what it finds.

Two measurements on LoCoMo conv-26 (real MiniLM), written to ``benchmarks/results/ryw.json``:

- **Chat loop** (``benchmarks/chatloop.py``): a short user turn, then its context (query embedded
  inside ``assemble``), the same context again warm, then a 1,000-word answer. ``think``: the
  indexer is given the time a user takes to read and type (``flush()`` after the answer, not
  timed), so the context right after the turn waits at most for that one turn's vector;
  ``back to back``: no pause, so it may also wait for the previous answer's chunks. The bar: the
  context after the turn is slower than warm by at most one embedding of the turn (``embed_one``).
- **Import a history, then ask**: the conversation's turns added session by session into a fresh
  memory, then its questions asked at once, one after another; for each, whether every evidence
  turn is in the context, against the same questions after ``flush()``; and the first context's
  latency and ``unindexed``.

Runs on the code on ``sys.path``: to compare with an older checkout, run this file with
``PYTHONPATH=/path/to/old/checkout`` (the script only uses what both have).

    OMP_NUM_THREADS=1 python benchmarks/bench_ryw.py [--label new] [--out benchmarks/results/ryw.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from chatloop import chat_loop, pct_summary

import memory
from eval.datasets import load_locomo
from eval.runner import ingest
from memory.embedders import default_embedder
from memory.memory import Memory

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "locomo10.json"


def import_then_ask(emb: Any, conv: Any, budget: int, questions: int) -> dict[str, Any]:
    """Add the conversation, then ask at once; the same questions after ``flush()``."""
    asked = [q for q in conv.questions if q.evidence][:questions]
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory.open(tmp, embedder=emb)
        where: dict[str, tuple[str, int]] = {}
        t0 = time.perf_counter()
        for sess in conv.sessions:
            batch = [{**t.message, **({} if t.timestamp is None else {"timestamp": t.timestamp})} for t in sess.turns]
            seqs = mem.add(batch, session=sess.id, namespace=conv.id)
            where.update({t.id: (sess.id, s) for t, s in zip(sess.turns, seqs)})
        import_ms = (time.perf_counter() - t0) * 1000

        def found(ctx: Any, q: Any) -> bool:
            refs = {(r.session, r.seq) for r in ctx.refs()}
            return all(where[e] in refs for e in q.evidence if e in where)

        rows = []
        for i, q in enumerate(asked):
            t = time.perf_counter()
            ctx = mem.assemble(q.question, namespace=conv.id, budget=budget, now=q.date)
            rows.append(
                {
                    "ms": (time.perf_counter() - t) * 1000,
                    "found": found(ctx, q),
                    "unindexed": getattr(ctx, "unindexed", None),
                    "messages": ctx.messages,
                    "first": i == 0,
                }
            )
        t = time.perf_counter()
        mem.flush()
        flush_ms = (time.perf_counter() - t) * 1000
        after = [mem.assemble(q.question, namespace=conv.id, budget=budget, now=q.date) for q in asked]
        mem.close()
    return {
        "turns": len(where),
        "questions": len(asked),
        "import_ms": import_ms,
        "first_context_ms": rows[0]["ms"],
        "first_context_unindexed": rows[0]["unindexed"],
        "found_at_once": sum(r["found"] for r in rows),
        "found_after_flush": sum(found(c, q) for c, q in zip(after, asked)),
        "same_messages_as_after_flush": sum(r["messages"] == c.messages for r, c in zip(rows, after)),
        "flush_after_questions_ms": flush_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--conversation", default="conv-26")
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--turns", type=int, default=20, help="chat-loop iterations per mode")
    ap.add_argument("--questions", type=int, default=32)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default=str(HERE / "results" / "ryw.json"))
    args = ap.parse_args()

    ds = load_locomo(args.data, images="caption").select(conversations=[args.conversation])
    conv = ds.conversations[0]
    emb = default_embedder()
    emb.embed(["warm-up"])
    questions = [q.question for q in conv.questions]
    texts = [t.text for t in conv.turns]
    one = []
    for q in questions[:50]:
        t = time.perf_counter()
        emb.embed([q])
        one.append((time.perf_counter() - t) * 1000)
    result: dict[str, Any] = {"label": args.label, "memory_package": str(Path(memory.__file__).parent.parent)}
    result["embed_one_turn_ms"] = pct_summary(one)
    result["import_then_ask"] = import_then_ask(emb, conv, args.budget, args.questions)
    loops: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory.open(tmp, embedder=emb)
        ingest(mem, ds, progress=False)
        for mode in ("think", "back to back"):
            pause = mem.flush if mode == "think" else None
            loops[mode] = chat_loop(
                mem,
                conv.id,
                questions,
                texts,
                turns=args.turns,
                budget=args.budget,
                session=f"loop-{mode}",
                after_answer=pause,
            )
        mem.close()
    result["chat_loop"] = loops
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count()}
    result["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    result["load_average"] = os.getloadavg()

    e1 = result["embed_one_turn_ms"]["p50"]
    it = result["import_then_ask"]
    print(f"code: {result['memory_package']}  embed one turn p50 {e1:.1f} ms")
    print(
        f"import {it['turns']} turns then ask {it['questions']}: found {it['found_at_once']} at once vs "
        f"{it['found_after_flush']} after flush; same messages {it['same_messages_as_after_flush']}/{it['questions']}; "
        f"first context {it['first_context_ms']:.0f} ms, unindexed {it['first_context_unindexed']}"
    )
    print(
        f"{'chat loop':14} {'after p50':>10} {'after p95':>10} {'warm p50':>9} {'warm p95':>9} {'after-warm p50':>15}"
    )
    for mode, loop in loops.items():
        a, w = loop["context_after_append_ms"], loop["context_warm_ms"]
        print(
            f"{mode:14} {a['p50']:10.1f} {a['p95']:10.1f} {w['p50']:9.1f} {w['p95']:9.1f} {a['p50'] - w['p50']:15.1f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
