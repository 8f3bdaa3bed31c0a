"""turnmem and mem0 side by side on one LoCoMo conversation, measured interleaved in one run.

mem0 (``mem0ai==2.2.1``, local Qdrant, ``add(..., infer=False)``: no LLM) runs in its own
virtualenv as a peer process (``benchmarks/peers/mem0_peer.py``, JSON lines on a pipe; it
times its own calls). Both sides run the same MiniLM weights with the same number of threads:
mem0 through sentence-transformers from turnmem's bundled folder, turnmem through its default
embedder (named in the JSON: a different runtime shows in the embedder rows). For each turn
of the conversation: mem0 ``add`` and turnmem ``add`` of that one message; then for each of
the conversation's questions: mem0 ``search(question)`` and turnmem ``assemble(question,
budget=...)`` with the query embedded inside, and each side's embedder alone on the same
question (the model's share of the call). Which side goes first alternates from one item to
the next. Each call is timed by wall clock and by its thread's CPU time (with one thread,
both sides run on the calling thread), so the CPU figures hold on a machine other jobs load.

mem0's optional extras stay off: spaCy (lemmas, entity boosts) and fastembed (BM25) load
models from a hub at run time, so its search is the dense one. turnmem builds a whole
context (recent window, hybrid retrieval, priors, packing under the budget, exact token
counts), mem0 returns its top-k memories: the comparison is the time a chatbot waits.

The peer virtualenv is made on first use (``--venv``, default ``results/mem0-venv``, which
git ignores): torch (the CPU wheel), ``mem0ai``, ``qdrant-client`` and the same
sentence-transformers / transformers releases as turnmem's environment.

    OMP_NUM_THREADS=1 python benchmarks/bench_mem0.py [--conversation conv-26] [--threads 1] [--queries 0]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chatloop import pct_summary

from eval.datasets import load_locomo
from memory.embedders import bundled_model_path, default_embedder
from memory.memory import Memory

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER = HERE / "peers" / "mem0_peer.py"
MEM0_VERSION = "2.2.1"


def ensure_venv(venv: Path) -> Path:
    """The peer's python, making the virtualenv first if it is missing."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    same = [f"{p}=={md.version(p)}" for p in ("torch", "sentence-transformers", "transformers")]
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", same[0]],  # alone first: pip takes the CPU wheel on disk
        [str(python), "-m", "pip", "install", "-q", f"mem0ai=={MEM0_VERSION}", "qdrant-client", *same[1:]],
    ]
    print(f"making mem0's virtualenv at {venv} (once; a few minutes): {' '.join(steps[-1][5:])}", flush=True)
    for cmd in steps:
        print("  $", " ".join(cmd[-4:]), flush=True)
        subprocess.run(cmd, check=True)
    return python


class Peer:
    """mem0 in its own process: ``call(op, ...)`` sends one request and returns its answer."""

    def __init__(self, python: Path, threads: int) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        env.pop("PYTHONPATH", None)  # nothing of turnmem's environment leaks into mem0's
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(python), str(PEER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env
        )

    def call(self, op: str, **kw: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"mem0 peer exited: {self.log.read().decode(errors='replace')[-3000:]}")
        got = json.loads(line)
        if not got.get("ok"):
            raise RuntimeError(f"mem0 peer failed on {op}: {got.get('error')}")
        return got

    def close(self) -> None:
        try:
            self.call("quit")
        finally:
            self.proc.wait(timeout=30)
            self.log.close()


