"""Screenshots of the inspector's pages at 1280×800 into docs/img/ui_*.png (the README shows them).

    python benchmarks/ui_screenshots.py            # about a minute on 2 cores

Ingests LoCoMo conv-26 and evaluates three strategies on it (``eval.run``), seeds the demo
session of ``tests/service/inspector_seed.py`` (tool calls, an image, a file, a summary, state,
a stage machine), starts ``turnmem serve --eval-dir`` on them, and drives Debian's Chromium
(``/usr/bin/chromium``) with Playwright through each page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.datasets import load_locomo  # noqa: E402
from eval.runner import run  # noqa: E402
from memory.client import Client  # noqa: E402
from memory.memory import Memory  # noqa: E402
from memory.service.process import ServerProcess  # noqa: E402
from tests.service.browser import launch_chromium  # noqa: E402
from tests.service.inspector_seed import seed  # noqa: E402

LOCOMO = ROOT.parent / "shared" / "data" / "locomo10.json"


def prepare(folder: Path) -> tuple[Path, Path]:
    """The memory folder (LoCoMo conv-26) and the eval folder (one run on it)."""
    data, evals = folder / "data", folder / "evals"
    ds = load_locomo(LOCOMO, images="caption").select(conversations=["conv-26"])
    with Memory.open(data) as mem:
        run(
            ds,
            strategies=["window", "dense", "turnmem"],
            budgets=[256, 512, 1024, 2048],
            out=evals / "locomo-conv26",
            memory=mem,
            progress=False,
        )
        for s in mem.sessions("conv-26"):  # rolling summaries (extractive, offline) for the timeline
            mem.summarize(s["session"], namespace="conv-26", keep_last=6, min_turns=8, max_tokens=120)
    return data, evals


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    shots: list[Path] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 800})

        def snap(name: str) -> None:
            path = out / f"ui_{name}.png"
            page.screenshot(path=str(path))
            shots.append(path)

        page.goto(f"{url}/ui/#/ns/conv-26")
        page.wait_for_selector("table.sessions tbody tr")
        snap("sessions")
        page.goto(f"{url}/ui/#/ns/demo/s/trip-lisbon")
        page.wait_for_selector("li.msg")
        snap("timeline")
        for call in ("call_weather", "call_book_1"):
            page.click(f"details[data-call='{call}'] summary")
        page.evaluate("window.scrollTo(0, document.querySelector('#seq-11').offsetTop - 60)")
        snap("timeline_tools")
        page.goto(f"{url}/ui/#/ns/demo/s/trip-lisbon/context")
        page.wait_for_selector("#tokenbar")
        page.fill("#ctx-query", "what did the hotel lobby look like?")
        page.fill("#ctx-now", "2026-05-02T12:00:00Z")
        page.locator("#ctx-budget").fill("1000")
        page.click("#ctx-run")
        page.wait_for_selector("#ctx-hits li.hit")
        page.wait_for_timeout(300)
        snap("context")
        page.goto(f"{url}/ui/#/ns/conv-26/s/session_1")
        page.wait_for_selector("li.msg")
        snap("locomo")
        page.goto(f"{url}/ui/#/eval")
        page.wait_for_selector("#eval-run option[value='locomo-conv26']", state="attached")
        page.select_option("#eval-run", "locomo-conv26")
        page.wait_for_selector("#eval-chart svg circle")
        snap("eval")
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="turnmem-ui-") as tmp:
        data, evals = prepare(Path(tmp))
        with ServerProcess(data, extra_args=["--eval-dir", str(evals)]) as server:
            with Client(server.url) as client:
                seed(client, "demo")
            for path in shoot(server.url, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
