from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexers import ChromaIndex, FaissIndex, open_index
from memory.errors import InvalidArgument


def test_faiss_specs(tmp_path: Path) -> None:
    flat = open_index("faiss", tmp_path / "a", 8)
    assert isinstance(flat, FaissIndex) and flat.hnsw_threshold is None and flat.dim == 8
    flat.add([1], np.eye(8, dtype=np.float32)[:1], namespace="n", sessions=["s"])
    flat.close()
    assert (tmp_path / "a" / "manifest.json").exists()  # persisted in the given folder
    assert open_index("faiss", tmp_path / "a", 8).ids("n").tolist() == [1]
    hn = open_index("faiss-hnsw", tmp_path / "b", 8)
    assert isinstance(hn, FaissIndex) and hn.hnsw_threshold == 50_000


def test_chroma_specs(tmp_path: Path, chroma_server: tuple[str, int]) -> None:
    local = open_index("chroma", tmp_path / "c", 8)
    assert isinstance(local, ChromaIndex) and local.dim == 8
    assert (tmp_path / "c-chroma").is_dir()  # a sibling folder, apart from FAISS files
    host, port = chroma_server
    idx = open_index(f"chroma-http://{host}:{port}/", tmp_path / "d", 8)
    assert isinstance(idx, ChromaIndex)
    assert not (tmp_path / "d-chroma").exists()  # the server keeps the data
    v = np.eye(8, dtype=np.float32)[:2]
    idx.add([1, 2], v, namespace="spec-test", sessions=["s", "s"])
    assert idx.search(v[1], 1, namespace="spec-test")[0].tolist() == [2]
    assert sorted(ChromaIndex.http(host, port, 8).ids("spec-test").tolist()) == [1, 2]  # on the server
    assert local.ids("spec-test").size == 0
    idx.drop("spec-test")


@pytest.mark.parametrize("spec", ["milvus", "chroma-http://nohostport", "chroma-http://host:port", "", "FAISS"])
def test_unknown_spec_names_the_field(tmp_path: Path, spec: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^index: ") as err:
        open_index(spec, tmp_path / "x", 8)
    assert err.value.field == "index" and repr(spec) in str(err.value)
    if not spec.startswith("chroma-http"):
        assert "faiss, faiss-hnsw, chroma, chroma-http://HOST:PORT" in str(err.value)


def test_faiss_rejects_other_dimension_on_reopen(tmp_path: Path) -> None:
    idx = FaissIndex(8, tmp_path / "f")
    idx.add([1], np.eye(8, dtype=np.float32)[:1], namespace="n", sessions=["s"])
    idx.persist()
    from memory.errors import IndexMismatch

    with pytest.raises(IndexMismatch, match="8-d"):
        FaissIndex(16, tmp_path / "f")


def test_faiss_persist_is_atomic_generation(tmp_path: Path) -> None:
    idx = FaissIndex(8, tmp_path / "g")
    idx.add([1, 2], np.eye(8, dtype=np.float32)[:2], namespace="n", sessions=["s", "t"])
    idx.persist()
    idx.add([3], np.eye(8, dtype=np.float32)[2:3], namespace="n", sessions=["s"])
    idx.persist()
    files = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert "manifest.json" in files
    assert all(".2." in f for f in files if f not in ("manifest.json", "persist.lock")), files  # old generation removed
    again = FaissIndex(8, tmp_path / "g")
    assert sorted(again.ids("n").tolist()) == [1, 2, 3]
    assert again.search(np.eye(8, dtype=np.float32)[1], 3, namespace="n", sessions=["t"])[0].tolist() == [2]
