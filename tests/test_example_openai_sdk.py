"""examples/openai_sdk.py: the real OpenAI SDK against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from openai import OpenAI

from memory.memory import Memory
from tests.fakes import FakeOpenAI, serve

ROOT = Path(__file__).resolve().parents[1]


def test_openai_sdk_gets_the_assembled_context(open_memory: Any) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import openai_sdk
    finally:
        sys.path.pop(0)

    def reply(body: dict[str, Any]) -> str:
        context = " ".join(str(m.get("content")) for m in body["messages"][:-1])
        return "Your flight is LX-318." if "LX-318" in context and "flight" in body["messages"][-1]["content"] else "ok"

    fake = FakeOpenAI(reply=reply)
    mem: Memory = open_memory("sdk")
    lines = ["I booked flight LX-318 to Zurich.", *[f"Unrelated chat line {i} about cooking pasta." for i in range(15)]]
    lines.append("Which flight did I book?")
    with serve(fake.app) as url:
        llm = OpenAI(base_url=url + "/v1", api_key="test-key", max_retries=0)
        answers = list(openai_sdk.turns(mem, llm, "fake-model", lines, budget=250))
    assert answers[-1] == "Your flight is LX-318."
    last = fake.requests[-1]
    assert last["model"] == "fake-model"
    assert last["messages"][0] == {"role": "system", "content": "You are a concise assistant."}
    assert len(last["messages"]) < 2 * len(lines)  # a budgeted selection, not the history
    assert fake.headers[-1]["authorization"] == "Bearer test-key"
