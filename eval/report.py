"""Reports: summary rows, CSV, the terminal table, the recall-vs-tokens and J-vs-tokens plots."""

from __future__ import annotations

import csv
import html
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from eval.metrics import QuestionRecord, summarize

# Kept exactly: read by checks outside the project.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "strategy",
    "budget",
    "questions",
    "recall",
    "recall_all",
    "recall_any",
    "tokens_mean",
    "latency_p50_ms",
    "latency_p95_ms",
)
EXTRA_COLUMNS: tuple[str, ...] = ("token_share", "turn_recall_any@10", "turn_ndcg@10", "session_recall_any@5")
# Kept exactly (issue 19): present when the run asked an answer model and a judge (eval.answers).
ANSWER_COLUMNS: tuple[str, ...] = (
    "answer_j",
    "answer_f1",
    "answer_em",
    "answer_tokens_in",
    "answer_latency_p50_ms",
    "answer_failed",
)


def summary_rows(records: Sequence[QuestionRecord], *, by_category: bool = False) -> list[dict[str, Any]]:
    """One row per (strategy, budget) [and category], in first-seen order."""
    groups: dict[tuple[Any, ...], list[QuestionRecord]] = defaultdict(list)
    for r in records:
        key: tuple[Any, ...] = (r.strategy, r.budget, r.category) if by_category else (r.strategy, r.budget)
        groups[key].append(r)
    rows = []
    for key, recs in groups.items():
        row: dict[str, Any] = {"strategy": key[0], "budget": key[1]}
        if by_category:
            row["category"] = key[2]
        row.update(summarize(recs))
        rows.append(row)
    if by_category:
        rows.sort(key=lambda r: (r["strategy"], r["budget"], _cat_key(r["category"])))
    return rows


def _cat_key(cat: str) -> tuple[int, Any]:
    return (0, int(cat)) if cat.isdigit() else (1, cat)


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return value


def write_csv(rows: Sequence[dict[str, Any]], path: Path, columns: Sequence[str]) -> None:
    extra = [c for c in dict.fromkeys(k for r in rows for k in r) if c not in columns]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=[*columns, *extra])
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in [*columns, *extra]})


TABLE_CAPTION = "recall · recall_all / mean tokens · p95 ms"
# What the figures of the table mean: printed under it wherever it is shown (demo, eval).
TABLE_LEGEND = (
    "each cell: recall · recall_all, then the mean tokens of a context and the p95 ms to build one\n"
    "recall: the share of a question's evidence turns that its context holds, averaged over questions\n"
    "recall_all: the share of questions whose context holds all of their evidence\n"
    "(ignores the budget): the strategy sends the whole history, whatever the column's budget"
)


def render_table(
    rows: Sequence[dict[str, Any]], title: str = "recall vs budget", *, unbudgeted: Sequence[str] = ()
) -> Any:
    """A rich Table: strategies as rows, budgets as columns, ``recall / all / tokens / p95``.

    ``unbudgeted`` names strategies that ignore the budget (``full``): their row says so.
    """
    budgets = sorted({r["budget"] for r in rows})
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    cell = {(r["strategy"], r["budget"]): r for r in rows}
    caption = TABLE_CAPTION
    if any("answer_j" in r for r in rows):
        caption += " · answer J · F1"
    table = Table(title=title, caption=caption)
    table.add_column("strategy", style="bold")
    for b in budgets:
        table.add_column(f"{b}", justify="right")
    for s in strategies:
        vals = []
        for b in budgets:
            r = cell.get((s, b))
            if r is None:
                vals.append("")
                continue
            text = f"{r['recall']:.3f} · {r['recall_all']:.3f}\n"
            text += f"{r['tokens_mean']:.0f} tok · {r['latency_p95_ms']:.1f} ms"
            if "answer_j" in r:
                text += f"\nJ {_fmt(r['answer_j']) or '-'} · F1 {_fmt(r['answer_f1']) or '-'}"
            vals.append(text)
        table.add_row(f"{s}\n[dim](ignores the budget)[/dim]" if s in unbudgeted else s, *vals)
    return table


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Mean evidence recall per strategy (rows) and budget (columns), with mean tokens."""
    budgets = sorted({r["budget"] for r in rows})
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    cell = {(r["strategy"], r["budget"]): r for r in rows}
    lines = ["| strategy | " + " | ".join(str(b) for b in budgets) + " |", "|---" * (len(budgets) + 1) + "|"]
    for s in strategies:
        vals = []
        for b in budgets:
            r = cell.get((s, b))
            vals.append(f"{r['recall']:.3f} ({r['tokens_mean']:.0f} tok)" if r else "")
        lines.append(f"| {s} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def _figure(**kwargs: Any) -> Any:
    """A matplotlib ``Figure`` (no pyplot state) that a notebook shows as a PNG when it is a cell's value."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - lazy: matplotlib takes ~1.8 s to import, only plots need it

    class NotebookFigure(Figure):
        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png")
            return buf.getvalue()

    return NotebookFigure(**kwargs)


