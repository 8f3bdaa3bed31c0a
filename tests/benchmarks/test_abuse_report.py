"""``benchmarks/abuse.py``'s JSON and tables (``abuse_report``), and the README's figures from
``benchmarks/results/abuse.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from abuse_report import INPUTS, abuser_cost, merge, tables
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]


def _summary(p50: float, p95: float) -> dict[str, float]:
    return {"p50": p50, "p95": p95, "mean": p50, "n": 10}


def _input_row(attack: str, answered: int) -> dict[str, Any]:
    ms = _summary(5.0, 9.0) if answered else {"p50": float("nan"), "p95": float("nan"), "mean": 0.0, "n": 0}
    return {
        "attack": attack,
        "abuser_timeout_s": 30.0,
        "load_avg": [4.0, 3.0, 2.0],
        "alone": {"context_ms": _summary(20, 40), "healthz_ms": _summary(1, 2)},
        "attacked": {"context_ms": _summary(30, 60), "healthz_ms": _summary(1, 3)},
        "abuser": {
            "answers": {"422": answered} if answered else {"no answer in 30 s": 1},
            "requests_ms": {**ms, "max": 12.0 if answered else None},
        },  # fmt: skip
        "server_cpu_s": 3.0,
        "p95_ratio": 1.5,
    }


def test_a_run_of_input_attacks_keeps_the_waiting_rows_and_replaces_its_own() -> None:
    previous = {"before": {"seconds": 15.0, "rows": [{"attack": "flush"}, {"attack": "query", "old": True}]}}
    merged = merge(previous, "before", {"seconds": 99.0}, [_input_row("query", 3), _input_row("deep", 1)])
    assert [r["attack"] for r in merged["before"]["rows"]] == ["flush", "query", "deep"]
    assert "old" not in merged["before"]["rows"][1]
    assert merged["before"]["seconds"] == 15.0  # the waiting rows' settings stay theirs
    assert merge(previous, "before", {"seconds": 99.0}, [{"attack": "flush"}])["before"]["seconds"] == 99.0
    assert previous["before"]["rows"][1]["old"]  # not changed in place


def test_the_abuser_cost_says_when_nothing_answered() -> None:
    assert abuser_cost(_input_row("cjk", 0)) == "no answer within 30 s; no answer in 30 s: 1"
    assert abuser_cost(_input_row("cjk", 4)) == "p50 5 ms, max 12 ms; 422: 4"
    console = Console(width=200, record=True)
    for table in tables([_input_row("cjk", 0), _input_row("deep", 4)], "after", "/x"):
        console.print(table)
    text = console.export_text()
    assert "hostile input" in text and "1.50x" in text and "no answer within 30 s" in text


def test_the_readme_quotes_the_input_attacks_of_abuse_json() -> None:
    runs = json.loads((ROOT / "benchmarks/results/abuse.json").read_text())
    readme = re.sub(r"\s+", " ", (ROOT / "README.md").read_text())
    for attack in INPUTS:
        before, after = ({r["attack"]: r for r in runs[label]["rows"]}[attack] for label in ("before", "after"))
        for row in (before, after):
            alone, hit = row["alone"]["context_ms"]["p95"], row["attacked"]["context_ms"]["p95"]
            quoted = f"{alone:,.0f} → {hit:,.0f} ms ({row['p95_ratio']:.2f}×)"
            assert quoted in readme, f"README lacks {attack}: {quoted}"
