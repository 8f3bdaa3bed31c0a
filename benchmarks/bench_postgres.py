"""turnmem on PostgreSQL: writes and contexts through 1 and 3 ``turnmem serve`` replicas sharing one
database, and per-namespace ``assemble`` latency with many namespaces in the database.

1. Load (:mod:`pg_load`): ``--namespaces`` × ``--chunks-per-ns`` chunks plus one
   namespace of ``--big`` chunks, LoCoMo text with synthetic clustered vectors, bulk-copied into
   the store's own schema; index builds are timed.
2. Reads, in this process: ``Memory.open(dsn).assemble(query, query_vector=...)`` (the query
   vector given, so no embedding) in ``--sample`` namespaces (the first call per namespace, with
   this process's caches cold, is reported apart) and in the big one; the bare pgvector search
   and full-text search of the same namespace; ``EXPLAIN ANALYZE`` of both (full text: both of its plans).
   With ``--gin-baseline``, every ``assemble`` and full-text call also runs with the GIN plan for every
   namespace (the plan before small namespaces were read first), interleaved call by call.
   With ``--namespace-index``, the big namespace's own HNSW index is built first (timed; its
   recall@k against the exact scan and its search time measured); without it, the automatic builds
   are turned off for the run (meta ``namespace_index_min_chunks`` = 0), so the big namespace is
   searched as before: the table-wide HNSW index, or exactly.
3. Service: ``--replicas`` × ``--clients`` rows of ``--seconds`` each, clients spread
   round-robin over the replicas (``memory.client.Client``): ``write`` (a short chat turn, counted
   when acknowledged: committed to the log, embedded by the replica's background indexer after),
   ``write, indexed`` (the same with ``wait_indexed``: counted once its vector is written) and
   ``context`` (``assemble`` with the query embedded by the replica, on a loaded namespace). Each
   row also reports the machine's busy CPU share while it ran (``cpu_busy``).

PostgreSQL is the ``pgserver`` package's (16.2, pgvector 0.6.2) in ``--pgdata``, or ``--dsn``.
Prints tables and writes ``benchmarks/results/postgres.json``. Not a timed test.

    python benchmarks/bench_postgres.py [--namespaces 1000 --chunks-per-ns 1000 --big 100000]
        [--seconds 10] [--clients 1,4,8] [--replicas 1,3] [--pgdata DIR --reuse] [--gin-baseline]
        [--namespace-index]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import psycopg
from chatloop import rate_stats, sustained
from pg_load import DIM, Spec, Topics, load, locomo, namespace_specs
from pgvector.psycopg import register_vector
from rich.console import Console
from update_readme import postgres_table

from memory.client import Client
from memory.embedders import Embedder
from memory.memory import Memory
from memory.service.process import ServerProcess
from memory.stores.postgres import PgVectorIndex, PostgresStore
from memory.stores.postgres.bm25 import bm25_query
from memory.stores.postgres.ns_indexes import META_KEY
from retrievers.lexical import query_terms

HERE = Path(__file__).resolve().parent


VECTOR_SQL = "SELECT id, -(embedding <#> %s) FROM chunks WHERE namespace=%s ORDER BY embedding <#> %s LIMIT %s"
HNSW_SQL = "SELECT id FROM chunks WHERE namespace=%s ORDER BY embedding::vector(384) <#> %s::vector(384) LIMIT %s"


def buffers_mb(size: str) -> int:
    """``shared_buffers`` in MB from ``"25%"`` (of this machine's memory) or ``"6GB"``/``"512MB"``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%|GB|MB)\s*", size, re.IGNORECASE)
    if m is None:
        raise SystemExit(f"--shared-buffers: give a share of memory like 25% or a size like 6GB or 512MB, not {size!r}")
    value, unit = float(m.group(1)), m.group(2).upper()
    if unit == "%":
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * value / 100 / 2**20)
    return int(value * (1024 if unit == "GB" else 1))


