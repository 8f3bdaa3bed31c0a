"""The ``turnmem`` command line: the parser, the operator commands, and running a command.

The operator commands live here, each group with its flags in its own module:
:mod:`memory.cli.admin` (``reindex``, ``serve``) and :mod:`memory.cli.indexes`
(``namespace-indexes``); :mod:`memory.cli.common` holds what every command shares. The commands
that run the eval (``demo``, ``eval``) sit above, in :mod:`eval.cli`, which builds the whole
``turnmem`` command from this parser and its own groups (the console script is
:func:`eval.cli.main`): ``memory`` never imports ``eval``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from memory.cli import admin, indexes
from memory.errors import TurnmemError

__all__ = ["OPERATOR_COMMANDS", "AddParser", "build_parser", "main"]

AddParser = Callable[[Any], None]  # adds one subcommand (its flags and ``func``) to a subparsers object
OPERATOR_COMMANDS: tuple[AddParser, ...] = (admin.add_reindex_parser, admin.add_serve_parser, indexes.add_parser)


def build_parser(before: Sequence[AddParser] = ()) -> argparse.ArgumentParser:
    """The ``turnmem`` parser: the subcommands of ``before`` (the eval's), then the operator ones."""
    parser = argparse.ArgumentParser(
        prog="turnmem",
        description="turnmem: conversation memory for LLM chat apps (durable log, hybrid retrieval, "
        "budgeted context) and its eval harness.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (*before, *OPERATOR_COMMANDS):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None, before: Sequence[AddParser] = ()) -> int:
    """Parse ``argv`` and run its command; a :class:`TurnmemError` is one line on stderr and exit code 2."""
    parser = build_parser(before)
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
