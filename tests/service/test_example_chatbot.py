"""examples/chatbot.py against the real service and a fake OpenAI-compatible LLM on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.fakes import FakeOpenAI, serve
from tests.service.helpers import ADMIN_KEY, ROOT

FILLER = [f"Tell me a fact about the number {n}." for n in range(12)]


def _reply(body: dict[str, Any]) -> str:
    """The fake model answers the locker question only if the context it was sent holds the code."""
    last = body["messages"][-1]["content"]
    if "locker" in last and "?" in last:
        seen = any("4471" in str(m.get("content")) for m in body["messages"][:-1])
        return "Your locker code is 4471." if seen else "I don't know your locker code."
    return f"Noted ({len(body['messages'])} messages in context)."


def test_chatbot_loop_through_the_service_remembers_beyond_its_window(server: Any) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import chatbot
    finally:
        sys.path.pop(0)
    fake = FakeOpenAI(reply=_reply)
    lines = ["Remember this: my locker code is 4471.", *FILLER, "What is my locker code?"]
    session = f"chat-{uuid.uuid4().hex[:8]}"
    with serve(fake.app) as llm_url, httpx.Client(base_url=llm_url + "/v1") as llm:
        mem = chatbot.open_memory(server.url, api_key=ADMIN_KEY)
        answers = list(chatbot.chat(mem, llm, "fake-model", lines, session=session, namespace="demo", budget=300))
        stored = mem.since(session, namespace="demo")
        mem.close()
    assert answers[-1] == "Your locker code is 4471."
    # the model never got the whole history: the last request fit in the budget and was a selection
    assert len(fake.requests[-1]["messages"]) < 2 * len(lines)
    assert [m.seq for m in stored] == list(range(1, 2 * len(lines) + 1))
    assert [m.role for m in stored[:2]] == ["user", "assistant"]


def test_chatbot_script_runs_from_the_command_line(server: Any, tmp_path: Path) -> None:
    fake = FakeOpenAI(reply=_reply)
    with serve(fake.app) as llm_url:
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "chatbot.py"),
                "--memory",
                server.url,
                "--llm",
                llm_url + "/v1",
                "--session",
                f"cli-{uuid.uuid4().hex[:8]}",
            ],
            input="my locker code is 4471\nwhat is my locker code?\n",
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TURNMEM_API_KEY": ADMIN_KEY},
            timeout=300,
        )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["bot> Noted (2 messages in context).", "bot> Your locker code is 4471."]
