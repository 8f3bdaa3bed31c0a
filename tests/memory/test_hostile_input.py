"""Hostile input into ``Memory``: whatever a caller hands ``add``, ``set_state``, ``assemble``,
``search`` and the readers, the answer is a result or a :class:`TurnmemError` that names a field,
never another exception, and a refusal leaves the stored log and state as they were.

Property tests feed arbitrary JSON (and values nested far past :data:`MAX_DEPTH`); the attacks of
issue 26 are tests of their own: a state block nested 300 levels, a tool result nested 1,000,
metadata nested 300, seqs of ``2**63``, a ``base_seq`` ahead of the session, names that are path
syntax, a 2 MB query and system prompt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory.errors import Conflict, InvalidArgument, InvalidMessage, TurnmemError
from memory.memory import Memory
from memory.models import MAX_DEPTH, MAX_INT
from memory.validation import MAX_QUERY_CHARS, MAX_SYSTEM_CHARS, NAME_RULE
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.fake_embedder

NS = "hostile"
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=24,
)


def nested(depth: int, kind: str = "dict") -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value} if kind == "dict" else [value]
    return value


DEEP = st.builds(nested, st.integers(MAX_DEPTH - 2, 900), st.sampled_from(["dict", "list"]))
ANY = JSON | DEEP | st.integers(min_value=-(2**70), max_value=2**70)


@pytest.fixture(scope="module")
def mem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    m = Memory.open(tmp_path_factory.mktemp("hostile"), embedder=FakeEmbedder())
    m.add([{"role": "user", "content": "My locker code is 4471."}], session="s", namespace=NS)
    m.set_state("s", {"task": "find the locker"}, namespace=NS)
    yield m
    m.close()


def dump(mem: Memory) -> str:
    """Everything stored, as text: each namespace's messages and each session's state."""
    out: dict[str, Any] = {}
    for ns in mem.namespaces():
        for info in mem.sessions(ns):
            s = info["session"]
            out[f"{ns}/{s}"] = {
                "messages": [m.model_dump(mode="json") for m in mem.messages(namespace=ns, session=s)],
                "state": {k: v.model_dump(mode="json") for k, v in mem.state(s, namespace=ns).items()},
            }
    return json.dumps(out, sort_keys=True)


def refused_cleanly(exc: BaseException, before: str, mem: Memory) -> None:
    """A refusal is a TurnmemError naming a field, and nothing changed."""
    assert isinstance(exc, TurnmemError), f"{type(exc).__name__}: {exc}"
    field = exc.body().get("field")  # what the service answers with (BudgetTooSmall: budget)
    assert isinstance(field, str) and field, f"no field in {exc!r}"
    assert str(exc).startswith(field.split("[")[0].split(".")[0]), (field, str(exc))
    assert "Value error" not in str(exc) and f"{field}: {field}:" not in str(exc), str(exc)  # said once, our words
    assert dump(mem) == before


# -- properties ------------------------------------------------------------------------------


@SETTINGS
@given(
    role=st.sampled_from(["user", "assistant", "system", "tool", "developer"]) | JSON,
    content=ANY,
    extra=st.dictionaries(st.sampled_from(["metadata", "name", "tool_calls", "id", "x_extra", "timestamp"]), ANY),
)
def test_add_takes_any_json_or_names_the_field(mem: Memory, role: Any, content: Any, extra: dict[str, Any]) -> None:
    before = dump(mem)
    try:
        mem.add([{"role": role, "content": content, **extra}], session="p-add", namespace=NS)
    except BaseException as exc:  # noqa: BLE001 - the property is about which exceptions
        refused_cleanly(exc, before, mem)


@SETTINGS
@given(blocks=st.dictionaries(st.text(max_size=10), ANY, max_size=3) | ANY, expected=st.none() | ANY)
def test_set_state_takes_any_json_or_names_the_field(mem: Memory, blocks: Any, expected: Any) -> None:
    before = dump(mem)
    try:
        mem.set_state("s", blocks, namespace=NS, expected=expected)
    except BaseException as exc:  # noqa: BLE001
        refused_cleanly(exc, before, mem)
    assert mem.state("s", namespace=NS)  # whatever happened, the state reads back


@SETTINGS
@given(
    query=st.none() | ANY,
    budget=ANY | st.integers(1, 5000),
    system=st.none() | ANY,
    now=st.none() | ANY,
    timezone=st.none() | st.sampled_from(["UTC", "Europe/Lisbon", "../../etc/passwd", "/abs", ""]) | ANY,
)
def test_assemble_takes_any_json_or_names_the_field(
    mem: Memory, query: Any, budget: Any, system: Any, now: Any, timezone: Any
) -> None:
    before = dump(mem)
    try:
        ctx = mem.assemble(query, session="s", namespace=NS, budget=budget, system=system, now=now, timezone=timezone)
    except BaseException as exc:  # noqa: BLE001
        refused_cleanly(exc, before, mem)
    else:
        assert ctx.tokens <= budget


@SETTINGS
@given(seq=ANY, limit=st.none() | ANY, k=ANY, after=ANY)
def test_readers_take_any_integer_or_name_the_field(mem: Memory, seq: Any, limit: Any, k: Any, after: Any) -> None:
    before = dump(mem)
    for call in (
        lambda: mem.since("s", seq, namespace=NS, limit=limit),
        lambda: mem.search("locker", namespace=NS, k=k),
        lambda: mem.messages_page(namespace=NS, after=after, limit=limit if limit is not None else 10),
        lambda: mem.add([{"role": "user", "content": "x"}], session="p-seq", namespace=NS, base_seq=seq),
    ):
        try:
            call()
        except Conflict:
            assert dump(mem) == before
        except BaseException as exc:  # noqa: BLE001
            refused_cleanly(exc, before, mem)
        before = dump(mem)


# -- the attacks -----------------------------------------------------------------------------


def test_a_state_block_nested_300_levels_is_refused_and_reads_keep_working(mem: Memory) -> None:
    before = dump(mem)
    with pytest.raises(InvalidArgument) as info:
        mem.set_state("s", {"profile": nested(300)}, namespace=NS)
    assert info.value.field == "blocks.profile" and f"more than {MAX_DEPTH} levels" in str(info.value)
    assert dump(mem) == before
    assert mem.state_history("s", "profile", namespace=NS) == []
    mem.set_state("s", {"profile": nested(MAX_DEPTH)}, namespace=NS)  # at the bound: stored and read back
    assert mem.state("s", namespace=NS)["profile"].value == nested(MAX_DEPTH)
    mem.set_state("s", {"profile": None}, namespace=NS)


def test_deep_tool_results_arguments_and_metadata_are_refused(mem: Memory) -> None:
    call = {"id": "c-deep", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    cases = [
        ([{"role": "assistant", "content": None, "tool_calls": [call]},
          {"role": "tool", "tool_call_id": "c-deep", "content": "[" * 1000 + "]" * 1000}], "messages[1].content"),
        ([{"role": "assistant", "content": None, "tool_calls": [call]},
          {"role": "tool", "tool_call_id": "c-deep", "content": [{"type": "text", "text": json.dumps(nested(80))}]}],
         "messages[1].content[0].text"),
        ([{"role": "assistant", "content": None, "tool_calls": [
            {**call, "function": {"name": "f", "arguments": json.dumps(nested(100, "list"))}}]}],
         "messages[0].tool_calls[0].function.arguments"),
        ([{"role": "user", "content": "hi", "metadata": nested(300)}], "messages[0].metadata"),
        ([{"role": "user", "content": "hi", "x_provider": nested(5000, "list")}], "messages[0].x_provider"),
    ]  # fmt: skip
    before = dump(mem)
    for messages, field in cases:
        with pytest.raises(InvalidMessage) as info:
            mem.add(messages, session="deep", namespace=NS)
        assert info.value.field == field
    assert dump(mem) == before


def test_a_value_that_contains_itself_is_refused_not_a_hang(mem: Memory) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(InvalidArgument) as info:
        mem.set_state("s", {"loop": loop}, namespace=NS)
    assert info.value.field == "blocks.loop"
    with pytest.raises(InvalidMessage) as msg:
        mem.add([{"role": "user", "content": "hi", "metadata": loop}], session="deep", namespace=NS)
    assert msg.value.field == "messages[0].metadata"


def test_deep_json_from_a_user_is_chunked_as_prose(mem: Memory) -> None:
    """Only tool results and arguments are held to the JSON bound; a user may paste anything."""
    seqs = mem.add([{"role": "user", "content": "[" * 3000 + "]" * 3000}], session="paste", namespace=NS)
    assert len(seqs) == 1 and mem.since("paste", 0, namespace=NS)[0].content.startswith("[[[")
    mem.delete(NS, "paste")


@pytest.mark.parametrize("value", [2**63, 2**64, MAX_INT + 1, -1])
def test_integers_past_the_bound_are_refused_by_name(mem: Memory, value: int) -> None:
    before = dump(mem)
    with pytest.raises(InvalidArgument) as seq:
        mem.since("s", value, namespace=NS)
    assert seq.value.field == "seq"
    with pytest.raises(InvalidArgument) as base:
        mem.add([{"role": "user", "content": "x"}], session="s", namespace=NS, base_seq=value)
    assert base.value.field == "base_seq"
    with pytest.raises(InvalidArgument) as page:
        mem.messages_page(namespace=NS, after=value)
    assert page.value.field == "after"
    with pytest.raises(InvalidArgument) as version:
        mem.set_state("s", {"task": "x"}, namespace=NS, expected={"task": value})
    assert version.value.field == "expected.task"
    assert dump(mem) == before
    assert mem.since("s", MAX_INT, namespace=NS) == []  # at the bound: a read that finds nothing


def test_a_base_seq_ahead_of_the_session_does_not_send_the_caller_to_since_it(mem: Memory) -> None:
    with pytest.raises(Conflict) as info:
        mem.add([{"role": "user", "content": "x"}], session="s", namespace=NS, base_seq=MAX_INT)
    last = mem.last_seq("s", namespace=NS)
    assert info.value.current_seq == last
    assert f"since({MAX_INT})" not in str(info.value) and f"base_seq={last}" in str(info.value)


@pytest.mark.parametrize("name", [".", "..", "a/b", "/", "a\\b", "../etc"])
def test_path_syntax_names_are_refused_by_rule(mem: Memory, name: str) -> None:
    before = dump(mem)
    with pytest.raises(InvalidArgument) as sess:
        mem.add([{"role": "user", "content": "x"}], session=name, namespace=NS)
    assert sess.value.field == "session" and NAME_RULE in str(sess.value)
    with pytest.raises(InvalidArgument) as ns:
        mem.set_state("s", {"a": 1}, namespace=name)
    assert ns.value.field == "namespace"
    assert dump(mem) == before


def test_data_under_a_name_from_before_the_rule_stays_readable_and_deletable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written before the rule may hold session '..' or 'a/b': Memory reads, assembles and
    deletes them; it no longer writes under them."""
    import memory.write.writer as writer

    with Memory.open(tmp_path / "old", embedder=FakeEmbedder()) as m:
        with monkeypatch.context() as old:  # the check as it was: path syntax passed
            old.setattr(writer, "check_name", lambda v, f, existing=False: v)
            m.add([{"role": "user", "content": "old turn about the boiler"}], session="..", namespace="a/b")
        assert [x.content for x in m.since("..", 0, namespace="a/b")] == ["old turn about the boiler"]
        assert m.assemble("boiler", session="..", namespace="a/b", budget=500).messages
        assert m.state("..", namespace="a/b") == {}
        with pytest.raises(InvalidArgument):
            m.add([{"role": "user", "content": "new"}], session="..", namespace="a/b")
        assert m.delete("a/b", "..") == 1
        assert m.since("..", 0, namespace="a/b") == []


