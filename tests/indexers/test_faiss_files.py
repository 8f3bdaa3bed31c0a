"""FAISS index files: durable writes, damaged or missing files rebuilt from the log with a
warning, and the HNSW graph saved and loaded instead of rebuilt after a restart."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexers.faiss_index import MANIFEST, FaissIndex, IndexFileWarning
from memory import Memory

DIM = 8


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _files(folder: Path) -> dict[str, int]:
    return json.loads((folder / MANIFEST).read_text())["files"]


def test_every_file_is_written_to_a_temporary_name_fsynced_and_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append(("replace", f"{src} -> {dst}"))
        real_replace(src, dst)

    idx = FaissIndex(DIM, tmp_path)
    idx.add([1, 2, 3], _vectors(3), namespace="a", sessions=["s", "s", "t"])
    idx.add([4], _vectors(1, 1), namespace="b", sessions=["s"])
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    idx.persist()
    monkeypatch.undo()
    written = [*_files(tmp_path), MANIFEST]
    assert len(written) == 5  # two namespaces x (.faiss, .npz), and the manifest
    for name in written:
        final, tmp = str(tmp_path / name), str(tmp_path / name) + ".tmp"
        i = events.index(("fsync", tmp))  # the data reached the disk under the temporary name
        assert events.index(("replace", f"{tmp} -> {final}")) > i  # before the rename
    assert events[-1] == ("fsync", str(tmp_path))  # and the folder, so the renames are durable
    assert events.index(("replace", f"{tmp_path / MANIFEST}.tmp -> {tmp_path / MANIFEST}")) > max(
        events.index(("replace", f"{tmp_path / n}.tmp -> {tmp_path / n}")) for n in _files(tmp_path)
    )  # the manifest points at complete files only
    assert not list(tmp_path.glob("*.tmp"))


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 16] = bytes(b ^ 0xFF for b in data[mid : mid + 16])
    path.write_bytes(bytes(data))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "flipped bytes in the vectors": lambda folder: _corrupt(next(folder.glob("*.faiss"))),
    "truncated index": lambda folder: next(folder.glob("*.faiss")).write_bytes(b"\x00" * 7),
    "missing ids file": lambda folder: next(folder.glob("*.npz")).unlink(),
    "garbage manifest": lambda folder: (folder / MANIFEST).write_text("{not json"),
    "missing manifest": lambda folder: (folder / MANIFEST).unlink(),
}


@pytest.mark.fake_embedder  # the files, not the model
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_index_file_is_rebuilt_from_the_log_with_a_warning(
    open_memory: Callable[..., Memory], tmp_path: Path, damage: str
) -> None:
    mem = open_memory("m")
    mem.add([{"role": "user", "content": "My locker code is 4471."}], session="s")
    mem.add([{"role": "user", "content": "The weather in Porto is sunny."}], session="t")
    mem.close()
    folder = tmp_path / "m" / "index"
    DAMAGES[damage](folder)
    with pytest.warns(IndexFileWarning, match="rebuilt from the log"):
        again = open_memory("m")
    hits = again.search("locker code", k=2)
    assert hits and hits[0].text == "My locker code is 4471."
    assert len(again.index) == 2
    again.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexFileWarning)  # the rebuilt files are sound
        third = open_memory("m")
    assert third.search("sunny weather", k=1)[0].text == "The weather in Porto is sunny."


def test_the_hnsw_graph_is_saved_and_loaded_not_rebuilt(tmp_path: Path) -> None:
    vecs = _vectors(400)
    idx = FaissIndex(DIM, tmp_path, hnsw_threshold=100)
    idx.add(list(range(400)), vecs, namespace="a", sessions=["s"] * 400)
    idx.delete([7, 8], namespace="a")
    idx.add([9], _vectors(1, 5), namespace="a", sessions=["s"])  # re-added: its old label is stale
    before = idx.search(vecs[3], 5, namespace="a")  # builds the graph
    built = idx._spaces["a"].hnsw
    assert built is not None
    idx.close()
    assert any(name.endswith(".hnsw") for name in _files(tmp_path))

    again = FaissIndex(DIM, tmp_path, hnsw_threshold=100)
    graph = again._spaces["a"].hnsw
    assert graph is not None and graph.ntotal == built.ntotal  # loaded with the index
    after = again.search(vecs[3], 5, namespace="a")
    assert again._spaces["a"].hnsw is graph  # the first search used it, no rebuild
    np.testing.assert_array_equal(after[0], before[0])
    assert 7 not in again.search(vecs[7], 400, namespace="a")[0].tolist()  # deletes hold after the reload


def test_a_damaged_graph_warns_and_only_the_graph_is_rebuilt(tmp_path: Path) -> None:
    vecs = _vectors(300)
    idx = FaissIndex(DIM, tmp_path, hnsw_threshold=100)
    idx.add(list(range(300)), vecs, namespace="a", sessions=["s"] * 300)
    idx.search(vecs[0], 3, namespace="a")
    idx.close()
    _corrupt(next(tmp_path.glob("*.hnsw")))
    with pytest.warns(IndexFileWarning, match="HNSW"):
        again = FaissIndex(DIM, tmp_path, hnsw_threshold=100)
    assert len(again) == 300 and again._spaces["a"].hnsw is None
    assert again.search(vecs[42], 1, namespace="a")[0].tolist() == [42]


def _saver(path: str, namespace: str, rounds: int, seed: int) -> None:
    """Another process: adds to its namespace and saves, over and over."""
    rng = np.random.default_rng(seed)
    index = FaissIndex(8, path)
    for r in range(rounds):
        vecs = rng.normal(size=(20, 8)).astype(np.float32)
        index.add(np.arange(r * 20, r * 20 + 20) + seed * 100_000, vecs, namespace=namespace, sessions=["s"] * 20)
        index.persist()


@pytest.mark.needs("process")
def test_two_processes_saving_one_folder_never_leave_damaged_files(tmp_path: Path) -> None:
    """Without the folder lock the two interleave their files, temporary names and clean-ups."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_saver, args=(str(tmp_path), f"ns{k}", 40, k + 1)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexFileWarning)
        index = FaissIndex(8, tmp_path)  # every file the manifest names is there and intact
    counts = [len(index.ids(ns)) for ns in index.namespaces()]  # the last saver's view: its own namespace whole
    assert 800 in counts and all(n % 20 == 0 and n <= 800 for n in counts)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["files"]) == {p.name for p in tmp_path.iterdir() if p.name.count(".") >= 2}
