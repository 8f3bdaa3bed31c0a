"""Regenerate the README's result tables from result files (never type them by hand).

    python benchmarks/update_readme.py [--eval results/locomo] [--bench benchmarks/results/assemble.json]

Replaces the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers and
copies the eval's plot to ``docs/img/``. The tables are made in ``readme_recall.py``,
``readme_bench.py`` and ``readme_chat.py``.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
from pathlib import Path

from readme_bench import bench_table, chat_loop_table, postgres_table, scale_table, service_table
from readme_chat import mem0_table, scale_chat_table
from readme_recall import STRATEGY_LABELS, categories_table, eval_table, retrieval_blocks

__all__ = [  # the tables live in readme_bench and readme_recall; importable from here as before
    "STRATEGY_LABELS",
    "bench_table",
    "categories_table",
    "chat_loop_table",
    "eval_table",
    "notebook_images",
    "postgres_table",
    "replace_block",
    "retrieval_blocks",
    "scale_table",
    "service_table",
]

ROOT = Path(__file__).resolve().parents[1]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def notebook_images() -> dict[str, str]:
    """Execute each notebook and save its first picture to docs/img/; returns notebook -> image path."""
    # The notebooks extra (pip install turnmem[notebooks]): only --notebooks needs it.
    import nbformat
    from nbclient import NotebookClient

    folder = ROOT / "notebooks"
    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        for cell in nb.cells:
            outs = cell.get("outputs", [])
            png = next((o["data"]["image/png"] for o in outs if "image/png" in o.get("data", {})), None)
            if png:
                target = img / f"notebook-{path.stem}.png"
                target.write_bytes(base64.b64decode(png))
                found[path.stem] = str(target.relative_to(ROOT))
                break
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=str(ROOT / "results" / "locomo"))
    ap.add_argument("--bench", default=str(ROOT / "benchmarks" / "results" / "assemble.json"))
    ap.add_argument("--service", default=str(ROOT / "benchmarks" / "results" / "service.json"))
    ap.add_argument(
        "--service-chat",
        default=str(ROOT / "benchmarks" / "results" / "service-chat.json"),
        help="a bench_service run whose chat loop and contexts/s go under the service table",
    )
    ap.add_argument("--scale", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    ap.add_argument("--postgres", default=str(ROOT / "benchmarks" / "results" / "postgres.json"))
    ap.add_argument(
        "--scale-chat",
        default=str(ROOT / "benchmarks" / "results" / "scale-chat.json"),
        help="bench_scale --chat-only's result (a full run's scale.json holds the chat loop too)",
    )
    ap.add_argument("--mem0", default=str(ROOT / "benchmarks" / "results" / "mem0.json"))
    ap.add_argument("--retrieval", default=str(ROOT / "benchmarks" / "results" / "retrieval.json"))
    ap.add_argument("--notebooks", action="store_true", help="execute the notebooks and refresh their pictures")
    args = ap.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    ev = Path(args.eval)
    if (ev / "summary.csv").exists() and "<!-- locomo-table:start -->" in text:
        text = replace_block(text, "locomo-table", eval_table(ev))
        if (ev / "summary_by_category.csv").exists() and "<!-- locomo-cats:start -->" in text:
            text = replace_block(text, "locomo-cats", categories_table(ev))
        img = ROOT / "docs" / "img"
        img.mkdir(parents=True, exist_ok=True)
        shutil.copy(ev / "recall_vs_budget.png", img / "locomo_recall_vs_budget.png")
        if (ev / "recall_by_category.png").exists():
            shutil.copy(ev / "recall_by_category.png", img / "locomo_recall_by_category.png")
    if Path(args.bench).exists():
        text = replace_block(text, "assemble-bench", bench_table(Path(args.bench)))
    if Path(args.service).exists() and "<!-- service-bench:start -->" in text:
        chat = Path(args.service_chat)  # only while service.json comes from a run without the chat loop
        own = "chat_loop" in Path(args.service).read_text(encoding="utf-8")
        text = replace_block(
            text, "service-bench", service_table(Path(args.service), chat if chat.exists() and not own else None)
        )
    if Path(args.scale).exists() and "<!-- scale-bench:start -->" in text:
        text = replace_block(text, "scale-bench", scale_table(Path(args.scale)))
    if Path(args.postgres).exists() and "<!-- postgres-bench:start -->" in text:
        text = replace_block(text, "postgres-bench", postgres_table(Path(args.postgres)))
    has_chat = [p for p in (Path(args.scale_chat), Path(args.scale)) if p.exists() and "chat_loop" in p.read_text()]
    chat = has_chat[0] if has_chat else None
    if chat is not None and "<!-- scale-chat-bench:start -->" in text:
        text = replace_block(text, "scale-chat-bench", scale_chat_table(chat))
    if Path(args.mem0).exists() and "<!-- mem0-bench:start -->" in text:
        text = replace_block(text, "mem0-bench", mem0_table(Path(args.mem0)))
    if Path(args.retrieval).exists():
        for name, body in retrieval_blocks(Path(args.retrieval)).items():
            if f"<!-- {name}:start -->" in text:
                text = replace_block(text, name, body)
    if args.notebooks:
        print("notebook pictures:", notebook_images())
    readme.write_text(text, encoding="utf-8")
    print("README.md updated")


if __name__ == "__main__":
    main()
