"""README tables of recall: the LoCoMo eval (``turnmem eval --out``'s files) and the retrieval sets
(``benchmarks/retrieval.py``'s JSON), used by ``benchmarks/update_readme.py``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


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
    dev = [s for s in ("prefs", "projects") if s in sets]
    if dev:
        blocks["retrieval-devsets"] = "\n\n".join(
            f"**{sets[n]['title']}** ({sets[n]['questions']} questions):\n\n"
            + _set_table(sets[n])
            + "\n\nPer ability:\n\n"
            + _category_table(sets[n])
            for n in dev
        )
    cats = []
    for name in ("heldout", "chat"):
        if name in sets:
            cats.append(f"**{sets[name]['title']}**, per category:\n\n" + _category_table(sets[name]))
    if cats:
        blocks["retrieval-categories"] = "\n\n".join(cats)
    return blocks
