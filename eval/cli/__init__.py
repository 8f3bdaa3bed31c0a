"""The whole ``turnmem`` command: the eval's subcommands (``demo``, ``eval``) and the operator ones.

:mod:`eval.cli.demo` and :mod:`eval.cli.run` run the eval harness, so they live in ``eval`` (the top
layer); :func:`main` adds them to :func:`memory.cli.build_parser`. It is the ``turnmem`` console script.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from eval.cli import demo, run
from memory import cli as memory_cli

__all__ = ["EVAL_COMMANDS", "build_parser", "main"]

EVAL_COMMANDS: tuple[memory_cli.AddParser, ...] = (demo.add_parser, run.add_parser)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``turnmem``: ``demo``, ``eval``, ``reindex``, ``serve``, ``namespace-indexes``."""
    return memory_cli.build_parser(EVAL_COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """``turnmem ARGS``: run one subcommand (exit code 2 with one line on stderr for a TurnmemError)."""
    return memory_cli.main(argv, EVAL_COMMANDS)
