"""The benchmark scripts run as ``python benchmarks/NAME.py`` and import each other by bare name
(``from chatloop import ...``): their folder goes on ``sys.path`` for the tests that import them."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
