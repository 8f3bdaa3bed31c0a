from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from eval import SUMMARY_COLUMNS, load_locomo, run
from memory.embedders import Embedder
from tests.conftest import LOCOMO

STRATEGIES = ["full", "window", "summary", "dense", "bm25", "turnmem"]


def test_end_to_end_locomo(tmp_path: Path, locomo_memory_dir: Path, embedder: Embedder) -> None:
    ds = load_locomo(LOCOMO, images="caption").select(conversations=["conv-26"], limit_questions=8)
    res = run(
        ds,
        strategies=STRATEGIES,
        budgets=[1024, 256],
        out=tmp_path / "out",
        memory_dir=locomo_memory_dir,
        embedder=embedder,
        progress=False,
    )
    assert res.timings["ingested_messages"] == 0  # reused the ingested folder
    out = tmp_path / "out"
    with open(out / "summary.csv", newline="") as fh:
        header = fh.readline().strip()
    assert header.startswith(",".join(SUMMARY_COLUMNS))
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert {(r["strategy"], int(r["budget"])) for r in rows} == {(s, b) for s in STRATEGIES for b in (256, 1024)}
    for r in rows:
        assert int(r["questions"]) == 8
        for col in ("recall", "recall_all", "recall_any"):
            assert 0.0 <= float(r[col]) <= 1.0
        if r["strategy"] == "full":
            assert float(r["recall"]) == 1.0
        else:
            assert float(r["tokens_mean"]) <= int(r["budget"])
        assert float(r["latency_p95_ms"]) >= float(r["latency_p50_ms"]) >= 0
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["embedder"] and data["config"]["versions"]["faiss-cpu"]
    assert len(data["records"]) == 8 * len(STRATEGIES) * 2
    rec = next(r for r in data["records"] if r["strategy"] == "dense")
    assert "turn_ndcg@10" in rec["ranking"] and set(rec["ranks"]) == set(rec["evidence"])
    assert (out / "recall_vs_budget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "summary_by_category.csv").exists()
    by = {(r["strategy"], r["budget"]): r for r in res.summary}
    assert by[("turnmem", 1024)]["recall"] >= by[("window", 1024)]["recall"]


def test_ingest_happens_once_and_is_reused(tmp_path: Path, embedder: Embedder) -> None:
    from eval.synthetic import generate

    ds = generate(turns=40, seed=9)
    first = run(ds, strategies=["window"], budgets=[100], memory_dir=tmp_path / "m", embedder=embedder, progress=False)
    assert first.timings["ingested_messages"] == len(ds.conversations[0].turns)
    second = run(ds, strategies=["window"], budgets=[100], memory_dir=tmp_path / "m", embedder=embedder, progress=False)
    assert second.timings["ingested_messages"] == 0
    assert [r["recall"] for r in first.summary] == [r["recall"] for r in second.summary]


def test_bad_arguments() -> None:
    from eval.synthetic import generate
    from memory.errors import InvalidArgument

    ds = generate(turns=20, seed=1)
    with pytest.raises(InvalidArgument) as err:
        run(ds, strategies=["nope"], budgets=[100], progress=False)
    assert err.value.field == "strategies"
    with pytest.raises(InvalidArgument) as err:
        run(ds, strategies=["window"], budgets=[0], progress=False)
    assert err.value.field == "budgets"
