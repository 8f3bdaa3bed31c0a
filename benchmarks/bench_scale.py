"""Cost as a namespace grows: assemble latency, search recall, ingest, disk and memory per chunk.

For namespaces of 1k, 10k and 100k chunks (1M with ``--sizes 1000,10000,100000,1000000``),
one synthetic conversation (``eval.synthetic`` turns, cycled over seeds) is ingested
through the real ``Memory.add`` path and measured with each index backend: FAISS exact
(flat), FAISS HNSW, and Chroma (persistent folder and a ``chroma run`` server, up to
``--chroma-max``). Prints a table and writes ``benchmarks/results/scale.json``.

Vectors: up to ``--real-max`` chunks every text is embedded by the real MiniLM (that run
also gives the ingest-vs-embedder ratio). Above it, embedding takes hours on 2 cores, so
:class:`MixtureEmbedder` synthesizes vectors that keep the structure of MiniLM's: each text
gets ``normalize(a * e_i + (1 - a) * e_j + sigma * noise)`` where ``e_i`` is the real
embedding of the same text when it is among the ``--base`` texts embedded for real (else
of a base text picked by the text's hash), ``e_j`` a random other base embedding and
``a ~ U(0.7, 0.98)``. Queries are always real MiniLM embeddings of the generated
questions. At the largest real size the script compares HNSW recall and neighbour
similarities on the real vectors and on synthesized vectors of the same texts.

At each size, the chat loop (``benchmarks/chatloop.py``, ``--chat-turns``, 0 for none) runs last
on the flat index: append a user turn, build its context (query vector given) right after the
append and again warm, append a 1,000-word answer; it embeds with the size's embedder (MiniLM
up to ``--real-max``). ``--chat-only`` skips the index backends (and the embedder comparison)
and writes ``benchmarks/results/scale-chat.json``, a few minutes for 1k and 10k chunks with
``--real-max 1000``.

Not a timed test: absolute figures depend on the machine; read the ratios measured in the
same run (assemble vs bare search, ingest vs embedder, after an append vs warm).

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--queries 100] [--profile]
    python benchmarks/bench_scale.py --chat-only --sizes 1000,10000 --real-max 1000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psutil
from chatloop import chat_loop
from scale_data import (
    DIM,
    NS,
    TURNS_PER_DATASET,
    MixtureEmbedder,
    RecordingEmbedder,
    chunk_texts,
    questions,
    sessions,
)
from scale_probes import ChromaServer, dir_bytes, neighbour_stats, recall, rss, timed
from scale_reads import measure_indexes, measure_reads, profile_assemble

from indexers import FaissIndex
from memory.embedders import default_embedder
from memory.memory import Memory
from memory.stores.sqlite import SQLiteStore as Store
from memory.tokens import get_counter
from memory.write.chunking import Chunker

HERE = Path(__file__).resolve().parent

__all__ = [  # the helpers live in scale_data, scale_probes and scale_reads; importable from here as before
    "DIM",
    "NS",
    "TURNS_PER_DATASET",
    "ChromaServer",
    "MixtureEmbedder",
    "RecordingEmbedder",
    "chunk_texts",
    "dir_bytes",
    "fmt_table",
    "ingest",
    "measure_indexes",
    "measure_reads",
    "neighbour_stats",
    "profile_assemble",
    "questions",
    "recall",
    "rss",
    "run_size",
    "sessions",
    "synthesis_check",
    "timed",
]


# -- one size --------------------------------------------------------------------------------


def ingest(mem: Memory, size: int) -> dict[str, float]:
    """Add whole sessions until the namespace holds ``size`` chunks (a little over)."""
    t0 = time.perf_counter()
    msgs = 0
    for sid, batch in sessions(10 * size + 1000):
        mem.add(batch, session=sid, namespace=NS)
        msgs += len(batch)
        if mem.store.max_chunk_id() >= size:
            break
    mem.flush()  # ingest ends when every chunk is indexed (write-behind embeds after add returns)
    mem.index.persist()
    secs = time.perf_counter() - t0
    chunks = mem.store.chunk_count(NS)
    return {
        "messages": msgs,
        "chunks": chunks,
        "seconds": secs,
        "messages_per_s": msgs / secs,
        "chunks_per_s": chunks / secs,
    }


def run_size(size: int, args: argparse.Namespace, ctx: dict[str, Any]) -> dict[str, Any]:
    real = size <= args.real_max
    res: dict[str, Any] = {"chunks_target": size, "vectors": "MiniLM" if real else "synthesized (MixtureEmbedder)"}
    root = Path(tempfile.mkdtemp(prefix=f"turnmem-scale-{size}-", dir=args.tmp))
    try:
        gc.collect()
        rss0 = rss()
        if real:
            emb: Any = RecordingEmbedder(ctx["real"])
        else:
            emb = MixtureEmbedder(ctx["base_texts"], ctx["base"], sigma=args.sigma)
        flat = FaissIndex(DIM, root / "mem" / "index")
        mem = Memory(Store(root / "mem" / "turnmem.db"), embedder=emb, index=flat, counter=ctx["counter"])
        ing = ingest(mem, size)
        ing["embed_seconds_inside"] = emb.seconds
        ing["rss_delta_bytes"] = rss() - rss0
        res["ingest"] = ing
        n_chunks = ing["chunks"]
        res["chunks"] = n_chunks
        print(f"[{size}] ingested {ing['messages']} messages / {n_chunks} chunks in {ing['seconds']:.1f} s", flush=True)
        if real and not args.chat_only:
            texts = [t for b in emb.batches for t in b]
            inner = ctx["real"]
            t0 = time.perf_counter()
            for b in emb.batches:
                inner.embed(b)
            same_batches = time.perf_counter() - t0
            t0 = time.perf_counter()
            inner.embed(texts)
            one_call = time.perf_counter() - t0
            ing["embedder_texts"] = len(texts)
            ing["embedder_texts_per_s_same_batches"] = len(texts) / same_batches
            ing["embedder_texts_per_s_one_call"] = len(texts) / one_call
            ing["ingest_vs_embedder_same_batches"] = same_batches / ing["seconds"]
            ing["ingest_vs_embedder_one_call"] = one_call / ing["seconds"]
            ctx["real_texts"] = texts
            ctx["real_vectors"] = np.concatenate(emb.outputs)
        elif not real:
            # what ingest would give with the real embedder: our time per chunk plus its time per text
            ours = (ing["seconds"] - emb.seconds) / n_chunks
            per_text = 1.0 / ctx["embedder_texts_per_s"]
            ing["overhead_ms_per_chunk"] = ours * 1000
            ing["implied_ingest_vs_embedder"] = per_text / (per_text + ours)

        if not args.chat_only:
            measure_indexes(mem, flat, root, size, args, ctx, res)
        if args.chat_turns:
            print(f"[{size}] chat loop: {args.chat_turns} turns ...", flush=True)
            res["chat_loop"] = chat_loop(
                mem,
                NS,
                ctx["questions"],
                ctx["base_texts"],
                turns=args.chat_turns,
                budget=args.budget,
                answer_words=args.answer_words,
                vecs=ctx["query_vectors"],
                embed=mem.embedder.embed,
            )
            loop = res["chat_loop"]
            print(
                f"[{size}] context after an append p95 {loop['context_after_append_ms']['p95']:.1f} ms, warm "
                f"{loop['context_warm_ms']['p95']:.1f} ms ({loop['after_vs_warm_p95']:.2f}x)",
                flush=True,
            )
        mem.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return res


def synthesis_check(ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """At the largest real size: the same texts, real vs synthesized vectors."""
    texts = ctx["real_texts"]
    real = ctx["real_vectors"]
    synth = MixtureEmbedder(ctx["base_texts"], ctx["base"], sigma=args.sigma, seed=1).embed(texts)
    rng = np.random.default_rng(0)
    uniform = rng.normal(size=real.shape).astype(np.float32)
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    q = ctx["query_vectors"][: args.queries]
    kw = {"m": args.hnsw_m, "ef_c": args.ef_construction, "ef_s": args.ef_search}
    return {
        "chunks": len(texts),
        "real_minilm": neighbour_stats(real, q, **kw),
        "synthesized": neighbour_stats(synth, q, **kw),
        "uniform_random": neighbour_stats(uniform, q, **kw),
    }


# -- report ----------------------------------------------------------------------------------


def fmt_table(result: dict[str, Any]) -> str:
    lines = [
        "| chunks | vectors | backend | assemble p50 ms | assemble p95 ms | search p50 ms | search p95 ms "
        "| assemble ÷ search (p95) | recall@50 |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["sizes"]:
        flat_p95 = r["reads"][0]["search_ms"]["p95"]
        for row in r["reads"]:
            a, s = row["assemble_ms"], row["search_ms"]
            rec = row.get("recall@50")
            lines.append(
                f"| {r['chunks']:,} | {'real' if r['vectors'] == 'MiniLM' else 'synth'} | {row['backend']} "
                f"| {a['p50']:.1f} | {a['p95']:.1f} | {s['p50']:.2f} | {s['p95']:.2f} "
                f"| {a['p95'] / s['p95']:.0f}× ({a['p95'] / flat_p95:.0f}× flat) | "
                f"{'' if rec is None else f'{rec:.3f}'} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--real-max", type=int, default=10_000, help="embed for real up to this many chunks")
    ap.add_argument("--chroma-max", type=int, default=100_000)
    ap.add_argument("--no-chroma", action="store_true")
    ap.add_argument("--hnsw-min", type=int, default=10_000)
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=80)
    ap.add_argument("--ef-search", type=int, default=128)
    ap.add_argument("--base", type=int, default=2000, help="real texts embedded as the synthesis base")
    ap.add_argument("--sigma", type=float, default=0.15)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--profile", action="store_true", help="cProfile assemble at the largest size")
    ap.add_argument("--omp-threads", type=int, default=1, help="FAISS OpenMP threads (0: FAISS's default)")
    ap.add_argument("--chat-turns", type=int, default=20, help="chat-loop iterations per size (0: none)")
    ap.add_argument("--answer-words", type=int, default=1000)
    ap.add_argument("--chat-only", action="store_true", help="ingest and the chat loop only (no index backends)")
    ap.add_argument("--note", default="", help="a note on the machine's load, kept in the JSON and the README")
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--out", default=None, help="default results/scale.json (scale-chat.json with --chat-only)")
    args = ap.parse_args()
    args.out = args.out or str(HERE / "results" / ("scale-chat.json" if args.chat_only else "scale.json"))
    args.sizes_list = [int(s) for s in args.sizes.split(",")]

    t_start = time.perf_counter()
    if args.omp_threads:
        faiss.omp_set_num_threads(args.omp_threads)
    counter = get_counter("o200k_base")
    real = default_embedder()
    real.embed(["warm-up"])
    chunker = Chunker(counter)
    base_texts: list[str] = []
    seen: set[str] = set()
    for _, msgs in sessions(10**9):
        for t in chunk_texts(msgs, chunker):
            if t not in seen:
                seen.add(t)
                base_texts.append(t)
        if len(base_texts) >= args.base:
            break
    base_texts = base_texts[: args.base]
    t0 = time.perf_counter()
    base = real.embed(base_texts)
    base_rate = len(base_texts) / (time.perf_counter() - t0)
    qs = questions(args.queries)
    ctx: dict[str, Any] = {
        "counter": counter,
        "real": real,
        "base_texts": base_texts,
        "base": base,
        "questions": qs,
        "query_vectors": real.embed(qs),
        "embedder_texts_per_s": base_rate,
    }
    print(f"base: {len(base_texts)} texts embedded at {base_rate:.0f} texts/s", flush=True)

    result: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ram_gb": round(psutil.virtual_memory().total / 2**30),
            "note": args.note or "shared with other jobs while running",
        },
        "config": {k: v for k, v in vars(args).items() if k != "sizes_list"},
        "synthesis": "normalize(a*e_i + (1-a)*e_j + sigma*n/sqrt(d)), a~U(0.7,0.98), e_i = real MiniLM embedding "
        "of the text when it is a base text else of a base text by hash, e_j random base text, n ~ N(0, I)",
        "sizes": [],
    }
    for size in args.sizes_list:
        r = run_size(size, args, ctx)
        result["sizes"].append(r)
        if "embedder_texts_per_s_one_call" in r["ingest"]:
            ctx["embedder_texts_per_s"] = r["ingest"]["embedder_texts_per_s_one_call"]
        real_sizes = [s for s in args.sizes_list if s <= args.real_max]
        if real_sizes and size == max(real_sizes) and "real_texts" in ctx:
            result["synthesis_check"] = synthesis_check(ctx, args)
            print("synthesis check:", json.dumps(result["synthesis_check"], indent=1), flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
    result["total_s"] = time.perf_counter() - t_start
    Path(args.out).write_text(json.dumps(result, indent=2))
    if not args.chat_only:
        print(fmt_table(result))
    print(f"wrote {args.out} in {result['total_s']:.0f} s")


if __name__ == "__main__":
    main()
