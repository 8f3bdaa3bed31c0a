"""``bench_scale``'s measuring tools: process memory, folder sizes, latency percentiles, recall
against exact search, neighbour statistics, and a ``chroma run`` server to measure against."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import httpx
import numpy as np
import psutil
from chatloop import pct_summary


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
