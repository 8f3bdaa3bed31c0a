"""Ingest throughput and ``assemble`` latency on one LoCoMo conversation, and the chat loop.

Prints a table and writes ``benchmarks/results/assemble.json``. Figures worth reading are
the ratios measured in the same run: ingest vs the embedder's own throughput on the same
texts, ``assemble`` (query embedding excluded) vs a bare FAISS search of the same k, and the
chat loop's context right after an append vs the same context built again with nothing new.

The chat loop (``benchmarks/chatloop.py``), ``--chat-turns`` times in a session of the
conversation's namespace: ``add`` the user's turn (a LoCoMo question), build the context for
it (query vector given) right after that append, build it once more (warm), embed the same
turn again without storing it and build the context a third time (the control), then ``add``
a 1,000-word assistant answer (LoCoMo text).

``add`` latency, write-behind against embedding before the commit, in one run (``add_latency``):
``--add-turns`` times a short user turn then a 1,000-word answer into a fresh memory opened with
``index_writes="sync"`` (embedded before ``add`` returns: the old behaviour), ``"background"``
back to back (the indexer embeds the previous turns meanwhile, competing for the cores) and
``"background"`` with the indexer idle before each turn (as in a chat, where the model's reply
takes longer than the indexing; the wait for the vectors, ``flush``, is timed apart).
``--only-add-latency`` runs just these rows (a minute) into ``results/add_latency.json``.

    OMP_NUM_THREADS=2 python benchmarks/bench_assemble.py [--data ../shared/data/locomo10.json] [--conversation conv-26]
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

from chatloop import answer_text, chat_loop, pct, pct_summary

from eval.datasets import load_locomo
from eval.runner import ingest
from memory.embedders import default_embedder
from memory.memory import Memory
from memory.stores.sqlite import SQLiteStore

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--conversation", default="conv-26")
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--chat-turns", type=int, default=30, help="chat-loop iterations (user turn, context, answer)")
    ap.add_argument("--answer-words", type=int, default=1000)
    ap.add_argument("--add-turns", type=int, default=30, help="turn pairs (short, long) per add-latency mode")
    ap.add_argument("--only-add-latency", action="store_true", help="only the add-latency rows")
    ap.add_argument("--note", default="", help="a note on the machine's load, kept in the JSON and the README")
    ap.add_argument("--out", default=str(HERE / "results" / "assemble.json"))
    args = ap.parse_args()

    ds = load_locomo(args.data, images="caption").select(conversations=[args.conversation])
    conv = ds.conversations[0]
    emb = default_embedder()
    emb.embed(["warm-up"])
    texts = [f"{t.message.get('name', '')}: {t.text}" for t in conv.turns]

    if args.only_add_latency:
        lat = add_latency(emb, texts, [q.question for q in conv.questions], args)
        print_add_latency(lat)
        out = Path(args.out).with_name("add_latency.json") if args.out == ap.get_default("out") else Path(args.out)
        meta = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "conversation": conv.id}
        meta.update(omp_num_threads=os.environ.get("OMP_NUM_THREADS"), note=args.note, add_latency=lat)
        out.write_text(json.dumps(meta, indent=2))
        print(f"wrote {out}")
        return

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
        loop = chat_loop(
            mem,
            conv.id,
            questions,
            texts,
            turns=args.chat_turns,
            budget=args.budget,
            answer_words=args.answer_words,
            vecs=vecs,
            embed=mem.embedder.embed,
        )
        loop["caches_rebuilt_ms"] = caches_rebuilt_ms(mem, conv.id)
        mem.close()
    lat = add_latency(emb, texts, questions, args)

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
    result["chat_loop"] = loop
    result["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    result["add_latency"] = lat
    result["note"] = args.note

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
    for label, key in (
        ("chat loop: context right after an append (ms)", "context_after_append_ms"),
        ("chat loop: same context, warm (ms)", "context_warm_ms"),
        ("chat loop: same context after an embed, nothing stored (ms)", "context_after_embed_only_ms"),
        ("chat loop: caches rebuilt from the log (ms)", "caches_rebuilt_ms"),
        ("chat loop: add a short user turn (ms)", "add_short_ms"),
        (f"chat loop: add a {args.answer_words}-word answer (ms)", "add_long_ms"),
    ):
        table.add_row(label, f"{loop[key]['p50']:.2f}", f"{loop[key]['p95']:.2f}")
    table.add_row("after an append ÷ warm", f"{loop['after_vs_warm_p50']:.2f}", f"{loop['after_vs_warm_p95']:.2f}")
    table.add_row(
        "after an append ÷ after an embed only",
        f"{loop['after_vs_embed_only_p50']:.2f}",
        f"{loop['after_vs_embed_only_p95']:.2f}",
    )
    table.add_row("embedder alone (texts/s)", f"{bare_embed:.0f}", "")
    table.add_row(
        "ingest (messages/s)", f"{stats['messages_per_s']:.0f}", f"{result['ingest_vs_embedder']:.0%} of embedder"
    )
    Console().print(table)
    print_add_latency(lat)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


ADD_MODES = (
    ("sync", "sync", False),  # embedded before add returns (turnmem before write-behind)
    ("background", "background", False),  # back to back: the indexer works during the next adds
    ("background, indexer idle", "background", True),  # flush (timed apart) before each add
)


def add_latency(emb: Any, texts: list[str], questions: list[str], args: argparse.Namespace) -> dict[str, object]:
    """``add`` of a short user turn and of a long answer, per :data:`ADD_MODES`, each in a fresh memory
    seeded with the conversation's first 100 turns; p50/p95 in ms, and the wait for the vectors."""
    out: dict[str, object] = {"turns": args.add_turns, "answer_words": args.answer_words}
    for label, mode, idle in ADD_MODES:
        short: list[float] = []
        long: list[float] = []
        indexed: list[float] = []  # idle mode: from add's return until the answer's vectors are indexed
        with tempfile.TemporaryDirectory() as tmp:
            mem = Memory.open(tmp, embedder=emb, index_writes=mode)
            mem.add([{"role": "user", "content": t} for t in texts[:100]], session="seed", wait_indexed=True)
            for i in range(args.add_turns):
                for kind, content in (("short", questions[i % len(questions)]), ("long", None)):
                    msg = (
                        {"role": "user", "content": content}
                        if content
                        else {
                            "role": "assistant",
                            "content": answer_text(texts, i * 17, args.answer_words),
                        }
                    )
                    if idle:
                        mem.flush()
                    t = time.perf_counter()
                    mem.add([msg], session="chat")
                    (short if kind == "short" else long).append((time.perf_counter() - t) * 1000)
                    if idle and kind == "long":
                        t = time.perf_counter()
                        mem.flush()
                        indexed.append((time.perf_counter() - t) * 1000)
            mem.close()
        row: dict[str, object] = {
            "add_short_ms": {"p50": pct(short, 50), "p95": pct(short, 95)},
            "add_long_ms": {"p50": pct(long, 50), "p95": pct(long, 95)},
        }
        if indexed:
            row["long_indexed_after_ms"] = {"p50": pct(indexed, 50), "p95": pct(indexed, 95)}
        out[label] = row
    return out


