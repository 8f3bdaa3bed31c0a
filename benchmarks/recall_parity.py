"""Recall parity between the stores: the same LoCoMo eval on SQLite and on PostgreSQL.

    python benchmarks/recall_parity.py [--data ../shared/data/locomo10.json] [--dsn postgresql://...]

Without ``--dsn`` a throwaway PostgreSQL with pgvector is started with ``pgserver`` (a dev
dependency). Runs ``turnmem`` on LoCoMo categories 1-4, all ten conversations, at 512 / 1024 /
2048 tokens on each store (same embedder, same questions) and writes
``benchmarks/results/recall_parity.json``. Both rank full text with BM25: SQLite through FTS5
(porter tokenizer, table-wide statistics), PostgreSQL in SQL over a tsvector (Snowball English,
per-namespace statistics, :mod:`memory.stores.postgres.bm25`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from eval.datasets import load_locomo
from eval.runner import run
from memory.memory import Memory

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = [512, 1024, 2048]


def measure(location: str, data: str | None) -> dict[str, Any]:
    ds = load_locomo(data, images="caption").select(categories=["1", "2", "3", "4"])
    t0 = time.perf_counter()
    mem = Memory.open(location)
    try:
        res = run(ds, strategies=["turnmem"], budgets=BUDGETS, memory=mem)
    finally:
        mem.close()
    return {
        "recall": {int(r["budget"]): r["recall"] for r in res.summary},
        "latency_p95_ms": {int(r["budget"]): r["latency_p95_ms"] for r in res.summary},
        "questions": len(ds.questions),
        "minutes": round((time.perf_counter() - t0) / 60, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--sqlite", default=None, help="a memory folder to reuse (default: a temporary one)")
    ap.add_argument("--dsn", default=None, help="a PostgreSQL DSN with the vector extension (default: pgserver)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="turnmem-parity-") as tmp:
        sqlite = measure(args.sqlite or str(Path(tmp) / "sqlite"), args.data)
        dsn = args.dsn
        server = None
        if dsn is None:
            import pgserver
            import psycopg

            Path(tmp).chmod(0o755)  # pgserver runs PostgreSQL as its own user when started by root
            server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
            dsn = server.get_uri()
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        try:
            postgres = measure(dsn, args.data)
        finally:
            if server is not None:
                server.cleanup()
    out = {
        "budgets": BUDGETS,
        "lexical": {
            "sqlite": "FTS5 bm25() (k1 1.2, b 0.75), porter unicode61, statistics over the whole table",
            "postgres": "BM25 in SQL (k1 1.2, b 0.75), tsvector 'english', statistics per namespace",
        },
        "sqlite": sqlite,
        "postgres": postgres,
    }
    for b in BUDGETS:
        d = postgres["recall"][b] - sqlite["recall"][b]
        print(f"{b:>5} tokens: SQLite {sqlite['recall'][b]:.3f}  PostgreSQL {postgres['recall'][b]:.3f}  ({d:+.3f})")
    path = ROOT / "benchmarks" / "results" / "recall_parity.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
