"""turnmem with the official OpenAI Python SDK: the context goes in as ``messages``.

    python examples/openai_sdk.py --memory ./chat-data --base-url https://api.openai.com/v1

``--base-url`` may point at any OpenAI-compatible server (vLLM, llama.cpp, Ollama); the key is
read from ``OPENAI_API_KEY``. ``--memory`` takes a folder (embedded) or a turnmem service URL.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator

from openai import OpenAI

from memory import Client, Memory


def turns(
    mem: Memory | Client, llm: OpenAI, model: str, lines: Iterable[str], *, session: str = "sdk", budget: int = 2000
) -> Iterator[str]:
    for line in lines:
        if not line.strip():
            continue
        mem.add([{"role": "user", "content": line.strip()}], session=session)
        ctx = mem.assemble(line, session=session, budget=budget, system="You are a concise assistant.")
        reply = llm.chat.completions.create(model=model, messages=ctx.to_openai())  # type: ignore[arg-type]
        text = reply.choices[0].message.content or ""
        mem.add([{"role": "assistant", "content": text}], session=session)
        yield text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memory", default="./chat-data")
    ap.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"))
    ap.add_argument("--model", default="gpt-4o-mini")
    args = ap.parse_args(argv)
    mem: Memory | Client = Client(args.memory) if args.memory.startswith("http") else Memory.open(args.memory)
    llm = OpenAI(base_url=args.base_url, api_key=os.environ.get("OPENAI_API_KEY", "not-needed-locally"))
    try:
        for text in turns(mem, llm, args.model, sys.stdin):
            print(text, flush=True)
    finally:
        mem.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
