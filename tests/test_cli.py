"""The ``turnmem`` command line: the installed script in a subprocess, error cases in process."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval.cli import main

ROOT = Path(__file__).resolve().parents[1]
LOCOMO = ROOT.parent / "shared" / "data" / "locomo10.json"
TURNMEM = Path(sys.executable).parent / "turnmem"  # the console script of the venv


def turnmem(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run([str(TURNMEM), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@pytest.mark.needs("process")  # the installed console script
def test_help_lists_commands() -> None:
    assert TURNMEM.is_file()
    out = turnmem("--help")
    assert out.returncode == 0, out.stderr
    assert "usage: turnmem" in out.stdout
    for cmd in ("demo", "eval", "reindex"):
        assert re.search(rf"^\s+{cmd}\s", out.stdout, re.M), cmd
    ev = turnmem("eval", "--help")
    assert ev.returncode == 0
    for flag in ("--data", "--strategies", "--budgets", "--out", "--conversations", "--limit-questions",
                 "--categories", "--question-types", "--memory-dir", "--no-progress"):  # fmt: skip
        assert flag in ev.stdout, flag
    assert "{locomo,longmemeval,synthetic,chat,prefs,projects}" in ev.stdout
    for flag in ("--seed", "--users", "--sessions"):
        assert flag in ev.stdout, flag


@pytest.mark.slow  # a full eval run through the console script
def test_eval_locomo_small(tmp_path: Path) -> None:
    # No --data: ../shared/data/locomo10.json is found from the repo root; conv-26 (419 turns)
    # is ingested into a temporary memory.
    out = turnmem(
        "eval", "locomo", "--conversations", "conv-26", "--limit-questions", "3",
        "--strategies", "window,dense,turnmem", "--budgets", "256,512", "--out", str(tmp_path / "r"), "--no-progress",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "r" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["strategy"], r["budget"]) for r in rows] == [
        (s, b) for s in ("window", "dense", "turnmem") for b in ("256", "512")
    ]
    assert all(r["questions"] == "3" and float(r["tokens_mean"]) <= int(r["budget"]) for r in rows)
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["config"]["source"] == str(LOCOMO) and results["config"]["questions"] == 3
    assert results["timings"]["ingested_messages"] == 419
    assert "locomo: 1 conversations, 3 questions" in out.stdout
    assert "turnmem" in out.stdout and f"wrote {tmp_path / 'r'}/results.json" in out.stdout
    assert (tmp_path / "r" / "recall_vs_budget.png").exists()


def test_demo(locomo_memory_dir: Path) -> None:
    out = turnmem("demo", "--no-eval", "--budget", "512", "--memory-dir", str(locomo_memory_dir))
    assert out.returncode == 0, out.stderr
    assert "LoCoMo conv-26" in out.stdout
    m = re.search(r"assembled context: (\d+) / 512 tokens \(o200k_base\), (\d+) messages", out.stdout)
    assert m, out.stdout
    assert 0 < int(m.group(1)) <= 512 and int(m.group(2)) > 0
    assert re.search(r"in context: \d+/\d+", out.stdout)
    assert "top hits" in out.stdout and "recall vs cost" not in out.stdout  # --no-eval
    assert "ingested 0 messages" in out.stdout  # reused the folder


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["eval", *args, "--no-progress"])
    return code, capsys.readouterr().err


@pytest.mark.slow  # ingests one small generated history (~70 chunks)
def test_eval_chat_small(tmp_path: Path) -> None:
    out = turnmem(
        "eval", "chat", "--seed", "3", "--users", "1", "--sessions", "2", "--strategies", "bm25,dense",
        "--budgets", "1024", "--out", str(tmp_path / "r"), "--memory-dir", str(tmp_path / "m"), "--no-progress",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["config"]["dataset"] == "chat" and results["config"]["conversations"] == ["chat-3-0"]
    assert results["config"]["notes"]["seed"] == 3 and results["config"]["notes"]["sessions"] == 2
    with open(tmp_path / "r" / "summary_by_category.csv", newline="") as fh:
        cats = {r["category"] for r in csv.DictReader(fh)}
    assert cats == {"user_fact", "assistant_fact", "preference", "update", "aggregation", "temporal"}
    assert (tmp_path / "m").is_dir()


def test_unknown_strategy_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(capsys, "locomo", "--data", str(LOCOMO), "--conversations", "conv-26", "--strategies", "nope")
    assert code == 2
    assert "turnmem: strategies: unknown strategy 'nope'; registered: full, window" in err
    code, err = run_main(capsys, "locomo", "--data", str(LOCOMO), "--conversations", "conv-26", "--strategies", ",")
    assert code == 2 and "strategies: give at least one strategy" in err


def test_other_errors_are_clear(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run_main(capsys, "locomo", "--data", str(LOCOMO), "--conversations", "conv-999")
    assert code == 2 and "conversations: unknown id(s) conv-999" in err
    code, err = run_main(capsys, "locomo", "--data", str(tmp_path / "missing.json"))
    assert code == 2 and "data: no LoCoMo file at" in err and "missing.json" in err
    code = main(["eval", "longmemeval", "--no-progress"])
    assert code == 2 and "--data" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "locomo", "--budgets", "256,abc"])
    assert exit_.value.code == 2 and "expected comma-separated integers" in capsys.readouterr().err
    code = main(["eval", "chat", "--sessions", "1", "--no-progress"])
    assert code == 2 and "sessions: give a whole number from 2 to 200, got 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "squad"])
    assert "invalid choice: 'squad'" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage: turnmem" in capsys.readouterr().out


@pytest.mark.slow  # ingests the 600-turn synthetic conversation from scratch
def test_demo_without_locomo_uses_synthetic(tmp_path: Path) -> None:
    """A user with only the repo still gets a demo: the seeded synthetic conversation."""
    out = turnmem("demo", "--no-eval", "--data", str(tmp_path / "missing.json"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "synthetic" in out.stdout and "assembled context:" in out.stdout


def test_serve_refuses_a_store_it_does_not_have(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = main(["serve", "--data", "mysql://root@db/mem"])
    err = capsys.readouterr().err
    assert code == 2 and "data: mysql:// is not a store turnmem has" in err and "postgresql://" in err
    monkeypatch.delenv("TURNMEM_DATABASE_URL", raising=False)
    assert main(["serve"]) == 2
    assert "data: give a folder path" in capsys.readouterr().err


def _help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("COLUMNS", "400")  # one line per option: no wrapping inside the texts checked
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_eval_help_shows_defaults_and_strategy_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval.runner import DEFAULT_BUDGETS, DEFAULT_STRATEGIES
    from eval.strategies import available

    text = _help(capsys, monkeypatch, "eval")
    assert f"from: {', '.join(available())}" in text
    assert {"full", "window", "summary", "dense", "bm25", "turnmem"} <= set(available())
    assert f"(default: {','.join(DEFAULT_STRATEGIES)})" in text
    assert f"(default: {','.join(map(str, DEFAULT_BUDGETS))})" in text
    out_help = text.split("--out OUT folder", 1)[1].split("--conversations", 1)[0]
    assert "(default: none, the table is printed and nothing is written)" in out_help


def test_serve_help_describes_port_and_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _help(capsys, monkeypatch, "serve")
    assert "--port PORT TCP port to listen on (default: 8080)" in text
    assert "a key a client sends is not checked" in text


def test_demo_explains_its_figures(locomo_memory_dir: Path) -> None:
    out = turnmem(
        "demo", "--budget", "512", "--budgets", "512,1024", "--limit-questions", "2",
        "--memory-dir", str(locomo_memory_dir),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert re.search(r"fill \d+", text) and "fill = budget that retrieval left over" in text
    assert "recall_all: the share of questions whose context holds all of their evidence" in text
    assert re.search(r"│ full +│.*\n│ \(ignores the budget\) +│", text)
    assert "ingest locomo" not in text  # the folder holds it all: no progress bar, neither time


def test_serve_passes_max_pending_to_the_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import memory.service.app

    seen: dict[str, object] = {}
    monkeypatch.setattr(memory.service.app, "serve", lambda data, **kw: seen.update(kw))
    assert main(["serve", "--data", str(tmp_path / "d"), "--max-pending", "500", "--embed-timeout", "7"]) == 0
    limits = seen["limits"]
    assert limits.max_pending == 500 and limits.embed_timeout == 7  # type: ignore[attr-defined]
    assert main(["serve", "--data", str(tmp_path / "d")]) == 0
    assert seen["limits"].max_pending == 10_000  # type: ignore[attr-defined]


def test_serve_passes_the_waiting_slots_to_the_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import memory.service.app

    seen: dict[str, object] = {}
    monkeypatch.setattr(memory.service.app, "serve", lambda data, **kw: seen.update(kw))
    args = ["serve", "--data", str(tmp_path / "d"), "--max-waiting", "8", "--max-waiting-per-namespace", "2"]
    assert main(args) == 0
    limits = seen["limits"]
    assert (limits.max_waiting, limits.max_waiting_per_namespace) == (8, 2)  # type: ignore[attr-defined]
    assert main(["serve", "--data", str(tmp_path / "d")]) == 0
    limits = seen["limits"]
    assert (limits.max_waiting, limits.max_waiting_per_namespace) == (64, 16)  # type: ignore[attr-defined]