def test_query_and_system_over_their_caps_are_refused_before_any_work(mem: Memory) -> None:
    before = dump(mem)
    with pytest.raises(InvalidArgument) as q:
        mem.assemble("x" * 2_000_000, session="s", namespace=NS, budget=500)
    assert q.value.field == "query" and str(MAX_QUERY_CHARS) in str(q.value)
    with pytest.raises(InvalidArgument) as s:
        mem.assemble("locker", session="s", namespace=NS, budget=500, system="y" * (MAX_SYSTEM_CHARS + 1))
    assert s.value.field == "system"
    with pytest.raises(InvalidArgument) as search:
        mem.search("x" * (MAX_QUERY_CHARS + 1), namespace=NS)
    assert search.value.field == "query"
    assert dump(mem) == before
    assert mem.assemble("q" * MAX_QUERY_CHARS, session="s", namespace=NS, budget=500).messages  # at the cap: fine


def test_storing_one_unbroken_message_costs_linear_work(tmp_path: Path) -> None:
    """``add`` of 10x the CJK text encodes about 10x the characters (every count, chunk and cut of
    the write path through one tallied encoding), not 100x: 200k characters took 39 s."""
    from memory.tokens import BpeOpenAICounter
    from tests.memory.test_chunking import _TallyEncoding

    def cost(n: int) -> int:
        counter = BpeOpenAICounter()
        tally = _TallyEncoding(counter._enc)
        counter._enc = tally  # type: ignore[assignment]
        text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(n))
        with Memory.open(tmp_path / f"m{n}", embedder=FakeEmbedder(), counter=counter) as m:
            tally.chars = 0
            m.add([{"role": "user", "content": text}], session="s")
            m.flush()
            return tally.chars

    small, big = cost(5_000), cost(50_000)
    assert big <= 14 * small, (small, big)
