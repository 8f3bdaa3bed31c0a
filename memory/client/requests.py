"""The requests behind each method of ``Client`` and ``AsyncClient``, built once for both.

Each function checks what a URL cannot carry as ``Memory`` checks it, and returns a
:class:`memory.client.transport.Call`: the route, the body, whether a retry is safe, and how to
read the answer into the method's result. No I/O here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from memory.client.transport import Call
from memory.errors import InvalidArgument, InvalidMessage
from memory.models import Context, Hit, Message, MessageInput, StoredMessage, ToolCallState
from memory.session.state import STAGE, StateBlock, StateMachine
from memory.validation import check_limit, check_name, check_seq

T = TypeVar("T")


def _seg(value: str, name: str) -> str:
    """A namespace or session as a URL segment, checked as ``Memory`` checks it (a URL cannot carry a non-string)."""
    return quote(check_name(value, name), safe="")


def _namespace_path(namespace: str) -> str:
    return f"/v1/namespaces/{_seg(namespace, 'namespace')}"


def _session_path(namespace: str, session: str) -> str:
    return f"{_namespace_path(namespace)}/sessions/{_seg(session, 'session')}"


def _json_time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _message_json(msg: MessageInput) -> Any:
    if isinstance(msg, StoredMessage):
        return msg.model_dump(mode="json", exclude_none=True, exclude={"namespace", "session", "seq"})
    if isinstance(msg, Message):
        return msg.model_dump(mode="json", exclude_none=True)
    return msg


# -- answers -------------------------------------------------------------------------------


def _seqs(data: Any) -> list[int]:
    return [int(s) for s in data["seqs"]]


def stored(data: Any) -> list[StoredMessage]:
    """The messages of an answer (a page of :func:`messages` too)."""
    return [StoredMessage.model_validate(m) for m in data["messages"]]


def _blocks(data: Any) -> dict[str, StateBlock]:
    return {k: StateBlock.model_validate(v) for k, v in data.items()}


def _as_override_error(exc: InvalidArgument) -> InvalidArgument:
    """The service names a bad override ``config.X``; ``assemble(X=...)`` names it ``X`` as Memory does."""
    if exc.field and exc.field.startswith("config."):
        name = exc.field[len("config.") :]
        text = str(exc)
        return InvalidArgument(text[len("config.") :] if text.startswith("config.") else text, field=name)
    return exc


# -- requests ------------------------------------------------------------------------------


def add(
    messages: Iterable[MessageInput],
    session: str,
    namespace: str,
    timestamp: Any,
    idempotency_key: str | None,
    base_seq: int | None,
    wait_indexed: bool = False,
) -> Call[list[int]]:
    if isinstance(messages, (dict, Message)):
        raise InvalidMessage("messages: pass a list of messages (wrap a single message in [...])", field="messages")
    body: dict[str, Any] = {
        "messages": [_message_json(m) for m in messages],
        "idempotency_key": uuid.uuid4().hex if idempotency_key is None else idempotency_key,
    }
    if base_seq is not None:
        body["base_seq"] = base_seq
    if timestamp is not None:
        body["timestamp"] = _json_time(timestamp)
    if wait_indexed:
        body["wait_indexed"] = True
    return Call("POST", _session_path(namespace, session) + "/messages", json=body, idempotent=True, read=_seqs)


def assemble(
    query: str | None,
    session: str | None,
    namespace: str,
    budget: int,
    system: str | None,
    now: Any,
    overrides: dict[str, Any],
    timezone: str | None = None,
    as_of: Any = None,
) -> Call[Context]:
    body: dict[str, Any] = {"query": query, "budget": budget}
    if as_of is not None:
        body["as_of"] = _json_time(as_of)
    if system is not None:
        body["system"] = system
    if timezone is not None:
        body["timezone"] = timezone
    if now is not None:
        body["now"] = _json_time(now)
    if overrides:
        body["config"] = overrides
    path = _session_path(namespace, session) if session is not None else _namespace_path(namespace)
    return Call(  # a read: safe to repeat
        "POST",
        path + "/context",
        json=body,
        idempotent=True,
        read=Context.model_validate,
        remap=_as_override_error,
    )


def search(query: str, namespace: str, k: int, sessions: Sequence[str] | None, as_of: Any = None) -> Call[list[Hit]]:
    body: dict[str, Any] = {"query": query, "k": k}
    if as_of is not None:
        body["as_of"] = _json_time(as_of)
    if sessions is not None:
        body["sessions"] = list(sessions)
    return Call(
        "POST",
        _namespace_path(namespace) + "/search",
        json=body,
        idempotent=True,
        read=lambda data: [Hit.model_validate(h) for h in data["hits"]],
    )


def since(session: str, seq: int, namespace: str, limit: int | None) -> Call[list[StoredMessage]]:
    params: dict[str, Any] = {"since": check_seq(seq)}  # checked here: a query string drops the type
    check_limit(limit)
    if limit is not None:
        params["limit"] = limit
    return Call("GET", _session_path(namespace, session) + "/messages", params=params, read=stored)


def messages(namespace: str, session: str | None, after: int = 0) -> Call[Any]:
    """Every message of a session; or one page of a namespace's (the caller follows ``next_after``
    and reads each page with :func:`stored`)."""
    if session is not None:
        return Call("GET", _session_path(namespace, session) + "/messages", params={"since": 0})
    return Call("GET", _namespace_path(namespace) + "/messages", params={"after": after})


def messages_page(namespace: str, after: int, limit: int) -> Call[tuple[list[StoredMessage], int | None]]:
    """One page of a namespace's messages and the next page's cursor (None: the last page), as
    ``Memory.messages_page``; checked here as it checks them (a query string drops the type)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidArgument(f"limit: give an int >= 1 (got {limit!r})", field="limit")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InvalidArgument(f"after: give a cursor >= 0 (got {after!r})", field="after")
    return Call(
        "GET",
        _namespace_path(namespace) + "/messages",
        params={"after": after, "limit": limit},
        read=lambda data: (stored(data), data.get("next_after")),
    )


