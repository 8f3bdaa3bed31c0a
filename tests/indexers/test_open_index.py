from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexers import ChromaIndex, FaissIndex, open_index
from memory.errors import InvalidArgument


def test_faiss_specs(tmp_path: Path) -> None:
    assert isinstance(open_index("faiss", tmp_path / "a", 8), FaissIndex)
    hn = open_index("faiss-hnsw", tmp_path / "b", 8)
    assert isinstance(hn, FaissIndex) and hn.hnsw_threshold


def test_chroma_specs(tmp_path: Path, chroma_server: tuple[str, int]) -> None:
    assert isinstance(open_index("chroma", tmp_path / "c", 8), ChromaIndex)
    host, port = chroma_server
    idx = open_index(f"chroma-http://{host}:{port}", tmp_path / "d", 8)
    assert isinstance(idx, ChromaIndex)
    v = np.eye(8, dtype=np.float32)[:2]
    idx.add([1, 2], v, namespace="spec-test", sessions=["s", "s"])
    assert idx.search(v[1], 1, namespace="spec-test")[0].tolist() == [2]
    idx.drop("spec-test")


@pytest.mark.parametrize("spec", ["milvus", "chroma-http://nohostport", ""])
def test_unknown_spec_names_the_field(tmp_path: Path, spec: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        open_index(spec, tmp_path / "x", 8)
    assert err.value.field == "index"


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
    assert all(".2." in f for f in files if f != "manifest.json"), files  # old generation removed
    again = FaissIndex(8, tmp_path / "g")
    assert sorted(again.ids("n").tolist()) == [1, 2, 3]
    assert again.search(np.eye(8, dtype=np.float32)[1], 3, namespace="n", sessions=["t"])[0].tolist() == [2]
