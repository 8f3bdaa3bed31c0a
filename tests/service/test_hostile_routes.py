"""Hostile requests to the REST routes (the app in process, on a fake embedder): arbitrary JSON
bodies, arbitrary bytes, bodies nested far past the bound, arbitrary query parameters and path
names. Every answer is a success or a 4xx JSON body with ``error`` (and ``field`` for a 422),
never a 5xx; a refusal leaves what is stored as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory.memory import Memory
from memory.models import MAX_DEPTH, MAX_INT
from memory.service.app import create_app
from tests.fakes import FakeEmbedder
from tests.memory.test_hostile_input import ANY, JSON, dump, nested

NS = "hostile"
S = f"/v1/namespaces/{NS}/sessions/s"
SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def mem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    m = Memory.open(tmp_path_factory.mktemp("hostile-routes"), embedder=FakeEmbedder())
    m.add([{"role": "user", "content": "My locker code is 4471."}], session="s", namespace=NS)
    m.set_state("s", {"task": "find the locker"}, namespace=NS)
    yield m
    m.close()


@pytest.fixture(scope="module")
def client(mem: Memory) -> Iterator[TestClient]:
    with TestClient(create_app(mem), raise_server_exceptions=False) as c:
        yield c


def answered_cleanly(resp: httpx.Response, before: str, mem: Memory) -> None:
    """A success, or a 4xx JSON error (naming the field when a 422) that changed nothing."""
    assert resp.status_code < 500, resp.text[:300]
    if resp.status_code < 400:
        return
    body = resp.json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("detail"), str), body
    if resp.status_code == 422:
        assert isinstance(body.get("field"), str) and body["field"], body
        assert body["detail"].startswith(body["field"].split("[")[0].split(".")[0]), body
    assert dump(mem) == before


ROUTES = [
    ("POST", f"{S}/messages"),
    ("PATCH", f"{S}/state"),
    ("PUT", f"{S}/state-machine"),
    ("POST", f"{S}/context"),
    ("POST", f"/v1/namespaces/{NS}/context"),
    ("POST", f"/v1/namespaces/{NS}/search"),
]
FIELDS = ["messages", "blocks", "expected", "query", "budget", "system", "k", "base_seq", "config", "stages", "now"]
BODIES = st.dictionaries(st.sampled_from(FIELDS), ANY, max_size=4) | ANY


@SETTINGS
@given(route=st.sampled_from(ROUTES), body=BODIES)
def test_any_json_body_is_answered_or_refused_by_field(
    client: TestClient, mem: Memory, route: tuple[str, str], body: Any
) -> None:
    before = dump(mem)
    resp = client.request(route[0], route[1], content=json.dumps(body), headers={"content-type": "application/json"})
    answered_cleanly(resp, before, mem)


@SETTINGS
@given(route=st.sampled_from(ROUTES), raw=st.binary(max_size=64))
def test_any_bytes_are_refused_as_a_body(client: TestClient, mem: Memory, route: tuple[str, str], raw: bytes) -> None:
    before = dump(mem)
    resp = client.request(route[0], route[1], content=raw, headers={"content-type": "application/json"})
    answered_cleanly(resp, before, mem)


@SETTINGS
@given(
    message=st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "tool"])},
        optional={"content": ANY, "metadata": ANY, "tool_calls": ANY, "tool_call_id": JSON, "x_extra": ANY},
    )
)
def test_any_message_is_stored_or_refused_by_field(client: TestClient, mem: Memory, message: dict[str, Any]) -> None:
    before = dump(mem)
    raw = json.dumps({"messages": [message]})  # NaN and Infinity too, as Python's json writes them
    answered_cleanly(
        client.post(f"{S}/messages", content=raw, headers={"content-type": "application/json"}), before, mem
    )


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["since", "limit", "after", "timeout"]),
        st.integers(-(2**70), 2**70).map(str) | st.text(max_size=12),
        max_size=3,
    )
)
def test_any_query_parameters_are_answered_or_refused_by_field(
    client: TestClient, mem: Memory, params: dict[str, str]
) -> None:
    before = dump(mem)
    answered_cleanly(client.get(f"{S}/messages", params=params), before, mem)
    answered_cleanly(client.get(f"/v1/namespaces/{NS}/messages", params=params), before, mem)


@SETTINGS
@given(name=st.text(min_size=1, max_size=20).filter(lambda n: "/" not in n and "?" not in n))
def test_any_name_is_answered_or_refused_by_field(client: TestClient, mem: Memory, name: str) -> None:
    before = dump(mem)
    seg = quote(name, safe="")
    answered_cleanly(client.get(f"/v1/namespaces/{NS}/sessions/{seg}/state"), before, mem)
    resp = client.post(f"/v1/namespaces/{seg}/sessions/{seg}/context", json={"query": "locker", "budget": 500})
    answered_cleanly(resp, before, mem)


# -- the attacks -----------------------------------------------------------------------------


def test_a_state_block_nested_300_levels_is_a_422_and_the_session_stays_readable(
    client: TestClient, mem: Memory
) -> None:
    before = dump(mem)
    resp = client.patch(f"{S}/state", json={"blocks": {"profile": nested(300)}})
    assert resp.status_code == 422 and resp.json()["field"] == "blocks.profile"
    resp = client.patch(f"{S}/state", json={"blocks": {"profile": nested(MAX_DEPTH + 3)}})
    assert resp.status_code == 422 and resp.json()["field"] == "blocks.profile"
    assert dump(mem) == before
    assert client.get(f"{S}/state").status_code == 200
    assert client.get(f"{S}/state/history").status_code == 200  # what the inspector's timeline reads


@pytest.mark.parametrize(
    "message,field",
    [
        ({"role": "user", "content": "hi", "metadata": nested(300)}, "messages[0].metadata"),
        ({"role": "user", "content": "hi", "metadata": nested(MAX_DEPTH + 2)}, "messages[0].metadata"),
        ({"role": "user", "content": "[" * 1000 + "]" * 1000, "x": nested(900, "list")}, "messages[0].x"),
    ],
)
def test_deep_messages_are_a_422_naming_the_field(
    client: TestClient, mem: Memory, message: dict[str, Any], field: str
) -> None:
    before = dump(mem)
    resp = client.post(f"{S}/messages", json={"messages": [message]})
    assert resp.status_code == 422 and resp.json() == {**resp.json(), "error": "InvalidMessage", "field": field}
    assert dump(mem) == before


def test_a_tool_result_nested_1000_levels_is_a_422(client: TestClient, mem: Memory) -> None:
    call = {"id": "c-deep", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = {
        "messages": [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c-deep", "content": "[" * 1000 + "]" * 1000},
        ]
    }
    before = dump(mem)
    resp = client.post(f"{S}/messages", json=body)
    assert resp.status_code == 422 and resp.json()["field"] == "messages[1].content"
    assert dump(mem) == before


@pytest.mark.parametrize(
    "raw,words",
    [
        (b'{"messages": [', "not valid JSON"),
        (b'{"messages": "\xff"}', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than"),
        (b'{"blocks": ' + b"[" * 100 + b"]" * 100 + b"}", "nested more than"),
    ],
)
def test_unreadable_bodies_are_a_422_naming_the_body(client: TestClient, raw: bytes, words: str) -> None:
    for method, path in ROUTES:
        resp = client.request(method, path, content=raw, headers={"content-type": "application/json"})
        body = resp.json()
        assert resp.status_code == 422 and body["error"] == "InvalidArgument" and words in body["detail"]
        assert body["field"] in ("body", "blocks[0]"), body


@pytest.mark.parametrize("value", [2**63, 2**64, MAX_INT + 1])
def test_integers_past_the_bound_are_a_422_naming_the_field(client: TestClient, mem: Memory, value: int) -> None:
    before = dump(mem)
    checks = [
        (client.get(f"{S}/messages", params={"since": value}), "since"),
        (client.get(f"/v1/namespaces/{NS}/messages", params={"after": value}), "after"),
        (client.post(f"{S}/messages", json={"messages": [{"role": "user", "content": "x"}], "base_seq": value}),
         "base_seq"),
        (client.patch(f"{S}/state", json={"blocks": {"task": "x"}, "expected": {"task": value}}), "expected.task"),
    ]  # fmt: skip
    for resp, field in checks:
        assert resp.status_code == 422 and resp.json()["field"] == field, resp.text
    assert dump(mem) == before


def test_a_base_seq_ahead_is_a_409_that_does_not_send_the_caller_to_since_it(client: TestClient) -> None:
    resp = client.post(f"{S}/messages", json={"messages": [{"role": "user", "content": "x"}], "base_seq": MAX_INT})
    assert resp.status_code == 409
    assert f"since({MAX_INT})" not in resp.json()["detail"]


@pytest.mark.parametrize("seg", ["%2E", "%2E%2E", "a%5Cb"])
def test_path_syntax_names_are_a_422_by_rule(client: TestClient, mem: Memory, seg: str) -> None:
    before = dump(mem)
    resp = client.post(
        f"/v1/namespaces/{NS}/sessions/{seg}/messages", json={"messages": [{"role": "user", "content": "x"}]}
    )
    assert resp.status_code == 422 and resp.json()["field"] == "session" and "not a valid name" in resp.json()["detail"]
    resp = client.get(f"/v1/namespaces/{seg}/sessions")
    assert resp.status_code == 422 and resp.json()["field"] == "namespace"
    assert dump(mem) == before


def test_query_and_system_caps_are_a_422_naming_the_field(client: TestClient) -> None:
    resp = client.post(f"{S}/context", json={"query": "x" * 2_000_000})
    assert resp.status_code == 422 and resp.json()["field"] == "query"
    resp = client.post(f"/v1/namespaces/{NS}/search", json={"query": "x" * 2_000_000})
    assert resp.status_code == 422 and resp.json()["field"] == "query"
    resp = client.post(f"{S}/context", json={"query": "locker", "system": "y" * 300_000})
    assert resp.status_code == 422 and resp.json()["field"] == "system"


def test_a_bad_character_in_the_query_names_query_once(client: TestClient) -> None:
    resp = client.post(f"{S}/context", content=b'{"query": "\\ud800"}', headers={"content-type": "application/json"})
    assert resp.status_code == 422 and resp.json()["field"] == "query"


def test_error_fields_name_the_bodys_own_field(client: TestClient) -> None:
    """Not ``[14]`` for truncated JSON, nor ``query.query``, nor ``state`` for ``blocks``."""
    cases = [
        (client.post(f"{S}/context", content=b'{"query": "ab', headers={"content-type": "application/json"}), "body"),
        (client.patch(f"{S}/state", json={"blocks": {"9lives": 1}}), "blocks"),
        (client.patch(f"{S}/state", json={"blocks": {"ok": "x" * 60_000}}), "blocks.ok"),
        (client.patch(f"{S}/state", json={"blocks": {"a": 1}, "expected": {"a": -1}}), "expected.a"),
        (client.post(f"{S}/context", json={"query": "ok", "budget": 0}), "budget"),
    ]
    for resp, field in cases:
        assert resp.status_code == 422 and resp.json()["field"] == field, resp.text
        assert resp.json()["detail"].startswith(field)
