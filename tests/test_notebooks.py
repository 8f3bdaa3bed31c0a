"""The notebooks run top to bottom (nbclient, a real kernel), offline, so they never rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def execute(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def outputs(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.append(data.get("text/plain", "") + data.get("text/html", ""))
            if "image/png" in data:
                parts.append("<png>")
    return "\n".join(parts)


def test_there_are_three_notebooks_committed_without_outputs() -> None:
    assert ALL == ["01_quickstart.ipynb", "02_recall_exploration.ipynb", "03_tuning.ipynb"]
    for name in ALL:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} has outputs"


@pytest.mark.slow
def test_quickstart_runs_and_shows_hits_with_scores() -> None:
    text = outputs(execute("01_quickstart.ipynb"))
    assert "evidence in context: True" in text
    assert "<table>" in text and "final" in text  # the Context's hit table
    assert "-> final" in text  # hits explain themselves


@pytest.mark.slow
def test_recall_exploration_runs_and_plots() -> None:
    text = outputs(execute("02_recall_exploration.ipynb"))
    assert text.count("<png>") == 2  # recall vs tokens, per category
    assert "turnmem at 512 tokens" in text  # the misses table
    assert "top hits instead" in text or "no misses" in text


@pytest.mark.slow
def test_tuning_runs_and_plots_the_sweep() -> None:
    text = outputs(execute("03_tuning.ipynb"))
    assert "window_share=0.8" in text and "<png>" in text
