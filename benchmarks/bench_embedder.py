"""The bundled MiniLM on four backends: speed, agreement with the plain model, and LoCoMo recall.

    OMP_NUM_THREADS=1 python benchmarks/bench_embedder.py [--part speed|recall|all] [--readme]

Backends: ``torch-fp32`` (sentence-transformers, the plain model), ``torch-int8`` (torch dynamic
quantization of every Linear, per-channel weight scales), ``onnx-fp32`` and ``onnx-int8``
(:mod:`memory.embedders.onnx`: a local export of the same weights; int8 is onnxruntime's dynamic
quantization, per-channel). The machine is shared, so every speed figure is measured with the
backends interleaved in one run (rep by rep) and reported as a ratio to ``torch-fp32`` of the
same rep (median over reps). ``--part recall`` runs turnmem's LoCoMo eval (categories 1-4,
budgets 512 / 1024 / 2048) with each backend doing all the embedding (ingest and queries).
Results go to ``benchmarks/results/embedder.json`` (each part updates its own keys);
``--readme`` rewrites the table between the ``embedder-table`` markers of README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.datasets import load_locomo
from eval.runner import run
from memory.embedders import DEFAULT_MODEL, Embedder, SentenceTransformerEmbedder, bundled_model_path
from memory.embedders.identity import probe
from memory.embedders.onnx import OnnxEmbedder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "embedder.json"
BUDGETS = [512, 1024, 2048]
HELD_OUT = ["conv-30", "conv-42", "conv-44", "conv-48", "conv-50"]
QUERY = "What did Caroline research after the support group?"
NAMES = ("torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
BATCH_NAMES = ("torch-fp32", "onnx-int8")
RECALL_KEYS = ("512", "1024", "2048")


class TorchInt8Embedder:
    """The plain model with torch dynamic int8 quantization of its Linear layers (measured, not kept)."""

    def __init__(self, plain: SentenceTransformerEmbedder) -> None:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        self.name, self.dim, self.batch_size = plain.name, plain.dim, plain.batch_size
        self.model = quantize_dynamic(
            copy.deepcopy(plain._load()), {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32)


def backends() -> dict[str, Embedder]:
    plain = SentenceTransformerEmbedder()
    plain.embed(["warm-up"])
    out: dict[str, Embedder] = {"torch-fp32": plain, "torch-int8": TorchInt8Embedder(plain)}
    for precision in ("fp32", "int8"):
        out[f"onnx-{precision}"] = OnnxEmbedder(bundled_model_path(), name=DEFAULT_MODEL, precision=precision)  # type: ignore[arg-type]
    for emb in out.values():
        emb.embed(["warm-up"])
    return out


def locomo_texts(data: str | None) -> tuple[list[str], list[str]]:
    """LoCoMo's turns (short texts) and its words in reading order (to cut chunks of a set length)."""
    ds = load_locomo(data, images="caption")
    turns = [t.text for conv in ds.conversations for t in conv.turns if t.text.strip()]
    return turns, " ".join(turns).split()


def chunks_of(words: list[str], tokens: int, n: int, count: Callable[[str], int]) -> list[str]:
    """``n`` consecutive chunks of about ``tokens`` MiniLM tokens each."""
    per_word = np.mean([count(" ".join(words[i : i + 100])) for i in range(0, 2000, 100)]) / 100  # under the cap
    step = max(1, int(tokens / per_word))
    return [" ".join(words[i * step : (i + 1) * step]) for i in range(n)]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


WALL: dict[str, list[float]] = {}  # wall seconds per case, beside the CPU seconds that speeds use


def interleaved(cases: dict[str, Callable[[], object]], reps: int) -> dict[str, list[float]]:
    """CPU seconds per case, rep by rep, the cases run one after the other inside each rep. On a
    machine shared with other work, a single-threaded run's CPU time is what it costs; its wall
    time also counts the time it waited for a core (kept in ``WALL``)."""
    seconds: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(reps):
        for name, fn in cases.items():
            wall, cpu = timed(fn)
            seconds[name].append(cpu)
            WALL.setdefault(name, []).append(wall)
    return seconds


def ratio(seconds: dict[str, list[float]], name: str, base: str) -> float:
    """Median over reps of base-time ÷ time (a speed-up)."""
    return float(np.median(np.asarray(seconds[base]) / np.asarray(seconds[name])))


