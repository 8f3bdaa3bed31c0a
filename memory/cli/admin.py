"""``turnmem reindex`` and ``turnmem serve``: rebuild (or re-embed) a memory's index, serve a memory over HTTP."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from indexers import open_index
from memory.cli.common import make_console
from memory.embedders import embedder_named
from memory.embedders.identity import reembed
from memory.memory import LOG_FILE, Memory
from memory.stores import open_store, parse_location


def add_reindex_parser(sub: Any) -> None:
    """The ``reindex`` subcommand and its flags, on the parser's subcommands ``sub``."""
    re_ = sub.add_parser("reindex", help="rebuild a memory's vector index from its log (or move it to another backend)")
    re_.add_argument("--data", required=True, help="the memory folder, or a PostgreSQL DSN (with --embedder)")
    re_.add_argument("--source", default="faiss", help="the index the memory uses now")
    re_.add_argument("--to", default="faiss", help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT")
    re_.add_argument("--reembed", action="store_true", help="re-embed every chunk instead of reusing stored vectors")
    re_.add_argument(
        "--embedder",
        default=None,
        help="re-embed the log with another model (all-MiniLM-L6-v2, optionally :torch / :onnx / :onnx-int8, a "
        "local sentence-transformers folder, or openai:MODEL with $OPENAI_BASE_URL) and rebuild the index with it",
    )
    re_.set_defaults(func=cmd_reindex)


def add_serve_parser(sub: Any) -> None:
    """The ``serve`` subcommand and its flags, on the parser's subcommands ``sub``."""
    sv = sub.add_parser("serve", help="serve a memory over HTTP (REST API with an OpenAPI schema at /docs)")
    sv.add_argument(
        "--data",
        default=None,
        help="the memory folder (created if missing) or a PostgreSQL DSN postgresql://USER@HOST/DB "
        "(default: $TURNMEM_DATABASE_URL)",
    )
    sv.add_argument(
        "--host", default="127.0.0.1", help="bind address (default: 127.0.0.1; a non-loopback one needs --keys)"
    )
    sv.add_argument("--port", type=int, default=8080, help="TCP port to listen on (default: 8080)")
    sv.add_argument(
        "--index",
        default=None,
        help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT (folders; default faiss; "
        "on PostgreSQL the vectors are in the database)",
    )
    sv.add_argument(
        "--keys",
        help='JSON file {"keys": {"KEY": ["namespace", "prefix-*"]}} (default: $TURNMEM_API_KEYS, else no keys: '
        "every request may use every namespace, and a key a client sends is not checked)",
    )
    sv.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's and turnmem's log level (default: info)",
    )
    sv.add_argument(
        "--max-request-bytes", type=int, default=8 * 1024 * 1024, help="larger bodies get 413 (default: 8 MiB)"
    )
    sv.add_argument(
        "--embed-timeout",
        type=float,
        default=60.0,
        help="seconds a write may wait for the embedder, else 503 (default: 60)",
    )
    sv.add_argument(
        "--embed-batch", type=int, default=128, help="most texts in one forward pass of the embedder (default: 128)"
    )
    sv.add_argument(
        "--max-pending",
        type=int,
        default=None,
        help="most chunks waiting for their vectors; a write past it waits for the indexer, up to "
        "--embed-timeout, then 503 (default: 10000)",
    )
    sv.add_argument(
        "--max-waiting",
        type=int,
        default=None,
        help="most waiting calls (flush, wait_indexed writes) at once, on threads of their own; past it "
        "503 Busy with Retry-After (default: 64)",
    )
    sv.add_argument(
        "--max-waiting-per-namespace",
        type=int,
        default=None,
        help="most waiting calls at once in one namespace (default: 16)",
    )
    sv.add_argument(
        "--read-wait",
        type=float,
        default=None,
        help="seconds a context or search waits for the vectors of the writes this server acknowledged "
        "before it (read-your-writes; 0: never; default: 2)",
    )
    sv.add_argument(
        "--eval-dir",
        default=None,
        help="a folder of `turnmem eval --out` results the inspector at /ui lists (itself and two levels below)",
    )
    sv.set_defaults(func=cmd_serve)


def cmd_reindex(args: argparse.Namespace) -> int:
    console = make_console()
    if parse_location(args.data, field="data").kind == "postgres":
        if args.embedder is None:
            console.print(
                "[red]--embedder: a PostgreSQL memory's vectors are its index (pgvector); there is nothing to "
                "rebuild without a model to re-embed with: give --embedder NAME[/red]"
            )
            return 2
        return _reembed(args.data, args.embedder, args.to)
    folder = Path(args.data)
    if not (folder / LOG_FILE).is_file():
        console.print(f"[red]--data: no turnmem memory at {folder} (no {LOG_FILE})[/red]")
        return 2
    if args.embedder is not None:
        return _reembed(folder, args.embedder, args.to)
    mem = Memory.open(folder, index=args.source)
    target = open_index(args.to, folder / "index", mem.embedder.dim)
    t0 = time.perf_counter()
    mem.rebuild_index(index=target, reembed=args.reembed, progress=True)
    n = sum(len(target.ids(ns)) for ns in target.namespaces())
    mem.close()
    console.print(f"reindexed {n} chunks into {args.to} in {time.perf_counter() - t0:.1f} s")
    return 0


def _reembed(data: Path | str, name: str, to: str) -> int:
    """Re-embed every chunk of the log with the model ``name`` in one transaction, then rebuild a
    folder's index from it (a database's pgvector index is rebuilt in that transaction)."""
    embedder = embedder_named(name)
    t0 = time.perf_counter()
    location = parse_location(data, field="data")
    store = open_store(location, log_file=LOG_FILE)
    try:
        n = reembed(store, embedder)
    finally:
        store.close()
    if isinstance(data, Path):
        shutil.rmtree(data / "index", ignore_errors=True)  # derived from the log; the old model's dimension
        with Memory.open(data, embedder=embedder, index=to) as mem:
            mem.rebuild_index()
    where = to if isinstance(data, Path) else "pgvector"
    make_console().print(
        f"re-embedded {n} chunks with {embedder.name} into {where} in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the service's web stack (FastAPI, uvicorn) adds about 0.6 s to
    # every other subcommand's start-up, `turnmem --help` included.
    from memory.service.app import KeyRing, ServiceLimits, serve  # noqa: PLC0415

    keys = KeyRing.load(args.keys) if args.keys else KeyRing.load()
    limits = ServiceLimits(
        max_request_bytes=args.max_request_bytes,
        embed_timeout=args.embed_timeout,
        embed_batch=args.embed_batch,
        **({} if args.max_pending is None else {"max_pending": args.max_pending}),
        **({} if args.max_waiting is None else {"max_waiting": args.max_waiting}),
        **(
            {}
            if args.max_waiting_per_namespace is None
            else {"max_waiting_per_namespace": args.max_waiting_per_namespace}
        ),
        **({} if args.read_wait is None else {"read_wait_s": args.read_wait}),
    )
    serve(
        args.data,
        host=args.host,
        port=args.port,
        index=args.index,
        keys=keys,
        log_level=args.log_level,
        limits=limits,
        eval_dir=args.eval_dir,
    )
    return 0
