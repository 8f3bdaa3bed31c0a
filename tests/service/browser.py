"""Debian's Chromium driven by Playwright, for the inspector's tests and screenshots.

No browser is downloaded (``playwright install`` is never run): Chromium comes from the
distribution (``apt-get install chromium``; ``.ci/run`` installs it). A missing Chromium fails
the tests that need it, with this hint, instead of skipping them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium browser from ``/usr/bin/chromium``."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install -y chromium`")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
