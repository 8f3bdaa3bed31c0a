"""Regenerate the README's result tables from result files (never type them by hand).

    python benchmarks/update_readme.py [--eval results/locomo] [--bench benchmarks/results/assemble.json]

Replaces the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers and
copies the eval's plot to ``docs/img/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

from readme_chat import chat_loop_rows, mem0_table, scale_chat_table, service_chat_lines

ROOT = Path(__file__).resolve().parents[1]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def eval_table(folder: Path) -> str:
    rows = list(csv.DictReader(open(folder / "summary.csv", encoding="utf-8")))
    meta = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    budgets = sorted({int(r["budget"]) for r in rows})
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    cell = {(r["strategy"], int(r["budget"])): r for r in rows}
    lines = [
        "| strategy | " + " | ".join(f"{b} tokens" for b in budgets) + " |",
        "|---" + "|---:" * len(budgets) + "|",
    ]
    for s in strategies:
        vals = []
        for b in budgets:
            r = cell.get((s, b))
            if r is None:
                vals.append("")
            elif s == "full":
                vals.append(f"{float(r['recall']):.3f} ({float(r['tokens_mean']):,.0f} tok)")
            else:
                best = max(float(x["recall"]) for x in rows if int(x["budget"]) == b and x["strategy"] != "full")
                v = float(r["recall"])
                vals.append(f"**{v:.3f}**" if v == best else f"{v:.3f}")
        lines.append(f"| {s} | " + " | ".join(vals) + " |")
    cfg = meta["config"]
    t = meta["timings"]
    p95 = {s: max(float(cell[(s, b)]["latency_p95_ms"]) for b in budgets if (s, b) in cell) for s in strategies}
    lines.append("")
    lines.append(
        "Bold: the best strategy within the budget. "
        f"Mean evidence recall, {cfg['questions']} questions of {len(cfg['conversations'])} conversations "
        f"({cfg['dataset']}; {cfg['embedder']}, {cfg['counter']} token counts). "
        f"Context build p95 (worst budget): " + ", ".join(f"{s} {v:.1f} ms" for s, v in p95.items()) + ". "
        f"Whole run: {t['total_s'] / 60:.1f} min ("
        + (
            f"ingest {t['ingest_s']:.0f} s at {t['messages_per_s']:.0f} msg/s"
            if t["messages_per_s"]
            else "ingest reused from a kept memory folder"
        )
        + ") "
        f"on {cfg['machine']['platform'].split('-with')[0]}, 2 cores."
    )
    return "\n".join(lines)


def categories_table(folder: Path, categories: tuple[str, ...] = ("1", "2", "3", "4")) -> str:
    """Issue-5 view: mean recall over LoCoMo categories 1-4 (question-weighted), and each
    category's gain of turnmem over plain dense RAG."""
    rows = list(csv.DictReader(open(folder / "summary_by_category.csv", encoding="utf-8")))
    rows = [r for r in rows if r["category"] in categories]
    budgets = [b for b in (512, 1024, 2048) if any(int(r["budget"]) == b for r in rows)]
    cell = {(r["strategy"], int(r["budget"]), r["category"]): r for r in rows}

    def mean(s: str, b: int) -> float:
        got = [cell[(s, b, c)] for c in categories if (s, b, c) in cell]
        n = sum(int(r["questions"]) for r in got)
        return sum(float(r["recall"]) * int(r["questions"]) for r in got) / max(n, 1)

    known = ("window", "summary", "dense", "bm25", "turnmem")
    strategies = [s for s in known if (s, budgets[0], categories[0]) in cell]
    lines = ["| strategy | " + " | ".join(f"{b} tokens" for b in budgets) + " |", "|---" + "|---:" * len(budgets) + "|"]
    for s in strategies:
        lines.append(f"| {s} | " + " | ".join(f"{mean(s, b):.3f}" for b in budgets) + " |")
    lines.append("| *target* | " + " | ".join({512: "0.70", 1024: "0.80", 2048: "0.88"}[b] for b in budgets) + " |")
    lines += ["", "| category | questions | " + " | ".join(f"turnmem − dense @{b}" for b in budgets) + " |"]
    lines.append("|---|---:" + "|---:" * len(budgets) + "|")
    for c in categories:
        if ("turnmem", budgets[0], c) not in cell:
            continue
        deltas = [float(cell[("turnmem", b, c)]["recall"]) - float(cell[("dense", b, c)]["recall"]) for b in budgets]
        q = cell[("turnmem", budgets[0], c)]["questions"]
        lines.append(f"| {c} | {q} | " + " | ".join(f"{d * 100:+.1f} pts" for d in deltas) + " |")
    return "\n".join(lines)


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
    lines = ["| request | clients | " + " | ".join(f"{n} replica{'s' * (n > 1)}: req/s | p50 / p95 ms" for n in reps)]
    lines = [lines[0] + " |", "|---|---:" + "|---:|---:" * len(reps) + "|"]
    for kind, clients in dict.fromkeys((x["kind"], x["clients"]) for x in r["service"]):
        vals = [cell.get((kind, clients, n)) for n in reps]
        fmt = [f"{v['per_s']:.1f} | {v['p50_ms']:.0f} / {v['p95_ms']:.0f}" if v else " | " for v in vals]
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
    hnsw = sum(t for name, t in ld.get("index_build_s", {}).items() if "hnsw" in name)
    lines.append(
        f"\n{sz['namespaces']:,} namespaces × {sz['chunks_per_ns']:,} chunks + one of {sz['big']:,}: "
        f"{ld.get('chunks', 0):,} chunks, {r['database_bytes'] / 2**30:.1f} GB on disk; bulk COPY "
        f"{ld.get('copy_s', 0):.0f} s, HNSW build {hnsw:.0f} s. Budget {r['budget']}, "
        f"{r['seconds']:.0f} s per service row, clients round-robin over the replicas, all on the same "
        f"{r['machine']['cpus']} cores."
    )
    return "\n".join(lines)