@contextmanager
def postgres(pgdata: Path | None, dsn: str | None, shared_buffers: str | None = None) -> Iterator[str]:
    """A server URI: ``dsn`` as given, or a ``pgserver`` PostgreSQL in ``pgdata`` (a temp folder if None),
    restarted with ``shared_buffers`` (:func:`buffers_mb`) when that differs from its setting."""
    if dsn:
        yield dsn
        return
    import pgserver
    from pgserver._commands import pg_ctl

    folder = Path(pgdata or tempfile.mkdtemp(prefix="turnmem-pgbench-"))
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.parent.chmod(0o755)  # pgserver runs PostgreSQL as its own user when started by root
    server = pgserver.get_server(folder, cleanup_mode="stop" if pgdata else "delete")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        mb = buffers_mb(shared_buffers) if shared_buffers else None
        restart = (
            mb is not None
            and conn.execute("SELECT setting::int / 128 FROM pg_settings WHERE name = 'shared_buffers'").fetchone()[0]
            != mb
        )  # type: ignore[index]
        if restart:
            conn.execute(f"ALTER SYSTEM SET shared_buffers = '{mb}MB'")
    if restart:  # pg_ctl restart keeps the options pgserver started it with (postmaster.opts)
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=folder, user=server.system_user, timeout=120)
    try:
        yield uri
    finally:
        server.cleanup()


def schema_dsn(uri: str, schema: str, *, fresh: bool) -> str:
    """A DSN whose tables live in ``schema`` (``search_path``), created (or emptied if ``fresh``)."""
    with psycopg.connect(uri, autocommit=True) as conn:
        if fresh:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    sep = "&" if "?" in uri else "?"
    return f"{uri}{sep}options={quote(f'-csearch_path={schema},public')}"


def loaded_as(dsn: str) -> dict[str, Any] | None:
    """The sizes a previous run loaded into this schema, if any."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('meta') IS NULL").fetchone()[0]:  # type: ignore[index]
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'bench_load'").fetchone()
    return None if row is None else json.loads(row[0])  # type: ignore[no-any-return]


def explain(dsn: str, sql: str, args: list[Any], *, setup: str = "") -> list[str]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` lines, vector literals shortened."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        if setup:
            conn.execute(setup)
        lines = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, args).fetchall()]
    return [re.sub(r"'\[[^']*\]'", "'[...]'", line) for line in lines]


def hnsw_probe(dsn: str, queries: np.ndarray, namespace: str, k: int, ef: int = 1000) -> dict[str, float]:
    """What the HNSW index gives a namespace at pgvector's largest ``ef_search`` (the store scans such a
    namespace exactly when ``ef`` would have to exceed it): rows of the namespace returned, recall@k, time."""
    got, rec, lat = [], [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {ef}")
        for q in queries:
            exact = {r[0] for r in conn.execute(VECTOR_SQL, (q, namespace, q, k))}
            t0 = time.perf_counter()
            rows = conn.execute(HNSW_SQL, (namespace, q, k)).fetchall()
            lat.append(time.perf_counter() - t0)
            got.append(len(rows))
            rec.append(len(exact & {r[0] for r in rows}) / max(1, len(exact)))
    return {
        "ef_search": ef,
        "k": k,
        "rows_returned_mean": float(np.mean(got)),
        "recall": float(np.mean(rec)),
        **rate_stats(lat, sum(lat)),
    }


def own_index(dsn: str, topics: Topics, spec: Spec, *, queries: int = 20) -> dict[str, Any]:
    """Build ``spec``'s own HNSW index (timed) and measure it: recall@k against the exact scan and the
    search's time, for k = 64 and 512, and EXPLAIN ANALYZE of its statement."""
    store = PostgresStore(dsn)
    try:
        with store._read() as conn:  # the default size again (a run without --namespace-index set 0)
            conn.execute("DELETE FROM meta WHERE key = %s", (META_KEY,))
        t0 = time.perf_counter()
        outcome = store.build_namespace_index(spec.name, DIM)
        out: dict[str, Any] = {"outcome": outcome, "build_s": time.perf_counter() - t0}
        [row] = [r for r in store.namespace_indexes() if r.namespace == spec.name and r.dim == DIM]
        index = PgVectorIndex(store, DIM, own_index_min_chunks=0)
        qs = topics.draw(spec.topics, queries)
        with store._read() as conn:
            out["index_bytes"] = conn.execute("SELECT pg_relation_size(to_regclass(%s))", (row.name,)).fetchone()[0]  # type: ignore[index]
            for k in (64, 512):
                lat, rec = [], []
                for q in qs:
                    exact = {r[0] for r in conn.execute(VECTOR_SQL, (q, spec.name, q, k))}
                    t = time.perf_counter()
                    got = index.own_index_rows(conn, q, spec.name, k)
                    lat.append(time.perf_counter() - t)
                    rec.append(len(exact & {r[0] for r in got}) / max(1, len(exact)))
                out[f"k{k}"] = {
                    "recall": float(np.mean(rec)),
                    "recall_min": float(np.min(rec)),
                    **rate_stats(lat, sum(lat)),
                }
            plan = index.own_index_rows(conn, qs[0], spec.name, 512, explain="EXPLAIN (ANALYZE, BUFFERS) ")
        out["explain"] = [re.sub(r"'\[[^']*\]'", "'[...]'", r[0]) for r in plan]
        return out
    finally:
        store.close()


