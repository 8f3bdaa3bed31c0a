"""``as_of`` over the service: ``Client.assemble`` / ``Client.search`` (and their async twins) send it,
the context and search routes honour it, and a bad point is a 422 naming ``as_of``."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from memory.client import AsyncClient, Client
from memory.errors import InvalidArgument
from tests.service.helpers import ALPHA_KEY, ServerProcess

T0 = 1_700_000_000.0
DAY = 86400.0


def test_as_of_round_trip(server: ServerProcess, alpha: Client, session_name: str) -> None:
    for i in range(4):
        alpha.add(
            [{"role": "user", "content": f"Pottery class {i}: we glazed a bowl."}],
            session=session_name,
            namespace="alpha",
            timestamp=T0 + i * DAY,
        )
    alpha.add(
        [{"role": "user", "content": "Pottery class 9: the kiln cracked my vase."}],
        session=session_name,
        namespace="alpha",
        timestamp=T0 + 9 * DAY,
        wait_indexed=True,
    )
    ctx = alpha.assemble("pottery kiln", session=session_name, namespace="alpha", budget=800, as_of=2)
    assert {s.ref.seq for s in ctx.sources if s.ref is not None} == {1, 2}
    assert "kiln" not in str(ctx.messages)
    hits = alpha.search("pottery kiln", namespace="alpha", k=3, sessions=[session_name], as_of=T0 + 5 * DAY)
    assert len(hits) == 3 and all(h.seq <= 4 for h in hits)  # the best 3 of the 4 said by day 5
    assert alpha.search("pottery kiln", namespace="alpha", k=1, sessions=[session_name])[0].seq == 5

    async def twin() -> list[int]:
        async with AsyncClient(server.url, api_key=ALPHA_KEY) as client:
            c = await client.assemble(None, session=session_name, namespace="alpha", budget=800, as_of="1970-01-01")
            h = await client.search("kiln", namespace="alpha", sessions=[session_name], as_of=3)
            return [len(c.sources), *[x.seq for x in h]]

    assert asyncio.run(twin()) == [0, 1, 2, 3]

    for bad in (6, -1, "soon", True):
        with pytest.raises(InvalidArgument) as err:
            alpha.assemble("x", session=session_name, namespace="alpha", as_of=bad)
        assert err.value.field == "as_of"
        resp = httpx.post(
            f"{server.url}/v1/namespaces/alpha/search",
            json={"query": "x", "sessions": [session_name], "as_of": bad},
            headers={"Authorization": f"Bearer {ALPHA_KEY}"},
        )
        assert resp.status_code == 422 and resp.json()["field"] == "as_of", resp.text
