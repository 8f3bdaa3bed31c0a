"""Two memories on one Chroma server (real ``chroma run``): each touches, lists and drops only
the collections it created, even under the same namespace name."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexers.chroma_index import ChromaIndex
from memory import Memory

DIM = 8


def _vecs(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_two_deployments_with_the_same_namespace_keep_apart(chroma_server: tuple[str, int]) -> None:
    host, port = chroma_server
    ns = f"default-{uuid.uuid4().hex[:6]}"
    a = ChromaIndex.http(host, port, DIM, deployment=f"a-{uuid.uuid4().hex}")
    b = ChromaIndex.http(host, port, DIM, deployment=f"b-{uuid.uuid4().hex}")
    a.add([1, 2, 3], _vecs(3, 1), namespace=ns, sessions=["s"] * 3)
    b.add([1, 7], _vecs(2, 2), namespace=ns, sessions=["t"] * 2)
    assert sorted(a.ids(ns).tolist()) == [1, 2, 3] and sorted(b.ids(ns).tolist()) == [1, 7]
    assert ns in a.namespaces() and ns in b.namespaces()
    a.drop(ns)
    assert ns not in a.namespaces() and sorted(b.ids(ns).tolist()) == [1, 7]
    legacy = ChromaIndex.http(host, port, DIM)  # no deployment: sees neither
    assert ns not in legacy.namespaces()
    b.drop(ns)


def test_a_memory_reconciling_on_open_leaves_another_memorys_collections_alone(
    chroma_server: tuple[str, int], open_memory: Callable[..., Memory], tmp_path: Path
) -> None:
    host, port = chroma_server
    spec = f"chroma-http://{host}:{port}"
    first = open_memory("first", index=spec)
    second = open_memory("second", index=spec)
    first.add([{"role": "user", "content": "First memory: my locker code is 4471."}], session="s")
    second.add([{"role": "user", "content": "Second memory: the boat is called Gaivota."}], session="s")
    second.add([{"role": "user", "content": "Second memory, other namespace."}], session="s", namespace="only-2")
    first.close()
    again = open_memory("first", index=spec)  # reconcile: drops index namespaces its log does not know
    assert again.reconcile() == {"added": 0, "removed": 0}
    assert [h.text for h in second.search("boat name", k=1)] == ["Second memory: the boat is called Gaivota."]
    assert [h.text for h in second.search("other namespace", namespace="only-2", k=1)]
    assert [h.text for h in again.search("boat name", k=5)] == ["First memory: my locker code is 4471."]
    again.delete("default")
    assert [h.text for h in second.search("boat", k=1)] == ["Second memory: the boat is called Gaivota."]
