"""The readers ``Client`` and ``AsyncClient`` share with ``Memory`` (``state_history``,
``state_machine``, ``summaries``, ``messages_page``) answer through a real uvicorn server what
the embedded memory behind it answers, errors included."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from memory.client import AsyncClient, Client
from memory.errors import InvalidArgument, NotFound, TurnmemError
from memory.memory import Memory
from memory.service.app import create_app
from memory.session.state import StateMachine
from tests.fakes import serve

pytestmark = pytest.mark.fake_embedder  # what the readers return: the model is not the point
NS = "readers"
MACHINE = StateMachine.model_validate(
    {"initial": "ask", "stages": {"ask": {"next": ["book"]}, "book": {"instructions": "Book it."}}}
)


def _seed(mem: Memory) -> None:
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} about Lisbon"} for i in range(24)]
    mem.add(turns, session="s", namespace=NS)
    mem.add([{"role": "user", "content": "other session"}], session="t", namespace=NS)
    mem.add(turns[:3], session="s", namespace=NS, idempotency_key="again")
    assert mem.summarize("s", namespace=NS, keep_last=4, min_turns=4) is not None
    mem.set_state("s", {"task": "hotel", "party": 2}, namespace=NS)
    mem.set_state("s", {"task": "hotel in Porto", "party": None}, namespace=NS)  # party removed
    mem.set_state_machine("s", MACHINE, namespace=NS)
    mem.transition("s", "book", namespace=NS)
    mem.delete(NS, "t")  # a gap in the namespace's positions


@pytest.fixture
def url(mem: Memory) -> Iterator[str]:
    _seed(mem)
    with serve(create_app(mem)) as base:
        yield base


def _readers(m: Any) -> list[Any]:
    """The four readers on ``m`` (a Memory or a Client), every page of the namespace included."""
    pages, after = [], 0
    while True:
        msgs, cursor = m.messages_page(namespace=NS, after=after, limit=7)
        pages.append(([(x.session, x.seq, x.content) for x in msgs], cursor))
        if cursor is None:
            break
        after = cursor
    return [
        [(b.version, b.value) for b in m.state_history("s", "task", namespace=NS)],
        [(b.version, b.value) for b in m.state_history("s", "party", namespace=NS)],  # removed: still its history
        m.state_history("s", "never-set", namespace=NS),
        m.state_machine("s", namespace=NS),
        m.state_machine("no-machine", namespace=NS),
        [(x.seq, x.content, x.metadata) for x in m.summaries("s", namespace=NS)],
        m.summaries("t", namespace=NS),
        pages,
        m.messages_page(namespace=NS, after=0, limit=1000)[1],
        m.messages_page(namespace="nobody-here")[0],
    ]


def _errors(m: Any) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for call in (
        lambda: m.messages_page(namespace=NS, after=-1),
        lambda: m.messages_page(namespace=NS, limit=0),
        lambda: m.summaries("", namespace=NS),
        lambda: m.state_machine("s", namespace="a\nb"),
    ):
        try:
            call()
        except TurnmemError as exc:
            out.append((type(exc).__name__, getattr(exc, "field", None)))
        else:
            out.append(("no error", None))
    return out


def test_the_readers_answer_as_memory_does(mem: Memory, url: str) -> None:
    embedded = _readers(mem)
    assert embedded[0] == [(1, "hotel"), (2, "hotel in Porto")] and embedded[1] == [(1, 2), (2, None)]
    assert embedded[3] == MACHINE and embedded[4] is None and embedded[5] and embedded[6] == []
    assert len(embedded[7]) == 4 and embedded[7][-1][1] is None  # 28 messages (24 + 3 + the summary), 7 a page
    with Client(url) as client:
        assert _readers(client) == embedded
        assert _errors(client) == _errors(mem)
    assert _errors(mem)[0] == ("InvalidArgument", "after") and _errors(mem)[1] == ("InvalidArgument", "limit")

    async def remote() -> tuple[list[Any], list[Any]]:
        async with AsyncClient(url) as client:
            pages = []
            for call in (
                client.state_history("s", "task", namespace=NS),
                client.state_machine("s", namespace=NS),
                client.summaries("s", namespace=NS),
                client.messages_page(namespace=NS, after=0, limit=7),
            ):
                pages.append(await call)
            return pages, [await client.messages_page(namespace=NS, after=a) for a in (0, 10**6)]

    (history, machine, summaries, page), tails = asyncio.run(remote())
    assert [(b.version, b.value) for b in history] == embedded[0] and machine == MACHINE
    assert [(x.seq, x.content, x.metadata) for x in summaries] == embedded[5]
    assert ([(x.session, x.seq, x.content) for x in page[0]], page[1]) == embedded[7][0]
    assert tails[0][1] is None and tails[1] == ([], None)


def test_a_page_over_the_services_cap_names_limit(url: str) -> None:
    with Client(url) as client, pytest.raises(InvalidArgument) as info:
        client.messages_page(namespace=NS, limit=1001)
    assert info.value.field == "limit"
    with Client(url) as client, pytest.raises(NotFound):
        client.delete(NS, "t")  # already deleted before the server started: the readers saw its gap
