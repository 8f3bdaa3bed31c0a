"""One contract every Index backend passes: FAISS (memory, persisted, HNSW) and Chroma
(persistent folder, real ``chroma run`` server).

Every result is checked against an exact numpy brute force on the same data. The exact
backends (flat FAISS) must reproduce it exactly; the HNSW ones (FAISS above its
threshold, Chroma) must reach recall >= 0.9 and report true inner products.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexers import ChromaIndex, FaissIndex, Index
from memory.errors import IndexMismatch

DIM = 32
BACKENDS = ["faiss-memory", "faiss-disk", "faiss-hnsw", "chroma-persistent", "chroma-http"]
STORED = [b for b in BACKENDS if b != "faiss-memory"]
EXACT = {"faiss-memory", "faiss-disk"}
# what a backend needs beyond the process (tests/tiers.py): FAISS backends are in the unit tier
INFRA = {"chroma-persistent": ("chroma",), "chroma-http": ("chroma", "process")}


def backends(*kinds: str) -> list[Any]:
    """``kinds`` as parameters of ``make_index``, each marked with the infrastructure it needs."""
    return [pytest.param(k, marks=pytest.mark.needs(*INFRA[k])) if k in INFRA else k for k in kinds]


contract = pytest.mark.parametrize("make_index", backends(*BACKENDS), indirect=True)


def clustered(n: int, seed: int = 0, centres: int = 6) -> np.ndarray:
    """Unit vectors shaped like real embeddings: noisy mixtures of a few topic centres."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, DIM))
    weights = rng.dirichlet(np.full(centres, 0.3), size=n)
    v = weights @ c + 0.35 * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


class Oracle:
    """What the index should hold: id -> (vector, session), searched by brute force."""

    def __init__(self) -> None:
        self.vec: dict[int, np.ndarray] = {}
        self.session: dict[int, str] = {}

    def add(self, ids: np.ndarray | list[int], vecs: np.ndarray, sessions: list[str]) -> None:
        for i, v, s in zip(np.asarray(ids).tolist(), vecs, sessions):
            self.vec[int(i)], self.session[int(i)] = v, s

    def delete(self, ids: list[int] | range) -> None:
        for i in ids:
            self.vec.pop(i, None)
            self.session.pop(i, None)

    def top(self, q: np.ndarray, k: int, sessions: list[str] | None = None) -> tuple[list[int], np.ndarray]:
        ids = np.asarray(sorted(i for i in self.vec if sessions is None or self.session[i] in sessions))
        if ids.size == 0:
            return [], np.zeros(0, dtype=np.float32)
        scores = np.stack([self.vec[i] for i in ids.tolist()]) @ q
        order = np.argsort(-scores, kind="stable")[:k]
        return ids[order].tolist(), scores[order]


def check_against(
    kind: str, idx: Index, oracle: Oracle, ns: str, queries: np.ndarray, k: int, sessions: list[str] | None = None
) -> None:
    """Search ``idx`` with every query and compare with the brute force on ``oracle``."""
    hits = total = 0
    for q in queries:
        got, scores = idx.search(q, k, namespace=ns, sessions=sessions)
        want, want_scores = oracle.top(q, k, sessions)
        assert got.dtype == np.int64 and scores.dtype == np.float32
        assert len(set(got.tolist())) == len(got), f"duplicate ids in {got.tolist()}"
        assert set(got.tolist()) <= set(oracle.vec), "a deleted or foreign id came back"
        assert np.all(np.diff(scores) <= 1e-6), "scores are not best first"
        # whatever comes back carries its true inner product (the metric is ip, not l2)
        np.testing.assert_allclose(scores, [oracle.vec[i] @ q for i in got.tolist()], atol=1e-4)
        if kind in EXACT or sessions is not None and kind == "faiss-hnsw":  # scoped FAISS search is exact
            assert got.tolist() == want
            np.testing.assert_allclose(scores, want_scores, atol=1e-5)
        else:
            assert len(got) == len(want)
            hits += len(set(got.tolist()) & set(want))
            total += len(want)
    if total:
        assert hits / total >= 0.9, f"{kind}: recall {hits / total:.2f} against brute force"