def with_batch(emb: Embedder, batch: int, texts: list[str]) -> Callable[[], object]:
    def go() -> object:
        old = emb.batch_size  # type: ignore[attr-defined]
        emb.batch_size = batch  # type: ignore[attr-defined]
        try:
            return emb.embed(texts)
        finally:
            emb.batch_size = old  # type: ignore[attr-defined]

    return go


def speed(embs: dict[str, Embedder], data: str | None, reps: int) -> dict[str, Any]:
    turns, words = locomo_texts(data)
    onnx = embs["onnx-fp32"]
    onnx.embed(["x"])
    count = lambda t: len(onnx._tokenizer.encode(t).ids)  # type: ignore[attr-defined]  # noqa: E731
    chunks200 = chunks_of(words, 200, 16, count)
    mean_tokens = float(np.mean([count(c) for c in chunks200]))
    out: dict[str, Any] = {"chunk_tokens_mean": round(mean_tokens, 1)}

    base = embs["torch-fp32"].embed(chunks200)
    short = turns[:100]
    base_short = embs["torch-fp32"].embed(short)
    cos: dict[str, Any] = {}
    for name, emb in embs.items():
        c_long = (base * emb.embed(chunks200)).sum(1)
        c_short = (base_short * emb.embed(short)).sum(1)
        cos[name] = {
            "mean": round(float(np.concatenate([c_long, c_short]).mean()), 4),
            "min": round(float(np.concatenate([c_long, c_short]).min()), 4),
            "probe": round(float(probe(embs["torch-fp32"]) @ probe(emb)), 4),
        }
    out["cosine_to_torch_fp32"] = cos
    print("cosine", cos, flush=True)

    sec = interleaved({n: (lambda e=e: e.embed(chunks200)) for n, e in embs.items()}, reps)
    out["chunks_per_s"] = {n: round(len(chunks200) / float(np.median(s)), 2) for n, s in sec.items()}
    out["speedup"] = {n: round(ratio(sec, n, "torch-fp32"), 2) for n in embs}
    out["speedup_wall"] = {n: round(ratio(WALL, n, "torch-fp32"), 2) for n in embs}
    print("chunks/s", out["chunks_per_s"], "speed-up", out["speedup"], flush=True)

    lengths: dict[str, Any] = {}
    cases: dict[str, Callable[[], object]] = {}
    for tokens in (64, 128, 256):
        texts = chunks_of(words, tokens, 2048 // tokens, count)
        for n, e in embs.items():
            cases[f"{n}@{tokens}"] = lambda e=e, texts=texts: e.embed(texts)
        lengths[str(tokens)] = {
            "chunks": len(texts),
            "tokens_mean": round(float(np.mean([count(t) for t in texts])), 1),
        }
    sec = interleaved(cases, max(2, reps - 1))
    for tokens, row in lengths.items():
        row["chunks_per_s"] = {n: round(row["chunks"] / float(np.median(sec[f"{n}@{tokens}"])), 2) for n in embs}
        row["speedup"] = {n: round(ratio(sec, f"{n}@{tokens}", f"torch-fp32@{tokens}"), 2) for n in embs}
    out["chunk_length"] = lengths
    print("chunk length", lengths, flush=True)

    cases = {}
    for b in (1, 4, 16):
        for n in BATCH_NAMES:
            cases[f"{n}@{b}"] = with_batch(embs[n], b, chunks200)
    sec = interleaved(cases, max(2, reps - 1))
    out["batch_size"] = {
        str(b): {n: round(len(chunks200) / float(np.median(sec[f"{n}@{b}"])), 2) for n in BATCH_NAMES}
        for b in (1, 4, 16)
    }

    print("batch size", out["batch_size"], flush=True)
    sec = interleaved({f"query:{n}": (lambda e=e: e.embed([QUERY])) for n, e in embs.items()}, 30)
    out["query_ms_p50"] = {n: round(1000 * float(np.median(sec[f"query:{n}"])), 2) for n in embs}
    out["query_ms_p50_wall"] = {n: round(1000 * float(np.median(WALL[f"query:{n}"])), 2) for n in embs}
    out["query_speedup"] = {n: round(ratio(sec, f"query:{n}", "query:torch-fp32"), 2) for n in embs}
    print("query", out["query_ms_p50"], out["query_ms_p50_wall"], flush=True)
    return out


def recall(embs: dict[str, Embedder], data: str | None, conversations: list[str] | None) -> dict[str, Any]:
    ds = load_locomo(data, images="caption").select(conversations=conversations, categories=["1", "2", "3", "4"])
    out: dict[str, Any] = {"conversations": conversations or "all ten", "questions": len(ds.questions)}
    for name, emb in embs.items():
        t0 = time.perf_counter()
        res = run(ds, strategies=["turnmem"], budgets=BUDGETS, embedder=emb, progress=False)
        out[name] = {
            "recall": {str(int(r["budget"])): round(float(r["recall"]), 4) for r in res.summary},
            "minutes": round((time.perf_counter() - t0) / 60, 1),
        }
        print(name, out[name], flush=True)
    return out


def table(res: dict[str, Any]) -> str:
    """The README's tables: one row per backend, then speed against chunk length and batch size."""
    sp, rc = res.get("speed", {}), res.get("recall", {})
    lines = [
        "| backend | chunks/s, CPU (~200 tok) | × plain, CPU | × plain, wall | query ms, CPU p50 | × plain |"
        " cos to plain, mean / min | recall@512 | @1024 | @2048 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in NAMES:
        c = sp.get("cosine_to_torch_fp32", {}).get(n, {})
        r = rc.get(n, {}).get("recall", {})
        cells = [n] + [str(sp.get(k, {}).get(n, "")) for k in ("chunks_per_s", "speedup", "speedup_wall")]
        cells += [str(sp.get(k, {}).get(n, "")) for k in ("query_ms_p50", "query_speedup")]
        cells += [f"{c.get('mean', '')} / {c.get('min', '')}"] + [f"{r[b]:.3f}" if b in r else "" for b in RECALL_KEYS]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| chunk tokens (mean) | " + " | ".join(f"{n}: chunks/s (× plain)" for n in NAMES) + " |"]
    lines.append("|---" * (len(NAMES) + 1) + "|")
    for row in sp.get("chunk_length", {}).values():
        cells = [f"{row['chunks_per_s'][n]} ({row['speedup'][n]})" for n in NAMES]
        lines.append(f"| {row['tokens_mean']} | " + " | ".join(cells) + " |")
    batches = sp.get("batch_size", {})
    if batches:
        lines += ["", "| batch size | " + " | ".join(f"{n}: chunks/s" for n in BATCH_NAMES) + " |"]
        lines.append("|---" * (len(BATCH_NAMES) + 1) + "|")
        lines += [f"| {b} | " + " | ".join(str(row[n]) for n in BATCH_NAMES) + " |" for b, row in batches.items()]
    return "\n".join(lines) + "\n"


def write_readme(res: dict[str, Any]) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- embedder-table -->", "<!-- /embedder-table -->"
    a, b = text.index(start) + len(start), text.index(end)
    readme.write_text(text[:a] + "\n" + table(res) + text[b:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["speed", "recall", "all", "none"], default="speed", help="none: only --readme")
    ap.add_argument("--data", default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--all-conversations", action="store_true", help="recall on all ten (default: the 5 held out)")
    ap.add_argument("--readme", action="store_true")
    args = ap.parse_args()
    res: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}
    embs = backends() if args.part != "none" else {}
    if args.part in ("speed", "all"):
        res["speed"] = speed(embs, args.data, args.reps)
        import torch

        res["speed"]["threads"] = {
            "torch": torch.get_num_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        }
        res["speed"]["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared"
        res["speed"]["load_avg_1min"] = round(os.getloadavg()[0], 1)
    if args.part in ("recall", "all"):
        res["recall"] = recall(embs, args.data, None if args.all_conversations else HELD_OUT)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    latest: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}  # another part may have run meanwhile
    latest.update({k: res[k] for k in {"all": ["speed", "recall"], "none": []}.get(args.part, [args.part])})
    res = latest
    OUT.write_text(json.dumps(res, indent=1) + "\n")
    print(table(res))
    print(f"wrote {OUT}")
    if args.readme:
        write_readme(res)


if __name__ == "__main__":
    main()
