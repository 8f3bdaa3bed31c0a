"""The README's "In ten lines" example, exactly as written, runs as a script twice in a row
against the same folder and prints what it shows (a rerun replays: nothing is stored twice)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memory.errors import Conflict, InvalidMessage, InvalidTransition

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    """The first ``python`` block under the "## In ten lines" heading."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## In ten lines\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "no python block under '## In ten lines'"
    return blocks[0]


def test_the_block_is_the_one_the_readme_shows() -> None:
    code = readme_example()
    assert code.startswith("from memory import Memory\n") and "mem.assemble(" in code
    assert "print(" in code


@pytest.mark.slow  # two fresh interpreters, each loading MiniLM: about 30 s
def test_readme_example_runs_twice_as_a_script(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    runs = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(proc.stdout)
    first, second = runs
    assert (tmp_path / "memdata").is_dir()  # relative to the working directory, as the README says
    assert first.splitlines()[0] == second.splitlines()[0] == "seqs: [1, 2, 3, 4]"  # the rerun stored nothing
    for out in runs:
        assert "Casa Azul is 129 EUR a night." in out
        assert "'tool_call_id': 'call_1'" in out
        tokens = [line for line in out.splitlines() if line.endswith(" tokens")]
        assert len(tokens) == 1 and 0 < int(tokens[0].split()[0]) <= 1000
        # found by vector on the first run too: assemble read its writes (no KeyError on 'dense')
        assert re.search(r"^#1 seq \d+ dense \d\.\d{3} final \d\.\d{3}: ", out, flags=re.M)
    messages = [[line for line in out.splitlines() if line.startswith("{'role'")] for out in runs]
    assert messages[0] == messages[1] and len(messages[0]) == 4  # the same context: nothing was added twice


def readme_block(heading: str) -> str:
    """The first ``python`` block under ``## heading``."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]


def test_the_state_example_runs_after_the_ten_lines_and_does_what_its_bullets_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Conversation state beyond turns", as written, on the memory the ten lines made (in this
    process: the default embedder is the one the session already loaded)."""
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(readme_example() + readme_block("Conversation state beyond turns"), "README.md", "exec"), scope)
    mem = scope["mem"]
    try:
        # "without the key, a second run would try to store the four turns again and be refused,
        # since the tool-call id `call_1` is already used in the session"
        call = {"id": "call_1", "type": "function", "function": {"name": "search_hotels", "arguments": "{}"}}
        with pytest.raises(InvalidMessage) as err:
            mem.add(  # type: ignore[attr-defined]
                [{"role": "assistant", "content": None, "tool_calls": [call]}], session="trip-42", namespace="alice"
            )
        assert err.value.field == "messages[0].tool_calls" and "call_1" in str(err.value)
        calls = mem.tool_calls("trip-42", namespace="alice")  # type: ignore[attr-defined]
        assert [(c.id, c.status) for c in calls] == [("call_1", "completed")]
        with pytest.raises(InvalidTransition):  # "book" has no next stage
            mem.transition("trip-42", "search", namespace="alice")  # type: ignore[attr-defined]
        # conditional (`expected={"task": 3}` else Conflict): "task" is at version 1
        with pytest.raises(Conflict):
            mem.set_state("trip-42", {"task": "x"}, namespace="alice", expected={"task": 3})  # type: ignore[attr-defined]
        mem.set_state("trip-42", {"task": "hotel in Porto"}, namespace="alice", expected={"task": 1})  # type: ignore[attr-defined]
        history = mem.state_history("trip-42", "task", namespace="alice")  # type: ignore[attr-defined]
        assert [(b.version, b.value) for b in history][-2:] == [(1, "hotel in Lisbon"), (2, "hotel in Porto")]
        ctx = mem.assemble(None, session="trip-42", namespace="alice", budget=1000)  # type: ignore[attr-defined]
        pinned = ctx.messages[0]["content"]  # the state right after the (absent) system prompt, counted first
        assert "Alice" in pinned and "Confirm dates and price before booking." in pinned
        assert "Offer at most three hotels." not in pinned  # only the current stage's instructions
        stage = mem.state("trip-42", namespace="alice")["stage"]  # type: ignore[attr-defined]
        exec(compile(readme_block("Conversation state beyond turns"), "README.md", "exec"), scope)  # run it again
        assert mem.state("trip-42", namespace="alice")["stage"] == stage  # type: ignore[attr-defined]
    finally:
        mem.close()  # type: ignore[attr-defined]
    assert "seqs: [1, 2, 3, 4]" in capsys.readouterr().out
