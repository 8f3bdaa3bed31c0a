"""README tables for the chat-loop rows (``benchmarks/chatloop.py``) and mem0 side by side
(``benchmarks/bench_mem0.py``), used by ``benchmarks/update_readme.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _pp(v: dict[str, float]) -> str:
    return f"{v['p50']:.1f} / {v['p95']:.1f}"


def chat_loop_rows(c: dict[str, Any]) -> list[str]:
    """One chat loop as a table: contexts right after an append against warm (and against
    after an embed that stores nothing, when measured), and ``add`` latency."""
    chunks = f" (~{c['answer_chunks_mean']:.0f} chunks)" if "answer_chunks_mean" in c else ""
    rows = [
        ("context right after the user turn's `add`", c["context_after_append_ms"]),
        ("same context again, warm (nothing new)", c["context_warm_ms"]),
        ("same context after embedding the turn, nothing stored", c.get("context_after_embed_only_ms")),
        ("caches rebuilt from the whole log (what every append cost before)", c.get("caches_rebuilt_ms")),
        ("`add` a short user turn", c["add_short_ms"]),
        (f"`add` a {c['answer_words']:,}-word answer{chunks}", c["add_long_ms"]),
    ]
    lines = ["| chat loop | p50 ms | p95 ms |", "|---|---:|---:|"]
    lines += [f"| {label} | {v['p50']:.2f} | {v['p95']:.2f} |" for label, v in rows if v is not None]
    lines.append(f"| after an append ÷ warm | {c['after_vs_warm_p50']:.2f}× | {c['after_vs_warm_p95']:.2f}× |")
    if "after_vs_embed_only_p50" in c:
        lines.append(
            f"| after an append ÷ after an embed only | {c['after_vs_embed_only_p50']:.2f}× "
            f"| {c['after_vs_embed_only_p95']:.2f}× |"
        )
    return lines


def scale_chat_table(path: Path) -> str:
    """The chat loop at each namespace size of ``bench_scale``."""
    r = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        "| chunks | vectors | context after an append p50 / p95 ms | warm p50 / p95 ms | after ÷ warm p95 "
        "| same, CPU time | `add` short turn p50 / p95 ms | `add` 1,000-word answer p50 / p95 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size in r["sizes"]:
        c = size.get("chat_loop")
        if c is None:
            continue
        vectors = "MiniLM" if size["vectors"] == "MiniLM" else "synthesized"
        lines.append(
            f"| {size['chunks']:,} | {vectors} | {_pp(c['context_after_append_ms'])} | {_pp(c['context_warm_ms'])} "
            f"| {c['after_vs_warm_p95']:.2f}× | {c['after_vs_warm_cpu_p95']:.2f}× | {_pp(c['add_short_ms'])} "
            f"| {_pp(c['add_long_ms'])} |"
        )
    turns = next((s["chat_loop"]["turns"] for s in r["sizes"] if "chat_loop" in s), 0)
    note = r["machine"].get("note") or ""
    lines += [
        "",
        f"{turns} chat-loop turns per size in a new session of the namespace, budget {r['config']['budget']}, query "
        "vector given; `add` embeds with the size's embedder (MiniLM, or the synthesizing one above "
        "`--real-max`, which costs next to nothing). CPU time: the calling thread's, which other jobs do not "
        f"inflate. Goal: p95 right after an append ≤ 1.2× warm. {note}".rstrip(),
    ]
    return "\n".join(lines)


def service_chat_lines(r: dict[str, Any]) -> list[str]:
    """The service run's chat loop (through the client) and contexts/s with 1 and 2 threads."""
    lines: list[str] = []
    if "contexts_2_vs_1_threads" in r:
        lines += [
            "",
            f"Embedded contexts/s with 2 threads building at once ÷ 1 thread: {r['contexts_2_vs_1_threads']:.2f}× "
            "(2.0× would be both cores fully used).",
        ]
    if "chat_loop" in r:
        c = r["chat_loop"]
        lines += ["", *chat_loop_rows(c), ""]
        lines.append(
            f"Chat loop through the client, {c['turns']} turns: `add` a user turn, build its context (the query "
            f"embedded by the server) right after and again warm, `add` a {c['answer_words']:,}-word answer. "
            f"{r.get('note') or ''}".rstrip()
        )
    return lines