@pytest.fixture
def make_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Index]]:
    """``make_index(dim=DIM)`` opens the backend; calling it again reopens the same storage
    (in memory FAISS: the same object; Chroma over HTTP: a new client to the same server)."""
    kind = request.param
    tag = uuid.uuid4().hex[:8]  # the chroma server is shared by all tests: keep namespaces apart
    opened: list[Index] = []

    def factory(dim: int = DIM) -> Index:
        if kind == "faiss-memory":
            idx: Index = opened[0] if opened else FaissIndex(dim)
        elif kind == "faiss-disk":
            idx = FaissIndex(dim, tmp_path / "faiss")
        elif kind == "faiss-hnsw":
            idx = FaissIndex(dim, tmp_path / "hnsw", hnsw_threshold=10)
        elif kind == "chroma-persistent":
            idx = ChromaIndex.persistent(tmp_path / "chroma", dim)
        else:
            host, port = request.getfixturevalue("chroma_server")
            idx = ChromaIndex.http(host, port, dim)
        opened.append(idx)
        return idx

    factory.ns = lambda name: f"{name}-{tag}"  # type: ignore[attr-defined]
    factory.kind = kind  # type: ignore[attr-defined]
    yield factory
    for idx in opened:
        idx.close()


@contract
def test_self_query_and_brute_force(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    kind, ns = make_index.kind, make_index.ns("a")  # type: ignore[attr-defined]
    vecs = clustered(60)
    ids = np.arange(1, 61, dtype=np.int64)
    sessions = [f"s{i % 3}" for i in range(60)]
    idx.add(ids, vecs, namespace=ns, sessions=sessions)
    for i in range(0, 60, 6):
        got, scores = idx.search(vecs[i], 1, namespace=ns)
        assert got.tolist() == [i + 1] and scores[0] == pytest.approx(1.0, abs=1e-4)
    if kind == "faiss-hnsw":
        assert idx._spaces[ns].hnsw is not None  # type: ignore[attr-defined]  # the graph served these
    oracle = Oracle()
    oracle.add(ids, vecs, sessions)
    queries = clustered(12, seed=100)
    check_against(kind, idx, oracle, ns, queries, 10)
    check_against(kind, idx, oracle, ns, queries[:4], 10, sessions=["s1"])
    check_against(kind, idx, oracle, ns, queries[:4], 60)  # every vector, in order


@contract
def test_upsert_replaces_vector_and_session(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns = make_index.ns("u")  # type: ignore[attr-defined]
    vecs = clustered(10, seed=1)
    idx.add(np.arange(1, 11), vecs, namespace=ns, sessions=["a"] * 10)
    idx.add([3], vecs[7:8], namespace=ns, sessions=["b"])
    assert sorted(idx.ids(ns).tolist()) == list(range(1, 11))  # no duplicate id
    got, scores = idx.search(vecs[7], 2, namespace=ns)
    assert set(got.tolist()) == {3, 8} and scores == pytest.approx([1.0, 1.0], abs=1e-4)
    got, scores = idx.search(vecs[2], 10, namespace=ns)  # the old vector of 3 is gone
    assert len(got) == 10 and len(set(got.tolist())) == 10
    assert scores[got.tolist().index(3)] == pytest.approx(float(vecs[7] @ vecs[2]), abs=1e-4)
    assert idx.search(vecs[0], 5, namespace=ns, sessions=["b"])[0].tolist() == [3]
    assert 3 not in idx.search(vecs[7], 10, namespace=ns, sessions=["a"])[0].tolist()
    # inside one batch a repeated id keeps its last vector
    idx.add([4, 4], np.stack([vecs[0], vecs[9]]), namespace=ns, sessions=["a", "c"])
    assert idx.search(vecs[9], 5, namespace=ns, sessions=["c"])[0].tolist() == [4]
    assert sorted(idx.ids(ns).tolist()) == list(range(1, 11))


@contract
def test_writes_after_the_index_was_searched(make_index: Callable[..., Index]) -> None:
    """Upserts, deletes and re-adds once search structures exist (FAISS: the HNSW graph)."""
    idx = make_index()
    kind, ns = make_index.kind, make_index.ns("g")  # type: ignore[attr-defined]
    vecs = clustered(60, seed=11)
    fresh = clustered(8, seed=12)
    ids = np.arange(1, 61)
    sessions = [f"s{i % 2}" for i in range(60)]
    oracle = Oracle()
    idx.add(ids, vecs, namespace=ns, sessions=sessions)
    oracle.add(ids, vecs, sessions)
    assert idx.search(vecs[0], 5, namespace=ns)[0][0] == 1
    # a few stale graph entries (below the FAISS rebuild ratio): filtered, not rebuilt
    idx.add([3, 4, 5, 6], fresh[:4], namespace=ns, sessions=["s9"] * 4)
    oracle.add([3, 4, 5, 6], fresh[:4], ["s9"] * 4)
    idx.delete(list(range(10, 15)), namespace=ns)
    oracle.delete(range(10, 15))
    idx.add([12], fresh[4:5], namespace=ns, sessions=["s0"])
    oracle.add([12], fresh[4:5], ["s0"])
    if kind == "faiss-hnsw":
        assert idx._spaces[ns].hnsw_stale > 0  # type: ignore[attr-defined]
    for old, i in ((vecs[2], 3), (vecs[11], 12)):  # an id's old vector does not find it
        got, scores = idx.search(old, 5, namespace=ns)
        assert not (got[0] == i and scores[0] > 0.999)
    for v, i in ((fresh[0], 3), (fresh[4], 12)):
        got, scores = idx.search(v, 1, namespace=ns)
        assert got.tolist() == [i] and scores[0] == pytest.approx(1.0, abs=1e-4)
    assert sorted(idx.ids(ns).tolist()) == sorted(oracle.vec)
    queries = np.concatenate([clustered(10, seed=13), vecs[2:12]])
    check_against(kind, idx, oracle, ns, queries, 10)
    check_against(kind, idx, oracle, ns, queries[:5], 10, sessions=["s9", "s0"])
    # many stale entries: the FAISS graph is rebuilt; results stay right
    idx.delete(list(range(30, 55)), namespace=ns)
    oracle.delete(range(30, 55))
    check_against(kind, idx, oracle, ns, queries, 10)
    if kind == "faiss-hnsw":
        assert idx._spaces[ns].hnsw_stale == 0  # type: ignore[attr-defined]


@contract
def test_delete_and_drop(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns, other = make_index.ns("d"), make_index.ns("d2")  # type: ignore[attr-defined]
    vecs = clustered(30, seed=2)
    idx.add(np.arange(1, 31), vecs, namespace=ns, sessions=[f"s{i % 2}" for i in range(30)])
    idx.add([1, 2], vecs[:2], namespace=other, sessions=["s0", "s1"])
    idx.delete([1, 2, 999], namespace=ns)  # unknown ids are ignored
    assert sorted(idx.ids(ns).tolist()) == list(range(3, 31))
    got, _ = idx.search(vecs[0], 30, namespace=ns)
    assert 1 not in got.tolist() and 2 not in got.tolist() and len(got) == 28
    idx.drop(ns, "s0")  # ids 3, 5, ... (i even -> id odd)
    assert sorted(idx.ids(ns).tolist()) == list(range(4, 31, 2))
    assert sorted(idx.search(vecs[2], 30, namespace=ns)[0].tolist()) == list(range(4, 31, 2))
    assert idx.search(vecs[2], 30, namespace=ns, sessions=["s0"])[0].size == 0
    idx.drop(ns, "no-such-session")
    assert sorted(idx.ids(ns).tolist()) == list(range(4, 31, 2))
    idx.drop(ns)
    assert idx.ids(ns).size == 0 and idx.search(vecs[3], 5, namespace=ns)[0].size == 0
    assert ns not in idx.namespaces() and other in idx.namespaces()
    assert sorted(idx.ids(other).tolist()) == [1, 2]  # same ids and session names, other namespace
    idx.delete([5], namespace=make_index.ns("never"))  # type: ignore[attr-defined]
    idx.drop(make_index.ns("never"))  # type: ignore[attr-defined]
    idx.drop(make_index.ns("never"), "s")  # type: ignore[attr-defined]
    idx.delete([1, 2], namespace=other)  # deleting every id empties the namespace
    assert other not in idx.namespaces() and idx.search(vecs[0], 3, namespace=other)[0].size == 0
    idx.add([7], vecs[6:7], namespace=other, sessions=["s"])  # and it can be written again
    assert idx.search(vecs[6], 3, namespace=other)[0].tolist() == [7]


@contract
def test_scoped_search(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns = make_index.ns("x")  # type: ignore[attr-defined]
    vecs = clustered(40, seed=3)
    sessions = [f"s{i % 4}" for i in range(40)]
    idx.add(np.arange(1, 41), vecs, namespace=ns, sessions=sessions)
    got, _ = idx.search(vecs[0], 40, namespace=ns, sessions=["s1", "s3"])
    assert got.size == 20 and {sessions[i - 1] for i in got.tolist()} == {"s1", "s3"}
    oracle = Oracle()
    oracle.add(np.arange(1, 41), vecs, sessions)
    assert got[:5].tolist() == oracle.top(vecs[0], 5, ["s1", "s3"])[0]
    got, _ = idx.search(vecs[0], 3, namespace=ns, sessions=["s2"])
    assert got.tolist() == oracle.top(vecs[0], 3, ["s2"])[0]
    assert idx.search(vecs[0], 5, namespace=ns, sessions=["nope"])[0].size == 0
    assert idx.search(vecs[0], 5, namespace=ns, sessions=[])[0].size == 0  # no sessions: nothing


@contract
def test_namespace_isolation(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    a, b = make_index.ns("x"), make_index.ns("y")  # type: ignore[attr-defined]
    va, vb = clustered(20, seed=4), clustered(20, seed=5)
    ids = np.arange(1, 21)
    idx.add(ids, va, namespace=a, sessions=["s"] * 20)
    idx.add(ids, vb, namespace=b, sessions=["s"] * 20)  # the same ids, other vectors
    idx.add([100], va[:1], namespace=b, sessions=["t"])
    assert sorted(idx.ids(a).tolist()) == list(range(1, 21))
    assert sorted(idx.ids(b).tolist()) == [*range(1, 21), 100]
    got, scores = idx.search(va[4], 1, namespace=a)
    assert got.tolist() == [5] and scores[0] == pytest.approx(1.0, abs=1e-4)
    got, scores = idx.search(vb[4], 3, namespace=a)  # b's vector is not in a
    assert scores[0] < 0.999
    got, scores = idx.search(vb[4], 1, namespace=b)
    assert got.tolist() == [5] and scores[0] == pytest.approx(1.0, abs=1e-4)
    idx.delete([5], namespace=a)
    assert 5 in idx.ids(b).tolist() and 5 not in idx.ids(a).tolist()
    idx.drop(a, "s")
    assert idx.ids(a).size == 0 and len(idx.ids(b)) == 21
    assert idx.search(vb[6], 1, namespace=b, sessions=["s"])[0].tolist() == [7]
    assert b in idx.namespaces() and a not in idx.namespaces()


@contract
def test_empty_index_and_large_k(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns = make_index.ns("e")  # type: ignore[attr-defined]
    q = clustered(1, seed=4)[0]
    for sessions in (None, ["s"]):
        ids, scores = idx.search(q, 5, namespace=ns, sessions=sessions)
        assert ids.size == 0 and scores.size == 0 and ids.dtype == np.int64 and scores.dtype == np.float32
    assert idx.ids(ns).size == 0 and idx.ids(ns).dtype == np.int64
    assert ns not in idx.namespaces()
    vecs = clustered(3, seed=5)
    idx.add([7, 8, 9], vecs, namespace=ns, sessions=["s", "s", "t"])
    got, scores = idx.search(q, 100, namespace=ns)
    oracle = Oracle()
    oracle.add([7, 8, 9], vecs, ["s", "s", "t"])
    want, want_scores = oracle.top(q, 100)
    assert got.tolist() == want
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    assert sorted(idx.search(q, 100, namespace=ns, sessions=["s"])[0].tolist()) == [7, 8]
    assert idx.search(q, 0, namespace=ns)[0].size == 0
    idx.add([], np.zeros((0, DIM), dtype=np.float32), namespace=ns, sessions=[])  # empty batch: no-op
    assert sorted(idx.ids(ns).tolist()) == [7, 8, 9]


@contract
def test_wrong_dimension_is_a_clear_error(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns = make_index.ns("w")  # type: ignore[attr-defined]
    with pytest.raises(IndexMismatch, match=r"dimension 32, got shape \(1, 33\).*rebuild"):
        idx.add([1], np.ones((1, DIM + 1), dtype=np.float32), namespace=ns, sessions=["s"])
    with pytest.raises(IndexMismatch, match=r"query: expected vectors of dimension 32, got shape \(31,\)"):
        idx.search(np.ones(DIM - 1, dtype=np.float32), 3, namespace=ns)
    assert idx.ids(ns).size == 0 and ns not in idx.namespaces()
    vecs = clustered(2, seed=8)
    idx.add([1, 2], vecs, namespace=ns, sessions=["s", "s"])
    with pytest.raises(IndexMismatch):
        idx.add([3], np.ones((1, 16), dtype=np.float32), namespace=ns, sessions=["s"])
    with pytest.raises(IndexMismatch):
        idx.search(np.ones(DIM + 1, dtype=np.float32), 3, namespace=ns)
    with pytest.raises(ValueError, match="one query vector"):
        idx.search(vecs, 3, namespace=ns)
    with pytest.raises(ValueError, match="one per id"):
        idx.add([3, 4], vecs, namespace=ns, sessions=["s"])
    assert sorted(idx.ids(ns).tolist()) == [1, 2]


@contract
def test_persistence_across_reopen(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns, gone = make_index.ns("p"), make_index.ns("p-dropped")  # type: ignore[attr-defined]
    vecs = clustered(25, seed=6)
    idx.add(np.arange(1, 26), vecs, namespace=ns, sessions=[f"s{i % 5}" for i in range(25)])
    idx.add([1], vecs[:1], namespace=gone, sessions=["s"])
    idx.delete([4], namespace=ns)
    idx.drop(ns, "s1")  # ids 2, 7, 12, 17, 22
    idx.drop(gone)
    left = [i for i in range(1, 26) if i != 4 and i % 5 != 2]
    before = idx.search(vecs[9], 5, namespace=ns)
    scoped = idx.search(vecs[9], 5, namespace=ns, sessions=["s2"])
    idx.persist()
    idx.close()
    again = make_index()
    assert sorted(again.ids(ns).tolist()) == left
    assert ns in again.namespaces() and gone not in again.namespaces()
    after = again.search(vecs[9], 5, namespace=ns)
    assert after[0].tolist() == before[0].tolist()
    np.testing.assert_allclose(after[1], before[1], atol=1e-5)
    assert again.search(vecs[9], 5, namespace=ns, sessions=["s2"])[0].tolist() == scoped[0].tolist()
    assert again.search(vecs[1], 5, namespace=ns, sessions=["s1"])[0].size == 0
    # writes after a reopen persist too (FAISS: a new generation on top of the loaded one)
    again.add([4], vecs[3:4], namespace=ns, sessions=["s3"])
    again.persist()
    again.close()
    third = make_index()
    assert sorted(third.ids(ns).tolist()) == sorted([*left, 4])
    assert third.search(vecs[3], 1, namespace=ns, sessions=["s3"])[0].tolist() == [4]


@contract
def test_namespaces_lists_non_empty_ones(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    a, b, c = (make_index.ns(n) for n in ("na", "nb", "nc"))  # type: ignore[attr-defined]
    vecs = clustered(3, seed=9)
    idx.add([1], vecs[:1], namespace=a, sessions=["s"])
    idx.add([2, 3], vecs[1:], namespace=b, sessions=["s", "t"])
    assert {a, b} <= set(idx.namespaces()) and c not in idx.namespaces()
    idx.drop(b, "s")
    assert b in idx.namespaces()
    idx.drop(b, "t")
    assert a in idx.namespaces() and b not in idx.namespaces()


@contract
def test_batches_above_client_limit(make_index: Callable[..., Index], monkeypatch: pytest.MonkeyPatch) -> None:
    idx = make_index()
    kind, ns = make_index.kind, make_index.ns("b")  # type: ignore[attr-defined]
    sizes: list[int] = []
    if isinstance(idx, ChromaIndex):
        monkeypatch.setattr(idx, "max_batch", 7)
        idx.add([999], clustered(1, seed=99), namespace=ns, sessions=["x"])  # creates the collection
        col = idx._collection(ns)
        real = col.upsert

        def spy(**kw: object) -> None:
            sizes.append(len(kw["ids"]))  # type: ignore[arg-type]
            real(**kw)

        monkeypatch.setattr(col, "upsert", spy)
        idx.drop(ns, "x")
    vecs = clustered(30, seed=7)
    sessions = ["s" if i < 20 else "t" for i in range(30)]
    idx.add(np.arange(1, 31), vecs, namespace=ns, sessions=sessions)
    if isinstance(idx, ChromaIndex):
        assert sizes == [7, 7, 7, 7, 2]
    assert sorted(idx.ids(ns).tolist()) == list(range(1, 31))  # ids() pages by max_batch too
    oracle = Oracle()
    oracle.add(np.arange(1, 31), vecs, sessions)
    check_against(kind, idx, oracle, ns, vecs[::3], 30)
    idx.delete(np.arange(1, 16), namespace=ns)
    assert sorted(idx.ids(ns).tolist()) == list(range(16, 31))
    idx.drop(ns, "s")
    assert sorted(idx.ids(ns).tolist()) == list(range(21, 31))


@pytest.mark.parametrize("make_index", backends(*STORED), indirect=True)
def test_reopen_with_another_dimension(make_index: Callable[..., Index]) -> None:
    idx = make_index()
    ns = make_index.ns("dim")  # type: ignore[attr-defined]
    idx.add([1, 2], clustered(2, seed=10), namespace=ns, sessions=["s", "s"])
    idx.persist()
    idx.close()
    with pytest.raises(IndexMismatch, match=r"32-d vectors but 16-d"):
        other = make_index(16)  # FAISS refuses the folder; Chroma the namespace's collection
        other.add([3], np.ones((1, 16), dtype=np.float32) / 4, namespace=ns, sessions=["s"])
    again = make_index()
    assert sorted(again.ids(ns).tolist()) == [1, 2]


@pytest.mark.parametrize("make_index", backends("chroma-persistent", "chroma-http"), indirect=True)
def test_two_chroma_clients_share_the_data(make_index: Callable[..., Index]) -> None:
    """A collection one client dropped (and re-created) is looked up again by the other."""
    a, b = make_index(), make_index()
    ns = make_index.ns("shared")  # type: ignore[attr-defined]
    vecs = clustered(6, seed=14)
    a.add([1, 2, 3], vecs[:3], namespace=ns, sessions=["s"] * 3)
    assert b.search(vecs[1], 1, namespace=ns)[0].tolist() == [2]  # b caches the collection
    a.drop(ns)
    assert b.search(vecs[1], 1, namespace=ns)[0].size == 0 and b.ids(ns).size == 0
    a.add([4, 5], vecs[3:5], namespace=ns, sessions=["t", "t"])  # re-created under a new uuid
    assert b.search(vecs[4], 1, namespace=ns)[0].tolist() == [5]
    a.drop(ns)
    b.add([6], vecs[5:6], namespace=ns, sessions=["u"])  # b's cached collection was dropped
    assert a.search(vecs[5], 3, namespace=ns)[0].tolist() == [6]
    b.delete([6], namespace=ns)
    a.add([7], vecs[:1], namespace=ns, sessions=["u"])  # emptied by b, still writable by a
    assert sorted(b.ids(ns).tolist()) == [7]
