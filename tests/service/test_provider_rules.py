"""Over REST, the providers' rules answer like embedded: 422 ``InvalidMessage`` naming the field,
nothing stored (the rules themselves: tests/memory/test_provider_rules.py)."""

from __future__ import annotations

import httpx
import pytest

from memory.client import Client
from memory.errors import InvalidMessage
from tests.memory.test_provider_rules import call_turn, image_turn
from tests.service.helpers import ADMIN_KEY, ServerProcess


def test_rest_refuses_what_the_providers_refuse(server: ServerProcess, admin: Client, session_name: str) -> None:
    cases = {
        "messages[0].tool_calls[0].function.name": call_turn("get weather"),
        "messages[0].content[1].image_url.url": image_turn("data:image/png;base64,%%%"),
    }
    for field, turn in cases.items():
        resp = httpx.post(
            f"{server.url}/v1/namespaces/rules/sessions/{session_name}/messages",
            json={"messages": [turn]},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=60,
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"] == "InvalidMessage" and resp.json()["field"] == field
        with pytest.raises(InvalidMessage) as info:
            admin.add([turn], session=session_name, namespace="rules")
        assert info.value.field == field
    assert admin.last_seq(session_name, namespace="rules") == 0
