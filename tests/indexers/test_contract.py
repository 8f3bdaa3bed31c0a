"""One contract every Index backend passes: FAISS (memory, persisted, HNSW) and Chroma
(persistent folder, real ``chroma run`` server)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from indexers import ChromaIndex, FaissIndex, Index
from memory.errors import IndexMismatch

DIM = 32
BACKENDS = ["faiss-memory", "faiss-disk", "faiss-hnsw", "chroma-persistent", "chroma-http"]


def clustered(n: int, seed: int = 0, centres: int = 6) -> np.ndarray:
    """Unit vectors shaped like real embeddings: noisy mixtures of a few topic centres."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, DIM))
    weights = rng.dirichlet(np.full(centres, 0.3), size=n)
    v = weights @ c + 0.35 * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def brute(vectors: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    scores = vectors @ q
    order = np.argsort(-scores, kind="stable")[:k]
    return ids[order].tolist()


@pytest.fixture
def make_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Index]]:
    """``make_index()`` opens the backend; calling it again reopens the same storage."""
    kind = request.param
    tag = uuid.uuid4().hex[:8]  # the chroma server is shared: keep namespaces apart
    opened: list[Index] = []

    def factory() -> Index:
        if kind == "faiss-memory":
            idx: Index = opened[0] if opened else FaissIndex(DIM)
        elif kind == "faiss-disk":
            idx = FaissIndex(DIM, tmp_path / "faiss")
        elif kind == "faiss-hnsw":
            idx = FaissIndex(DIM, tmp_path / "hnsw", hnsw_threshold=10)
        elif kind == "chroma-persistent":
            idx = ChromaIndex.persistent(tmp_path / "chroma", DIM)
        else:
            host, port = request.getfixturevalue("chroma_server")
            idx = ChromaIndex.http(host, port, DIM)
        opened.append(idx)
        return idx

    factory.ns = lambda name: f"{name}-{tag}"  # type: ignore[attr-defined]
    factory.kind = kind  # type: ignore[attr-defined]
    yield factory
    for idx in opened:
        idx.close()


pytestmark = pytest.mark.parametrize("make_index", BACKENDS, indirect=True)


