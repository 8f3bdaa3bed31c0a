"""Idempotency keys through Memory: a key answers only its own request, for a configurable window."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from memory.errors import IdempotencyConflict, InvalidArgument
from memory.memory import Memory

pytestmark = pytest.mark.fake_embedder  # keys and windows: the model is not the point
HELLO = [{"role": "user", "content": "hello"}]


def test_a_key_replays_its_request_and_refuses_another(mem: Memory) -> None:
    assert mem.add(HELLO, session="s", idempotency_key="k1") == [1]
    time.sleep(0.01)  # a retry without timestamps is stamped anew: still the same request
    assert mem.add(HELLO, session="s", idempotency_key="k1") == [1]
    with pytest.raises(IdempotencyConflict) as err:
        mem.add([{"role": "user", "content": "goodbye"}], session="s", idempotency_key="k1")
    assert err.value.field == "idempotency_key" and "'k1'" in str(err.value)
    assert [m.content for m in mem.since("s", 0)] == ["hello"] and mem.store.chunk_count() == 1


def test_keys_are_kept_for_the_window_given(open_memory: Callable[..., Memory]) -> None:
    mem = open_memory(idempotency_ttl_s=0.2)
    assert mem.idempotency_ttl_s == 0.2
    assert mem.add(HELLO, session="s", idempotency_key="k1") == [1]
    assert mem.add(HELLO, session="s", idempotency_key="k1") == [1]
    time.sleep(0.3)
    assert mem.add(HELLO, session="s", idempotency_key="k1") == [2]  # forgotten: a new write


@pytest.mark.parametrize("ttl", [0, -1, "1h", True])
def test_a_bad_window_is_refused(open_memory: Callable[..., Memory], ttl: object) -> None:
    with pytest.raises(InvalidArgument, match="idempotency_ttl_s") as err:
        open_memory(idempotency_ttl_s=ttl)
    assert err.value.field == "idempotency_ttl_s"
