from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def turnmem(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memory.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_help_lists_commands() -> None:
    out = turnmem("--help")
    assert out.returncode == 0
    for cmd in ("demo", "eval", "reindex"):
        assert cmd in out.stdout
    ev = turnmem("eval", "--help")
    for flag in (
        "--data",
        "--strategies",
        "--budgets",
        "--out",
        "--conversations",
        "--limit-questions",
        "--categories",
        "--question-types",
        "--turns",
        "--seed",
    ):
        assert flag in ev.stdout


def test_eval_locomo_small(tmp_path: Path, locomo_memory_dir: Path) -> None:
    out = turnmem(
        "eval",
        "locomo",
        "--data",
        str(ROOT.parent / "shared" / "data" / "locomo10.json"),
        "--conversations",
        "conv-26",
        "--limit-questions",
        "3",
        "--strategies",
        "window,dense,turnmem",
        "--budgets",
        "256,512",
        "--out",
        str(tmp_path / "r"),
        "--memory-dir",
        str(locomo_memory_dir),
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(open(tmp_path / "r" / "summary.csv")))
    assert len(rows) == 6 and {r["strategy"] for r in rows} == {"window", "dense", "turnmem"}
    assert "turnmem" in out.stdout


def test_eval_synthetic(tmp_path: Path) -> None:
    out = turnmem(
        "eval",
        "synthetic",
        "--turns",
        "60",
        "--seed",
        "3",
        "--strategies",
        "window,bm25",
        "--budgets",
        "128",
        "--out",
        str(tmp_path / "s"),
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s" / "recall_vs_budget.png").exists()


def test_demo_runs(locomo_memory_dir: Path) -> None:
    out = turnmem("demo", "--no-eval", "--budget", "512", "--memory-dir", str(locomo_memory_dir))
    assert out.returncode == 0, out.stderr
    assert "assembled context:" in out.stdout and "/ 512 tokens" in out.stdout
    assert "top hits" in out.stdout


def test_demo_without_locomo_uses_synthetic(tmp_path: Path) -> None:
    out = turnmem("demo", "--no-eval", "--data", str(tmp_path / "missing.json"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "synthetic" in out.stdout


def test_unknown_strategy_is_a_clear_error(tmp_path: Path) -> None:
    out = turnmem("eval", "synthetic", "--turns", "20", "--strategies", "nope", "--no-progress")
    assert out.returncode != 0
    assert "strategies" in out.stderr and "nope" in out.stderr
