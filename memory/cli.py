"""The ``turnmem`` command line: ``demo``, ``eval``, ``reindex``, ``serve``, ``namespace-indexes``
(``turnmem --help``)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory.cli_indexes import add_parser as add_namespace_indexes
from memory.errors import InvalidArgument, TurnmemError


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in _csv(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def _default_locomo() -> Path | None:
    """``../shared/data/locomo10.json`` from the working directory or the repo root."""
    from eval.datasets import DEFAULT_LOCOMO

    for p in (
        Path.cwd().parent / "shared" / "data" / "locomo10.json",
        Path.cwd() / "data" / "locomo10.json",
        DEFAULT_LOCOMO,
    ):
        if p.is_file():
            return p
    return None


def _console() -> Any:
    from rich.console import Console

    return Console()


# -- demo ------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.panel import Panel
    from rich.table import Table

    from eval.datasets import load_locomo
    from eval.report import TABLE_LEGEND
    from eval.runner import ingest, run
    from memory.assemble import REPLY_PRIMING
    from memory.memory import Memory

    console = _console()
    path = Path(args.data) if args.data else _default_locomo()
    if path is not None and path.is_file():
        dataset = load_locomo(path, images="caption")
        conv_id = args.conversation or "conv-26"
        dataset = dataset.select(conversations=[conv_id], categories=["1", "2", "3", "4"])
        origin = f"LoCoMo {conv_id} ({path}; CC BY-NC 4.0, Maharana et al. 2024)"
    else:
        from eval.synthetic import generate

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


# -- eval ------------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.datasets import load_locomo, load_longmemeval
    from eval.report import TABLE_LEGEND
    from eval.runner import run

    console = _console()
    if args.dataset == "locomo":
        path = Path(args.data) if args.data else _default_locomo()
        dataset = load_locomo(path, images=args.images)
        categories = args.categories
    elif args.dataset == "longmemeval":
        if not args.data:
            console.print("[red]--data: give the path to a LongMemEval JSON file (longmemeval_s.json ...)[/red]")
            return 2
        dataset = load_longmemeval(args.data)
        categories = args.question_types
    elif args.dataset == "chat":
        from eval.synthetic_chat import generate as generate_chat

        dataset = generate_chat(seed=args.seed, conversations=args.users, sessions=args.sessions)
        categories = args.categories or args.question_types
    else:
        from eval.synthetic import generate

        dataset = generate(turns=args.turns, seed=args.seed)
        categories = args.categories or args.question_types
    dataset = dataset.select(
        conversations=args.conversations, categories=categories, limit_questions=args.limit_questions
    )
    if args.sample is not None:
        from eval.sampling import sample_questions

        dataset = sample_questions(dataset, args.sample, seed=args.seed)
    answers = _answer_config(args)
    console.print(
        f"[bold]{dataset.name}[/bold]: {len(dataset.conversations)} conversations, {len(dataset.questions)} questions, "
        f"strategies {', '.join(args.strategies)}, budgets {', '.join(map(str, args.budgets))}"
    )
    result = run(
        dataset,
        strategies=args.strategies,
        budgets=args.budgets,
        out=args.out,
        memory_dir=args.memory_dir,
        index=args.index,
        progress=not args.no_progress,
        answers=answers,
    )
    console.print(result.table())
    console.print(TABLE_LEGEND, style="dim", highlight=False)
    t = result.timings
    console.print(
        f"ingest {t['ingest_s']:.1f} s ({t['messages_per_s']:.0f} msg/s) · "
        f"query embedding {t['query_embed_s']:.1f} s · "
        f"contexts {t['eval_s']:.1f} s · total {t['total_s']:.1f} s"
    )
    if answers is not None and "answer_s" in t:
        console.print(
            f"answers {t['answer_s']:.1f} s · {t['answer_requests']:.0f} requests · "
            f"{t['answer_cached']:.0f} answers and {t['judge_cached']:.0f} verdicts from the cache · "
            f"{t['answer_failed']:.0f} failed"
        )
    if result.out:
        extra = ", answer_j_vs_tokens.png" if answers is not None and not answers.estimate_only else ""
        console.print(f"wrote {result.out}/results.json, summary.csv, recall_vs_budget.png{extra}")
    return 0


def _price(value: str) -> tuple[float, float | None]:
    try:
        parts = [float(v) for v in _csv(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dollars per million tokens, IN or IN,OUT; got {value!r}") from None
    if len(parts) not in (1, 2) or min(parts) < 0:
        raise argparse.ArgumentTypeError(f"expected dollars per million tokens, IN or IN,OUT; got {value!r}")
    return parts[0], parts[1] if len(parts) == 2 else None


def _answer_config(args: argparse.Namespace) -> Any:
    """The answers stage's configuration from the flags, or None without ``--answer-model``."""
    from eval.answers import AnswerConfig

    if args.answer_model is None:
        if args.judge_model is not None:
            raise InvalidArgument("judge_model: --judge-model needs --answer-model", field="judge_model")
        return None
    from pydantic import ValidationError

    price_in, price_out = args.price if args.price else (None, None)
    try:
        config = AnswerConfig(
            answer_model=args.answer_model,
            judge_model=args.judge_model or args.answer_model,
            base_url=args.base_url,
            api_key_env=args.api_key_env,
            concurrency=args.concurrency,
            retries=args.retries,
            price_in=price_in,
            price_out=price_out,
            cache_path=args.answer_cache,
            use_cache=not args.no_answer_cache,
            estimate_only=args.estimate_only,
            answer_prompt=args.answer_prompt,
            judge_prompt=args.judge_prompt,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InvalidArgument(f"{field}: {err['msg']} (got {err.get('input')!r})", field=field) from None
    config.api_key()  # a missing --api-key-env variable fails now, not after the retrieval
    config.prompts()  # so does an unknown prompt name
    return config


# -- reindex ---------------------------------------------------------------------------------


def cmd_reindex(args: argparse.Namespace) -> int:
    from indexers import open_index
    from memory.memory import LOG_FILE, Memory
    from memory.stores import parse_location

    console = _console()
    if parse_location(args.data, field="data").kind == "postgres":
        if args.embedder is None:
            console.print(
                "[red]--embedder: a PostgreSQL memory's vectors are its index (pgvector); there is nothing to "
                "rebuild without a model to re-embed with: give --embedder NAME[/red]"
            )
            return 2
        return _reembed(args.data, args.embedder, args.to)
    folder = Path(args.data)
    if not (folder / LOG_FILE).is_file():
        console.print(f"[red]--data: no turnmem memory at {folder} (no {LOG_FILE})[/red]")
        return 2
    if args.embedder is not None:
        return _reembed(folder, args.embedder, args.to)
    mem = Memory.open(folder, index=args.source)
    target = open_index(args.to, folder / "index", mem.embedder.dim)
    t0 = time.perf_counter()
    mem.rebuild_index(index=target, reembed=args.reembed, progress=True)
    n = sum(len(target.ids(ns)) for ns in target.namespaces())
    mem.close()
    console.print(f"reindexed {n} chunks into {args.to} in {time.perf_counter() - t0:.1f} s")
    return 0


def _reembed(data: Path | str, name: str, to: str) -> int:
    """Re-embed every chunk of the log with the model ``name`` in one transaction, then rebuild a
    folder's index from it (a database's pgvector index is rebuilt in that transaction)."""
    import shutil

    from memory.embedders import embedder_named
    from memory.identity import reembed
    from memory.memory import LOG_FILE, Memory
    from memory.stores import open_store, parse_location

    embedder = embedder_named(name)
    t0 = time.perf_counter()
    location = parse_location(data, field="data")
    store = open_store(location, log_file=LOG_FILE)
    try:
        n = reembed(store, embedder)
    finally:
        store.close()
    if isinstance(data, Path):
        shutil.rmtree(data / "index", ignore_errors=True)  # derived from the log; the old model's dimension
        with Memory.open(data, embedder=embedder, index=to) as mem:
            mem.rebuild_index()
    where = to if isinstance(data, Path) else "pgvector"
    _console().print(f"re-embedded {n} chunks with {embedder.name} into {where} in {time.perf_counter() - t0:.1f} s")
    return 0


# -- serve -----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from memory.server import KeyRing, ServiceLimits, serve

    keys = KeyRing.load(args.keys) if args.keys else KeyRing.load()
    limits = ServiceLimits(
        max_request_bytes=args.max_request_bytes, embed_timeout=args.embed_timeout, embed_batch=args.embed_batch
    )
    serve(
        args.data,
        host=args.host,
        port=args.port,
        index=args.index,
        keys=keys,
        log_level=args.log_level,
        limits=limits,
        eval_dir=args.eval_dir,
    )
    return 0


# -- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from eval.runner import DEFAULT_BUDGETS, DEFAULT_STRATEGIES
    from eval.strategies import available

    parser = argparse.ArgumentParser(
        prog="turnmem",
        description="turnmem: conversation memory for LLM chat apps (durable log, hybrid retrieval, "
        "budgeted context) and its eval harness.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="ingest a real conversation, show an assembled context and a recall table")
    demo.add_argument("--data", help="path to locomo10.json (default: ../shared/data/locomo10.json)")
    demo.add_argument("--conversation", help="LoCoMo conversation id (default conv-26)")
    demo.add_argument("--question", type=int, default=0, help="index of the question to show")
    demo.add_argument("--budget", type=int, default=1024, help="context budget in tokens")
    demo.add_argument("--budgets", type=_ints, default=[512, 1024, 2048], help="budgets of the recall table")
    demo.add_argument("--limit-questions", type=int, default=60, help="questions in the recall table")
    demo.add_argument("--hits", type=int, default=8, help="hits to list")
    demo.add_argument("--memory-dir", help="keep the memory in this folder (default: a temporary one)")
    demo.add_argument("--index", default="faiss", help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT")
    demo.add_argument("--no-eval", action="store_true", help="skip the recall table")
    demo.set_defaults(func=cmd_demo)

    ev = sub.add_parser("eval", help="evidence recall vs token cost for each strategy and budget")
    ev.add_argument("dataset", choices=["locomo", "longmemeval", "synthetic", "chat"], help="the benchmark to run")
    ev.add_argument("--data", help="dataset file (LoCoMo: default ../shared/data/locomo10.json)")
    ev.add_argument(
        "--strategies",
        type=_csv,
        default=list(DEFAULT_STRATEGIES),
        help=f"comma-separated strategy names, from: {', '.join(available())} "
        f"(default: {','.join(DEFAULT_STRATEGIES)})",
    )
    ev.add_argument(
        "--budgets",
        type=_ints,
        default=list(DEFAULT_BUDGETS),
        help=f"comma-separated token budgets (default: {','.join(map(str, DEFAULT_BUDGETS))})",
    )
    ev.add_argument(
        "--out",
        help="folder for results.json, summary.csv, summary_by_category.csv and the plots "
        "(default: none, the table is printed and nothing is written)",
    )
    ev.add_argument("--conversations", type=_csv, help="only these conversation ids (LoCoMo: conv-26,conv-30)")
    ev.add_argument("--limit-questions", type=int, help="at most N questions per conversation")
    ev.add_argument("--categories", type=_csv, help="LoCoMo categories (1-5) / synthetic or chat categories")
    ev.add_argument("--question-types", type=_csv, help="LongMemEval question types")
    ev.add_argument("--turns", type=int, default=2000, help="synthetic: conversation length in turns")
    ev.add_argument("--seed", type=int, default=7, help="random seed (the synthetic and chat generators, --sample)")
    ev.add_argument("--users", type=int, default=4, help="chat: user histories (conversations)")
    ev.add_argument("--sessions", type=int, default=30, help="chat: sessions per user history")
    ev.add_argument("--sample", type=int, help="keep N questions in all, stratified by category (seeded by --seed)")
    ev.add_argument(
        "--images",
        choices=["caption", "parts"],
        default="caption",
        help="LoCoMo image turns as caption text (default) or as image_url parts (size unknown: 1,445 tokens each)",
    )
    ev.add_argument("--memory-dir", help="keep the ingested memory here and reuse it (default: temporary)")
    ev.add_argument("--index", default="faiss", help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    ans = ev.add_argument_group("answer accuracy", "an answer model and an LLM judge on an OpenAI-compatible endpoint")
    ans.add_argument("--answer-model", help="model that answers each question from each context (enables the stage)")
    ans.add_argument("--judge-model", help="model that grades the answers CORRECT/WRONG (default: the answer model)")
    ans.add_argument("--base-url", default="https://api.openai.com/v1", help="OpenAI-compatible endpoint (.../v1)")
    ans.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    ans.add_argument("--concurrency", type=int, default=8, help="requests in flight at most")
    ans.add_argument("--retries", type=int, default=4, help="retries of a request on 429/5xx, with backoff")
    ans.add_argument("--price", type=_price, help="dollars per million tokens, IN or IN,OUT: a cost estimate")
    ans.add_argument("--answer-cache", help="cache file of answers and verdicts (default ~/.cache/turnmem/...)")
    ans.add_argument("--no-answer-cache", action="store_true", help="ask again instead of reading the cache")
    ans.add_argument("--estimate-only", action="store_true", help="print the token and cost estimate, call nothing")
    ans.add_argument("--answer-prompt", default="answer_v1", help="prompt file in eval/prompts (name without .txt)")
    ans.add_argument("--judge-prompt", default="judge_v1", help="judge prompt file in eval/prompts (name without .txt)")
    ev.set_defaults(func=cmd_eval)

    re_ = sub.add_parser("reindex", help="rebuild a memory's vector index from its log (or move it to another backend)")
    re_.add_argument("--data", required=True, help="the memory folder, or a PostgreSQL DSN (with --embedder)")
    re_.add_argument("--source", default="faiss", help="the index the memory uses now")
    re_.add_argument("--to", default="faiss", help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT")
    re_.add_argument("--reembed", action="store_true", help="re-embed every chunk instead of reusing stored vectors")
    re_.add_argument(
        "--embedder",
        default=None,
        help="re-embed the log with another model (all-MiniLM-L6-v2, optionally :torch / :onnx / :onnx-int8, a "
        "local sentence-transformers folder, or openai:MODEL with $OPENAI_BASE_URL) and rebuild the index with it",
    )
    re_.set_defaults(func=cmd_reindex)

    sv = sub.add_parser("serve", help="serve a memory over HTTP (REST API with an OpenAPI schema at /docs)")
    sv.add_argument(
        "--data",
        default=None,
        help="the memory folder (created if missing) or a PostgreSQL DSN postgresql://USER@HOST/DB "
        "(default: $TURNMEM_DATABASE_URL)",
    )
    sv.add_argument(
        "--host", default="127.0.0.1", help="bind address (default: 127.0.0.1; a non-loopback one needs --keys)"
    )
    sv.add_argument("--port", type=int, default=8080, help="TCP port to listen on (default: 8080)")
    sv.add_argument(
        "--index",
        default=None,
        help="faiss | faiss-hnsw | chroma | chroma-http://HOST:PORT (folders; default faiss; "
        "on PostgreSQL the vectors are in the database)",
    )
    sv.add_argument(
        "--keys",
        help='JSON file {"keys": {"KEY": ["namespace", "prefix-*"]}} (default: $TURNMEM_API_KEYS, else no keys: '
        "every request may use every namespace, and a key a client sends is not checked)",
    )
    sv.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's and turnmem's log level (default: info)",
    )
    sv.add_argument(
        "--max-request-bytes", type=int, default=8 * 1024 * 1024, help="larger bodies get 413 (default: 8 MiB)"
    )
    sv.add_argument(
        "--embed-timeout",
        type=float,
        default=60.0,
        help="seconds a write may wait for the embedder, else 503 (default: 60)",
    )
    sv.add_argument(
        "--embed-batch", type=int, default=128, help="most texts in one forward pass of the embedder (default: 128)"
    )
    sv.add_argument(
        "--eval-dir",
        default=None,
        help="a folder of `turnmem eval --out` results the inspector at /ui lists (itself and two levels below)",
    )
    sv.set_defaults(func=cmd_serve)

    add_namespace_indexes(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except TurnmemError as exc:
        print(f"turnmem: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
