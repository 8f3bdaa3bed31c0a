"""What the ``turnmem`` subcommands share: list-valued flags and the console."""

from __future__ import annotations

import argparse

from rich.console import Console


def csv_list(value: str) -> list[str]:
    """A comma-separated flag value as a list (blank items dropped)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def int_list(value: str) -> list[int]:
    """A comma-separated flag value as integers; anything else is argparse's usage error."""
    try:
        return [int(v) for v in csv_list(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def make_console() -> Console:
    """Where a subcommand prints (stdout)."""
    return Console()
