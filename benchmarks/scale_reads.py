"""``bench_scale``'s reads at one size: assemble and bare search latency, recall and memory on each
index backend (FAISS flat, FAISS HNSW with deletes, Chroma persistent and over HTTP), and a profile."""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import time
from pathlib import Path
from typing import Any

import numpy as np
from scale_data import DIM, NS
from scale_probes import ChromaServer, dir_bytes, recall, rss, timed

from indexers import ChromaIndex, FaissIndex
from memory.memory import Memory


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