def timed_ms(fn: Any) -> tuple[float, float]:
    """Wall-clock and this thread's CPU milliseconds of ``fn()`` (CPU time is what a loaded
    machine does not inflate: both sides run on the calling thread, torch at the set threads)."""
    t, c = time.perf_counter(), time.thread_time()
    fn()
    return (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000


def peer_ms(got: dict[str, Any]) -> tuple[float, float]:
    return got["ms"], got["cpu_ms"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--conversation", default="conv-26")
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--top-k", type=int, default=20, help="mem0 search top_k (its default)")
    ap.add_argument("--queries", type=int, default=0, help="questions to time (0: all of the conversation's)")
    ap.add_argument("--threads", type=int, default=1, help="model threads, the same on both sides")
    ap.add_argument("--venv", default=str(ROOT / "results" / "mem0-venv"))
    ap.add_argument("--note", default="", help="a note on the machine's load, kept in the JSON and the README")
    ap.add_argument("--out", default=str(HERE / "results" / "mem0.json"))
    args = ap.parse_args()

    import faiss
    import torch

    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # ONNX Runtime's intra-op threads, if that is the embedder
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    python = ensure_venv(Path(args.venv))
    ds = load_locomo(args.data, images="caption").select(conversations=[args.conversation])
    conv = ds.conversations[0]
    questions = [q.question for q in conv.questions]
    questions = questions[: args.queries] if args.queries else questions
    now = conv.questions[0].date
    emb = default_embedder()
    emb.embed(["warm-up"])
    load0 = os.getloadavg()
    t_start = time.perf_counter()

    peer = Peer(python, args.threads)
    names = (
        "mem0_add",
        "turnmem_add",
        "turnmem_add_indexed",
        "mem0_search",
        "turnmem_assemble",
        "mem0_embed",
        "turnmem_embed",
    )
    ms: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    with tempfile.TemporaryDirectory() as tmp:
        hello = peer.call("init", model=str(bundled_model_path()), dir=str(Path(tmp) / "mem0"), threads=args.threads)
        mem = Memory.open(Path(tmp) / "turnmem", embedder=emb)
        print(f"adding {len(conv.turns)} turns to both, one at a time ...", flush=True)
        i = 0
        for sess in conv.sessions:
            for turn in sess.turns:
                msg = {**turn.message, "metadata": {"turn_id": turn.id}}
                if turn.timestamp is not None:
                    msg["timestamp"] = turn.timestamp
                plain = {"role": msg["role"], "content": turn.text, "name": msg.get("name")}
                wait = i % 2 == 1  # every other turn waits for its vectors, as mem0's add (which embeds first) does

                def ours(msg: dict = msg, sid: str = sess.id, wait: bool = wait) -> tuple[float, float]:
                    return timed_ms(lambda: mem.add([msg], session=sid, namespace=conv.id, wait_indexed=wait))

                def theirs(plain: dict = plain) -> tuple[float, float]:
                    return peer_ms(peer.call("add", messages=[plain], user_id=conv.id))

                turnmem_add = "turnmem_add_indexed" if wait else "turnmem_add"
                for name, fn in ((turnmem_add, ours), ("mem0_add", theirs))[:: 1 if wait else -1]:
                    wall, used = fn()
                    ms[name].append(wall)
                    cpu[name].append(used)
                i += 1
        mem.flush()  # every vector indexed before the reads, as in mem0's store
        mem.index.persist()
        for q in questions[:10]:  # warm both read paths
            peer.call("search", query=q, user_id=conv.id, top_k=args.top_k)
            mem.assemble(q, namespace=conv.id, budget=args.budget, now=now)
        print(f"timing {len(questions)} questions on both, interleaved ...", flush=True)
        reads = {
            "turnmem_assemble": lambda q: timed_ms(
                lambda: mem.assemble(q, namespace=conv.id, budget=args.budget, now=now)
            ),
            "mem0_search": lambda q: peer_ms(peer.call("search", query=q, user_id=conv.id, top_k=args.top_k)),
            "turnmem_embed": lambda q: timed_ms(lambda: emb.embed([q])),
            "mem0_embed": lambda q: peer_ms(peer.call("embed", text=q)),
        }
        for i, q in enumerate(questions):
            for name, fn in list(reads.items())[:: 1 if i % 2 else -1]:
                wall, used = fn(q)
                ms[name].append(wall)
                cpu[name].append(used)
        chunks = mem.store.chunk_count(conv.id)
        mem.close()
        peer.close()

    s = {k: pct_summary(v) for k, v in ms.items()}
    c = {k: pct_summary(v) for k, v in cpu.items()}
    result: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": load0,
            "loadavg_after": os.getloadavg(),
        },
        "conversation": conv.id,
        "messages": len(conv.turns),
        "turnmem_chunks": chunks,
        "questions": len(questions),
        "budget": args.budget,
        "mem0_top_k": args.top_k,
        "torch_threads": args.threads,
        "mem0": hello["versions"],
        "turnmem_env": {p: md.version(p) for p in ("sentence-transformers", "torch")},
        "model": "all-MiniLM-L6-v2 (turnmem's bundled folder, both sides)",
        "turnmem_embedder": f"{type(emb).__name__} ({emb.name})",
        "ms": s,
        "cpu_ms": c,
        "assemble_vs_search_p50": s["turnmem_assemble"]["p50"] / s["mem0_search"]["p50"],
        "assemble_vs_search_p95": s["turnmem_assemble"]["p95"] / s["mem0_search"]["p95"],
        "cpu_assemble_vs_search_p50": c["turnmem_assemble"]["p50"] / c["mem0_search"]["p50"],
        "cpu_assemble_vs_search_p95": c["turnmem_assemble"]["p95"] / c["mem0_search"]["p95"],
        "beyond_embedding_cpu_ms_p50": {
            "turnmem": c["turnmem_assemble"]["p50"] - c["turnmem_embed"]["p50"],
            "mem0": c["mem0_search"]["p50"] - c["mem0_embed"]["p50"],
        },
        "seconds": time.perf_counter() - t_start,
        "note": args.note,
    }
    keys = ("ms", "cpu_ms", "assemble_vs_search_p50", "assemble_vs_search_p95")
    print(json.dumps({k: result[k] for k in (*keys, "cpu_assemble_vs_search_p50", "cpu_assemble_vs_search_p95")}))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
