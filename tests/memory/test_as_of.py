"""``as_of``: a context or a search built from what existed at a point in the history (a seq of the
session, or a time): the window, retrieval (dense and lexical, the best k of what existed), state
versions, summaries and tool-call units stop there; bad points are refused naming ``as_of``.
On SQLite (FAISS) and PostgreSQL (pgvector), with the real MiniLM."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from memory.embedders import Embedder
from memory.errors import InvalidArgument
from memory.memory import Memory
from memory.read.as_of import resolve_point
from retrievers.base import Query

DAY = 86400.0
T0 = 1_700_000_000.0
OLD = [f"We went hiking in the hills on trip {i}, a long walk with the dog." for i in range(8)]
NEW = [f"Hiking in the mountains again on trip {i}: hiking boots, mountain trail, summit." for i in range(40)]
QUERY = "hiking in the mountains"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.needs("postgres", "process"))])
def open_mem(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[Callable[[], Memory]]:
    """Opens a memory on the parametrized store (a folder with FAISS, or a PostgreSQL schema)."""
    opened: list[Memory] = []

    def factory() -> Memory:
        where = str(tmp_path / "m") if request.param == "sqlite" else request.getfixturevalue("pg_dsn")
        mem = Memory.open(where, embedder=embedder)
        opened.append(mem)
        return mem

    yield factory
    for m in opened:
        m.close()


def hiking(mem: Memory) -> None:
    """Session ``s``: 8 old hiking turns (days 0-7), then 40 newer, closer to the query (days 10-49)."""
    for i, text in enumerate(OLD):
        mem.add([{"role": "user", "content": text}], session="s", timestamp=T0 + i * DAY)
    for i, text in enumerate(NEW):
        mem.add([{"role": "user", "content": text}], session="s", timestamp=T0 + (10 + i) * DAY)
    mem.flush()


def test_search_as_of_a_seq_returns_k_hits_from_before_the_point(open_mem: Callable[[], Memory]) -> None:
    mem = open_mem()
    hiking(mem)
    unbounded = mem.search(QUERY, k=5, sessions=["s"])
    assert all(h.seq > len(OLD) for h in unbounded)  # the newer turns win today: a filter after top-k finds none
    hits = mem.search(QUERY, k=5, sessions=["s"], as_of=len(OLD))
    assert len(hits) == 5 and all(h.seq <= len(OLD) for h in hits)
    assert all("lexical" in h.scores or "dense" in h.scores for h in hits)
    # each retriever alone ranks among the chunks of the point: k of them, dense and lexical
    point = resolve_point(mem.store, "default", "s", len(OLD))
    assert point is not None
    allowed = set(point.among.tolist())
    for retriever in (mem.dense, mem.lexical):
        got = retriever.retrieve(Query(QUERY, "default", None, among=point.among), 5)
        assert len(got) == 5 and set(got.ids.tolist()) <= allowed, retriever.name


def test_context_as_of_a_seq_has_the_window_and_hits_of_then(open_mem: Callable[[], Memory]) -> None:
    mem = open_mem()
    hiking(mem)
    mem.add([{"role": "user", "content": "Later, in another chat: mountain hiking gear list."}], session="t")
    ctx = mem.assemble(QUERY, session="s", budget=600, as_of=3)
    seqs = [(s.ref.session, s.ref.seq) for s in ctx.sources if s.ref is not None]
    assert seqs and all(sess == "s" and seq <= 3 for sess, seq in seqs)
    assert "gear list" not in json.dumps(ctx.messages)
    window = [s.ref.seq for s in ctx.sources if s.ref is not None and s.origin == "window"]
    assert max(window) == 3  # the window ends at the message the asker had seen
    # the point's time is "now" (recency, "last week"): the window's gap rule keeps its turns
    assert ctx.hits == [] or all(h.seq <= 3 for h in ctx.hits)


def test_as_of_a_time(open_mem: Callable[[], Memory]) -> None:
    mem = open_mem()
    hiking(mem)
    when = T0 + 20.5 * DAY  # after the 8 old turns and new trips 0-10
    ctx = mem.assemble(QUERY, session="s", budget=4000, as_of=when)
    seqs = [s.ref.seq for s in ctx.sources if s.ref is not None]
    assert max(seqs) == len(OLD) + 11
    iso = datetime.fromtimestamp(when, tz=timezone.utc).isoformat()
    assert iso == "2023-12-05T10:13:20+00:00"
    hits = mem.search(QUERY, k=30, as_of=iso)  # the same instant, as ISO 8601
    assert len(hits) == 19 and all(h.seq <= len(OLD) + 11 for h in hits)
    assert mem.search(QUERY, k=5, as_of=T0 - DAY) == []  # before anything was said


def test_state_versions_as_of(open_mem: Callable[[], Memory]) -> None:
    mem = open_mem()
    mem.add([{"role": "user", "content": "Let's plan the trip."}], session="s")
    mem.set_state("s", {"task": "plan the Lisbon trip"})
    time.sleep(0.01)
    between = time.time()  # after v1 of the task, before v2
    time.sleep(0.01)
    mem.add([{"role": "user", "content": "Actually, make it Porto."}], session="s")
    time.sleep(0.01)
    mem.set_state("s", {"task": "plan the Porto trip", "budget": 900})
    time.sleep(0.01)
    mem.add([{"role": "user", "content": "Book it."}], session="s")
    pinned = [json.dumps(mem.assemble(None, session="s", budget=500, as_of=seq).messages[:1]) for seq in (1, 2, 3)]
    assert "Lisbon" in pinned[1] and "Porto" not in pinned[1] and "900" not in pinned[1]
    assert "Porto" in pinned[2] and "900" in pinned[2]
    assert "Lisbon" not in pinned[0] and "Porto" not in pinned[0]  # no block was set yet
    assert "Porto" in json.dumps(mem.assemble(None, session="s", budget=500).messages[:1])
    at_time = json.dumps(mem.assemble(None, session="s", budget=500, as_of=between).messages)
    assert "Lisbon" in at_time and "900" not in at_time and "make it Porto" not in at_time


def test_summaries_as_of_cover_only_turns_up_to_the_point(open_mem: Callable[[], Memory]) -> None:
    mem = open_mem()
    for i in range(6):
        mem.add(
            [{"role": "user", "content": f"Note {i}: the quarry lake is cold."}], session="s", timestamp=T0 + i * DAY
        )
    summary = mem.summarize("s", keep_last=0, min_turns=1)
    assert summary is not None  # stored after seq 6, timestamped as its last turn (day 5)
    mem.add([{"role": "user", "content": "Something else."}], session="s", timestamp=T0 + 9 * DAY)
    mem.flush()

    def summarized(**kw: object) -> bool:
        ctx = mem.assemble("quarry lake summary", budget=4000, **kw)  # type: ignore[arg-type]
        return any(s.ref is not None and s.ref.session == "s::summaries" for s in ctx.sources)

    assert summarized()
    assert not summarized(session="s", as_of=6)  # stored after the message the asker had seen
    assert summarized(session="s", as_of=7)
    assert summarized(as_of=T0 + 6 * DAY)  # its turns all said by then
    assert not summarized(as_of=T0 + 4.5 * DAY)  # it covers day 5, after the point


def test_a_result_after_the_point_leaves_its_call_pending(open_mem: Callable[[], Memory]) -> None:
    mem = open_mem()
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    mem.add([{"role": "user", "content": "Weather in Oslo?"}], session="s")
    mem.add([{"role": "assistant", "content": None, "tool_calls": [call]}], session="s")
    mem.add([{"role": "tool", "tool_call_id": "c1", "content": "Oslo: 3 C, rain"}], session="s")
    ctx = mem.assemble("weather", session="s", budget=800, as_of=2)
    assert [r.seq for r in ctx.pending_tool_calls] == [2]
    assert "rain" not in json.dumps(ctx.messages)
    assert "rain" in json.dumps(mem.assemble("weather", session="s", budget=800, as_of=3).messages)


@pytest.mark.parametrize(
    ("as_of", "session", "says"),
    [
        (4, "s", "0 to 3"),
        (-1, "s", "0 to 3"),
        (2, None, "session="),
        ("last tuesday", "s", "ISO 8601"),
        (True, "s", "a seq of the session"),
        ([1], "s", "a seq of the session"),
    ],
)
def test_bad_points_name_as_of(mem: Memory, as_of: object, session: str | None, says: str) -> None:
    mem.add([{"role": "user", "content": f"turn {i}"} for i in range(3)], session="s")
    for call in (
        lambda: mem.assemble("turn", session=session, as_of=as_of),
        lambda: mem.search("turn", sessions=None if session is None else [session], as_of=as_of),
    ):
        with pytest.raises(InvalidArgument) as err:
            call()
        assert err.value.field == "as_of" and says in str(err.value)


def test_seq_zero_is_before_the_session(mem: Memory) -> None:
    mem.add([{"role": "user", "content": "In another chat: the red kayak."}], session="a")
    mem.add([{"role": "user", "content": "Hello, new chat about kayaks."}], session="s")
    mem.flush()
    ctx = mem.assemble("kayak", session="s", budget=500, as_of=0)
    refs = [(s.ref.session, s.ref.seq) for s in ctx.sources if s.ref is not None]
    assert refs == [("a", 1)]