def print_add_latency(lat: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"add latency: a short turn and a {lat['answer_words']}-word answer, {lat['turns']} of each")
    for col in ("index_writes", "measure", "p50 (ms)", "p95 (ms)"):
        table.add_column(col, justify="left" if col in ("index_writes", "measure") else "right")
    for label, _, _ in ADD_MODES:
        row = lat[label]
        for key, what in (
            ("add_short_ms", "add a short turn"),
            ("add_long_ms", f"add a {lat['answer_words']}-word answer"),
            ("long_indexed_after_ms", "its vectors indexed, after add returned"),
        ):
            if key in row:
                table.add_row(label, what, f"{row[key]['p50']:.1f}", f"{row[key]['p95']:.1f}")
    sync, bg = lat["sync"]["add_long_ms"], lat["background"]["add_long_ms"]
    table.add_row(
        "sync ÷ background", "add a long answer", f"{sync['p50'] / bg['p50']:.0f}×", f"{sync['p95'] / bg['p95']:.0f}×"
    )
    Console().print(table)


def caches_rebuilt_ms(mem: Memory, namespace: str, times: int = 10) -> dict[str, float]:
    """What each append used to cost: both caches rebuilt from the whole namespace."""
    rebuilt: list[float] = []
    for _ in range(times):
        fresh = SQLiteStore(mem.store.path)  # type: ignore[attr-defined]
        t = time.perf_counter()
        fresh.session_centroids(namespace), fresh.speakers(namespace)
        rebuilt.append((time.perf_counter() - t) * 1000)
        fresh.close()
    return pct_summary(rebuilt)


if __name__ == "__main__":
    main()
