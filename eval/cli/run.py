"""``turnmem eval``: evidence recall vs token cost for each strategy and budget, and optionally answer accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.answers import AnswerConfig
from eval.cli.common import default_locomo
from eval.datasets import load_dataset, load_locomo, load_longmemeval
from eval.report import TABLE_LEGEND
from eval.runner import DEFAULT_BUDGETS, DEFAULT_STRATEGIES, run
from eval.sampling import sample_questions
from eval.strategies import available
from memory.cli.common import csv_list, int_list, make_console
from memory.errors import InvalidArgument
from memory.models import first_error


class _Default(int):
    """A size flag's value when the command line did not give it: chat's default, which the
    prefs and projects sets replace with their own."""


def add_parser(sub: Any) -> None:
    """The ``eval`` subcommand and its flags, on the parser's subcommands ``sub``."""
    ev = sub.add_parser("eval", help="evidence recall vs token cost for each strategy and budget")
    ev.add_argument(
        "dataset",
        choices=["locomo", "longmemeval", "synthetic", "chat", "prefs", "projects"],
        help="the benchmark to run (prefs, projects: the development sets of docs/devsets.md)",
    )
    ev.add_argument("--data", help="dataset file (LoCoMo: default ../shared/data/locomo10.json)")
    ev.add_argument(
        "--strategies",
        type=csv_list,
        default=list(DEFAULT_STRATEGIES),
        help=f"comma-separated strategy names, from: {', '.join(available())} "
        f"(default: {','.join(DEFAULT_STRATEGIES)})",
    )
    ev.add_argument(
        "--budgets",
        type=int_list,
        default=list(DEFAULT_BUDGETS),
        help=f"comma-separated token budgets (default: {','.join(map(str, DEFAULT_BUDGETS))})",
    )
    ev.add_argument(
        "--out",
        help="folder for results.json, summary.csv, summary_by_category.csv and the plots "
        "(default: none, the table is printed and nothing is written)",
    )
    ev.add_argument("--conversations", type=csv_list, help="only these conversation ids (LoCoMo: conv-26,conv-30)")
    ev.add_argument("--limit-questions", type=int, help="at most N questions per conversation")
    ev.add_argument("--categories", type=csv_list, help="LoCoMo categories (1-5) / synthetic or chat categories")
    ev.add_argument("--question-types", type=csv_list, help="LongMemEval question types")
    ev.add_argument("--turns", type=int, default=2000, help="synthetic: conversation length in turns")
    ev.add_argument(
        "--seed", type=int, default=7, help="random seed (the synthetic, chat, prefs and projects generators, --sample)"
    )
    ev.add_argument(
        "--users",
        type=int,
        default=_Default(4),
        help="chat: user histories (conversations; default 4); prefs, projects: default 4, 2",
    )
    ev.add_argument(
        "--sessions",
        type=int,
        default=_Default(30),
        help="chat: sessions per user history (default 30); prefs, projects: default 40, 120",
    )
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
    ev.add_argument(
        "--no-as-of",
        action="store_true",
        help="ask every question after the whole history, ignoring asked_after and LongMemEval's question dates "
        "(a comparison: later turns then compete with the evidence)",
    )
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


def cmd_eval(args: argparse.Namespace) -> int:
    console = make_console()
    if args.dataset == "locomo":
        path = Path(args.data) if args.data else default_locomo()
        dataset = load_locomo(path, images=args.images)
        categories = args.categories
    elif args.dataset == "longmemeval":
        if not args.data:
            console.print("[red]--data: give the path to a LongMemEval JSON file (longmemeval_s.json ...)[/red]")
            return 2
        dataset = load_longmemeval(args.data)
        categories = args.question_types
    elif args.dataset == "chat":
        # The generators are imported only when used: their word tables add ~0.1 s to every command's start-up.
        from eval.synthetic_chat import generate as generate_chat  # noqa: PLC0415

        dataset = generate_chat(seed=args.seed, conversations=int(args.users), sessions=int(args.sessions))
        categories = args.categories or args.question_types
    elif args.dataset in ("prefs", "projects"):
        given = (("conversations", args.users), ("sessions", args.sessions))
        sizes = {k: v for k, v in given if not isinstance(v, _Default)}  # else the set's own sizes
        dataset = load_dataset(args.dataset, seed=args.seed, **sizes)
        categories = args.categories or args.question_types
    else:
        from eval.synthetic import generate  # noqa: PLC0415 - lazy, as above

        dataset = generate(turns=args.turns, seed=args.seed)
        categories = args.categories or args.question_types
    dataset = dataset.select(
        conversations=args.conversations, categories=categories, limit_questions=args.limit_questions
    )
    if args.sample is not None:
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
        as_of=not args.no_as_of,
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
        parts = [float(v) for v in csv_list(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dollars per million tokens, IN or IN,OUT; got {value!r}") from None
    if len(parts) not in (1, 2) or min(parts) < 0:
        raise argparse.ArgumentTypeError(f"expected dollars per million tokens, IN or IN,OUT; got {value!r}")
    return parts[0], parts[1] if len(parts) == 2 else None


def _answer_config(args: argparse.Namespace) -> AnswerConfig | None:
    """The answers stage's configuration from the flags, or None without ``--answer-model``."""
    if args.answer_model is None:
        if args.judge_model is not None:
            raise InvalidArgument("judge_model: --judge-model needs --answer-model", field="judge_model")
        return None
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
        err = first_error(exc)
        field = err.dotted
        raise InvalidArgument(f"{field}: {err.msg} (got {err.input!r})", field=field) from None
    config.api_key()  # a missing --api-key-env variable fails now, not after the retrieval
    config.prompts()  # so does an unknown prompt name
    return config
