"""The README's hostile-input figures quote ``benchmarks/results/abuse_input.json``."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_quotes_the_abuse_input_run() -> None:
    rows = {r["case"]: r for r in json.loads((ROOT / "benchmarks/results/abuse_input.json").read_text())["rows"]}
    readme = " ".join((ROOT / "README.md").read_text().split())
    cjk, blob, query = rows["add cjk 200k"], rows["add base64 1M"], rows["context query 2M"]
    assert f"took {cjk['before']['cpu_s']:.1f} s of CPU and takes {cjk['after']['cpu_s']:.2f} s" in readme
    assert f"blob {blob['before']['cpu_s']:.1f} s and {blob['after']['cpu_s']:.2f} s" in readme
    assert f"a 2 MB query cost {query['before']['cpu_s']:.1f} s and is refused at once" in readme
    assert query["after"]["outcome"] == "refused (query)"
