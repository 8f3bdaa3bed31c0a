"""The eval runner end to end: LoCoMo conv-26 with every strategy, outputs on disk, memory reuse."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eval import SUMMARY_COLUMNS, load_locomo, run, runner
from eval import ingest as ingest_module
from eval.datasets import Conversation, Dataset, Question, Session, Turn, load_longmemeval
from memory.embedders import Embedder
from memory.errors import InvalidArgument
from memory.memory import Memory
from tests.eval.test_datasets import LOCOMO, write_lme

STRATEGIES = ["full", "window", "summary", "dense", "bm25", "turnmem"]
BUDGETS = [256, 1024]
HEADER = "strategy,budget,questions,recall,recall_all,recall_any,tokens_mean,latency_p50_ms,latency_p95_ms"
RANKERS = {"dense", "bm25", "turnmem"}


@pytest.fixture(scope="module")
def locomo_run(
    tmp_path_factory: pytest.TempPathFactory, locomo_memory_dir: Path, embedder: Embedder
) -> tuple[Any, Path]:
    """One run shared by the tests below, on the conv-26 memory the session already ingested."""
    out = tmp_path_factory.mktemp("run") / "out"
    ds = load_locomo(LOCOMO, images="caption").select(conversations=["conv-26"], limit_questions=8)
    mem = Memory.open(locomo_memory_dir, embedder=embedder)
    res = run(
        ds,
        strategies=STRATEGIES,
        budgets=[1024, 256, 256],  # sorted and de-duplicated
        out=out,
        memory=mem,
        progress=False,
    )
    mem.close()
    return res, out


def test_summary_csv(locomo_run: tuple[Any, Path]) -> None:
    _, out = locomo_run
    with open(out / "summary.csv", newline="") as fh:
        header = fh.readline().strip()
        fh.seek(0)
        rows = list(csv.DictReader(fh))
    assert header.startswith(HEADER) and ",".join(SUMMARY_COLUMNS) == HEADER
    assert [(r["strategy"], int(r["budget"])) for r in rows] == [(s, b) for s in STRATEGIES for b in BUDGETS]
    for r in rows:
        assert int(r["questions"]) == 8
        for col in ("recall", "recall_all", "recall_any"):
            assert 0.0 <= float(r[col]) <= 1.0
        assert float(r["recall_all"]) <= float(r["recall"]) <= float(r["recall_any"])
        if r["strategy"] == "full":
            assert float(r["recall"]) == 1.0 and float(r["recall_all"]) == 1.0
            assert float(r["tokens_mean"]) > 10_000  # conv-26 is ~20k tokens
        else:
            assert 0 < float(r["tokens_mean"]) <= int(r["budget"])
        assert float(r["latency_p95_ms"]) >= float(r["latency_p50_ms"]) >= 0
    by = {(r["strategy"], int(r["budget"])): float(r["recall"]) for r in rows}
    # Retrieval beats the recent window on these questions, whose evidence is spread over 19 sessions.
    assert by[("turnmem", 1024)] > by[("window", 1024)]
    by_cat = list(csv.DictReader(open(out / "summary_by_category.csv", newline="")))
    assert list(by_cat[0])[:3] == ["strategy", "budget", "category"]
    assert sum(int(r["questions"]) for r in by_cat if r["strategy"] == "dense" and r["budget"] == "256") == 8


def test_results_json(locomo_run: tuple[Any, Path]) -> None:
    res, out = locomo_run
    data = json.loads((out / "results.json").read_text())
    assert {"config", "timings", "summary", "records"} <= set(data)
    config = data["config"]
    assert config["dataset"] == "locomo" and config["conversations"] == ["conv-26"] and config["questions"] == 8
    assert config["strategies"] == STRATEGIES and config["budgets"] == BUDGETS
    assert config["embedder"] and config["counter"] == "o200k_base" and config["notes"]["evidence_dropped"] == 3
    versions = config["versions"]
    assert versions["python"] and versions["numpy"] and versions["faiss-cpu"]
    assert data["timings"]["ingested_messages"] == 0  # the memory folder already held conv-26
    records = data["records"]
    assert len(records) == 8 * len(STRATEGIES) * len(BUDGETS) == len(res.records)
    for r in records:
        assert r["conversation"] == "conv-26" and r["budget"] in BUDGETS
        assert set(r["found"]) <= set(r["evidence"])
        assert r["recall"] == pytest.approx(len(set(r["found"])) / len(set(r["evidence"])))
        if r["strategy"] == "full":
            assert r["tokens"] == r["full_tokens"] and r["recall"] == 1.0
        else:
            assert r["tokens"] <= r["budget"]
        if r["strategy"] in RANKERS:  # ranking metrics, at turn and session level
            assert set(r["ranks"]) == set(r["evidence"])
            assert {"turn_ndcg@10", "turn_recall_any@5", "session_recall_all@50"} <= set(r["ranking"])
            assert all(0.0 <= v <= 1.0 for v in r["ranking"].values())
        else:
            assert r["ranking"] == {} and r["ranks"] == {}
    # Ranking metrics do not depend on the budget.
    dense = {(r["question_id"], r["budget"]): r["ranking"] for r in records if r["strategy"] == "dense"}
    assert all(dense[(q, 256)] == dense[(q, 1024)] for q, _ in dense)


def test_plots_and_in_memory_result(locomo_run: tuple[Any, Path]) -> None:
    res, out = locomo_run
    png = (out / "recall_vs_budget.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (out / "recall_by_category.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "summary.md").read_text().startswith("| strategy | 256 | 1024 |")
    assert res.out == out
    assert [(r["strategy"], r["budget"]) for r in res.summary] == [(s, b) for s in STRATEGIES for b in BUDGETS]
    assert "<table>" in res._repr_html_() and res.markdown().count("\n") == len(STRATEGIES) + 1
    assert res.table().row_count == len(STRATEGIES)


def test_notebook_helpers_plot_and_list_misses(locomo_run: tuple[Any, Path]) -> None:
    from matplotlib.figure import Figure

    res, _ = locomo_run
    fig = res.plot()
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == len(STRATEGIES)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # a notebook shows it as the cell's value
    cats = res.plot(by="category")
    assert len(cats.axes) == len({r["category"] for r in res.by_category})
    with pytest.raises(InvalidArgument, match="by"):
        res.plot(by="nope")
    misses = res.misses("dense", 256)
    expected = [r for r in res.records if r.strategy == "dense" and r.budget == 256 and r.recall < 1]
    assert len(misses) == min(20, len(expected)) and len(expected) > 0
    assert [m["recall"] for m in misses] == sorted(m["recall"] for m in misses)  # worst first
    first = next(r for r in expected if r.question == misses[0]["question"])
    for e in first.evidence:
        if e not in first.found:
            assert e in misses[0]["missed evidence (rank)"]
    html = misses._repr_html_()
    assert html.startswith("<table><caption>dense at 256 tokens") and html.count("<tr>") == len(misses) + 1
    with pytest.raises(InvalidArgument, match="strategy"):
        res.misses("nope")
    with pytest.raises(InvalidArgument, match="budget"):
        res.misses("dense", 999)


def tiny_dataset() -> Dataset:
    def turn(tid: str, text: str) -> Turn:
        return Turn(id=tid, message={"role": "user" if tid.endswith(("1", "3")) else "assistant", "content": text})

    return Dataset(
        name="tiny",
        conversations=[
            Conversation(
                id="c1",
                sessions=[
                    Session(id="a", turns=[turn("a1", "My locker code is 4417."), turn("a2", "Got it.")]),
                    Session(id="b", turns=[turn("b1", "I like jazz."), turn("b2", "Nice."), turn("b3", "Bye.")]),
                ],
                questions=[Question(id="q", question="What is my locker code?", evidence=["a1"])],
            )
        ],
    )


def test_memory_dir_is_ingested_once(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = tiny_dataset()
    kw: dict[str, Any] = {
        "strategies": ["window", "dense"],
        "budgets": [64],
        "embedder": fake_embedder,
        "progress": False,
    }
    first = run(ds, memory_dir=tmp_path / "m", **kw)
    assert first.timings["ingested_messages"] == 5
    second = run(ds, memory_dir=tmp_path / "m", **kw)
    assert second.timings["ingested_messages"] == 0
    assert [r.model_dump(exclude={"latency_ms"}) for r in first.records] == [
        r.model_dump(exclude={"latency_ms"}) for r in second.records
    ]
    # A folder that holds part of a dataset gets only the rest.
    bigger = tiny_dataset()
    bigger.conversations[0].sessions.append(
        Session(id="c", turns=[Turn(id="c1", message={"role": "user", "content": "Hi"})])
    )
    assert run(bigger, memory_dir=tmp_path / "m", **kw).timings["ingested_messages"] == 1
    assert not (tmp_path / "out").exists()  # no out: nothing written


def test_kept_ingest_is_keyed_on_code_and_embedder(
    tmp_path: Path, fake_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = tiny_dataset()
    kw: dict[str, Any] = {"strategies": ["dense"], "budgets": [64], "embedder": fake_embedder, "progress": False}
    assert run(ds, memory_dir=tmp_path / "m", **kw).timings["ingested_messages"] == 5
    # Other ingest code (a bumped INGEST_VERSION, or a changed chunker) gets a folder of its own.
    monkeypatch.setattr(ingest_module, "INGEST_VERSION", ingest_module.INGEST_VERSION + 1)
    assert run(ds, memory_dir=tmp_path / "m", **kw).timings["ingested_messages"] == 5
    monkeypatch.undo()
    assert run(ds, memory_dir=tmp_path / "m", **kw).timings["ingested_messages"] == 0
    # Another embedder identity (same name and dimension, other vectors) too.
    other = _Shifted(fake_embedder)
    assert runner.ingest_key(other, "o200k_base") != runner.ingest_key(fake_embedder, "o200k_base")
    assert len(list((tmp_path / "m").glob("ingest-*"))) == 2


class _Shifted:
    """The same model name and dimension, but other vectors."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        v = self.inner.embed(texts)
        return np.roll(v, 1, axis=1)


