"""The bundled MiniLM on ONNX Runtime: exported offline from the bundled weights into a cache,
giving the torch model's vectors (fp32: the same to float noise; int8: close), and a memory
written by one backend opens with another."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from memory.embedders import (
    DEFAULT_MODEL,
    Embedder,
    bundled_embedder,
    bundled_model_path,
    default_embedder,
    embedder_named,
)
from memory.embedders.identity import check, record
from memory.embedders.onnx import OnnxEmbedder, cache_root, exported_model, model_hash
from memory.errors import IndexMismatch, InvalidArgument
from memory.memory import Memory
from memory.stores.sqlite import SQLiteStore
from tests.tiers import starts

TEXTS = [
    "Which hotel did we book in Lisbon?",
    "Booked Casa Azul, 129 EUR a night, for 14 June.",
    "ok",
    "",
    "Caroline went to an LGBTQ support group yesterday and said it was powerful. " * 12,
]


@pytest.fixture(scope="module")
@starts("model")  # exports the bundled MiniLM (torch) into a fresh cache
def offline_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh export cache, filled with the hub switched off and every socket connect refused."""
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("turnmem-cache")
    mp.setenv("TURNMEM_CACHE", str(folder))
    mp.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is off in this test")

    mp.setattr(socket.socket, "connect", refuse)
    try:
        exported_model(bundled_model_path(), "int8", quiet=True)  # exports fp32 on the way
    finally:
        mp.undo()
    mp.setenv("TURNMEM_CACHE", str(folder))
    yield folder
    mp.undo()


def test_export_is_offline_cached_and_whole(offline_cache: Path) -> None:
    folder = cache_root() / model_hash(bundled_model_path())
    assert folder.parent.parent == offline_cache
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["model-int8.onnx", "model.onnx"]  # no temporary file left behind
    assert (folder / "model-int8.onnx").stat().st_size < (folder / "model.onnx").stat().st_size / 3
    before = (folder / "model.onnx").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert exported_model(bundled_model_path(), "fp32") == folder / "model.onnx"
    assert time.perf_counter() - t0 < 2.0 and (folder / "model.onnx").stat().st_mtime_ns == before  # reused


@pytest.fixture(scope="module")
@starts("model")
def torch_model() -> Embedder:
    """The plain model (sentence-transformers on torch), whatever the default backend is."""
    return bundled_embedder("torch")


# int8 agrees less on the shortest texts ("ok": 0.94), about 0.99 on sentences and chunks
@pytest.mark.parametrize(("precision", "floor", "mean_floor"), [("fp32", 0.9999, 0.9999), ("int8", 0.92, 0.97)])
def test_onnx_vectors_match_the_torch_model(
    offline_cache: Path, torch_model: Embedder, precision: str, floor: float, mean_floor: float
) -> None:
    onnx = OnnxEmbedder(bundled_model_path(), name=DEFAULT_MODEL, precision=precision)  # type: ignore[arg-type]
    assert onnx.dim == 384 and onnx.name == DEFAULT_MODEL
    got = onnx.embed(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * torch_model.embed(TEXTS)).sum(1)
    assert cos.min() >= floor and cos.mean() >= mean_floor, cos
    # Sorting by length inside embed must not reorder the answer: each text alone gives its row.
    # int8 only to a cosine: dynamic quantization scales activations per batch, so a text's
    # vector depends a little on the texts batched with it.
    alone = onnx.embed([TEXTS[0], TEXTS[4]])
    assert ((alone * got[[0, 4]]).sum(1) >= (0.97 if precision == "int8" else 0.99999)).all()
    assert onnx.embed([]).shape == (0, 384)


