"""``timezone`` in the context request body, and ``Client.assemble(timezone=...)``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from memory.client import Client
from memory.errors import InvalidArgument
from tests.service.helpers import ALPHA_KEY, ServerProcess

LA = ZoneInfo("America/Los_Angeles")


def test_timezone_per_call_over_the_service(server: ServerProcess, alpha: Client, session_name: str) -> None:
    peaches = "At the farmers market I bought peaches."
    alpha.add(
        [{"role": "user", "content": peaches, "timestamp": datetime(2026, 3, 9, 12, 0, tzinfo=LA).isoformat()}],
        session=session_name,
        namespace="alpha",
        wait_indexed=True,  # ranked by its vector too
    )
    now = datetime(2026, 3, 10, 18, 0, tzinfo=LA)
    kwargs = {"session": session_name, "namespace": "alpha", "budget": 800, "now": now, "window_share": 0.0}
    la = alpha.assemble("what did I buy yesterday?", timezone="America/Los_Angeles", fill_window=False, **kwargs)
    utc = alpha.assemble("what did I buy yesterday?", fill_window=False, **kwargs)
    assert [h.scores["time"] for h in la.hits if h.text == peaches] == [1.0]
    assert [h.scores["time"] for h in utc.hits if h.text == peaches][0] < 1.0
    with pytest.raises(InvalidArgument) as err:
        alpha.assemble("yesterday", timezone="Mars/Olympus_Mons", **kwargs)
    assert err.value.field == "timezone"
    schema = httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]["ContextRequest"]
    assert "timezone" in schema["properties"]
    resp = httpx.post(
        f"{server.url}/v1/namespaces/alpha/sessions/{session_name}/context",
        json={"query": "yesterday", "budget": 500, "timezone": "Not/AZone"},
        headers={"Authorization": f"Bearer {ALPHA_KEY}"},
    )
    assert resp.status_code == 422 and resp.json()["field"] == "timezone"
