"""Service limits against a real uvicorn server: the allow-list of overridable options and
their bounds (in the OpenAPI schema), request byte and batch caps with 413/422 naming the
field, the paginated namespace listing, and a 503 when the embedder is saturated (for a context:
a write is acknowledged before its chunks are embedded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memory.client import Client
from memory.errors import InvalidArgument, InvalidMessage, TimedOut
from memory.service.limits import MAX_CANDIDATES, MAX_MMR_CANDIDATES, MAX_REQUEST_BYTES, SERVICE_OVERRIDES
from tests.service.helpers import ADMIN_KEY, ALPHA_KEY, ServerProcess
from tests.tiers import starts

AUTH = {"Authorization": f"Bearer {ALPHA_KEY}"}


def test_the_overridable_options_and_their_bounds_are_in_the_schema(server: ServerProcess) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()
    config = schema["components"]["schemas"]["ConfigOverrides"]
    assert set(config["properties"]) == set(SERVICE_OVERRIDES)
    assert config["additionalProperties"] is False
    candidates = config["properties"]["candidates"]
    assert candidates["maximum"] == MAX_CANDIDATES == 256
    assert str(MAX_MMR_CANDIDATES) in candidates["description"]
    listing = schema["paths"]["/v1/namespaces/{ns}/messages"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 1000
    assert "413" in schema["paths"]["/v1/namespaces/{ns}/sessions/{session}/messages"]["post"]["responses"]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"candidates": 10_000}, "config.candidates"),  # an n x n MMR matrix of 10k was possible
        ({"mmr_lambda": 0.5, "candidates": 200}, "config.candidates"),
        ({"lexical_weight": 1e300}, "config.lexical_weight"),
    ],
)
def test_out_of_bounds_options_are_a_422_naming_the_field(
    server: ServerProcess, session_name: str, config: dict, field: str
) -> None:
    url = f"{server.url}/v1/namespaces/alpha/sessions/{session_name}/context"
    resp = httpx.post(url, json={"query": "hotel", "budget": 500, "config": config}, headers=AUTH)
    assert resp.status_code == 422 and resp.json()["field"] == field, resp.text
    ok = httpx.post(url, json={"query": "hotel", "budget": 500, "config": {"mmr_lambda": 0.5}}, headers=AUTH)
    assert ok.status_code == 200, ok.text


def test_a_body_over_the_byte_limit_is_a_413_naming_the_body(
    server: ServerProcess, alpha: Client, session_name: str
) -> None:
    big = "x" * (MAX_REQUEST_BYTES + 1)
    with pytest.raises(InvalidArgument) as err:
        alpha.add([{"role": "user", "content": big}], session=session_name, namespace="alpha")
    assert err.value.field == "body" and "limit" in str(err.value)
    # Streamed without a Content-Length: counted as it arrives, refused all the same.
    body = json.dumps({"messages": [{"role": "user", "content": big}]}).encode()

    def stream() -> Iterator[bytes]:
        for i in range(0, len(body), 1 << 20):
            yield body[i : i + (1 << 20)]

    url = f"{server.url}/v1/namespaces/alpha/sessions/{session_name}/messages"
    resp = httpx.post(url, content=stream(), headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["field"] == "body"
    assert alpha.last_seq(session_name, namespace="alpha") == 0  # nothing stored


def test_too_many_messages_in_one_write_is_a_422_naming_messages(alpha: Client, session_name: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        alpha.add([{"role": "user", "content": "hi"}] * 1001, session=session_name, namespace="alpha")
    assert err.value.field == "messages"


def test_the_namespace_listing_paginates(server: ServerProcess, admin: Client) -> None:
    ns = "alpha-pages"
    for k in range(3):
        admin.add([{"role": "user", "content": f"s{k} m{i}"} for i in range(9)], session=f"s{k}", namespace=ns)
    admin.delete(ns, "s1")  # leaves a gap of 9 positions in the middle
    url = f"{server.url}/v1/namespaces/{ns}/messages"
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    seen: list[str] = []
    after, pages = 0, 0
    while True:
        page = httpx.get(url, params={"after": after, "limit": 4}, headers=headers).json()
        assert len(page["messages"]) <= 4
        seen += [m["content"] for m in page["messages"]]
        pages += 1
        if not page["has_more"]:
            assert page.get("next_after") is None
            break
        after = page["next_after"]
    expected = [f"s{k} m{i}" for k in (0, 2) for i in range(9)]
    assert seen == expected and pages == 5
    assert [m.content for m in admin.messages(namespace=ns)] == expected  # the client follows the pages
    bad = httpx.get(url, params={"limit": 5000}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
    admin.delete(ns)


@pytest.fixture(scope="module")
@starts("server", "process")
def saturated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose embedder never answers in time."""
    data: Path = tmp_path_factory.mktemp("saturated") / "data"
    with ServerProcess(data, extra_args=["--embed-timeout", "0.000001"]) as proc:
        yield proc


def test_a_saturated_embedder_is_a_503_with_retry_after(saturated: ServerProcess) -> None:
    # a write does not wait for the embedder: it is acknowledged once stored (embedded after)
    url = f"{saturated.url}/v1/namespaces/default/sessions/s"
    resp = httpx.post(url + "/messages", json={"messages": [{"role": "user", "content": "hello there"}]})
    assert resp.status_code == 200 and resp.json()["seqs"] == [1]
    # a context embeds its query now: with the embedder saturated, that is a 503 to retry later
    resp = httpx.post(url + "/context", json={"query": "hello", "budget": 500})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert resp.json()["error"] == "TimedOut"
    # After its retries the client raises the class the service answered with. A 1 us timeout is
    # a race the embedder now and then wins (its batch already done): a retry may then succeed, so
    # a few calls are made and one must end in TimedOut, none in another error.
    with Client(saturated.url, backoff=0.01, retries=1) as client:
        outcomes = []
        for _ in range(8):
            try:
                client.assemble("hello", session="s", budget=500)
                outcomes.append("ok")
            except TimedOut:
                outcomes.append("TimedOut")
                break
        assert outcomes[-1] == "TimedOut", outcomes
        assert client.last_seq("s") == 1
