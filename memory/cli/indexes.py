"""``turnmem namespace-indexes``: list, build and drop large namespaces' own HNSW indexes on PostgreSQL
(:mod:`memory.stores.postgres.ns_indexes`), and set the size from which a namespace gets one."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from memory.errors import InvalidArgument
from memory.stores import parse_location


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The subcommand's arguments."""
    p = sub.add_parser(
        "namespace-indexes",
        help="PostgreSQL: list, build or drop the HNSW indexes of large namespaces (built by themselves by default)",
    )
    p.add_argument("--data", default=None, help="the PostgreSQL DSN (default: $TURNMEM_DATABASE_URL)")
    p.add_argument("--build", action="append", default=[], metavar="NAMESPACE", help="build this one's index now")
    p.add_argument("--build-due", action="store_true", help="build every namespace's at or above the size, now")
    p.add_argument("--drop", action="append", default=[], metavar="NAMESPACE", help="drop this one's index")
    p.add_argument(
        "--min-chunks",
        type=int,
        default=None,
        help="the size (chunks) from which a namespace gets its own index, for every replica (0: never by itself)",
    )
    p.set_defaults(func=cmd_namespace_indexes)


def cmd_namespace_indexes(args: argparse.Namespace) -> int:
    # lazy: the PostgreSQL store needs the optional `postgres` extra (psycopg), which the other commands do not
    from memory.stores.postgres import PostgresStore  # noqa: PLC0415
    from memory.stores.postgres.ns_indexes import META_KEY  # noqa: PLC0415

    console = Console()
    where = parse_location(args.data, field="data")
    if where.kind != "postgres" or where.dsn is None:
        raise InvalidArgument("data: namespace indexes are PostgreSQL's; give a DSN postgresql://...", field="data")
    if args.min_chunks is not None and args.min_chunks < 0:
        raise InvalidArgument(f"min_chunks: give an int >= 0 (got {args.min_chunks})", field="min_chunks")
    store = PostgresStore(where.dsn)
    try:
        dim = store.get_meta("dim")
        if dim is None and (args.build or args.build_due):
            raise InvalidArgument("data: no embedder has written vectors to this database yet", field="data")
        if args.min_chunks is not None:
            store.set_meta(META_KEY, str(args.min_chunks))
        for namespace in args.drop:
            console.print(f"{namespace}: dropped {store.drop_namespace_indexes(namespace) or 'nothing'}")
        todo = list(args.build) + (store.namespaces_due(int(dim)) if args.build_due and dim else [])
        for namespace in todo:
            t0 = time.perf_counter()
            outcome = store.build_namespace_index(namespace, int(dim or 0))
            console.print(f"{namespace}: {outcome} in {time.perf_counter() - t0:.1f} s")
        swept = store.sweep_namespace_indexes()
        if swept:
            console.print(f"dropped what interrupted deletes or builds left: {', '.join(swept)}")
        table = Table(title=f"namespaces' own HNSW indexes (from {store.namespace_index_min_chunks():,} chunks)")
        for col in ("namespace", "dim", "state", "valid", "chunks at build", "build s", "index"):
            table.add_column(col)
        for r in store.namespace_indexes():
            build = "" if r.build_s is None else f"{r.build_s:.1f}"
            table.add_row(r.namespace, str(r.dim), r.state, str(r.valid), f"{r.chunks:,}", build, r.name)
        console.print(table)
    finally:
        store.close()
    return 0