STRATEGY_LABELS = {
    "dense": "dense (plain vector RAG)",
    "bm25": "bm25 (bm25s, stemmed)",
    "turnmem": "**turnmem** (defaults)",
    "turnmem-generic": "turnmem without LoCoMo-shaped priors",
}


def _set_table(data: dict[str, Any]) -> str:
    """One set: strategies x budgets (mean evidence recall), and turnmem's gain over the best plain baseline."""
    budgets = data["budgets"]
    rows = {(r["strategy"], int(r["budget"])): r for r in data["summary"]}
    cell = {key: float(r["recall"]) for key, r in rows.items()}
    strategies = list(dict.fromkeys(r["strategy"] for r in data["summary"]))
    lines = ["| strategy | " + " | ".join(f"{b} tokens" for b in budgets) + " |", "|---" + "|---:" * len(budgets) + "|"]
    for st in strategies:
        lines.append(f"| {STRATEGY_LABELS.get(st, st)} | " + " | ".join(f"{cell[(st, b)]:.3f}" for b in budgets) + " |")
    plain = [st for st in ("dense", "bm25") if st in strategies]
    if "turnmem" in strategies and plain:
        gains = [cell[("turnmem", b)] - max(cell[(p, b)] for p in plain) for b in budgets]
        lines.append("| *turnmem − best plain* | " + " | ".join(f"{g:+.3f}" for g in gains) + " |")
    notes = []
    shown = [st for st in ("turnmem", "dense") if st in strategies]
    p95 = "; ".join(f"{st} " + " / ".join(f"{rows[(st, b)]['latency_p95_ms']:.0f}" for b in budgets) for st in shown)
    notes.append(f"Context build p95 ms by budget (query embedding excluded, other jobs sharing the 2 cores): {p95}.")

    def has(v: Any) -> bool:
        return isinstance(v, float) and v == v  # NaN: no question of the set has a stale value

    if any(has(rows[(st, b)].get("latest_value")) for st in shown for b in budgets):
        lv = "; ".join(f"{st} " + " / ".join(f"{rows[(st, b)]['latest_value']:.2f}" for b in budgets) for st in shown)
        notes.append(f"`latest_value` (update questions whose context holds the newest value): {lv}.")
    return "\n".join(lines) + "\n\n" + " ".join(notes)


def _category_table(data: dict[str, Any], strategies: tuple[str, ...] = ("dense", "bm25", "turnmem")) -> str:
    budgets = data["budgets"]
    rows = data["by_category"]
    cats = sorted({r["category"] for r in rows}, key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else c))
    cell = {(r["strategy"], r["category"], int(r["budget"])): r for r in rows}
    head = "| category | questions | " + " | ".join(f"{st} @{b}" for st in strategies for b in budgets) + " |"
    lines = [head, "|---|---:" + "|---:" * (len(strategies) * len(budgets)) + "|"]
    for c in cats:
        n = next((int(r["questions"]) for r in rows if r["category"] == c), 0)
        vals = [cell.get((st, c, b)) for st in strategies for b in budgets]
        lines.append(f"| {c} | {n} | " + " | ".join(f"{float(v['recall']):.2f}" if v else "" for v in vals) + " |")
    return "\n".join(lines)