def last_seq(session: str, namespace: str) -> Call[int]:
    return Call("GET", _session_path(namespace, session), read=lambda data: int(data["last_seq"]))


def namespaces() -> Call[list[str]]:
    return Call("GET", "/v1/namespaces", read=list)


def sessions(namespace: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", _namespace_path(namespace) + "/sessions", read=list)


def delete(namespace: str, session: str | None) -> Call[int]:
    path = _session_path(namespace, session) if session is not None else _namespace_path(namespace)
    return Call("DELETE", path, read=lambda data: int(data["deleted"]))


def state(session: str, namespace: str) -> Call[dict[str, StateBlock]]:
    return Call("GET", _session_path(namespace, session) + "/state", read=_blocks)


def state_history(session: str, name: str, namespace: str) -> Call[list[StateBlock]]:
    """Every version of one block, oldest first: ``GET .../state/history?name=NAME``."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"name: give the name of a state block, e.g. 'task' (got {name!r})", field="name")
    return Call(
        "GET",
        _session_path(namespace, session) + "/state/history",
        params={"name": name},
        read=lambda data: [StateBlock.model_validate(b) for b in data.get(name, [])],
    )


def state_machine(session: str, namespace: str) -> Call[StateMachine | None]:
    """The attached machine, or None (the route's ``{"machine", "stage"}``, read as ``Memory`` returns it)."""
    return Call(
        "GET",
        _session_path(namespace, session) + "/state-machine",
        read=lambda data: None if data.get("machine") is None else StateMachine.model_validate(data["machine"]),
    )


def summaries(session: str, namespace: str) -> Call[list[StoredMessage]]:
    return Call(
        "GET",
        _session_path(namespace, session) + "/summaries",
        read=lambda data: [StoredMessage.model_validate(m) for m in data],
    )


def _patch_state(
    session: str, blocks: dict[str, Any], namespace: str, expected: dict[str, int] | None, read: Callable[[Any], T]
) -> Call[T]:
    body: dict[str, Any] = {"blocks": blocks}
    if expected is not None:
        body["expected"] = expected
    return Call("PATCH", _session_path(namespace, session) + "/state", json=body, read=read)


def set_state(
    session: str, blocks: dict[str, Any], namespace: str, expected: dict[str, int] | None
) -> Call[dict[str, StateBlock]]:
    return _patch_state(session, blocks, namespace, expected, _blocks)


def transition(session: str, stage: str, namespace: str, expected_version: int | None) -> Call[StateBlock]:
    """:func:`set_state` of the ``stage`` block alone, read back as that block."""
    expected = None if expected_version is None else {STAGE: expected_version}
    return _patch_state(session, {STAGE: stage}, namespace, expected, lambda data: _blocks(data)[STAGE])


def set_state_machine(session: str, machine: StateMachine | dict[str, Any], namespace: str) -> Call[None]:
    spec = machine.model_dump() if isinstance(machine, StateMachine) else machine
    return Call("PUT", _session_path(namespace, session) + "/state-machine", json=spec, read=lambda data: None)


def tool_calls(session: str, namespace: str) -> Call[list[ToolCallState]]:
    return Call(
        "GET",
        _session_path(namespace, session) + "/tool-calls",
        read=lambda data: [ToolCallState.model_validate(t) for t in data],
    )


def flush(namespace: str, timeout: float) -> Call[None]:
    # not retried on a 5xx (a POST): a 504 already waited `timeout` seconds; call flush again to wait more
    path = f"{_namespace_path(namespace)}/flush"
    wait = timeout + 10.0 if isinstance(timeout, (int, float)) else None  # the server checks the value
    return Call("POST", path, params={"timeout": timeout}, timeout=wait, read=lambda data: None)


def health() -> Call[dict[str, Any]]:
    return Call("GET", "/healthz", read=dict)
