"""README tables of cost: ``bench_assemble``, ``bench_service``, ``bench_scale`` and ``bench_postgres``'s
JSON as latency, throughput and size tables, used by ``benchmarks/update_readme.py``."""

from __future__ import annotations

import json
from pathlib import Path

from readme_chat import chat_loop_rows, service_chat_lines


def bench_table(path: Path) -> str:
    r = json.loads(path.read_text(encoding="utf-8"))
    rows = [
        ("`assemble`, query vector given", r["assemble_ms"]),
        ("`assemble`, embedding the query", r["assemble_with_query_embedding_ms"]),
        ("`assemble`, no query (window only)", r["assemble_no_query_ms"]),
        (f"bare FAISS search, k={r['bare_faiss_search_ms']['k']}", r["bare_faiss_search_ms"]),
    ]
    lines = ["| measure | p50 ms | p95 ms |", "|---|---:|---:|"]
    lines += [f"| {label} | {v['p50']:.2f} | {v['p95']:.2f} |" for label, v in rows]
    lines.append("")
    lines.append(
        f"LoCoMo {r['conversation']} ({r['messages']} messages, {r['chunks']} chunks), budget {r['budget']}, "
        f"{r['queries']} questions. Ingest: {r['ingest_messages_per_s']:.0f} messages/s, "
        f"{r['ingest_vs_embedder']:.0%} of the embedder's own {r['embedder_texts_per_s']:.0f} texts/s "
        "on the same texts."
    )
    if "chat_loop" in r:
        lines += ["", *chat_loop_table(r)]
    return "\n".join(lines)


def chat_loop_table(r: dict) -> list[str]:
    """The chat-loop rows of ``bench_assemble`` and how they were made."""
    c = r["chat_loop"]
    return [
        *chat_loop_rows(c),
        "",
        f"{c['turns']} turns in one session of the same namespace: `add` a user turn (a LoCoMo question), build "
        "its context (query vector given) right after, again warm, and again after embedding the turn without "
        f"storing it; then `add` a {c['answer_words']:,}-word answer. {r.get('note') or ''}".rstrip(),
    ]


def service_table(path: Path, chat: Path | None = None) -> str:
    """The throughput table, then the chat loop and contexts/s of ``chat`` (a run of its own) or of ``path``."""
    r = json.loads(path.read_text(encoding="utf-8"))
    lines = ["| target | request | clients | req/s | p50 ms | p95 ms |", "|---|---|---:|---:|---:|---:|"]
    lines += [
        f"| {row['target']} | {row['kind']} | {row['clients']} | {row['per_s']:.1f} | {row['p50_ms']:.1f} "
        f"| {row['p95_ms']:.1f} |"
        for row in r["rows"]
    ]
    lines.append("")
    lines.append(
        f"Loopback, {r['seconds']:.0f} s of sustained load per row, client and server on the same 2 cores. "
        "`write`: one chat turn (at most 60 words) appended to a shared session, counted "
        "once committed and its vectors indexed (`wait_indexed=True`: the rate the embedder sustains; an "
        "acknowledgement alone takes a few ms, see the add latency below); `write-mixed`: the same with "
        "the synthetic conversation's whole mix, long tool outputs (up to 1,400 words, several chunks) included; "
        f"`context`: `assemble` with the query embedded, budget {r['budget']}, on a session of "
        f"{r['seed_turns']} messages. `embedded`: the same calls on `Memory` in one thread (contexts: in 1 and "
        "2 threads at once)."
    )
    lines += service_chat_lines(json.loads(chat.read_text(encoding="utf-8")) if chat is not None else r)
    return "\n".join(lines)


