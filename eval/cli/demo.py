"""``turnmem demo``: ingest a real conversation, show an assembled context, its hits and a recall table."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.panel import Panel
from rich.table import Table

from eval.cli.common import default_locomo
from eval.datasets import load_locomo
from eval.report import TABLE_LEGEND
from eval.runner import ingest, run
from memory.cli.common import int_list, make_console
from memory.memory import Memory
from memory.tokens import REPLY_PRIMING


def add_parser(sub: Any) -> None:
    """The ``demo`` subcommand and its flags, on the parser's subcommands ``sub``."""
    demo = sub.add_parser("demo", help="ingest a real conversation, show an assembled context and a recall table")
    demo.add_argument("--data", help="path to locomo10.json (default: ../shared/data/locomo10.json)")
    demo.add_argument("--conversation", help="LoCoMo conversation id (default conv-26)")
    demo.add_argument("--question", type=int, default=0, help="index of the question to show")
    demo.add_argument("--budget", type=int, default=1024, help="context budget in tokens")
    demo.add_argument("--budgets", type=int_list, default=[512, 1024, 2048], help="budgets of the recall table")
    demo.add_argument("--limit-questions", type=int, default=60, help="questions in the recall table")
    demo.add_argument("--hits", type=int, default=8, help="hits to list")
    demo.add_argument("--memory-dir", help="keep the memory in this folder (default: a temporary one)")
    demo.add_argument("--index", default="faiss", help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT")
    demo.add_argument("--no-eval", action="store_true", help="skip the recall table")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    console = make_console()
    path = Path(args.data) if args.data else default_locomo()
    if path is not None and path.is_file():
        dataset = load_locomo(path, images="caption")
        conv_id = args.conversation or "conv-26"
        dataset = dataset.select(conversations=[conv_id], categories=["1", "2", "3", "4"])
        origin = f"LoCoMo {conv_id} ({path}; CC BY-NC 4.0, Maharana et al. 2024)"
    else:
        # Imported only here: the generator's word tables add ~0.05 s to every command's start-up.
        from eval.synthetic import generate  # noqa: PLC0415

        dataset = generate(turns=600, seed=7)
        origin = "the seeded synthetic conversation (LoCoMo not found; pass --data PATH/locomo10.json)"
    conv = dataset.conversations[0]
    n_turns = sum(len(s.turns) for s in conv.sessions)
    console.print(f"[bold]turnmem demo[/bold]: {origin}: {len(conv.sessions)} sessions, {n_turns} turns")

    tmp = None
    folder = args.memory_dir
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="turnmem-demo-")
        folder = tmp.name
    try:
        t0 = time.perf_counter()
        mem = Memory.open(folder, index=args.index)
        stats = ingest(mem, dataset, progress=True)
        console.print(
            f"ingested {int(stats['ingested_messages'])} messages in {stats['ingest_s']:.1f} s "
            f"({stats['messages_per_s']:.0f} messages/s, embedding included) into {folder}"
        )
        # A question whose evidence lies well outside the recent window.
        questions = [q for q in conv.questions if q.evidence]
        question = questions[min(args.question, len(questions) - 1)] if questions else None
        query = question.question if question else "What did we talk about first?"
        now = question.date if question else None
        ctx = mem.assemble(query, namespace=conv.id, budget=args.budget, now=now)
        turn_of = {
            (r.session, r.seq): (r.data.get("metadata") or {}).get("turn_id") for r in mem.store.all_messages(conv.id)
        }
        present = {turn_of.get((s.ref.session, s.ref.seq)) for s in ctx.sources if s.ref is not None}
        console.rule(f"question: {query}")
        if question:
            found = [e for e in question.evidence if e in present]
            console.print(
                f"answer: [green]{question.answer}[/green]   evidence: {', '.join(question.evidence)}   "
                f"in context: [bold]{len(found)}/{len(question.evidence)}[/bold]"
            )
        lines = []
        for msg, src in zip(ctx.messages, ctx.sources):
            content = msg.get("content")
            text = content if isinstance(content, str) else str(content)
            text = " ".join(text.split())
            tag = "pinned" if src.ref is None else f"{turn_of.get((src.ref.session, src.ref.seq))} {src.origin}"
            who = msg.get("name") or msg["role"]
            lines.append(f"[dim]{tag:>18}[/dim] [bold]{who}[/bold]: {text[:150]}{'…' if len(text) > 150 else ''}")
        console.print(
            Panel(
                "\n".join(lines),
                title=f"assembled context: {ctx.tokens} / {args.budget} tokens (o200k_base), "
                f"{len(ctx.messages)} messages",
                subtitle=" · ".join(f"{k} {v}" for k, v in ctx.breakdown.items()),
            )
        )
        fill = ctx.breakdown.get("fill", 0)
        console.print(
            f"[dim]tokens by part: pinned = the system prompt and session state if any, plus the {REPLY_PRIMING} "
            "tokens every reply is primed with; window = the latest turns; retrieved = older turns picked by "
            "relevance and recency; fill = budget that retrieval left over, spent on the turns just before the "
            f"window ({'none here: retrieval used it all' if fill == 0 else f'{fill} tokens here'}).[/dim]"
        )
        table = Table(
            title="top hits (why each retrieved turn is there)",
            caption="dense: cosine similarity to the question · lexical: BM25 score of the words it shares (blank: "
            "none) · recency: 1 for the newest turn, halving every 200 turns and every 30 days · final: the "
            "score the packing ranks by (relevance, recency and the conversation's priors)",
            expand=True,
        )
        for col in ("rank", "turn", "dense", "lexical", "recency", "final"):
            table.add_column(col, justify="right" if col != "turn" else "left", no_wrap=True)
        table.add_column("text", no_wrap=True, overflow="ellipsis", ratio=1)
        for h in ctx.hits[: args.hits]:
            s = h.scores
            table.add_row(
                str(h.rank),
                str(turn_of.get((h.session, h.seq))),
                *(f"{s[k]:.3f}" if k in s else "" for k in ("dense", "lexical", "recency", "final")),
                " ".join(h.text.split()),
            )
        console.print(table)
        if not args.no_eval:
            small = dataset.select(limit_questions=args.limit_questions)
            console.rule(f"recall vs cost on {len(small.questions)} questions of {conv.id}")
            result = run(small, budgets=args.budgets, memory=mem, progress=True)
            console.print(result.table())
            console.print(TABLE_LEGEND, style="dim", highlight=False)
        mem.close()
        console.print(f"demo done in {time.perf_counter() - t0:.1f} s")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0
