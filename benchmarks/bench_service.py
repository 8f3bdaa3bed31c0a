"""Sustained throughput of the REST service on loopback: writes and context requests per second,
with p50 / p95 latency, for 1, 4 and 8 concurrent clients (a bounded load: each phase runs a
fixed number of seconds). The same run measures the embedded ``Memory`` doing the same work in
one thread, so the HTTP overhead reads as a ratio, and contexts/s of the embedded ``Memory``
with 1 and 2 threads building contexts at once (one or both cores busy).

The chat loop (``--chat-turns`` times, through the client): append a user turn, build its
context right after the append, build it again warm, append a 1,000-word answer
(``benchmarks/chatloop.py``).

Prints a table and writes ``benchmarks/results/service.json``. Not a timed test: absolute
figures depend on the machine (this one: see the JSON's ``machine``).

    python benchmarks/bench_service.py [--seconds 10] [--clients 1,4,8] [--budget 1024]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path
from typing import Any

from chatloop import chat_loop, sustained
from rich.console import Console
from rich.table import Table

from eval.synthetic import generate
from memory.client import Client
from memory.memory import Memory
from memory.service.process import ServerProcess

HERE = Path(__file__).resolve().parent
NS = "bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each load phase")
    ap.add_argument("--clients", default="1,4,8", help="concurrent clients per phase")
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--threads", default="1,2", help="embedded threads building contexts at once")
    ap.add_argument("--chat-turns", type=int, default=20, help="chat-loop iterations through the client")
    ap.add_argument("--answer-words", type=int, default=1000)
    ap.add_argument("--note", default="", help="a note on the machine's load, kept in the JSON and the README")
    ap.add_argument("--seed-turns", type=int, default=600, help="messages in the session that contexts are built on")
    ap.add_argument("--out", default=str(HERE / "results" / "service.json"))
    args = ap.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    console = Console()

    data = generate(turns=args.seed_turns, seed=11)
    conv = data.conversations[0]
    seed_msgs = [{**t.message, "timestamp": t.timestamp.isoformat()} if t.timestamp else t.message for t in conv.turns]
    questions = [q.question for q in conv.questions] or ["what did we say?"]
    texts = [str(t.message.get("content")) for t in conv.turns]
    short = [t for t in texts if len(t.split()) <= 60]

    # A write counts once its vectors are indexed (wait_indexed): the rate the service sustains.
    # Acknowledged at the commit alone, writes outrun the embedder and leave a backlog that the
    # rows after would pay for; how fast an acknowledgement is: bench_assemble's add latency.
    def write(handle: Any, i: int) -> None:
        msg = {"role": "user", "content": f"{short[i % len(short)]} (note {i})"}
        handle.add([msg], session="writes", namespace=NS, wait_indexed=True)

    def write_mixed(handle: Any, i: int) -> None:
        msg = {"role": "user", "content": f"{texts[i % len(texts)]} (note {i})"}
        handle.add([msg], session="mixed", namespace=NS, wait_indexed=True)

    def context(handle: Any, i: int) -> None:
        handle.assemble(questions[i % len(questions)], session="ctx", namespace=NS, budget=args.budget)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        with ServerProcess(Path(tmp) / "served") as server:
            with Client(server.url) as c:
                for k in range(0, len(seed_msgs), 25):  # small writes: each within the client timeout
                    c.add(seed_msgs[k : k + 25], session="ctx", namespace=NS, wait_indexed=True)
            sustained(4, 3.0, lambda: Client(server.url), write)  # warm-up: first batches, caches, connections
            sustained(4, 3.0, lambda: Client(server.url), context)
            for kind, work in (("write", write), ("write-mixed", write_mixed), ("context", context)):
                for n in levels:
                    console.print(f"service {kind}: {n} client(s) for {args.seconds:.0f} s ...")
                    s = sustained(n, args.seconds, lambda: Client(server.url), work)
                    rows.append({"target": "service", "kind": kind, "clients": n, **s})
            console.print(f"service chat loop: {args.chat_turns} turns ...")
            with Client(server.url) as c:
                loop = chat_loop(
                    c, NS, questions, texts, turns=args.chat_turns, budget=args.budget, answer_words=args.answer_words
                )
        mem = Memory.open(Path(tmp) / "embedded")
        for k in range(0, len(seed_msgs), 25):  # small writes: each within the client timeout
            mem.add(seed_msgs[k : k + 25], session="ctx", namespace=NS, wait_indexed=True)
        sustained(1, 3.0, lambda: mem, write)
        sustained(1, 3.0, lambda: mem, context)
        for kind, work in (("write", write), ("write-mixed", write_mixed), ("context", context)):
            for n in threads if kind == "context" else [1]:
                console.print(f"embedded {kind}: {n} thread(s) for {args.seconds:.0f} s ...")
                s = sustained(n, args.seconds, lambda: mem, work)
                rows.append({"target": "embedded", "kind": kind, "clients": n, **s})
        mem.close()

    table = Table(title=f"turnmem service on loopback ({args.seconds:.0f} s per phase, budget {args.budget})")
    for col in ("target", "kind", "clients", "requests", "req/s", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right" if col not in ("target", "kind") else "left")
    for r in rows:
        table.add_row(
            r["target"],
            r["kind"],
            str(r["clients"]),
            str(r["requests"]),
            f"{r['per_s']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
        )
    console.print(table)
    emb = {r["kind"]: r for r in rows if r["target"] == "embedded" and r["clients"] == 1}
    ratios = {
        f"{r['kind']}_{r['clients']}_vs_embedded": r["per_s"] / emb[r["kind"]]["per_s"]
        for r in rows
        if r["target"] == "service"
    }
    for k, v in ratios.items():
        console.print(f"{k}: {v:.2f}x the embedded single-thread rate")
    out = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "seconds": args.seconds,
        "budget": args.budget,
        "seed_turns": len(seed_msgs),
        "rows": rows,
        "ratios": ratios,
        "chat_loop": loop,
        "note": args.note,
    }
    ctx = {r["clients"]: r["per_s"] for r in rows if r["target"] == "embedded" and r["kind"] == "context"}
    if 1 in ctx and 2 in ctx:
        out["contexts_2_vs_1_threads"] = ctx[2] / ctx[1]
        console.print(f"embedded contexts/s, 2 threads ÷ 1: {ctx[2] / ctx[1]:.2f}x")
    console.print(
        f"chat loop: context after an append p95 {loop['context_after_append_ms']['p95']:.1f} ms, warm "
        f"{loop['context_warm_ms']['p95']:.1f} ms ({loop['after_vs_warm_p95']:.2f}x); add of a "
        f"{args.answer_words}-word answer p95 {loop['add_long_ms']['p95']:.1f} ms"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
