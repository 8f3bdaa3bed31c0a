"""The same mistake gets the same answer embedded and through the service: exception class,
message and field, for a table of bad inputs run through ``Memory`` and through ``Client``
against a real ``turnmem serve``; every registered error comes back from the service as its own
class, through ``Client`` and ``AsyncClient``; and a server without keys says once that it checks none."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from memory.client import AsyncClient, Client
from memory.embedders import Embedder
from memory.errors import (
    REGISTRY,
    BudgetTooSmall,
    Busy,
    Conflict,
    IdempotencyConflict,
    IndexingFailed,
    IndexMismatch,
    InvalidArgument,
    InvalidMessage,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    SchemaMismatch,
    ServiceError,
    StorageError,
    TimedOut,
    TurnmemError,
    UpstreamError,
    error_from_body,
)
from memory.memory import Memory
from memory.service.app import create_app
from tests.fakes import serve
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
    "session '..'": lambda m: m.add(TURN, session="..", namespace=NS),
    "namespace 'a/b'": lambda m: m.add(TURN, session="s", namespace="a/b"),
    "since seq 2**63": lambda m: m.since("s", 2**63, namespace=NS),
    "base_seq 2**63": lambda m: m.add(TURN, session="s", namespace=NS, base_seq=2**63),
    "query over its cap": lambda m: m.assemble("q" * 40_000, session="s", namespace=NS, budget=100),
    "system over its cap": lambda m: m.assemble("q", session="s", namespace=NS, budget=100, system="y" * 300_000),
    "search query over its cap": lambda m: m.search("q" * 40_000, namespace=NS),
    "metadata nested 300 levels": lambda m: m.add(
        [{"role": "user", "content": "x", "metadata": _nested(300)}], session="s", namespace=NS
    ),
    "state block nested 100 levels": lambda m: m.set_state("s", {"profile": _nested(100)}, namespace=NS),
}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


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


# One instance of every registered class, its attributes set to what a body carries, and the
# status the service answers it with (pinned: these are the statuses it has always answered).
STATUSES: list[tuple[int, TurnmemError]] = [
    (500, TurnmemError("something failed on purpose")),
    (422, InvalidMessage("messages[0].role: unknown role 'bot'; use one of user, assistant", field="messages[0].role")),
    (422, InvalidArgument("window_share: at most 1 (got 2)", field="window_share")),
    (422, BudgetTooSmall("budget: 10 tokens cannot hold the pinned part (42)", budget=10, required=42)),
    (404, NotFound("session 's' does not exist")),
    (409, Conflict("base_seq: 1 is stale; the session is at 3", current_seq=3)),
    (422, IdempotencyConflict("idempotency_key: 'k' answered another request", current_seq=2)),
    (422, InvalidTransition("stage: 'triage' cannot move to 'closed'", current="triage", allowed=["open", "done"])),
    (502, UpstreamError("summarizer: https://llm.example/v1 answered 500: oops")),
    (403, PermissionDenied("namespace: this key may not use namespace 'x'", status=403)),
    (401, PermissionDenied("authorization: unknown API key", status=401)),
    (500, ServiceError("the service gave up")),
    (503, TimedOut("embedding: the model did not answer within 60 s")),
    (503, IndexingFailed("indexing: embedder unavailable", chunk_ids=[])),
    (503, Busy("flush: this server already has 64 calls waiting (its limit: 64)")),
    (507, StorageError("storage: the database or its disk is full (database or disk is full)")),
    (503, StorageError("storage: the database is busy (database is locked)", transient=True)),
    (500, IndexMismatch("index: vectors of dimension 384 expected, got 768")),
    (500, SchemaMismatch("schema: version 9 is newer than this turnmem (3)", found=-1, supported=-1)),
]
SAMPLES = [error for _, error in STATUSES]


class RaisingEmbedder:
    """The real embedder, but a query ``raise <i>`` raises ``SAMPLES[i]``: an error from inside the
    service, answered by its exception handler."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        for text in texts:
            if text.startswith("raise "):
                raise SAMPLES[int(text.split()[1])]
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def raising_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    with Memory.open(tmp_path_factory.mktemp("raising"), embedder=RaisingEmbedder(embedder)) as mem:
        mem.add(TURN, session="s", namespace=NS)
        with serve(create_app(mem)) as url:
            yield url


def test_every_registered_error_has_a_sample_and_its_own_name() -> None:
    assert sorted(REGISTRY) == sorted({type(e).__name__ for e in SAMPLES})
    assert all(cls.code == name == cls.__name__ for name, cls in REGISTRY.items())
    assert [e.status_code for e in SAMPLES] == [status for status, _ in STATUSES]


@pytest.mark.parametrize("i", range(len(SAMPLES)), ids=lambda i: f"{type(SAMPLES[i]).__name__}-{i}")
def test_every_registered_error_comes_back_as_its_own_class(raising_service: str, i: int) -> None:
    """The status and body the service answers with come from the class; both clients raise the
    same class again, with the same message and every attribute the body carries."""
    sent = SAMPLES[i]
    resp = httpx.post(f"{raising_service}/v1/namespaces/{NS}/search", json={"query": f"raise {i}"})
    assert resp.status_code == STATUSES[i][0] and resp.json() == sent.body()
    assert resp.headers.get("Retry-After") == ("1" if resp.status_code == 503 else None)

    def check(got: BaseException) -> None:
        assert type(got) is type(sent)
        assert isinstance(got, TurnmemError)
        if isinstance(sent, ServiceError):
            assert str(got) == f"turnmem service answered 500: {sent}" and got.status == 500
        else:
            assert got.body() == sent.body() and vars(got) == vars(sent)

    with Client(raising_service, backoff=0.001) as client, pytest.raises(TurnmemError) as err:
        client.search(f"raise {i}", namespace=NS)
    check(err.value)

    async def run() -> None:
        async with AsyncClient(raising_service, backoff=0.001) as client:
            await client.search(f"raise {i}", namespace=NS)

    with pytest.raises(TurnmemError) as err:
        asyncio.run(run())
    check(err.value)


def test_an_answer_that_names_no_class_is_read_by_its_status() -> None:
    """A proxy's 502 page, FastAPI's 404 for a route the server lacks, a 503 from a load balancer."""
    assert type(error_from_body(None, 502, "Bad Gateway")) is UpstreamError
    assert type(error_from_body({"detail": "Not Found"}, 404)) is NotFound
    busy = error_from_body(None, 503, "<html>busy</html>")
    assert (
        type(busy) is ServiceError
        and busy.status == 503
        and str(busy) == "turnmem service answered 503: <html>busy</html>"
    )
    bad = error_from_body({"detail": "messages[0]: bad", "field": "messages[0]"}, 422)
    assert type(bad) is InvalidMessage and bad.field == "messages[0]"
    assert (
        type(error_from_body({"detail": "body: too big", "error": "InvalidArgument", "field": "body"}, 413))
        is InvalidArgument
    )
    denied = error_from_body({"detail": "no key", "error": ["not", "a", "name"]}, 401)
    assert type(denied) is PermissionDenied and denied.status == 401