def scale_table(path: Path) -> str:
    r = json.loads(path.read_text(encoding="utf-8"))
    extra = path.with_name(path.stem + "-1m.json")  # the 1M-chunk run, made separately (it takes long)
    if extra.exists():
        r["sizes"] += json.loads(extra.read_text(encoding="utf-8"))["sizes"]
    lines = [
        "| chunks | vectors | index | assemble p50 / p95 ms | bare search p95 ms | assemble ÷ bare search (p95) "
        "| recall@50 | disk B/chunk | index RAM B/chunk |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size in r["sizes"]:
        for row in size["reads"]:
            a, srch = row["assemble_ms"], row["search_ms"]
            rec = row.get("recall@50")
            if row["backend"].startswith("chroma"):
                disk, ram = row.get("disk_bytes_per_chunk"), row.get("rss_bytes_per_chunk")
            elif "HNSW" in row["backend"]:
                disk, ram = (
                    None,
                    size.get("faiss_flat_index_rss_bytes_per_chunk", 0) + row.get("hnsw_rss_bytes_per_chunk", 0),
                )
            else:
                disk, ram = size["disk"]["bytes_per_chunk"], size.get("faiss_flat_index_rss_bytes_per_chunk")
            vectors = "MiniLM" if size["vectors"] == "MiniLM" else "synthesized"
            lines.append(
                f"| {size['chunks']:,} | {vectors} | {row['backend']} "
                f"| {a['p50']:.1f} / {a['p95']:.1f} | {srch['p95']:.2f} | {a['p95'] / srch['p95']:.0f}x "
                f"| {'' if rec is None else f'{rec:.3f}'} | {'' if disk is None else f'{disk:,.0f}'} "
                f"| {'' if ram is None or size['chunks'] < 50_000 else f'{ram:,.0f}'} |"
            )
    ing = [(s["chunks"], s["ingest"]) for s in r["sizes"]]
    lines.append("")
    parts = []
    for chunks, i in ing:
        if "ingest_vs_embedder_one_call" in i:
            parts.append(
                f"{chunks:,} chunks (MiniLM): {i['messages_per_s']:.0f} messages/s, "
                f"{i['ingest_vs_embedder_same_batches']:.0%} of the embedder's own time on the same batches"
            )
        elif "implied_ingest_vs_embedder" in i:
            parts.append(
                f"{chunks:,} chunks: our overhead {i['overhead_ms_per_chunk']:.2f} ms/chunk, "
                f"{i['implied_ingest_vs_embedder']:.0%} of the embedder's rate implied"
            )
    m = r["machine"]
    lines.append(
        f"Ingest: {'; '.join(parts)}. Machine: {m['platform']}, {m['cpus']} CPUs, {m['ram_gb']} GB RAM. "
        "Budget 2048, 100 questions, query embedding excluded. Index RAM is measured (RSS growth) only from "
        "100k chunks, where it rises above the allocator's noise."
    )
    return "\n".join(lines)


def postgres_table(path: Path) -> str:
    """benchmarks/results/postgres.json: service rows with the replicas side by side, then reads per namespace."""
    r = json.loads(path.read_text(encoding="utf-8"))
    cell = {(x["kind"], x["clients"], x["replicas"]): x for x in r["service"]}
    reps = sorted({x["replicas"] for x in r["service"]})
    cpu = all(x.get("cpu_busy") is not None for x in r["service"])  # the machine's busy share (runs since it)
    head = " | ".join(f"{n} replica{'s' * (n > 1)}: req/s | p50 / p95 ms" + (" | CPU" if cpu else "") for n in reps)
    lines = [f"| request | clients | {head} |", "|---|---:" + ("|---:|---:" + "|---:" * cpu) * len(reps) + "|"]
    for kind, clients in dict.fromkeys((x["kind"], x["clients"]) for x in r["service"]):
        vals = [cell.get((kind, clients, n)) for n in reps]
        fmt = [
            (f"{v['per_s']:.1f} | {v['p50_ms']:.0f} / {v['p95_ms']:.0f}" + (f" | {v['cpu_busy']:.0%}" if cpu else ""))
            if v
            else " | " + " | " * cpu
            for v in vals
        ]
        lines.append(f"| {kind} | {clients} | " + " | ".join(fmt) + " |")
    k, sz, ld = r["reads"]["k_search"], r["sizes"], r["load"] or {}
    lines += [
        "",
        "| namespace | `assemble`, first call p50 / p95 ms | `assemble` p50 / p95 ms "
        f"| vector search p95 ms, k=64 / k={k} | full text p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, x in ((label, r["reads"][label]) for label in ("per-namespace", "big") if label in r["reads"]):
        n = f"{x['chunks_per_namespace']:,} chunks"
        name = f"one of {n}" if label == "big" else f"{n} each ({x['namespaces']} of {sz['namespaces']:,} timed)"
        a, c, v = x["assemble_ms"], x["assemble_cold_ms"], x["vector_search_ms"]
        lines.append(
            f"| {name} | {c['p50_ms']:.0f} / {c['p95_ms']:.0f} | {a['p50_ms']:.1f} / {a['p95_ms']:.1f} "
            f"| {v['64']['p95_ms']:.1f} / {v[str(k)]['p95_ms']:.1f} | {x['text_search_ms']['p95_ms']:.1f} |"
        )
        if "assemble_gin_ms" in x:  # --gin-baseline: the same calls with full text through the GIN everywhere
            g = x["assemble_gin_ms"]
            lines.append(
                f"| the same, full text through the GIN (the plan before) | | {g['p50_ms']:.1f} / {g['p95_ms']:.1f} "
                f"| | {x['text_search_gin_ms']['p95_ms']:.1f} |"
            )
    own = r.get("namespace_index")
    if own and own.get("build_s") is not None:
        built = f"built in {own['build_s']:.0f} s" if own["outcome"] == "built" else "built by an earlier run"
        lines.append(
            f"\nThe namespace of {sz['big']:,} chunks searched through its own HNSW index ({built}, "
            f"{own['index_bytes'] / 2**20:.0f} MB): recall@64 {own['k64']['recall']:.3f}, "
            f"recall@512 {own['k512']['recall']:.3f} against the exact scan."
        )
    hnsw = sum(t for name, t in ld.get("index_build_s", {}).items() if "hnsw" in name)
    lines.append(
        f"\n{sz['namespaces']:,} namespaces × {sz['chunks_per_ns']:,} chunks + one of {sz['big']:,}: "
        f"{ld.get('chunks', 0):,} chunks, {r['database_bytes'] / 2**30:.1f} GB on disk; bulk COPY "
        f"{ld.get('copy_s', 0):.0f} s, HNSW build {hnsw:.0f} s. Budget {r['budget']}, "
        f"{r['seconds']:.0f} s per service row, clients round-robin over the replicas, all on the same "
        f"{r['machine']['cpus']} cores."
    )
    return "\n".join(lines)