def test_backends_by_name_and_by_environment(offline_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx = embedder_named(f"{DEFAULT_MODEL}:onnx")
    assert isinstance(onnx, OnnxEmbedder) and onnx.backend == "onnx"
    assert embedder_named(f"{DEFAULT_MODEL}:onnx") is onnx  # one per process
    monkeypatch.setenv("TURNMEM_EMBEDDER", f"{DEFAULT_MODEL}:onnx")
    assert default_embedder() is onnx
    with pytest.raises(InvalidArgument) as err:
        embedder_named(f"{DEFAULT_MODEL}:tensorrt")
    assert err.value.field == "embedder" and "onnx-int8" in str(err.value)
    with pytest.raises(InvalidArgument):
        OnnxEmbedder(bundled_model_path(), name=DEFAULT_MODEL, precision="int4")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_memory_written_on_torch_opens_on_onnx(
    offline_cache: Path, tmp_path: Path, torch_model: Embedder, backend: str
) -> None:
    turns = [
        {"role": "user", "content": "Book Casa Azul in Lisbon for 14 June."},
        {"role": "assistant", "content": "Booked Casa Azul, 129 EUR a night."},
    ]
    with Memory.open(tmp_path / "m", embedder=torch_model) as mem:
        mem.add(turns, session="s")
    other = embedder_named(f"{DEFAULT_MODEL}:{backend}")
    with Memory.open(tmp_path / "m", embedder=other) as mem:  # same model: the identity check passes
        ctx = mem.assemble("Which hotel in Lisbon?", session="s", budget=200)
        assert "Casa Azul" in str(ctx.messages)
    with Memory.open(tmp_path / "m", embedder=torch_model) as mem:  # and back
        mem.add([{"role": "user", "content": "Thanks!"}], session="s")
    assert os.environ.get("TURNMEM_CACHE") == str(offline_cache)


class _Tilted:
    """MiniLM's name with vectors tilted from the real ones by a set cosine (a stand-in backend)."""

    def __init__(self, inner: Embedder, name: str, cosine: float) -> None:
        # not `self.inner`: identity.probe() would unwrap it and miss the tilt
        self.base, self.name, self.dim, self.cosine = inner, name, inner.dim, cosine

    def embed(self, texts: list[str]) -> np.ndarray:
        vecs = self.base.embed(texts)
        other = np.roll(vecs, 1, axis=1)
        other -= (other * vecs).sum(1, keepdims=True) * vecs  # orthogonal to each vector
        other /= np.linalg.norm(other, axis=1, keepdims=True)
        return (self.cosine * vecs + np.sqrt(1 - self.cosine**2) * other).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "cosine", "opens"),
    [(DEFAULT_MODEL, 0.98, True), (DEFAULT_MODEL, 0.9, False), ("another-model", 0.98, False)],
)
def test_identity_tolerates_backends_of_the_same_model_only(
    tmp_path: Path, embedder: Embedder, name: str, cosine: float, opens: bool
) -> None:
    store = SQLiteStore(tmp_path / "log.sqlite3")
    try:
        record(store, embedder)
        if opens:
            check(store, _Tilted(embedder, name, cosine))
        else:
            with pytest.raises(IndexMismatch):
                check(store, _Tilted(embedder, name, cosine))
    finally:
        store.close()


def test_once_exported_the_default_embedder_never_imports_torch(offline_cache: Path, tmp_path: Path) -> None:
    """README: the ONNX default needs "no torch, transformers or sentence-transformers import at
    run time once the export exists" (a fresh process: add, index, assemble)."""
    code = (
        "import sys\n"
        "from memory import Memory\n"
        "with Memory.open('m') as mem:\n"
        "    mem.add([{'role': 'user', 'content': 'My locker code is 4471.'}], session='s', wait_indexed=True)\n"
        "    assert '4471' in str(mem.assemble('locker code?', session='s', budget=300).messages)\n"
        "    print(type(mem.embedder).__name__)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "TURNMEM_CACHE": str(offline_cache), "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    env.pop("TURNMEM_EMBEDDER", None)
    cmd = [sys.executable, "-c", code]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["OnnxEmbedder", "[]"]


def test_the_environment_picks_the_backend_of_a_memory_given_no_embedder(
    torch_model: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: `TURNMEM_EMBEDDER=all-MiniLM-L6-v2:torch` is "read by every memory, the service and
    the CLI that is given no embedder" (all three open their memory through `default_embedder`)."""
    monkeypatch.setenv("TURNMEM_EMBEDDER", f"{DEFAULT_MODEL}:torch")
    with Memory.open(tmp_path / "m") as mem:
        assert mem.embedder is torch_model
