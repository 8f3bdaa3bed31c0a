"""The tables and the JSON of ``benchmarks/abuse.py``: pure functions of its rows (no server)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

WAITING = ("flush", "wait_indexed")
INPUTS = ("cjk", "base64", "query", "deep")


def _ms(x: float) -> str:
    return f"{x:.0f} ms"


def abuser_cost(row: dict[str, Any]) -> str:
    """An input attack's abuser: per-request time and its answers, e.g. ``p50 12 ms, max 40 ms; 422: 30``."""
    ab = row["abuser"]
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(ab["answers"].items()) if v)
    if not ab["requests_ms"]["n"]:
        return f"no answer within {row['abuser_timeout_s']:.0f} s; {answers}"
    req = ab["requests_ms"]
    return f"p50 {_ms(req['p50'])}, max {_ms(req['max'])}; {answers}"


def waiting_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The waiting attacks (flush, wait_indexed) behind a backlog."""
    table = Table(title=title)
    cols = ("attack", "alone p50", "alone p95", "backlog p95", "attacked p50", "attacked p95", "p95 ratio", "÷ backlog")
    for col in (*cols, "healthz p95", "abuser"):
        table.add_column(col, justify="left" if col in ("attack", "abuser") else "right")
    for r in rows:
        table.add_row(
            r["attack"],
            _ms(r["alone"]["context_ms"]["p50"]),
            _ms(r["alone"]["context_ms"]["p95"]),
            _ms(r["backlog_only"]["context_ms"]["p95"]),
            _ms(r["attacked"]["context_ms"]["p50"]),
            _ms(r["attacked"]["context_ms"]["p95"]),
            f"{r['p95_ratio']:.2f}x",
            f"{r['p95_ratio_vs_backlog_only']:.2f}x",
            _ms(r["attacked"]["healthz_ms"]["p95"]),
            ", ".join(f"{k}: {v}" for k, v in sorted(r["abuser_answers"].items()) if v),
        )
    return table


def input_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The hostile-input attacks: one abusive client in a loop."""
    table = Table(title=title)
    cols = ("attack", "alone p50", "alone p95", "attacked p50", "attacked p95", "p95 ratio", "healthz p95")
    for col in (*cols, "server CPU", "abuser per request; answers", "load"):
        table.add_column(col, justify="left" if col in ("attack", "abuser per request; answers") else "right")
    for r in rows:
        table.add_row(
            r["attack"],
            _ms(r["alone"]["context_ms"]["p50"]),
            _ms(r["alone"]["context_ms"]["p95"]),
            _ms(r["attacked"]["context_ms"]["p50"]),
            _ms(r["attacked"]["context_ms"]["p95"]),
            f"{r['p95_ratio']:.2f}x",
            _ms(r["attacked"]["healthz_ms"]["p95"]),
            f"{r['server_cpu_s']:.1f} s",
            abuser_cost(r),
            f"{r['load_avg'][0]:.1f}",
        )
    return table


def tables(rows: list[dict[str, Any]], label: str, code: str) -> list[Table]:
    """One table per kind of attack present in ``rows``."""
    waiting = [r for r in rows if r["attack"] in WAITING]
    inputs = [r for r in rows if r["attack"] not in WAITING]
    out = []
    if waiting:
        out.append(waiting_table(waiting, f"victim /context under 40 waiting calls ({label}; code from {code})"))
    if inputs:
        out.append(input_table(inputs, f"victim /context under hostile input ({label}; code from {code})"))
    return out


def merge(previous: dict[str, Any], label: str, meta: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``previous`` with this run's rows under ``label``: a row replaces the one of its attack, the
    others stay (the waiting attacks take many minutes; a run of the input attacks keeps them)."""
    entry = dict(previous.get(label, {}))
    if any(r["attack"] in WAITING for r in rows):
        entry.update(meta)  # the waiting rows' settings; each input row carries its own
    else:
        entry = {**meta, **entry}
    kept = [r for r in entry.get("rows", []) if r["attack"] not in {n["attack"] for n in rows}]
    entry["rows"] = kept + rows
    return {**previous, label: entry}