def timed(calls: list[Callable[[], Any]]) -> dict[str, float]:
    """Latency of each call, one after the other."""
    lat = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        lat.append(time.perf_counter() - t0)
    return rate_stats(lat, sum(lat))


def paired(calls: list[Callable[[], Any]], store: Any) -> tuple[dict[str, float], dict[str, float]]:
    """Latency of each call with the store's full-text plan and with the GIN for every namespace (the plan
    before namespaces were read first), interleaved (each call both ways, the order alternating) so
    that load on the machine and warm pages weigh on both alike."""
    lat: dict[bool, list[float]] = {False: [], True: []}
    below = store.text_scan_below
    try:
        for i, call in enumerate(calls):
            for gin in (False, True) if i % 2 == 0 else (True, False):
                store.text_scan_below = 0 if gin else below
                t0 = time.perf_counter()
                call()
                lat[gin].append(time.perf_counter() - t0)
    finally:
        store.text_scan_below = below
    return rate_stats(lat[False], sum(lat[False])), rate_stats(lat[True], sum(lat[True]))


def read_group(
    mem: Memory,
    topics: Topics,
    chosen: list[Spec],
    questions: list[str],
    *,
    per_ns: int,
    budget: int,
    k: int,
    gin_baseline: bool = False,
) -> dict[str, Any]:
    """assemble in each namespace of ``chosen`` (first call apart), then bare vector and text searches;
    with ``gin_baseline``, assemble and text search also with the GIN plan for every namespace (:func:`paired`)."""
    session = {s.name: mem.store.sessions(s.name)[-1]["session"] for s in chosen}

    def assemble(spec: Spec, j: int) -> Callable[[], Any]:
        qv, q = topics.draw(spec.topics, 1)[0], questions[j % len(questions)]
        ns = spec.name
        return partial(mem.assemble, q, session=session[ns], namespace=ns, budget=budget, query_vector=qv)

    def search(spec: Spec, top: int) -> Callable[[], Any]:
        return partial(mem.index.search, topics.draw(spec.topics, 1)[0], top, namespace=spec.name)

    def text(spec: Spec, j: int) -> Callable[[], Any]:
        return partial(mem.store.search_text, query_terms(questions[j % len(questions)]), spec.name, k)

    runs = [(s, i * per_ns + j) for i, s in enumerate(chosen) for j in range(per_ns)]
    out: dict[str, Any] = {
        "namespaces": len(chosen),
        "chunks_per_namespace": chosen[0].chunks,
        "assemble_cold_ms": timed([assemble(s, i) for i, s in enumerate(chosen)]),
    }
    if gin_baseline:
        out["assemble_ms"], out["assemble_gin_ms"] = paired([assemble(s, j) for s, j in runs], mem.store)
    else:
        out["assemble_ms"] = timed([assemble(s, j) for s, j in runs])
    out["vector_search_ms"] = {str(top): timed([search(s, top) for s, _ in runs]) for top in (mem.config.candidates, k)}
    if gin_baseline:
        out["text_search_ms"], out["text_search_gin_ms"] = paired([text(s, j) for s, j in runs], mem.store)
    else:
        out["text_search_ms"] = timed([text(s, j) for s, j in runs])
    return out


