"""The same mistake gets the same answer embedded and through the service: exception class,
message and field, for a table of bad inputs run through ``Memory`` and through ``Client``
against a real ``turnmem serve``; and a server without keys says once that it checks none."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory.client import Client
from memory.embedders import Embedder
from memory.errors import TurnmemError
from memory.memory import Memory
from tests.service.helpers import ADMIN_KEY, ServerProcess

ROOT = Path(__file__).resolve().parents[2]

TURN = [{"role": "user", "content": "My locker code is 4471."}]
NS = "error-parity"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

BAD: dict[str, Callable[[Any], Any]] = {
    "budget 0": lambda m: m.assemble("code?", session="s", namespace=NS, budget=0),
    "budget -1": lambda m: m.assemble("code?", session="s", namespace=NS, budget=-1),
    "budget '1000'": lambda m: m.assemble("code?", session="s", namespace=NS, budget="1000"),
    "budget 1.5": lambda m: m.assemble("code?", session="s", namespace=NS, budget=1.5),
    "budget True": lambda m: m.assemble("code?", session="s", namespace=NS, budget=True),
    "budget 0, namespace-wide": lambda m: m.assemble("code?", namespace=NS, budget=0),
    "empty session (add)": lambda m: m.add(TURN, session="", namespace=NS),
    "empty session (assemble)": lambda m: m.assemble("code?", session="", namespace=NS, budget=100),
    "blank session": lambda m: m.add(TURN, session="   ", namespace=NS),
    "namespace with a newline": lambda m: m.add(TURN, session="s", namespace="a\nb"),
    "namespace too long": lambda m: m.assemble("code?", session="s", namespace=NS * 300, budget=100),
    "namespace not a string": lambda m: m.assemble("code?", session="s", namespace=5, budget=100),
    "query an int": lambda m: m.assemble(123, session="s", namespace=NS, budget=100),
    "query a list": lambda m: m.assemble(["code?"], session="s", namespace=NS, budget=100),
    "search query None": lambda m: m.search(None, namespace=NS),
    "search k 0": lambda m: m.search("code?", namespace=NS, k=0),
    "search k '3'": lambda m: m.search("code?", namespace=NS, k="3"),
    "unknown config key": lambda m: m.assemble("code?", session="s", namespace=NS, budget=100, windw_share=0.5),
    "config value out of range": lambda m: m.assemble("code?", session="s", namespace=NS, budget=100, window_share=2),
    "since seq -1": lambda m: m.since("s", -1, namespace=NS),
    "since seq '3'": lambda m: m.since("s", "3", namespace=NS),
    "since limit 0": lambda m: m.since("s", 0, namespace=NS, limit=0),
    "base_seq '3'": lambda m: m.add(TURN, session="s", namespace=NS, base_seq="3"),
    "base_seq -1": lambda m: m.add(TURN, session="s", namespace=NS, base_seq=-1),
    "empty idempotency key": lambda m: m.add(TURN, session="s", namespace=NS, idempotency_key=""),
}


def _outcome(fn: Callable[[Any], Any], target: Any) -> tuple[str, str, str | None]:
    try:
        fn(target)
    except TurnmemError as exc:
        return type(exc).__name__, str(exc), getattr(exc, "field", None)
    return "no error", "", None


@pytest.fixture(scope="module")
def pair(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Any]:
    """An embedded memory and a client of the shared test server, each holding one turn."""
    mem = Memory.open(tmp_path_factory.mktemp("embedded"), embedder=embedder)
    with Client(server.url, api_key=ADMIN_KEY) as client:
        for m in (mem, client):
            m.add(TURN, session="s", namespace=NS, idempotency_key="seed")
        yield mem, client
    mem.close()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gets_the_same_error_both_ways(pair: Any, case: str) -> None:
    mem, client = pair
    embedded = _outcome(BAD[case], mem)
    remote = _outcome(BAD[case], client)
    assert embedded[0] != "no error", f"{case}: Memory accepted it"
    assert embedded == remote
    assert [m.seq for m in mem.since("s", namespace=NS)] == [1]  # nothing stored by a refused write
    assert [m.seq for m in client.since("s", namespace=NS)] == [1]


def test_the_budget_messages_read_as_the_issue_asks(pair: Any) -> None:
    mem, client = pair
    for m in (mem, client):
        assert _outcome(BAD["budget 0"], m) == (
            "InvalidArgument",
            "budget: give a positive number of tokens (got 0)",
            "budget",
        )
        assert _outcome(BAD["budget '1000'"], m)[1] == "budget: give a positive number of tokens (got '1000')"


def test_raw_http_gets_memorys_words_too(server: ServerProcess, pair: Any) -> None:
    """Without the client's own name check: the service maps a refused path or body field to Memory's check."""
    mem, _ = pair
    cases = [
        ("/v1/namespaces/%20/sessions/s/context", {"query": "q", "budget": 100}, BAD["blank session"]),
        ("/v1/namespaces/n/sessions/s/context", {"query": "q", "budget": "1000"}, BAD["budget '1000'"]),
        ("/v1/namespaces/n/context", {"query": "q", "budget": 0}, BAD["budget 0, namespace-wide"]),
        ("/v1/namespaces/n/sessions/s/context", {"query": 123, "budget": 100}, BAD["query an int"]),
        ("/v1/namespaces/n/search", {"query": None}, BAD["search query None"]),
    ]
    for path, body, embedded_call in cases:
        resp = httpx.post(server.url + path.replace("/n/", f"/{NS}/"), json=body, headers=ADMIN)
        assert resp.status_code == 422, (path, body, resp.text)
        kind, text, field = _outcome(embedded_call, mem)
        if path.startswith("/v1/namespaces/%20"):
            kind, text, field = _outcome(lambda m: m.add(TURN, session="s", namespace=" "), mem)
        assert (resp.json()["error"], resp.json()["detail"], resp.json()["field"]) == (kind, text, field)


@pytest.mark.needs("server", "process")
def test_a_server_without_keys_warns_once_that_keys_are_not_checked(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data") as open_server:  # the README's way: no --keys, loopback only
        headers = {"Authorization": "Bearer sk-from-the-readme"}
        assert httpx.get(open_server.url + "/v1/namespaces").status_code == 200  # no key: no warning
        for _ in range(3):
            assert httpx.get(open_server.url + "/v1/namespaces", headers=headers).status_code == 200
        # the README's "As a service" snippet, as written but for the port, on this server: its
        # `api_key="sk-..."` is one more key the server does not check
        section = (ROOT / "README.md").read_text().split("\n## As a service\n", 1)[1].split("\n## ", 1)[0]
        snippet = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
        assert 'Client("http://127.0.0.1:8080", api_key="sk-...")' in snippet
        scope: dict[str, Any] = {}
        exec(snippet.replace("http://127.0.0.1:8080", open_server.url), scope)
        assert "4471" in str(scope["ctx"].messages) and scope["ctx"].tokens <= 1000
        scope["mem"].close()
        warning = "keys are not checked"
        log = Path(open_server.log)
        deadline = time.monotonic() + 10
        while warning not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    lines = [line for line in log.read_text().splitlines() if warning in line]
    assert len(lines) == 1, log.read_text()[-2000:]
    assert lines[0].startswith("WARNING") and "no keys" in lines[0]
