"""mem0 as a peer process for ``benchmarks/bench_mem0.py``: runs inside its own virtualenv.

mem0 is not a dependency of turnmem; this script imports only mem0 and what mem0 brings. It
reads one JSON request per line on stdin and answers one JSON line on stdout, timing each call
itself, wall clock and this thread's CPU time (so pipe and JSON costs stay outside the figures):

    {"op": "init", "model": "/path/to/all-MiniLM-L6-v2", "dir": "/tmp/x", "threads": 1}
    {"op": "add", "messages": [{"role": "user", "content": "...", "name": "Caroline"}], "user_id": "conv-26"}
    {"op": "search", "query": "...", "user_id": "conv-26", "top_k": 20}
    {"op": "embed", "text": "..."}     (mem0's embedder alone, the share of ``search`` that is the model)
    {"op": "quit"}

Configuration: the sentence-transformers folder the driver names (the same MiniLM turnmem uses),
local Qdrant in a folder (``path``), ``add(..., infer=False)`` so no LLM is called. The LLM
client mem0 builds anyway points at a closed loopback port, and telemetry is off, so nothing
leaves the machine.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import sys
import time

os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OPENAI_API_KEY", "unused-infer-is-off")
os.environ.setdefault("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # closed port: any LLM call fails at once

PROTOCOL = sys.stdout
sys.stdout = sys.stderr  # whatever mem0 or its libraries print must not break the protocol


def answer(obj: dict) -> None:
    PROTOCOL.write(json.dumps(obj) + "\n")
    PROTOCOL.flush()


def init(req: dict) -> object:
    import torch

    torch.set_num_threads(int(req["threads"]))
    from mem0 import Memory

    folder = req["dir"]
    config = {
        "embedder": {"provider": "huggingface", "config": {"model": req["model"], "model_kwargs": {"device": "cpu"}}},
        "vector_store": {
            "provider": "qdrant",
            "config": {"collection_name": "bench", "path": os.path.join(folder, "qdrant"), "embedding_model_dims": 384},
        },
        "history_db_path": os.path.join(folder, "history.db"),
    }
    mem = Memory.from_config(config)
    mem.embedding_model.embed("warm-up", "search")
    return mem


def main() -> None:
    mem = None
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "quit":
                answer({"ok": True})
                return
            if op == "init":
                mem = init(req)
                versions = {p: md.version(p) for p in ("mem0ai", "qdrant-client", "sentence-transformers", "torch")}
                answer({"ok": True, "versions": versions})
                continue
            assert mem is not None, "send init first"
            t0, c0 = time.perf_counter(), time.thread_time()
            if op == "add":
                out = mem.add(req["messages"], user_id=req["user_id"], infer=False)
                n = len(out.get("results", [])) if isinstance(out, dict) else len(out)
            elif op == "search":
                out = mem.search(req["query"], filters={"user_id": req["user_id"]}, top_k=req.get("top_k", 20))
                n = len(out.get("results", [])) if isinstance(out, dict) else len(out)
            elif op == "embed":
                n = len(mem.embedding_model.embed(req["text"], "search"))
            else:
                raise ValueError(f"unknown op {op!r}")
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
            answer({"ok": True, "ms": wall, "cpu_ms": cpu, "n": n})
        except Exception as exc:  # the driver reports it and stops
            answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
