"""One line switches a chatbot from the embedded Memory to the service: the same calls on both give
the same seqs, contexts, hits and errors."""

from __future__ import annotations

import uuid
from typing import Any

from memory.client import Client
from memory.errors import Conflict, InvalidMessage, TurnmemError
from memory.memory import Memory

T0 = "2025-03-01T09:00:00Z"
TURNS: list[dict[str, Any]] = [
    {"role": "user", "content": "Book me a table for two at Chez Lulu on Friday", "timestamp": "2025-03-01T09:00:00Z"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "book", "arguments": '{"place": "Chez Lulu"}'}}
        ],
        "timestamp": "2025-03-01T09:00:05Z",
    },
    {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"confirmation": "LULU-7731"}',
        "timestamp": "2025-03-01T09:00:06Z",
    },
    {"role": "assistant", "content": "Booked: confirmation LULU-7731.", "timestamp": "2025-03-01T09:00:07Z"},
]


def _error(fn: Any) -> tuple[str, Any]:
    try:
        fn()
    except TurnmemError as exc:
        extra = exc.current_seq if isinstance(exc, Conflict) else getattr(exc, "field", None)
        return type(exc).__name__, extra
    return "no error", None


def scenario(m: Memory | Client, ns: str) -> list[Any]:
    out: list[Any] = []
    out.append(m.add(TURNS[:2], session="s1", namespace=ns))
    out.append(m.add(TURNS[2:], session="s1", namespace=ns, idempotency_key="k-1", base_seq=2))
    out.append(m.add(TURNS[2:], session="s1", namespace=ns, idempotency_key="k-1", base_seq=2))  # replay
    out.append(_error(lambda: m.add(TURNS[:1], session="s1", namespace=ns, idempotency_key="k-1", base_seq=2)))
    # the context below ranks by vectors too: wait for this write's (and the earlier ones') indexing
    out.append(
        m.add([{"role": "user", "content": "and a taxi?"}], session="s2", namespace=ns, timestamp=T0, wait_indexed=True)
    )
    out.append(_error(lambda: m.add([{"role": "user", "content": "x"}], session="s1", namespace=ns, base_seq=1)))
    out.append(
        _error(
            lambda: m.add(
                [{"role": "user", "content": "ok"}, {"role": "tool", "content": "x", "tool_call_id": "nope"}],
                session="s1",
                namespace=ns,
            )
        )
    )
    out.append([(s.seq, s.role, s.content) for s in m.since("s1", 2, namespace=ns)])
    ctx = m.assemble(
        "what was the confirmation number?", session="s2", namespace=ns, budget=400, now="2025-03-02T00:00:00Z"
    )
    out.append(
        (ctx.messages, ctx.tokens, ctx.breakdown, [(h.session, h.seq, round(h.scores["final"], 5)) for h in ctx.hits])
    )
    out.append([(h.session, h.seq, h.text) for h in m.search("Chez Lulu", namespace=ns, k=3)])
    out.append((m.last_seq("s1", namespace=ns), sorted(s["session"] for s in m.sessions(ns)), ns in m.namespaces()))
    out.append(_error(lambda: m.assemble("x", session="s1", namespace=ns, budget=100, candidates=0)))
    out.append(
        {k: (b.value, b.version) for k, b in m.set_state("s1", {"task": "dinner", "party": 2}, namespace=ns).items()}
    )
    out.append(_error(lambda: m.set_state("s1", {"task": "lunch"}, namespace=ns, expected={"task": 0})))
    m.set_state_machine(
        "s1",
        {"initial": "ask", "stages": {"ask": {"next": ["book"]}, "book": {"instructions": "Book it."}}},
        namespace=ns,
    )
    out.append(_error(lambda: m.transition("s1", "nowhere", namespace=ns)))
    out.append((m.transition("s1", "book", namespace=ns).version, sorted(m.state("s1", namespace=ns))))
    out.append([(t.id, t.status, t.result_seq) for t in m.tool_calls("s1", namespace=ns)])
    pinned = m.assemble(None, session="s1", namespace=ns, budget=300).messages[0]["content"]
    out.append(pinned)
    out.append(m.delete(ns, "s2"))
    out.append((m.since("s2", namespace=ns), m.last_seq("s2", namespace=ns)))
    return out


def test_client_and_memory_answer_the_same(server: Any, admin: Client, open_memory: Any) -> None:
    ns = f"parity-{uuid.uuid4().hex[:8]}"
    embedded = scenario(open_memory("parity"), ns)
    remote = scenario(admin, ns)
    for step, (a, b) in enumerate(zip(embedded, remote)):
        assert a == b, f"step {step}: embedded {a!r} != service {b!r}"
    assert embedded[3] == ("IdempotencyConflict", 4)  # the key of step 1 with another body
    assert embedded[5] == ("Conflict", 4)
    assert embedded[6] == ("InvalidMessage", "messages[1].tool_call_id")
    assert any("LULU-7731" in str(m.get("content")) for m in embedded[8][0])
    assert embedded[13] == ("Conflict", 1) and embedded[14] == ("InvalidTransition", "stage")
    assert "Book it." in embedded[17]


def test_client_refuses_a_single_message_not_in_a_list(admin: Client) -> None:
    try:
        admin.add({"role": "user", "content": "hi"}, session="s", namespace="x")  # type: ignore[arg-type]
    except InvalidMessage as exc:
        assert exc.field == "messages"
    else:
        raise AssertionError("a bare dict was accepted")