def reads(
    dsn: str,
    topics: Topics,
    specs: list[Spec],
    questions: list[str],
    *,
    sample: int,
    queries: int,
    budget: int,
    embedder: Embedder | None = None,
    big_queries: int | None = None,
    gin_baseline: bool = False,
) -> dict[str, Any]:
    """Timings and plans per small namespace (``sample`` of them, ``queries`` calls) and in the big one
    (``big_queries`` calls, default ``queries``); ``gin_baseline``: :func:`read_group`."""
    rng = np.random.default_rng(7)
    mem = Memory.open(dsn, embedder=embedder)
    k = max(mem.config.candidates, int(budget * mem.config.candidates_per_token))  # what assemble asks for
    out: dict[str, Any] = {"k_search": k}
    try:
        groups = {"per-namespace": [s for s in specs if s.name != "big"], "big": [s for s in specs if s.name == "big"]}
        for label, pool in groups.items():
            if not pool:
                continue
            chosen = [pool[i] for i in rng.choice(len(pool), size=min(sample, len(pool)), replace=False)]
            calls = big_queries if (label == "big" and big_queries is not None) else queries
            per_ns = max(1, calls // len(chosen))
            r = read_group(mem, topics, chosen, questions, per_ns=per_ns, budget=budget, k=k, gin_baseline=gin_baseline)
            spec, qv, terms = chosen[0], topics.draw(chosen[0].topics, 1)[0], query_terms(questions[0])
            r["explain_vector"] = explain(dsn, VECTOR_SQL, [qv, spec.name, qv, k])
            r["explain_text"] = explain(dsn, *bm25_query(terms, spec.name, k, scan_below=mem.store.text_scan_below))
            r["explain_text_gin"] = explain(dsn, *bm25_query(terms, spec.name, k, scan_below=0))
            if label == "big":
                top = mem.config.candidates
                r["hnsw_at_max_ef"] = hnsw_probe(dsn, topics.draw(spec.topics, 20), spec.name, top)
                r["explain_hnsw"] = explain(dsn, HNSW_SQL, [spec.name, qv, top], setup="SET hnsw.ef_search = 1000")
            out[label] = r
    finally:
        mem.close()
    return out


class RoundRobin:
    """One client per replica; each call goes to the next replica."""

    def __init__(self, urls: list[str]) -> None:
        self.clients = [Client(u) for u in urls]
        self.turn = itertools.cycle(self.clients)

    def __getattr__(self, name: str) -> Any:
        return getattr(next(self.turn), name)

    def close(self) -> None:
        for c in self.clients:
            c.close()


def _round_robin(urls: list[str], opened: list[RoundRobin]) -> RoundRobin:
    opened.append(RoundRobin(urls))
    return opened[-1]


def service(
    dsn: str,
    args: argparse.Namespace,
    specs: list[Spec],
    texts: list[str],
    questions: list[str],
    workdir: Path,
    console: Console,
) -> list[dict[str, Any]]:
    """write and context rows through ``replicas`` × ``clients``."""
    small = [s for s in specs if s.name != "big"] or specs
    with psycopg.connect(dsn, autocommit=True) as conn:
        sessions = dict(
            conn.execute(
                "SELECT DISTINCT ON (namespace) namespace, session FROM sessions WHERE namespace = ANY(%s) "
                "ORDER BY namespace, last_seq DESC",
                ([s.name for s in small],),
            ).fetchall()
        )
    names = sorted(sessions)

    def write(h: Any, i: int, *, wait_indexed: bool = False) -> None:
        h.add(
            [{"role": "user", "content": f"{texts[i % len(texts)]} (note {i})"}],
            session=f"chat-{i % 16}",
            namespace=f"writes-{i % 8}",
            wait_indexed=wait_indexed,
        )

    def context(h: Any, i: int) -> None:
        ns = names[i % len(names)]
        h.assemble(questions[i % len(questions)], session=sessions[ns], namespace=ns, budget=args.budget)

    rows: list[dict[str, Any]] = []
    for r in args.replicas:
        with ExitStack() as stack:
            procs = [ServerProcess(dsn, workdir=workdir) for _ in range(r)]
            for p in procs:
                stack.enter_context(p)
            handles: list[RoundRobin] = []
            make = partial(_round_robin, [p.url for p in procs], handles)

            sustained(max(args.clients), 3.0, make, write)  # warm-up: models, pools, first batches
            sustained(max(args.clients), 3.0, make, context)
            kinds = (("write", write), ("write, indexed", partial(write, wait_indexed=True)), ("context", context))
            for kind, work in kinds:
                for n in args.clients:
                    console.print(f"{kind}: {n} client(s) on {r} replica(s) for {args.seconds:.0f} s ...")
                    rows.append({"kind": kind, "replicas": r, "clients": n, **sustained(n, args.seconds, make, work)})
                    if kind == "write":  # acknowledged writes leave a backlog of vectors: let each replica catch up
                        drain = make()
                        for i in range(r):
                            write(drain, -1 - i, wait_indexed=True)
            for h in handles:
                h.close()
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--chunks-per-ns", type=int, default=1000)
    ap.add_argument("--big", type=int, default=100_000, help="chunks of the one big namespace (0: none)")
    ap.add_argument("--sample", type=int, default=100, help="namespaces that assemble is timed in")
    ap.add_argument("--queries", type=int, default=300, help="warm assemble calls per group")
    ap.add_argument("--big-queries", type=int, default=None, help="warm calls in the big namespace (default --queries)")
    ap.add_argument(
        "--gin-baseline", action="store_true", help="also time assemble and full text with the GIN plan everywhere"
    )
    ap.add_argument(
        "--namespace-index", action="store_true", help="build the big namespace's own HNSW index first (timed)"
    )
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each service row")
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--replicas", default="1,3", help="'' to skip the service rows")
    ap.add_argument("--dsn", default=None, help="a PostgreSQL server URI (default: pgserver in --pgdata)")
    ap.add_argument("--pgdata", default=None, help="pgserver's data folder, kept (default: a temp folder)")
    ap.add_argument("--schema", default="turnmem_bench")
    ap.add_argument("--reuse", action="store_true", help="keep a load of the same sizes found in --schema")
    ap.add_argument("--maintenance-mem", default="4GB", help="maintenance_work_mem for the index builds")
    ap.add_argument(
        "--shared-buffers",
        default=None,
        help="restart the pgserver PostgreSQL with this shared_buffers (a share of memory like 25%%, or a size "
        "like 6GB; default: as it is, 128MB). 25%% measured no faster here",
    )
    ap.add_argument("--out", default=str(HERE / "results" / "postgres.json"))
    args = ap.parse_args(argv)
    args.clients = [int(c) for c in args.clients.split(",") if c]
    args.replicas = [int(r) for r in args.replicas.split(",") if r]
    console = Console()
    sizes = {"namespaces": args.namespaces, "chunks_per_ns": args.chunks_per_ns, "big": args.big}
    topics = Topics()
    specs = namespace_specs(topics, args.namespaces, args.chunks_per_ns, args.big)
    conversations, questions = locomo()
    texts = [c[1] for conv in conversations for t in conv for c in t.chunks if len(c[1].split()) <= 60]
    result: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "sizes": sizes,
        "budget": args.budget,
        "seconds": args.seconds,
    }
    with postgres(Path(args.pgdata) if args.pgdata else None, args.dsn, args.shared_buffers) as uri:
        reuse = args.reuse and loaded_as(schema_dsn(uri, args.schema, fresh=False)) == sizes
        dsn = schema_dsn(uri, args.schema, fresh=not reuse)
        if reuse:
            result["load"] = json.loads(Path(args.out).read_text())["load"] if Path(args.out).exists() else None
            console.print(f"reusing the load in schema {args.schema}: {sizes}")
        else:
            result["load"] = load(dsn, specs, topics, maintenance_mem=args.maintenance_mem)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("INSERT INTO meta(key, value) VALUES ('bench_load', %s)", (json.dumps(sizes),))
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(result, indent=2))  # the load's timings, should a later step fail
        big = [s for s in specs if s.name == "big"]
        if args.namespace_index and big:
            result["namespace_index"] = own_index(dsn, topics, big[0])
            console.print(f"the big namespace's own index: {result['namespace_index']}")
        elif not args.namespace_index:  # the big namespace searched as before: no index of its own
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES (%s, '0') ON CONFLICT (key) DO UPDATE SET value = '0'",
                    (META_KEY,),
                )
        with psycopg.connect(dsn, autocommit=True) as conn:
            result["database_bytes"] = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
            result["shared_buffers"] = conn.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
        result["reads"] = reads(
            dsn,
            topics,
            specs,
            questions,
            sample=args.sample,
            queries=args.queries,
            budget=args.budget,
            big_queries=args.big_queries,
            gin_baseline=args.gin_baseline,
        )
        with tempfile.TemporaryDirectory() as logs:
            result["service"] = (
                service(dsn, args, specs, texts, questions, Path(logs), console) if args.replicas else []
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    console.print(postgres_table(Path(args.out)), markup=False)  # the README's tables
    console.print(f"wrote {args.out}; python benchmarks/update_readme.py puts the tables in the README")
    return result


if __name__ == "__main__":
    main()
