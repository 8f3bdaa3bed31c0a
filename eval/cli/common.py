"""What the eval's subcommands (``eval``, ``demo``) add to :mod:`memory.cli.common`: where the LoCoMo file is."""

from __future__ import annotations

from pathlib import Path

from eval.datasets import DEFAULT_LOCOMO


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
