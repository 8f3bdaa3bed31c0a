"""The README's benchmark numbers are the committed result files' (benchmarks/results/*.json):
every generated block is what its renderer makes of the JSON today, and the numbers typed into
the prose around them quote the same files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import update_readme as ur
from bench_embedder import table as embedder_table
from readme_chat import mem0_table, scale_chat_table

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def flat(text: str) -> str:
    """Prose with its line breaks as spaces, so a reflowed paragraph still matches."""
    return re.sub(r"\s+", " ", text)


PROSE = flat(README)


def block(name: str) -> str:
    found = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", README, flags=re.S)
    assert found, f"README.md has no {name} block"
    return found.group(1).rstrip()


def load(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


RENDERED = {
    "assemble-bench": lambda: ur.bench_table(RESULTS / "assemble.json"),
    "service-bench": lambda: ur.service_table(RESULTS / "service.json"),
    "scale-bench": lambda: ur.scale_table(RESULTS / "scale.json"),
    "postgres-bench": lambda: ur.postgres_table(RESULTS / "postgres.json"),
    "scale-chat-bench": lambda: scale_chat_table(RESULTS / "scale-chat.json"),
    "mem0-bench": lambda: mem0_table(RESULTS / "mem0.json"),
    **{
        name: (lambda n=name: ur.retrieval_blocks(RESULTS / "retrieval.json")[n])
        for name in ("retrieval-headline", "retrieval-tuning", "retrieval-categories")
    },
}


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_each_generated_block_is_its_result_file_rendered(name: str) -> None:
    assert block(name) == RENDERED[name]().rstrip(), f"run `python benchmarks/update_readme.py` ({name})"


def test_the_embedder_table_is_embedder_json_rendered() -> None:
    found = re.search(r"<!-- embedder-table -->\n(.*?)<!-- /embedder-table -->", README, flags=re.S)
    assert found and found.group(1).rstrip() == embedder_table(load("embedder.json")).rstrip()


def fmt(x: float, places: int = 3) -> str:
    return f"{x:.{places}f}"


def test_the_recall_parity_table_quotes_recall_parity_json() -> None:
    r = load("recall_parity.json")
    section = README.split("\n## PostgreSQL\n", 1)[1].split("\n## ", 1)[0]
    sqlite = [r["sqlite"]["recall"][str(b)] for b in r["budgets"]]
    pg = [r["postgres"]["recall"][str(b)] for b in r["budgets"]]
    assert r["sqlite"]["questions"] == r["postgres"]["questions"] == 1536 and "1,536 questions" in section
    assert "| SQLite: FTS5 `bm25()`, statistics over the whole table | " + " | ".join(map(fmt, sqlite)) in section
    cells = " | ".join(f"{fmt(p)} ({p - s:+.3f})" for p, s in zip(pg, sqlite))
    assert f"statistics per namespace (the store) | {cells} |" in section
    assert "ahead by up to 0.015" in section and round(max(p - s for p, s in zip(pg, sqlite)), 3) == 0.015


def test_the_add_latency_prose_quotes_assemble_json_and_add_latency_json() -> None:
    section = flat(README.split("### Fast writes: write-behind indexing", 1)[1].split("\n## ", 1)[0])
    a = load("assemble.json")["add_latency"]
    assert a["turns"] == 30 and "30 turns each" in section

    def pair(x: dict[str, float]) -> str:
        return f"{x['p50']:.1f} / {x['p95']:.1f} ms"

    sync, idle, busy = a["sync"], a["background, indexer idle"], a["background"]
    assert f"took {pair(sync['add_long_ms'])} p50 / p95" in section
    assert f"{pair(idle['add_long_ms'])} acknowledged at the commit with the indexer idle" in section
    assert f"or {pair(busy['add_long_ms'])} back to back" in section
    assert f"{pair(sync['add_short_ms'])} against {pair(idle['add_short_ms'])}" in section
    after = idle["long_indexed_after_ms"]
    assert f"indexed {after['p50']:.0f} / {after['p95']:.0f} ms after" in section
    ratios = [sync["add_long_ms"][q] / x["add_long_ms"][q] for x in (idle, busy) for q in ("p50", "p95")]
    assert 29.5 <= min(ratios) and max(ratios) < 74.5 and "30-74× less" in section
    old = load("add_latency.json")["add_latency"]
    o_sync, o_idle = old["sync"]["add_long_ms"], old["background, indexer idle"]["add_long_ms"]
    assert f"gave {o_sync['p50']:.0f} / {o_sync['p95']:.0f} ms against {pair(o_idle)}" in section


def test_the_prose_under_the_tables_quotes_the_same_runs() -> None:
    service = load("service.json")
    chat = service["chat_loop"]
    ratio = f"({chat['after_vs_warm_p50']:.2f}× p50, {chat['after_vs_warm_p95']:.2f}× p95 over {chat['turns']} turns)"
    assert ratio in PROSE
    pg = load("postgres.json")
    small = pg["reads"]["per-namespace"]
    assert f"{small['text_search_ms']['p95_ms']:.1f} ms p95 here" in PROSE
    a = small["assemble_ms"]
    quoted = f"{a['p50_ms']:.1f} / {a['p95_ms']:.1f} ms p50 / p95"
    assert f"Per-namespace `assemble` misses the 25 ms goal: {quoted}" in PROSE
    rows = {(x["kind"], x["replicas"], x["clients"]): x for x in pg["service"]}
    one = sorted((c, x["per_s"]) for (k, r, c), x in rows.items() if k == "write" and r == 1)
    three = max(x["per_s"] for (k, r, _), x in rows.items() if k == "write" and r == 3)
    scale = f"{one[0][1]:.0f} → {one[-1][1]:.0f} writes/s with 1 → 8 clients on one replica, {three:.0f} on three"
    assert scale in PROSE
    idx1, idx3 = rows[("write, indexed", 1, 8)], rows[("write, indexed", 3, 8)]
    assert f"stops at {idx1['per_s']:.0f} writes/s with the CPU {idx1['cpu_busy']:.0%} busy" in PROSE.replace(" %", "%")
    assert f"reach {idx3['per_s']:.1f} writes/s at {idx3['cpu_busy']:.0%} CPU" in PROSE.replace(" %", "%")
    assert all(x["failed"] == 0 for x in pg["service"]) and "no call failed in any row" in PROSE
    v = small["vector_search_ms"]
    assert f"{v['64']['p95_ms']:.1f} / {v['512']['p95_ms']:.1f} ms p95 (k = 64 / 512)" in PROSE


def test_the_ablation_pages_result_table_is_retrieval_json() -> None:
    page = (ROOT / "docs" / "ablation.md").read_text(encoding="utf-8")
    sets = load("retrieval.json")["sets"]
    for name in ("heldout", "tuning", "chat"):
        d = sets[name]
        cell = {(r["strategy"], int(r["budget"])): float(r["recall"]) for r in d["summary"]}
        row = [" / ".join(fmt(cell[(st, b)]) for b in d["budgets"]) for st in ("dense", "bm25", "turnmem")]
        gains = " / ".join(
            f"{cell[('turnmem', b)] - max(cell[('dense', b)], cell[('bm25', b)]):+.3f}" for b in d["budgets"]
        )
        assert f"| {row[0]} | {row[1]} | " in page and row[2] in page and gains in page, name


def test_the_embedder_and_scale_prose_quotes_their_runs() -> None:
    q = load("embedder.json")["speed"]["query_ms_p50"]
    assert f"about {q['torch-fp32']:.0f} ms of CPU" in PROSE
    assert f"{q['onnx-fp32']:.1f} ms fp32, {q['onnx-int8']:.1f} ms int8, CPU" in PROSE
    sizes = load("scale-chat.json")["sizes"]
    long_p50 = sorted(s["chat_loop"]["add_long_ms"]["p50"] for s in sizes)
    assert f"{long_p50[0]:.1f}-{long_p50[-1]:.1f} ms p50 at every size" in PROSE
    flat_1m = next(r for r in load("scale-1m.json")["sizes"][0]["reads"] if r["backend"] == "faiss (flat)")
    assert f"a flat search alone takes {flat_1m['search_ms']['p50']:.0f} ms" in PROSE


def test_the_scale_runs_settings_are_the_ones_the_readme_gives() -> None:
    cfg, run = load("scale.json")["config"], load("scale.json")
    assert (cfg["sizes"], cfg["ef_search"], cfg["hnsw_m"]) == ("1000,10000,100000", 256, 32)
    assert "`python benchmarks/bench_scale.py --sizes 1000,10000,100000 --ef-search 256`" in README
    assert "FAISS HNSW (M=32, ef 256)" in PROSE and "FAISS HNSW (M=32)" in PROSE
    assert cfg["real_max"] == 10_000 and "Up to 10k chunks the vectors are real MiniLM embeddings" in PROSE
    assert run["synthesis_check"] and "the JSON holds a real-vs-synthesized neighbour check" in PROSE
    assert (cfg["budget"], cfg["queries"]) == (2048, 100)


def test_chatset_md_quotes_the_chat_sets_current_numbers() -> None:
    page = flat((ROOT / "docs" / "chatset.md").read_text(encoding="utf-8"))
    d = load("retrieval.json")["sets"]["chat"]
    cell = {(r["strategy"], int(r["budget"])): float(r["recall"]) for r in d["summary"]}
    turnmem, dense = (" / ".join(fmt(cell[(st, b)]) for b in d["budgets"]) for st in ("turnmem", "dense"))
    assert f"(turnmem {turnmem} against dense {dense} at 1024 / 2048 / 4096 tokens)" in page
    assert d["budgets"] == [1024, 2048, 4096]
