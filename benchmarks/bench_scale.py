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
import cProfile
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from chatloop import chat_loop, pct_summary

from eval.synthetic import generate
from indexers import ChromaIndex, FaissIndex
from memory.chunking import Chunker
from memory.embedders import default_embedder
from memory.memory import Memory, _embed_text
from memory.models import parse_message
from memory.stores.sqlite import SQLiteStore as Store
from memory.tokens import get_counter

HERE = Path(__file__).resolve().parent
NS = "bench"
DIM = 384
TURNS_PER_DATASET = 20_000


# -- data ------------------------------------------------------------------------------------


def sessions(max_turns: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(session id, messages)`` of synthetic conversations, cycled over seeds so that
    the texts vary (other names, ids, numbers) but keep the generator's shape."""
    seed = 1
    turns = 0
    while turns < max_turns:
        ds = generate(turns=TURNS_PER_DATASET, seed=seed, session_turns=20)
        for conv in ds.conversations:
            for sess in conv.sessions:
                msgs = []
                for t in sess.turns:
                    m = dict(t.message)
                    if t.timestamp is not None:
                        m["timestamp"] = t.timestamp
                    msgs.append(m)
                if msgs:
                    turns += len(msgs)
                    yield f"s{seed}-{sess.id}", msgs
        seed += 1


def questions(n: int) -> list[str]:
    out: list[str] = []
    seed = 1
    while len(out) < n:
        ds = generate(turns=TURNS_PER_DATASET, seed=seed, session_turns=20)
        out.extend(q.question for c in ds.conversations for q in c.questions)
        seed += 1
    return out[:n]


def chunk_texts(messages: Sequence[dict[str, Any]], chunker: Chunker) -> list[str]:
    """The texts ``Memory.add`` embeds for these messages (one per chunk)."""
    out = []
    for i, m in enumerate(messages):
        msg = parse_message(m, index=i)
        out.extend(_embed_text(msg, p.text) for p in chunker.split(msg))
    return out


# -- embedders -------------------------------------------------------------------------------


class RecordingEmbedder:
    """The real embedder, recording each batch it was given and the time it took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.batches: list[list[str]] = []
        self.outputs: list[np.ndarray] = []
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds += time.perf_counter() - t0
        self.batches.append(list(texts))
        self.outputs.append(out)
        return out


class MixtureEmbedder:
    """Synthesized MiniLM-like vectors: noisy mixtures of real embeddings (module docstring)."""

    def __init__(self, base_texts: Sequence[str], base: np.ndarray, *, sigma: float = 0.35, seed: int = 0) -> None:
        self.name = "synthetic-minilm-mixture"
        self.dim = int(base.shape[1])
        self.base = np.ascontiguousarray(base, dtype=np.float32)
        self.where = {t: i for i, t in enumerate(base_texts)}
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)
        self.seconds = 0.0

    def anchor(self, text: str) -> int:
        i = self.where.get(text)
        if i is None:
            h = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
            i = int.from_bytes(h, "little") % self.base.shape[0]
        return i

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        n = len(texts)
        i = np.fromiter((self.anchor(t) for t in texts), dtype=np.int64, count=n)
        j = self.rng.integers(0, self.base.shape[0], size=n)
        a = self.rng.uniform(0.7, 0.98, size=(n, 1)).astype(np.float32)
        noise = self.rng.normal(size=(n, self.dim)).astype(np.float32) / np.sqrt(self.dim)
        v = a * self.base[i] + (1 - a) * self.base[j] + self.sigma * noise
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        self.seconds += time.perf_counter() - t0
        return np.ascontiguousarray(v, dtype=np.float32)


# -- measuring -------------------------------------------------------------------------------


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def timed(fn: Callable[[int], Any], n: int, warm: int = 5) -> dict[str, float]:
    for i in range(min(warm, n)):
        fn(i)
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return pct_summary(out)


def recall(approx: Sequence[np.ndarray], exact: Sequence[np.ndarray], k: int) -> float:
    r = [len(set(a[:k].tolist()) & set(e[:k].tolist())) / max(1, min(k, len(e))) for a, e in zip(approx, exact)]
    return float(np.mean(r))


def neighbour_stats(vecs: np.ndarray, queries: np.ndarray, *, m: int, ef_c: int, ef_s: int, k: int = 50) -> dict:
    """HNSW recall@k on ``vecs`` (vs exact) and the similarity of the 1st / k-th neighbours."""
    import faiss

    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)
    es, ei = flat.search(queries, k)
    graph = faiss.IndexHNSWFlat(vecs.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = ef_c
    graph.add(vecs)
    _, ai = graph.search(queries, k, params=faiss.SearchParametersHNSW(efSearch=max(ef_s, k)))
    # chunk-to-chunk: how crowded the space is around stored vectors
    sample = vecs[:: max(1, len(vecs) // 500)][:500]
    cs, _ = flat.search(sample, 11)
    return {
        f"hnsw_recall@{k}": recall(list(ai), list(ei), k),
        "query_top1_cos": float(es[:, 0].mean()),
        f"query_top{k}_cos": float(es[:, k - 1].mean()),
        "chunk_nn1_cos": float(cs[:, 1].mean()),
        "chunk_nn10_cos": float(cs[:, 10].mean()),
    }


class ChromaServer:
    """A ``chroma run`` on a free loopback port, stopped by PID."""

    def __init__(self, path: Path) -> None:
        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        exe = Path(sys.executable).with_name("chroma")
        self.path = path
        self.log = open(path / "server.log", "wb")
        self.proc = subprocess.Popen(
            [
                str(exe if exe.exists() else "chroma"),
                "run",
                "--path",
                str(path / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(path / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma run never answered")
            time.sleep(0.25)

    def rss(self) -> int:
        p = psutil.Process(self.proc.pid)
        return int(p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True)))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.log.close()


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


def measure_reads(
    mem: Memory, qs: list[str], qv: np.ndarray, k: int, *, label: str, budget: int, exact: list[np.ndarray] | None
) -> dict[str, Any]:
    session = mem.store.sessions(NS)[-1]["session"]
    n = len(qs)
    out: dict[str, Any] = {"backend": label}
    mem.assemble(qs[0], session=session, namespace=NS, budget=budget, query_vector=qv[0])  # builds lazy state
    out["assemble_ms"] = timed(
        lambda i: mem.assemble(qs[i], session=session, namespace=NS, budget=budget, query_vector=qv[i]), n
    )
    out["search_ms"] = timed(lambda i: mem.index.search(qv[i], k, namespace=NS), n)
    got = [mem.index.search(qv[i], k, namespace=NS)[0] for i in range(n)]
    if exact is not None:
        out["recall@50"] = recall(got, exact, 50)
        out[f"recall@{k}"] = recall(got, exact, k)
    return out


def profile_assemble(mem: Memory, qs: list[str], qv: np.ndarray, budget: int, top: int = 25) -> list[dict[str, Any]]:
    session = mem.store.sessions(NS)[-1]["session"]
    prof = cProfile.Profile()
    prof.enable()
    for i in range(len(qs)):
        mem.assemble(qs[i], session=session, namespace=NS, budget=budget, query_vector=qv[i])
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(file).name}:{line}:{fn}",
                "calls": nc,
                "tottime_ms": tt * 1000 / len(qs),
                "cumtime_ms": ct * 1000 / len(qs),
            }
        )
    rows.sort(key=lambda r: -r["cumtime_ms"])
    return rows[:top]


def measure_indexes(
    mem: Memory,
    flat: FaissIndex,
    root: Path,
    size: int,
    args: argparse.Namespace,
    ctx: dict[str, Any],
    res: dict[str, Any],
) -> None:
    """Disk and RAM per chunk, and reads on each index backend (flat, HNSW, Chroma) into ``res``."""
    n_chunks = res["chunks"]
    # disk: the log (db + wal) and the flat index files
    db_bytes = sum(f.stat().st_size for f in (root / "mem").glob("turnmem.db*"))
    res["disk"] = {"log_bytes": db_bytes, "faiss_bytes": dir_bytes(root / "mem" / "index")}
    res["disk"]["bytes_per_chunk"] = (db_bytes + res["disk"]["faiss_bytes"]) / n_chunks
    text_bytes = (
        mem.store._conn()
        .execute(  # noqa: SLF001 - benchmark-only look at the log
            "SELECT COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM chunks WHERE namespace=?", (NS,)
        )
        .fetchone()[0]
    )
    res["text_bytes_per_chunk"] = text_bytes / n_chunks

    qs = ctx["questions"][: args.queries]
    qv = ctx["query_vectors"][: args.queries]
    k = mem.config.candidates
    exact = [flat.search(qv[i], max(k, 50), namespace=NS)[0] for i in range(len(qs))]
    rows: list[dict[str, Any]] = []
    rows.append(measure_reads(mem, qs, qv, k, label="faiss (flat)", budget=args.budget, exact=exact))
    print(f"[{size}] flat: {rows[-1]['assemble_ms']}", flush=True)
    if args.profile and size == max(args.sizes_list):
        res["profile_flat"] = profile_assemble(mem, qs[:50], qv[:50], args.budget)

    # index memory: load the persisted flat index into a fresh object
    gc.collect()
    r0 = rss()
    probe = FaissIndex(DIM, root / "mem" / "index")
    res["faiss_flat_index_rss_bytes_per_chunk"] = (rss() - r0) / n_chunks
    del probe
    gc.collect()

    # HNSW (the threshold below the size, so this namespace gets a graph)
    if size >= args.hnsw_min:
        hn = FaissIndex(
            DIM,
            root / "hnsw",
            hnsw_threshold=min(size, 50_000) // 2,
            hnsw_m=args.hnsw_m,
            ef_construction=args.ef_construction,
            ef_search=args.ef_search,
        )
        t0 = time.perf_counter()
        mem.rebuild_index(index=hn)
        reindex_s = time.perf_counter() - t0
        gc.collect()
        r0 = rss()
        t0 = time.perf_counter()
        hn.search(qv[0], k, namespace=NS)  # builds the graph
        build_s = time.perf_counter() - t0
        hnsw_rss = rss() - r0
        row = measure_reads(mem, qs, qv, k, label="faiss (HNSW)", budget=args.budget, exact=exact)
        row.update(
            {
                "reindex_s": reindex_s,
                "hnsw_build_s": build_s,
                "hnsw_rss_bytes_per_chunk": hnsw_rss / n_chunks,
                "params": {"M": args.hnsw_m, "efConstruction": args.ef_construction, "efSearch": args.ef_search},
            }
        )
        # deletes on the graph: remove 1% and check nothing deleted comes back
        some = hn.ids(NS)[::100]
        hn.delete(some, namespace=NS)
        back = set()
        for i in range(min(20, len(qs))):
            back |= set(hn.search(qv[i], k, namespace=NS)[0].tolist()) & set(some.tolist())
        row["deleted_ids_returned"] = len(back)
        back_vecs = mem.store.vectors(some.tolist())
        back_rows = mem.store.chunks(some.tolist())
        hn.add(
            some,
            np.stack([back_vecs[i] for i in some.tolist()]),
            namespace=NS,
            sessions=[back_rows[i].session for i in some.tolist()],
        )
        rows.append(row)
        print(f"[{size}] hnsw: {row['assemble_ms']} recall@50={row['recall@50']:.3f} build={build_s:.1f}s", flush=True)
        if args.profile and size == max(args.sizes_list):
            res["profile_hnsw"] = profile_assemble(mem, qs[:50], qv[:50], args.budget)
        mem.rebuild_index(index=FaissIndex(DIM, root / "mem" / "index"))

    if size <= args.chroma_max and not args.no_chroma:
        for kind in ("persistent", "http"):
            server = None
            gc.collect()
            r0 = rss()
            if kind == "persistent":
                cpath = root / "chroma"
                index = ChromaIndex.persistent(cpath, DIM)
            else:
                (root / "server").mkdir()
                server = ChromaServer(root / "server")
                cpath = root / "server" / "data"
                srv0 = server.rss()
                index = ChromaIndex.http("127.0.0.1", server.port, DIM)
            t0 = time.perf_counter()
            mem.rebuild_index(index=index)
            reindex_s = time.perf_counter() - t0
            row = measure_reads(mem, qs, qv, k, label=f"chroma ({kind})", budget=args.budget, exact=exact)
            row["reindex_s"] = reindex_s
            row["disk_bytes_per_chunk"] = dir_bytes(cpath) / n_chunks
            row["rss_bytes_per_chunk"] = ((server.rss() - srv0) if server is not None else (rss() - r0)) / n_chunks
            rows.append(row)
            print(
                f"[{size}] chroma {kind}: {row['assemble_ms']} recall@50={row['recall@50']:.3f} "
                f"reindex={reindex_s:.1f}s",
                flush=True,
            )
            mem.rebuild_index(index=FaissIndex(DIM, root / "mem" / "index"))
            if server is not None:
                server.stop()
    res["reads"] = rows


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
        import faiss

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