def test_longmemeval_session_metrics(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = load_longmemeval(write_lme(tmp_path / "lme.json"))
    res = run(ds, strategies=["dense", "full"], budgets=[64], embedder=fake_embedder, progress=False)
    dense = {r.question_id: r for r in res.records if r.strategy == "dense"}
    # Tiny haystacks: every turn is ranked, so the answer sessions are in the top 5.
    assert dense["q1"].ranking["session_recall_all@5"] == 1.0
    assert dense["q1"].ranking["turn_recall_all@5"] == 1.0
    assert set(dense["q1"].ranks) == {"sess_b:0", "sess_b:2"}
    assert all(r.recall == 1.0 for r in res.records if r.strategy == "full")
    assert {r.conversation for r in res.records} == {"q1", "q2_abs", "q3"}


def test_bad_arguments() -> None:
    ds = tiny_dataset()
    for strategies in (["nope"], [], ["window", "nope"]):
        with pytest.raises(InvalidArgument) as err:
            run(ds, strategies=strategies, budgets=[100], progress=False)
        assert err.value.field == "strategies"
    with pytest.raises(InvalidArgument, match="unknown strategy 'nope'; registered: full, window"):
        run(ds, strategies=["nope"], budgets=[100], progress=False)
    for budgets in ([0], [], [-5, 100]):
        with pytest.raises(InvalidArgument) as err:
            run(ds, strategies=["window"], budgets=budgets, progress=False)
        assert err.value.field == "budgets"


def test_strategy_given_twice_counts_once(tmp_path: Path, fake_embedder: Embedder) -> None:
    ds = tiny_dataset()
    res = run(ds, strategies=["window", "window"], budgets=[64], embedder=fake_embedder, progress=False)
    assert [(r["strategy"], r["questions"]) for r in res.summary] == [("window", 1)]
    # A single name is one strategy, not a list of letters.
    assert run(ds, strategies="window", budgets=[64], embedder=fake_embedder, progress=False).config["strategies"] == [
        "window"
    ]


@pytest.mark.fake_embedder
def test_ingest_shows_no_second_progress_bar_when_everything_is_stored(
    mem: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo ingests, then ``run`` ingests again (a no-op): the bar must not show a second time."""
    from eval.runner import ingest

    ds = tiny_dataset()
    first = ingest(mem, ds, progress=True)
    shown = capsys.readouterr().out
    again = ingest(mem, ds, progress=True)
    assert first["ingested_messages"] > 0 and f"ingest {ds.name}" in shown
    assert again["ingested_messages"] == 0 and capsys.readouterr().out == ""


def test_table_marks_the_strategy_that_ignores_the_budget_and_its_legend_defines_the_figures(
    locomo_run: Any,
) -> None:
    from rich.console import Console

    from eval.report import TABLE_LEGEND

    assert "recall_all: the share of questions whose context holds all of their evidence" in TABLE_LEGEND
    assert "recall: the share of a question's evidence turns" in TABLE_LEGEND
    result, _ = locomo_run
    console = Console(width=200, record=True, color_system=None)
    console.print(result.table())
    text = console.export_text()
    lines = text.splitlines()
    marked = [i for i, line in enumerate(lines) if "(ignores the budget)" in line]
    assert len(marked) == 1 and "│ full " in lines[marked[0] - 1]  # the second line of the full row only
