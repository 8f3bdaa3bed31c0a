"""The store contract's helpers, and the check of the protocols themselves.

Every store test builds its messages with :func:`prepared`, :func:`user` and :func:`call`. The cases
every store must pass are the conformance suite, :mod:`tests.memory.stores.conformance`, run on
SQLite by ``sqlite/test_conformance.py`` and on PostgreSQL by ``postgres/test_conformance.py``
(each concrete store is checked there against every capability protocol with ``isinstance``; a
type checker checks their signatures where :func:`memory.stores.open_store` returns either class
as a ``Store``). Here: ``Store`` is exactly the union of the capability protocols of
:mod:`memory.stores.base`, each member declared in one of them.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from memory.stores.base import CAPABILITIES, Store
from memory.stores.rows import PreparedMessage
from memory.tokens import TokenCounter
from memory.write.chunking import Chunker
from memory.write.prepare import prepare

DIM = 8


def prepared(counter: TokenCounter, raws: list[dict[str, Any]], seed: int = 0) -> list[PreparedMessage]:
    """What the writer's :func:`prepare` makes (small chunks), with random unit vectors instead of an embedder."""
    rng = np.random.default_rng(seed)
    out = prepare(raws, counter=counter, chunker=Chunker(counter, max_tokens=64), embedder=None)
    for chunk in (ch for pm in out for ch in pm.chunks):
        vec = rng.normal(size=DIM).astype(np.float32)
        chunk.vector = vec / np.linalg.norm(vec)
    return out


def call(cid: str, name: str = "search_hotels") -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": cid, "type": "function", "function": {"name": name, "arguments": "{}"}}],
    }


def user(text: str, **extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": text, **extra}


def declared(protocol: type) -> set[str]:
    """The members a protocol declares, with those of the protocols it extends."""
    names: set[str] = set()
    for base in protocol.__mro__:
        if base is not Protocol and getattr(base, "_is_protocol", False):
            names |= {n for n in (*vars(base), *vars(base).get("__annotations__", {})) if not n.startswith("_")}
    return names


def test_store_is_the_union_of_the_capabilities_each_member_declared_once() -> None:
    where: dict[str, str] = {}
    for protocol in CAPABILITIES:
        for name in declared(protocol):
            assert name not in where, f"{name} is declared by both {where[name]} and {protocol.__name__}"
            where[name] = protocol.__name__
    assert set(where) == declared(Store)
    assert {"append", "search_text", "claims_pending", "close"} <= set(where)  # methods, inherited ones, attributes
