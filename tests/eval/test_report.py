"""Reports: summary rows, the CSV (its leading columns are read outside the project), tables, plots."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from eval.metrics import make_record
from eval.report import (
    SUMMARY_COLUMNS,
    markdown_table,
    plot_by_category,
    plot_recall_vs_tokens,
    render_table,
    summary_rows,
    write_csv,
)

PNG = b"\x89PNG\r\n\x1a\n"


def rec(strategy: str, budget: int, category: str, tokens: int, present: list[str]):  # noqa: ANN201
    return make_record(
        dataset="d",
        conversation="c",
        question_id=f"{strategy}{budget}{category}{tokens}",
        question="?",
        category=category,
        strategy=strategy,
        budget=budget,
        tokens=tokens,
        full_tokens=1000,
        latency_ms=1.0,
        evidence=["a", "b"],
        present=present,
    )


RECORDS = [
    rec("window", 512, "2", 500, ["a"]),
    rec("window", 512, "10", 480, []),
    rec("window", 256, "2", 250, ["a", "b"]),
    rec("dense", 256, "2", 200, ["b"]),
    rec("dense", 256, "10", 220, ["a", "b"]),
]


def test_summary_rows_group_by_strategy_and_budget() -> None:
    rows = summary_rows(RECORDS)
    # First-seen order of (strategy, budget).
    assert [(r["strategy"], r["budget"]) for r in rows] == [("window", 512), ("window", 256), ("dense", 256)]
    w512 = rows[0]
    # recalls 0.5 and 0 → 0.25; tokens 500, 480 → 490.
    assert w512["questions"] == 2 and w512["recall"] == pytest.approx(0.25) and w512["tokens_mean"] == 490
    assert rows[2]["recall"] == pytest.approx(0.75) and rows[2]["recall_all"] == 0.5


def test_summary_rows_by_category_sorted_numerically() -> None:
    rows = summary_rows(RECORDS, by_category=True)
    keys = [(r["strategy"], r["budget"], r["category"]) for r in rows]
    # "2" before "10": categories sort as numbers.
    assert keys == [("dense", 256, "2"), ("dense", 256, "10"), ("window", 256, "2"), ("window", 512, "2"),
                    ("window", 512, "10")]  # fmt: skip
    assert all(r["questions"] == 1 for r in rows)


def test_write_csv(tmp_path: Path) -> None:
    rows = summary_rows(RECORDS)
    rows[0]["latency_p95_ms"] = math.nan
    path = tmp_path / "s.csv"
    write_csv(rows, path, SUMMARY_COLUMNS)
    with open(path, newline="") as fh:
        header = fh.readline().strip().split(",")
        fh.seek(0)
        parsed = list(csv.DictReader(fh))
    assert header[: len(SUMMARY_COLUMNS)] == list(SUMMARY_COLUMNS)
    assert "token_share" in header[len(SUMMARY_COLUMNS) :]  # extra columns after the fixed ones
    assert len(parsed) == 3
    assert parsed[0]["recall"] == "0.2500" and parsed[0]["budget"] == "512"
    assert parsed[0]["latency_p95_ms"] == ""  # NaN is an empty cell


def test_tables(tmp_path: Path) -> None:
    rows = summary_rows(RECORDS)
    md = markdown_table(rows).splitlines()
    assert md[0] == "| strategy | 256 | 512 |"
    assert md[2] == "| window | 1.000 (250 tok) | 0.250 (490 tok) |"
    assert md[3] == "| dense | 0.750 (210 tok) |  |"
    table = render_table(rows)
    assert [c.header for c in table.columns] == ["strategy", "256", "512"] and table.row_count == 2


def test_plots_are_pngs(tmp_path: Path) -> None:
    rows = summary_rows(RECORDS)
    p = plot_recall_vs_tokens(rows, tmp_path / "r.png", title="t")
    assert p.read_bytes()[:8] == PNG
    q = plot_by_category(summary_rows(RECORDS, by_category=True), tmp_path / "c.png")
    assert q.read_bytes()[:8] == PNG