def retrieval_blocks(path: Path) -> dict[str, str]:
    """README blocks from benchmarks/results/retrieval.json (see benchmarks/retrieval.py)."""
    report = json.loads(path.read_text(encoding="utf-8"))
    sets = report["sets"]
    blocks: dict[str, str] = {}
    head = [s for s in ("heldout", "chat") if s in sets]
    if head:
        parts = []
        for name in head:
            d = sets[name]
            parts.append(f"**{d['title']}** ({d['questions']} questions):\n\n" + _set_table(d))
        blocks["retrieval-headline"] = "\n\n".join(parts)
    if "tuning" in sets:
        d = sets["tuning"]
        blocks["retrieval-tuning"] = f"**{d['title']}** ({d['questions']} questions):\n\n" + _set_table(d)
    cats = []
    for name in ("heldout", "chat"):
        if name in sets:
            cats.append(f"**{sets[name]['title']}**, per category:\n\n" + _category_table(sets[name]))
    if cats:
        blocks["retrieval-categories"] = "\n\n".join(cats)
    return blocks


def notebook_images() -> dict[str, str]:
    """Execute each notebook and save its first picture to docs/img/; returns notebook -> image path."""
    import base64

    import nbformat
    from nbclient import NotebookClient

    folder = ROOT / "notebooks"
    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        for cell in nb.cells:
            outs = cell.get("outputs", [])
            png = next((o["data"]["image/png"] for o in outs if "image/png" in o.get("data", {})), None)
            if png:
                target = img / f"notebook-{path.stem}.png"
                target.write_bytes(base64.b64decode(png))
                found[path.stem] = str(target.relative_to(ROOT))
                break
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=str(ROOT / "results" / "locomo"))
    ap.add_argument("--bench", default=str(ROOT / "benchmarks" / "results" / "assemble.json"))
    ap.add_argument("--service", default=str(ROOT / "benchmarks" / "results" / "service.json"))
    ap.add_argument(
        "--service-chat",
        default=str(ROOT / "benchmarks" / "results" / "service-chat.json"),
        help="a bench_service run whose chat loop and contexts/s go under the service table",
    )
    ap.add_argument("--scale", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    ap.add_argument("--postgres", default=str(ROOT / "benchmarks" / "results" / "postgres.json"))
    ap.add_argument(
        "--scale-chat",
        default=str(ROOT / "benchmarks" / "results" / "scale-chat.json"),
        help="bench_scale --chat-only's result (a full run's scale.json holds the chat loop too)",
    )
    ap.add_argument("--mem0", default=str(ROOT / "benchmarks" / "results" / "mem0.json"))
    ap.add_argument("--retrieval", default=str(ROOT / "benchmarks" / "results" / "retrieval.json"))
    ap.add_argument("--notebooks", action="store_true", help="execute the notebooks and refresh their pictures")
    args = ap.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    ev = Path(args.eval)
    if (ev / "summary.csv").exists() and "<!-- locomo-table:start -->" in text:
        text = replace_block(text, "locomo-table", eval_table(ev))
        if (ev / "summary_by_category.csv").exists() and "<!-- locomo-cats:start -->" in text:
            text = replace_block(text, "locomo-cats", categories_table(ev))
        img = ROOT / "docs" / "img"
        img.mkdir(parents=True, exist_ok=True)
        shutil.copy(ev / "recall_vs_budget.png", img / "locomo_recall_vs_budget.png")
        if (ev / "recall_by_category.png").exists():
            shutil.copy(ev / "recall_by_category.png", img / "locomo_recall_by_category.png")
    if Path(args.bench).exists():
        text = replace_block(text, "assemble-bench", bench_table(Path(args.bench)))
    if Path(args.service).exists() and "<!-- service-bench:start -->" in text:
        chat = Path(args.service_chat)  # only while service.json comes from a run without the chat loop
        own = "chat_loop" in Path(args.service).read_text(encoding="utf-8")
        text = replace_block(
            text, "service-bench", service_table(Path(args.service), chat if chat.exists() and not own else None)
        )
    if Path(args.scale).exists() and "<!-- scale-bench:start -->" in text:
        text = replace_block(text, "scale-bench", scale_table(Path(args.scale)))
    if Path(args.postgres).exists() and "<!-- postgres-bench:start -->" in text:
        text = replace_block(text, "postgres-bench", postgres_table(Path(args.postgres)))
    has_chat = [p for p in (Path(args.scale_chat), Path(args.scale)) if p.exists() and "chat_loop" in p.read_text()]
    chat = has_chat[0] if has_chat else None
    if chat is not None and "<!-- scale-chat-bench:start -->" in text:
        text = replace_block(text, "scale-chat-bench", scale_chat_table(chat))
    if Path(args.mem0).exists() and "<!-- mem0-bench:start -->" in text:
        text = replace_block(text, "mem0-bench", mem0_table(Path(args.mem0)))
    if Path(args.retrieval).exists():
        for name, body in retrieval_blocks(Path(args.retrieval)).items():
            if f"<!-- {name}:start -->" in text:
                text = replace_block(text, name, body)
    if args.notebooks:
        print("notebook pictures:", notebook_images())
    readme.write_text(text, encoding="utf-8")
    print("README.md updated")


if __name__ == "__main__":
    main()
