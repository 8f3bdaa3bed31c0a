"""Ingest throughput and ``assemble`` latency on one LoCoMo conversation.

Prints a table and writes ``benchmarks/results/assemble.json``. Figures worth reading are
the ratios measured in the same run: ingest vs the embedder's own throughput on the same
texts, and ``assemble`` (query embedding excluded) vs a bare FAISS search of the same k.

    python benchmarks/bench_assemble.py [--data ../shared/data/locomo10.json] [--conversation conv-26]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.datasets import load_locomo
from eval.runner import ingest
from memory.embedders import default_embedder
from memory.memory import Memory

HERE = Path(__file__).resolve().parent


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--conversation", default="conv-26")
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", default=str(HERE / "results" / "assemble.json"))
    args = ap.parse_args()

    ds = load_locomo(args.data, images="caption").select(conversations=[args.conversation])
    conv = ds.conversations[0]
    emb = default_embedder()
    emb.embed(["warm-up"])
    texts = [f"{t.message.get('name', '')}: {t.text}" for t in conv.turns]

    t0 = time.perf_counter()
    emb.embed(texts)
    bare_embed = len(texts) / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory.open(tmp, embedder=emb)
        stats = ingest(mem, ds, progress=False)
        questions = [q.question for q in conv.questions][: args.queries]
        t0 = time.perf_counter()
        vecs = emb.embed(questions)
        embed_ms_batch = (time.perf_counter() - t0) * 1000 / len(questions)
        now = conv.questions[0].date

        def timed(fn, n: int) -> list[float]:  # noqa: ANN001
            out = []
            for i in range(n):
                t = time.perf_counter()
                fn(i)
                out.append((time.perf_counter() - t) * 1000)
            return out

        n = len(questions)
        k = mem.config.candidates
        for i in range(min(20, n)):  # warm caches
            mem.assemble(questions[i], namespace=conv.id, budget=args.budget, query_vector=vecs[i], now=now)
        with_vec = timed(
            lambda i: mem.assemble(questions[i], namespace=conv.id, budget=args.budget, query_vector=vecs[i], now=now),
            n,
        )
        with_embed = timed(lambda i: mem.assemble(questions[i], namespace=conv.id, budget=args.budget, now=now), n)
        window_only = timed(lambda i: mem.assemble(None, namespace=conv.id, budget=args.budget), n)
        bare = timed(lambda i: mem.index.search(vecs[i], k, namespace=conv.id), n)
        chunks = mem.store.chunk_count(conv.id)
        mem.close()

    result = {
        "machine": {"platform": platform.platform(), "cpus": __import__("os").cpu_count()},
        "conversation": conv.id,
        "messages": len(texts),
        "chunks": chunks,
        "budget": args.budget,
        "queries": n,
        "embedder_texts_per_s": bare_embed,
        "ingest_messages_per_s": stats["messages_per_s"],
        "ingest_vs_embedder": stats["messages_per_s"] / bare_embed,
        "query_embed_ms_batched": embed_ms_batch,
        "assemble_ms": {"p50": pct(with_vec, 50), "p95": pct(with_vec, 95)},
        "assemble_with_query_embedding_ms": {"p50": pct(with_embed, 50), "p95": pct(with_embed, 95)},
        "assemble_no_query_ms": {"p50": pct(window_only, 50), "p95": pct(window_only, 95)},
        "bare_faiss_search_ms": {"p50": pct(bare, 50), "p95": pct(bare, 95), "k": k},
    }
    result["assemble_vs_bare_search_p50"] = result["assemble_ms"]["p50"] / result["bare_faiss_search_ms"]["p50"]

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"turnmem on LoCoMo {conv.id}: {len(texts)} messages, {chunks} chunks, budget {args.budget}")
    table.add_column("measure")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    for label, key in (
        ("assemble, query vector given (ms)", "assemble_ms"),
        ("assemble, query embedded inside (ms)", "assemble_with_query_embedding_ms"),
        ("assemble, no query: window only (ms)", "assemble_no_query_ms"),
        (f"bare FAISS search k={k} (ms)", "bare_faiss_search_ms"),
    ):
        table.add_row(label, f"{result[key]['p50']:.2f}", f"{result[key]['p95']:.2f}")
    table.add_row("embedder alone (texts/s)", f"{bare_embed:.0f}", "")
    table.add_row(
        "ingest (messages/s)", f"{stats['messages_per_s']:.0f}", f"{result['ingest_vs_embedder']:.0%} of embedder"
    )
    Console().print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
