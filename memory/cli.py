"""The ``turnmem`` command line: ``demo``, ``eval``, ``reindex``, ``serve``, ``namespace-indexes``
(``turnmem --help``).

Each subcommand group lives in its own module, with its flags: :mod:`memory.cli_demo`,
:mod:`memory.cli_eval`, :mod:`memory.cli_admin` (``reindex``, ``serve``),
:mod:`memory.cli_indexes` (``namespace-indexes``); what they share is in :mod:`memory.cli_common`.
This module assembles the parser and runs a command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from memory import cli_admin, cli_demo, cli_eval
from memory.cli_admin import cmd_reindex, cmd_serve
from memory.cli_demo import cmd_demo
from memory.cli_eval import cmd_eval
from memory.cli_indexes import add_parser as add_namespace_indexes
from memory.errors import TurnmemError

__all__ = ["build_parser", "cmd_demo", "cmd_eval", "cmd_reindex", "cmd_serve", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turnmem",
        description="turnmem: conversation memory for LLM chat apps (durable log, hybrid retrieval, "
        "budgeted context) and its eval harness.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli_demo.add_parser(sub)
    cli_eval.add_parser(sub)
    cli_admin.add_reindex_parser(sub)
    cli_admin.add_serve_parser(sub)
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
