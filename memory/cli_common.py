"""What the ``turnmem`` subcommands share: list-valued flags, the LoCoMo file's default place, the console."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from eval.datasets import DEFAULT_LOCOMO


def csv_list(value: str) -> list[str]:
    """A comma-separated flag value as a list (blank items dropped)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def int_list(value: str) -> list[int]:
    """A comma-separated flag value as integers; anything else is argparse's usage error."""
    try:
        return [int(v) for v in csv_list(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def default_locomo() -> Path | None:
    """``../shared/data/locomo10.json`` from the working directory or the repo root."""
    for p in (
        Path.cwd().parent / "shared" / "data" / "locomo10.json",
        Path.cwd() / "data" / "locomo10.json",
        DEFAULT_LOCOMO,
    ):
        if p.is_file():
            return p
    return None


def make_console() -> Console:
    """Where a subcommand prints (stdout)."""
    return Console()
