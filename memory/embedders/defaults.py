"""Embedders by name: the bundled MiniLM on each backend, ``$TURNMEM_EMBEDDER``, a folder or ``openai:MODEL``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from memory.embedders.base import DEFAULT_MODEL, Embedder, bundled_model_path
from memory.embedders.onnx import OnnxEmbedder, Precision
from memory.embedders.openai import OpenAIEmbedder
from memory.embedders.sentence import SentenceTransformerEmbedder
from memory.errors import InvalidArgument

BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "onnx"
_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def bundled_embedder(backend: str = DEFAULT_BACKEND) -> Embedder:
    """The bundled MiniLM on ``backend``, one shared instance per backend per process (90 MB each).

    ``torch`` is sentence-transformers (the plain model); ``onnx`` and ``onnx-int8`` run a local
    ONNX export of the same weights (:mod:`memory.embedders.onnx`). All three carry the model's
    name: their vectors are the same space (see :mod:`memory.embedders.identity` for the tolerance)."""
    if backend not in BACKENDS:
        raise InvalidArgument(f"embedder: backend {backend!r} is not one of {', '.join(BACKENDS)}", field="embedder")
    with _SHARED_LOCK:
        if backend not in _SHARED:
            if backend == "torch":
                _SHARED[backend] = SentenceTransformerEmbedder()
            else:
                precision: Precision = "int8" if backend == "onnx-int8" else "fp32"
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