def mem0_table(path: Path) -> str:
    """turnmem's context against mem0's search, interleaved in one run (``bench_mem0.py``)."""
    r = json.loads(path.read_text(encoding="utf-8"))
    rows = [
        ("context (turnmem `assemble`) / search (mem0), query embedded", "turnmem_assemble", "mem0_search"),
        ("the embedder alone on the same query", "turnmem_embed", "mem0_embed"),
        (
            "`add` one turn, acknowledged (turnmem: write-behind; mem0: `infer=False`, no LLM)",
            "turnmem_add",
            "mem0_add",
        ),
        ("`add` one turn, its vector indexed (turnmem: `wait_indexed=True`)", "turnmem_add_indexed", "mem0_add"),
    ]
    wall_only = {"turnmem_add_indexed"}  # embedded on the indexer thread: the caller's CPU time misses it
    lines = [
        "| measure | clock | turnmem p50 / p95 ms | mem0 p50 / p95 ms | turnmem ÷ mem0 p50 | p95 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, ours, theirs in rows:
        for clock, ms in (("wall", r["ms"]), ("CPU", r["cpu_ms"])):
            if ours not in ms or (clock == "CPU" and ours in wall_only):
                continue
            a, b = ms[ours], ms[theirs]
            lines.append(
                f"| {label} | {clock} | {_pp(a)} | {_pp(b)} | {a['p50'] / b['p50']:.2f}× | {a['p95'] / b['p95']:.2f}× |"
            )
    beyond = r["beyond_embedding_cpu_ms_p50"]
    load = (r["machine"]["loadavg_before"][0], r["machine"]["loadavg_after"][0])
    lines += [
        "",
        f"LoCoMo {r['conversation']} ({r['messages']} messages), {r['questions']} questions, each side's calls "
        f"interleaved in one run, {r['torch_threads']} thread(s) on both; turnmem's embedder: "
        f"{r.get('turnmem_embedder', 'SentenceTransformerEmbedder')}, mem0's: sentence-transformers on torch, the same "
        "MiniLM weights; CPU is the calling "
        f"thread's time, which other jobs on the machine do not inflate. turnmem builds the whole context (budget "
        f"{r['budget']}: window, hybrid retrieval, priors, packing, exact counts); mem0 {r['mem0']['mem0ai']} "
        f"returns its top {r['mem0_top_k']} from local Qdrant (its spaCy and fastembed extras load models from a "
        f"hub, so they are off: dense search). Beyond the embedder (CPU p50 differences): turnmem "
        f"{beyond['turnmem']:.1f} ms, mem0 {beyond['mem0']:.1f} ms. Load average {load[0]:.0f} at the start, "
        f"{load[1]:.0f} at the end. {r.get('note') or ''}".rstrip(),
    ]
    before = path.with_name("mem0-before.json")
    if before.exists():
        o = json.loads(before.read_text(encoding="utf-8"))
        lines += [
            "",
            f"The same harness on turnmem before the retrieval fixes ({before.name}, a separate run): turnmem ÷ mem0 "
            f"CPU {o['cpu_assemble_vs_search_p50']:.2f}× p50, {o['cpu_assemble_vs_search_p95']:.2f}× p95; beyond the "
            f"embedder turnmem {o['beyond_embedding_cpu_ms_p50']['turnmem']:.1f} ms, mem0 "
            f"{o['beyond_embedding_cpu_ms_p50']['mem0']:.1f} ms.",
        ]
    return "\n".join(lines)