def _metric_figure(rows: Sequence[dict[str, Any]], y: str, ylabel: str, *, title: str = "") -> Any:
    """One curve per strategy: x = mean context tokens (log scale), y = ``row[y]``."""
    fig = _figure(figsize=(7, 4.5), dpi=120)
    ax = fig.subplots()
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    for s in strategies:
        pts = sorted(
            (r["tokens_mean"], r[y], r["budget"])
            for r in rows
            if r["strategy"] == s and isinstance(r.get(y), float) and not math.isnan(r[y])
        )
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        style = {"linestyle": "none", "marker": "*", "markersize": 12} if len(set(xs)) == 1 else {"marker": "o"}
        lw = 2.6 if s == "turnmem" else 1.4
        ax.plot(xs, ys, label=s, linewidth=lw, **style)
    ax.set_xscale("log")
    ax.set_xlabel("mean context tokens (log scale)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def recall_figure(rows: Sequence[dict[str, Any]], *, title: str = "") -> Any:
    """One curve per strategy: x = mean context tokens (log scale), y = mean evidence recall.

    A ``matplotlib.figure.Figure`` (no pyplot state: a notebook shows it as the cell's value).
    """
    return _metric_figure(rows, "recall", "mean evidence recall", title=title)


def answer_figure(rows: Sequence[dict[str, Any]], *, title: str = "") -> Any:
    """One curve per strategy: x = mean context tokens (log scale), y = the judge's accuracy J."""
    return _metric_figure(rows, "answer_j", "answer accuracy J (LLM judge)", title=title)


def category_figure(rows: Sequence[dict[str, Any]], *, title: str = "") -> Any:
    """Recall vs tokens per question category, one panel per category (a ``Figure``)."""
    cats = sorted({r["category"] for r in rows}, key=_cat_key)
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    fig = _figure(figsize=(3.2 * len(cats), 3.4), dpi=110)
    axes = fig.subplots(1, len(cats), sharey=True, squeeze=False)
    for ax, cat in zip(axes[0], cats):
        for s in strategies:
            pts = sorted((r["tokens_mean"], r["recall"]) for r in rows if r["strategy"] == s and r["category"] == cat)
            ax.plot(
                [p[0] for p in pts], [p[1] for p in pts], marker="o", label=s, linewidth=2.2 if s == "turnmem" else 1
            )
        ax.set_xscale("log")
        ax.set_title(f"category {cat}", fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("mean evidence recall")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_recall_vs_tokens(rows: Sequence[dict[str, Any]], path: Path, *, title: str = "") -> Path:
    """:func:`recall_figure`, saved as a PNG."""
    recall_figure(rows, title=title).savefig(path)
    return path


def plot_j_vs_tokens(rows: Sequence[dict[str, Any]], path: Path, *, title: str = "") -> Path:
    """:func:`answer_figure`, saved as a PNG."""
    answer_figure(rows, title=title).savefig(path)
    return path


def plot_by_category(rows: Sequence[dict[str, Any]], path: Path, *, title: str = "") -> Path:
    """:func:`category_figure`, saved as a PNG."""
    category_figure(rows, title=title).savefig(path)
    return path


class HtmlTable:
    """Rows of dicts that a notebook shows as a table (``_repr_html_``) and code reads as a list."""

    def __init__(self, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str = "") -> None:
        self.rows = list(rows)
        self.columns = list(columns) if columns else list(dict.fromkeys(k for r in self.rows for k in r))
        self.title = title

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def __repr__(self) -> str:
        return f"HtmlTable({len(self.rows)} rows: {', '.join(self.columns)})"

    def _repr_html_(self) -> str:
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.3f}"
            return html.escape(str(v))

        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{cell(r.get(c, ''))}</td>" for c in self.columns) + "</tr>"
            for r in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
