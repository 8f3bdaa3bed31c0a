"""What the tests of the seeded generators share: the same dataset in a fresh interpreter."""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def assert_same_across_processes(module: str, **kwargs: int) -> None:
    """``module.generate(**kwargs)`` hashes the same here and in two interpreters of other hash
    seeds: no dependence on hash randomization (set or dict-of-str iteration order)."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    code = (
        f"import hashlib; from {module} import generate; "
        f"print(hashlib.sha256(generate({args}).model_dump_json().encode()).hexdigest())"
    )
    generate = importlib.import_module(module).generate
    here = hashlib.sha256(generate(**kwargs).model_dump_json().encode()).hexdigest()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == here
