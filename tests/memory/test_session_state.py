"""Pinned session state: versioned blocks, atomic and conditional updates, a stage machine."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory.errors import BudgetTooSmall, Conflict, InvalidArgument, InvalidTransition, NotFound
from memory.memory import Memory
from memory.session.state import Stage, StateMachine

pytestmark = pytest.mark.fake_embedder  # state and stages: the model is not the point
FLOW = StateMachine(
    initial="intake",
    stages={
        "intake": Stage(instructions="Ask for the order id.", next=["review", "cancelled"]),
        "review": Stage(instructions="Check refund eligibility.", next=["refunded", "rejected", "intake"]),
        "refunded": Stage(instructions="Confirm the refund."),
        "rejected": Stage(instructions="Explain why, kindly."),
        "cancelled": Stage(),
    },
)


def _values(mem: Memory, session: str = "s") -> dict[str, Any]:
    return {k: (b.value, b.version) for k, b in mem.state(session).items()}


def test_blocks_are_versioned_atomic_and_pinned_first(mem: Memory) -> None:
    mem.add([{"role": "user", "content": "hello"}], session="s")
    out = mem.set_state("s", {"profile": {"name": "Ana", "plan": "pro"}, "task": "refund order A-77"})
    assert {k: b.version for k, b in out.items()} == {"profile": 1, "task": 1}
    mem.set_state("s", {"task": "refund order A-78"})
    assert _values(mem) == {"profile": ({"name": "Ana", "plan": "pro"}, 1), "task": ("refund order A-78", 2)}
    assert [b.value for b in mem.state_history("s", "task")] == ["refund order A-77", "refund order A-78"]
    ctx = mem.assemble("what is the task?", session="s", budget=200, system="Be brief.")
    assert ctx.messages[0] == {"role": "system", "content": "Be brief."}
    state_msg = ctx.messages[1]
    assert state_msg["role"] == "system" and "task (v2): refund order A-78" in state_msg["content"]
    assert '"plan": "pro"' in state_msg["content"]
    assert ctx.sources[1].origin == "pinned" and ctx.sources[1].ref is None
    assert ctx.breakdown["pinned"] > 20
    # removal keeps the history; a removed block is not pinned
    mem.set_state("s", {"task": None})
    assert "task" not in mem.state("s") and mem.state_history("s", "task")[-1].value is None
    assert "task" not in mem.assemble(None, session="s", budget=200).messages[0]["content"]
    # pinned state counts against the budget first
    with pytest.raises(BudgetTooSmall, match="session state"):
        mem.assemble("x", session="s", budget=20)
    assert "profile" not in str(mem.assemble("x", session="s", budget=200, pin_state=False).messages)


def test_conditional_update_conflicts_and_writes_nothing(mem: Memory) -> None:
    mem.set_state("s", {"cart": ["mug"], "note": "a"})
    with pytest.raises(Conflict) as info:
        mem.set_state("s", {"cart": ["mug", "pen"], "note": "b"}, expected={"cart": 1, "note": 7})
    assert info.value.current_seq == 1
    assert _values(mem) == {"cart": (["mug"], 1), "note": ("a", 1)}
    mem.set_state("s", {"cart": ["mug", "pen"]}, expected={"cart": 1, "fresh": 0})
    assert _values(mem)["cart"] == (["mug", "pen"], 2)


@pytest.mark.parametrize(
    "blocks,field",
    [
        ({"9lives": 1}, "blocks"),
        ({"a b": 1}, "blocks"),
        ({"ok": object()}, "blocks.ok"),
        ({"ok": float("nan")}, "blocks.ok"),
        ({"ok": "x" * 60_000}, "blocks.ok"),
        ({}, "blocks"),
    ],
)
def test_bad_state_names_the_field_and_changes_nothing(mem: Memory, blocks: dict[str, Any], field: str) -> None:
    mem.set_state("s", {"keep": 1})
    with pytest.raises(InvalidArgument) as info:
        mem.set_state("s", {"keep": 2, **blocks} if blocks else {})
    assert info.value.field == field
    assert _values(mem) == {"keep": (1, 1)}


def test_racing_conditional_updates_one_winner_per_version(mem: Memory) -> None:
    mem.set_state("s", {"counter": 0})
    wins: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for _ in range(20):
            current = mem.state("s")["counter"]
            try:
                mem.set_state("s", {"counter": current.value + 1}, expected={"counter": current.version})
                with lock:
                    wins.append(k)
            except Conflict:
                pass

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = mem.state("s")["counter"]
    assert final.value == len(wins) and final.version == len(wins) + 1  # no lost update
    assert [b.value for b in mem.state_history("s", "counter")] == list(range(len(wins) + 1))


def test_state_machine_validates_transitions_and_pins_instructions(mem: Memory) -> None:
    mem.set_state_machine("s", FLOW)
    assert mem.state("s")["stage"].value == "intake"
    assert "Ask for the order id." in mem.assemble(None, session="s", budget=200).messages[0]["content"]
    with pytest.raises(InvalidTransition) as info:
        mem.transition("s", "refunded")
    assert info.value.allowed == ["review", "cancelled"] and info.value.field == "stage"
    assert "cannot move from 'intake' to 'refunded'" in str(info.value)
    with pytest.raises(InvalidTransition, match="not a stage"):
        mem.set_state("s", {"stage": "shipping", "task": "x"})
    assert "task" not in mem.state("s")  # refused as a whole
    with pytest.raises(InvalidTransition, match="instead of removing"):
        mem.set_state("s", {"stage": None})
    assert mem.transition("s", "review").version == 2
    ctx = mem.assemble(None, session="s", budget=200)
    assert "Instructions for the current stage (review): Check refund eligibility." in ctx.messages[0]["content"]
    with pytest.raises(Conflict):
        mem.transition("s", "refunded", expected_version=1)
    mem.transition("s", "refunded", expected_version=2)
    with pytest.raises(InvalidTransition, match="final stage"):
        mem.transition("s", "intake")
    assert mem.state_machine("s") == FLOW
    mem.set_state_machine("s", None)
    mem.transition("s", "intake")  # no machine, no rules
    with pytest.raises(InvalidArgument, match="initial"):
        mem.set_state_machine("s", {"initial": "nowhere", "stages": {"a": {}}})
    with pytest.raises(InvalidArgument, match="unknown stage"):
        mem.set_state_machine("s", {"initial": "a", "stages": {"a": {"next": ["b"]}}})


def test_a_move_to_the_current_stage_is_a_no_op(mem: Memory) -> None:
    mem.set_state_machine("s", FLOW)
    first = mem.state("s")["stage"]
    assert mem.transition("s", "intake") == first  # the stage it is in: the same block, same version
    mem.transition("s", "review")
    mem.transition("s", "refunded")
    final = mem.state("s")["stage"]
    for _ in range(3):  # the final stage again, as a script run twice does
        assert mem.transition("s", "refunded") == final
        assert mem.transition("s", "refunded", expected_version=final.version) == final
    with pytest.raises(Conflict):  # still conditional: a stale version is refused
        mem.transition("s", "refunded", expected_version=1)
    out = mem.set_state("s", {"stage": "refunded", "task": "close the ticket"})
    assert out["stage"] == final and out["task"].version == 1  # the other block is written
    assert [(b.version, b.value) for b in mem.state_history("s", "stage")] == [
        (1, "intake"),
        (2, "review"),
        (3, "refunded"),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(FLOW.stages)), max_size=12))
def test_property_only_allowed_transitions_are_stored(mem: Memory, moves: list[str]) -> None:
    session = f"sm-{uuid.uuid4().hex}"  # one memory for all examples, a fresh session each
    mem.set_state_machine(session, FLOW)
    stage, accepted = FLOW.initial, 0
    for target in moves:
        allowed = target == stage or target in FLOW.stages[stage].next
        try:
            mem.transition(session, target)
        except InvalidTransition:
            assert not allowed
        else:
            assert allowed
            stage, accepted = target, accepted + (target != stage)  # a move to where it is writes nothing
    assert mem.state(session)["stage"].value == stage
    assert mem.state(session)["stage"].version == accepted + 1


def test_deleting_the_session_forgets_its_state(mem: Memory) -> None:
    mem.set_state_machine("s", FLOW)
    mem.set_state("s", {"profile": "Ana"})
    assert [x["session"] for x in mem.sessions()] == ["s"]
    mem.delete("default", "s")
    assert mem.state("s") == {} and mem.state_machine("s") is None
    with pytest.raises(NotFound):
        mem.delete("default", "s")
