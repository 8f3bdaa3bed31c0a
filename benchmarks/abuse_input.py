"""What one hostile input costs, before and after the bounds of issue 26 (embedded ``Memory``).

    python benchmarks/abuse_input.py [--ref main] [--skip-before]

Each row is one call, timed in a fresh child process (CPU and wall seconds) on this checkout
("after") and on ``git archive REF`` of the same packages ("before"):

- ``add cjk 20k`` / ``add cjk 200k``: ``Memory.add`` of one unbroken CJK message (no spaces, no
  sentence ends: the chunker's hard cut), on a bag-of-words embedder so that the model is not what
  is timed (``add`` returns once stored; the write-behind indexer is flushed before the clock stops);
- ``add base64 1M``: the same with a 1 MB base64-like blob;
- ``context query 32k`` / ``context query 2M``: ``Memory.assemble`` with a 32,768-character
  (the cap) and a 2 MB query on a 50-turn session, on the bundled MiniLM (ONNX): after the
  change the 2 MB one is refused at once (``InvalidArgument`` naming ``query``).

Prints a table and writes ``benchmarks/results/abuse_input.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "abuse_input.json"
PACKAGES = ("memory", "indexers", "retrievers")
CASES = ("add cjk 20k", "add cjk 200k", "add base64 1M", "context query 32k", "context query 2M")


def _cjk(n: int) -> str:
    return "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(n))


def _b64(n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(alphabet[(i * 31 + i // 7) % 64] for i in range(n))


class _Words:
    """A bag-of-words embedder (hashing words into 384 signed buckets): microseconds a text."""

    name = "bench-bag-of-words"
    dim = 384

    def embed(self, texts: Any) -> Any:
        import numpy as np  # noqa: PLC0415 - the child imports what it times against

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split()[:512] or [text[:64]]:
                out[row, hash(word) % self.dim] += 1.0
        out[:, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def measure(case: str, folder: Path) -> dict[str, Any]:
    """One case, in this process: seconds of CPU and of wall clock, and how it ended."""
    from memory.errors import TurnmemError  # noqa: PLC0415 - imported from the code under test
    from memory.memory import Memory  # noqa: PLC0415

    if case.startswith("add"):
        text = {"add cjk 20k": _cjk(20_000), "add cjk 200k": _cjk(200_000), "add base64 1M": _b64(1_000_000)}[case]
        mem = Memory.open(folder, embedder=_Words())  # type: ignore[arg-type]
    else:
        mem = Memory.open(folder)
        mem.add([{"role": "user", "content": f"turn {i}: the boiler needs a service in May"} for i in range(50)],
                session="s")  # fmt: skip
        mem.flush()
        text = ("where is the boiler " * 2_000)[:32_768] if case.endswith("32k") else "boiler " * 300_000
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = "stored" if case.startswith("add") else "answered"
    try:
        if case.startswith("add"):
            mem.add([{"role": "user", "content": text}], session="s")
            mem.flush()
        else:
            mem.assemble(text, session="s", budget=1000)
    except TurnmemError as exc:
        outcome = f"refused ({getattr(exc, 'field', None)})"
    result = {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}
    mem.close()
    return {**result, "outcome": outcome}


def _checkout(ref: str, into: Path) -> Path:
    """The packages of ``ref`` (``git archive``) unpacked under ``into``."""
    data = subprocess.run(["git", "archive", ref, *PACKAGES], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(case: str, code: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", case, "--folder", tmp],
            cwd=tmp,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="main", help="the git ref timed as 'before' (default: main)")
    parser.add_argument("--skip-before", action="store_true", help="time this checkout only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, Path(args.folder) / "m")))
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        before = None if args.skip_before else _checkout(args.ref, Path(tmp))
        for case in CASES:
            row: dict[str, Any] = {"case": case, "after": _run(case, ROOT)}
            if before is not None:
                row["before"] = _run(case, before)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| case | before CPU s | before outcome | after CPU s | after outcome |")
    print("|---|---:|---|---:|---|")
    for r in rows:
        b = r.get("before") or {}
        print(f"| {r['case']} | {b.get('cpu_s', '-')} | {b.get('outcome', '-')} | {r['after']['cpu_s']} | "
              f"{r['after']['outcome']} |")  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"ref": args.ref, "cores": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
