"""What an eval run returns (:class:`RunResult`: records, summaries, the table, plots, misses) and
the files it writes (:func:`write_outputs`: ``results.json``, the CSVs, the plots, ``summary.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.metrics import QuestionRecord
from eval.report import (
    ANSWER_COLUMNS,
    SUMMARY_COLUMNS,
    HtmlTable,
    category_figure,
    markdown_table,
    plot_by_category,
    plot_j_vs_tokens,
    plot_recall_vs_tokens,
    recall_figure,
    render_table,
    write_csv,
)
from eval.strategies import available, get_strategy
from memory.errors import InvalidArgument


@dataclass
class RunResult:
    records: list[QuestionRecord]
    summary: list[dict[str, Any]]
    by_category: list[dict[str, Any]]
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    out: Path | None = None

    def table(self) -> Any:
        unbudgeted = [
            s for s in self.config.get("strategies", []) if s in available() and not get_strategy(s).uses_budget
        ]
        return render_table(self.summary, title=self.config.get("dataset", ""), unbudgeted=unbudgeted)

    def markdown(self) -> str:
        return markdown_table(self.summary)

    def frame(self) -> Any:
        """The per-question records as a pandas DataFrame (if pandas is installed)."""
        import pandas as pd  # noqa: PLC0415 - optional (not a dependency): only this method needs it

        return pd.DataFrame([{**r.model_dump(exclude={"ranking"}), **r.ranking} for r in self.records])

    def plot(self, by: str = "tokens") -> Any:
        """Recall vs tokens per strategy (``by="tokens"``) or per question category (``by="category"``)."""
        if by == "category":
            return category_figure(self.by_category, title=self.config.get("dataset", ""))
        if by != "tokens":
            raise InvalidArgument(f"by: use 'tokens' or 'category' (got {by!r})", field="by")
        return recall_figure(self.summary, title=self.config.get("dataset", ""))

    def misses(self, strategy: str = "turnmem", budget: int | None = None, *, limit: int | None = 20) -> HtmlTable:
        """Questions whose evidence ``strategy`` left out at ``budget`` (default: the smallest), worst
        first, with the rank each evidence turn had in the strategy's own ranking (None: not in its top k)."""
        budgets = sorted({r.budget for r in self.records if r.strategy == strategy})
        if not budgets:
            raise InvalidArgument(
                f"strategy: {strategy!r} is not in this run; use one of {', '.join(self.config['strategies'])}",
                field="strategy",
            )
        b = budget if budget is not None else budgets[0]
        if b not in budgets:
            raise InvalidArgument(f"budget: {b} is not in this run; use one of {budgets}", field="budget")
        missed = [r for r in self.records if r.strategy == strategy and r.budget == b and r.recall < 1.0]
        missed.sort(key=lambda r: (r.recall, r.category, r.question_id))
        rows = [
            {
                "question": r.question,
                "category": r.category,
                "recall": r.recall,
                "missed evidence (rank)": ", ".join(
                    f"{e} ({r.ranks.get(e) if r.ranks.get(e) is not None else '>k'})"
                    for e in r.evidence
                    if e not in r.found
                ),
                "tokens": r.tokens,
            }
            for r in missed[:limit]
        ]
        return HtmlTable(rows, title=f"{strategy} at {b} tokens: {len(missed)} questions missed evidence")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{r['strategy']}</td><td>{r['budget']}</td><td>{r['questions']}</td>"
            f"<td>{r['recall']:.3f}</td><td>{r['recall_all']:.3f}</td><td>{r['recall_any']:.3f}</td>"
            f"<td>{r['tokens_mean']:.0f}</td><td>{r['latency_p95_ms']:.2f}</td></tr>"
            for r in self.summary
        )
        head = "".join(
            f"<th>{c}</th>"
            for c in ("strategy", "budget", "questions", "recall", "recall_all", "recall_any", "tokens_mean", "p95 ms")
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def write_outputs(result: RunResult, out: str | Path) -> Path:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": result.config,
        "timings": result.timings,
        "summary": result.summary,
        "by_category": result.by_category,
        "records": [r.model_dump() for r in result.records],
    }
    (folder / "results.json").write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    answered = any("answer_j" in r for r in result.summary)
    columns = (*SUMMARY_COLUMNS, *ANSWER_COLUMNS) if answered else SUMMARY_COLUMNS
    write_csv(result.summary, folder / "summary.csv", columns)
    write_csv(result.by_category, folder / "summary_by_category.csv", (*columns[:2], "category", *columns[2:]))
    title = f"{result.config['dataset']}: {result.config['questions']} questions"
    plot_recall_vs_tokens(result.summary, folder / "recall_vs_budget.png", title=title)
    if result.by_category:
        plot_by_category(result.by_category, folder / "recall_by_category.png", title=title)
    if answered:
        plot_j_vs_tokens(result.summary, folder / "answer_j_vs_tokens.png", title=title)
    (folder / "summary.md").write_text(markdown_table(result.summary) + "\n", encoding="utf-8")
    return folder
