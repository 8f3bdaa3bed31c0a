"""A chatbot loop with turnmem as its memory: the service (or the embedded Memory) keeps the
conversation, each turn sends the model a budgeted context instead of the whole history.

    turnmem serve --data chat-data &                                  # the memory service
    python examples/chatbot.py --memory http://127.0.0.1:8080 \\
        --llm https://api.openai.com/v1 --model gpt-4o-mini           # OPENAI_API_KEY in the env

``--memory`` takes a service URL or a folder (embedded): the one line that differs is
``Client(url)`` versus ``Memory.open(folder)``. Any OpenAI-compatible endpoint works for ``--llm``
(a local vLLM, llama.cpp or Ollama server too).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator

import httpx

from memory import Client, Memory

SYSTEM = "You are a helpful assistant. Use the earlier conversation you are given when it is relevant."


def open_memory(where: str, api_key: str | None = None) -> Memory | Client:
    """A service URL gives the REST client, anything else an embedded memory folder."""
    if where.startswith(("http://", "https://")):
        return Client(where, api_key=api_key)
    return Memory.open(where)


def chat(
    mem: Memory | Client,
    llm: httpx.Client,
    model: str,
    lines: Iterable[str],
    *,
    session: str = "chat",
    namespace: str = "default",
    budget: int = 2000,
) -> Iterator[str]:
    """For each user line: store it, assemble a context for it, ask the model, store the answer."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        mem.add([{"role": "user", "content": text}], session=session, namespace=namespace)
        ctx = mem.assemble(text, session=session, namespace=namespace, budget=budget, system=SYSTEM)
        resp = llm.post("/chat/completions", json={"model": model, "messages": ctx.messages})
        resp.raise_for_status()
        answer = resp.json()["choices"][0]["message"]["content"] or ""
        mem.add([{"role": "assistant", "content": answer}], session=session, namespace=namespace)
        yield answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory", default="http://127.0.0.1:8080", help="service URL or memory folder")
    parser.add_argument("--memory-key", default=os.environ.get("TURNMEM_API_KEY"), help="turnmem API key")
    parser.add_argument("--llm", default="https://api.openai.com/v1", help="OpenAI-compatible base URL")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--session", default="chat")
    parser.add_argument("--budget", type=int, default=2000, help="context budget in tokens")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"} if "OPENAI_API_KEY" in os.environ else {}
    mem = open_memory(args.memory, args.memory_key)
    with httpx.Client(base_url=args.llm, headers=headers, timeout=120) as llm:
        prompt = (line for line in iter(lambda: input("you> "), None)) if sys.stdin.isatty() else sys.stdin
        try:
            for answer in chat(mem, llm, args.model, prompt, session=args.session, budget=args.budget):
                print(f"bot> {answer}", flush=True)
        except (EOFError, KeyboardInterrupt):
            pass
        finally:
            mem.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