def test_add_and_search_exact(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("a")  # type: ignore[attr-defined]
    vecs = clustered(60)
    ids = np.arange(1, 61, dtype=np.int64)
    idx.add(ids, vecs, namespace=ns, sessions=[f"s{i % 3}" for i in range(60)])
    got, scores = idx.search(vecs[5], 1, namespace=ns)
    assert got.tolist() == [6] and scores[0] == pytest.approx(1.0, abs=1e-4)
    assert got.dtype == np.int64 and scores.dtype == np.float32
    hits = 0
    for qi in range(0, 60, 7):
        q = clustered(1, seed=100 + qi)[0]
        got, scores = idx.search(q, 10, namespace=ns)
        want = brute(vecs, ids, q, 10)
        assert list(scores) == sorted(scores, reverse=True)
        if make_index.kind == "faiss-hnsw" or make_index.kind.startswith("chroma"):  # type: ignore[attr-defined]
            hits += len(set(got.tolist()) & set(want))
        else:
            assert got.tolist() == want
            np.testing.assert_allclose(scores, (vecs @ q)[np.asarray(want) - 1], atol=1e-5)
    if make_index.kind == "faiss-hnsw" or make_index.kind.startswith("chroma"):  # type: ignore[attr-defined]
        assert hits / (9 * 10) >= 0.9


def test_upsert_replaces_vector_and_session(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("u")  # type: ignore[attr-defined]
    vecs = clustered(10, seed=1)
    idx.add(np.arange(1, 11), vecs, namespace=ns, sessions=["a"] * 10)
    idx.add([3], vecs[7:8], namespace=ns, sessions=["b"])
    assert sorted(idx.ids(ns).tolist()) == list(range(1, 11))
    got, _ = idx.search(vecs[7], 2, namespace=ns)
    assert set(got.tolist()) == {3, 8}
    got, _ = idx.search(vecs[0], 5, namespace=ns, sessions=["b"])
    assert got.tolist() == [3]


def test_delete_and_drop(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("d")  # type: ignore[attr-defined]
    vecs = clustered(30, seed=2)
    idx.add(np.arange(1, 31), vecs, namespace=ns, sessions=[f"s{i % 2}" for i in range(30)])
    idx.delete([1, 2, 999], namespace=ns)
    assert sorted(idx.ids(ns).tolist()) == list(range(3, 31))
    got, _ = idx.search(vecs[0], 30, namespace=ns)
    assert 1 not in got.tolist() and 2 not in got.tolist() and len(got) == 28
    idx.drop(ns, "s0")  # ids 3, 5, ... (i even -> id odd)
    assert sorted(idx.ids(ns).tolist()) == list(range(4, 31, 2))
    idx.drop(ns)
    assert idx.ids(ns).size == 0
    assert ns not in idx.namespaces()
    idx.delete([5], namespace=make_index.ns("never"))  # type: ignore[attr-defined]


def test_scoped_search_and_namespace_isolation(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    a, b = make_index.ns("x"), make_index.ns("y")  # type: ignore[attr-defined]
    vecs = clustered(40, seed=3)
    sessions = [f"s{i % 4}" for i in range(40)]
    idx.add(np.arange(1, 41), vecs, namespace=a, sessions=sessions)
    idx.add(np.arange(101, 111), vecs[:10], namespace=b, sessions=["z"] * 10)
    got, _ = idx.search(vecs[0], 40, namespace=a, sessions=["s1", "s3"])
    assert got.size == 20 and {sessions[i - 1] for i in got.tolist()} == {"s1", "s3"}
    keep = np.array([s in ("s1", "s3") for s in sessions])
    assert got[:5].tolist() == brute(vecs[keep], np.arange(1, 41)[keep], vecs[0], 5)
    got, _ = idx.search(vecs[0], 5, namespace=b)
    assert set(got.tolist()) <= set(range(101, 111))
    assert idx.search(vecs[0], 5, namespace=a, sessions=["nope"])[0].size == 0
    assert {a, b} <= set(idx.namespaces())


def test_empty_and_large_k(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("e")  # type: ignore[attr-defined]
    q = clustered(1, seed=4)[0]
    ids, scores = idx.search(q, 5, namespace=ns)
    assert ids.size == 0 and scores.size == 0
    assert idx.ids(ns).size == 0
    idx.add([7, 8], clustered(2, seed=5), namespace=ns, sessions=["s", "s"])
    assert sorted(idx.search(q, 100, namespace=ns)[0].tolist()) == [7, 8]
    assert idx.search(q, 0, namespace=ns)[0].size == 0


def test_wrong_dimension_is_a_clear_error(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("w")  # type: ignore[attr-defined]
    with pytest.raises(IndexMismatch, match="dimension 32"):
        idx.add([1], np.ones((1, DIM + 1), dtype=np.float32), namespace=ns, sessions=["s"])
    with pytest.raises(IndexMismatch):
        idx.search(np.ones(DIM - 1, dtype=np.float32), 3, namespace=ns)
    assert idx.ids(ns).size == 0


def test_persistence_across_reopen(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("p")  # type: ignore[attr-defined]
    vecs = clustered(25, seed=6)
    idx.add(np.arange(1, 26), vecs, namespace=ns, sessions=[f"s{i % 5}" for i in range(25)])
    idx.delete([4], namespace=ns)
    before = idx.search(vecs[9], 5, namespace=ns)
    scoped = idx.search(vecs[9], 5, namespace=ns, sessions=["s2"])
    idx.persist()
    idx.close()
    again = make_index()
    assert sorted(again.ids(ns).tolist()) == [i for i in range(1, 26) if i != 4]
    after = again.search(vecs[9], 5, namespace=ns)
    assert after[0].tolist() == before[0].tolist()
    np.testing.assert_allclose(after[1], before[1], atol=1e-5)
    assert again.search(vecs[9], 5, namespace=ns, sessions=["s2"])[0].tolist() == scoped[0].tolist()


def test_batches_above_client_limit(make_index: Callable[[], Index]) -> None:
    idx = make_index()
    ns = make_index.ns("b")  # type: ignore[attr-defined]
    if isinstance(idx, ChromaIndex):
        idx.max_batch = 7
    vecs = clustered(30, seed=7)
    idx.add(np.arange(1, 31), vecs, namespace=ns, sessions=["s"] * 30)
    assert sorted(idx.ids(ns).tolist()) == list(range(1, 31))
    idx.delete(np.arange(1, 21), namespace=ns)
    assert sorted(idx.ids(ns).tolist()) == list(range(21, 31))
