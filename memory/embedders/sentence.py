"""A sentence-transformers model on the CPU, offline by default."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from memory.embedders.base import DEFAULT_MODEL, bundled_model_path, clip_for_model, normalize
from memory.errors import InvalidArgument

if TYPE_CHECKING:  # for annotations only: sentence-transformers (and torch) load lazily, on first embed
    from sentence_transformers import SentenceTransformer


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
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._dim: int | None = 384 if model is None else None

    def _load(self) -> SentenceTransformer:
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    if not self.allow_download:
                        os.environ.setdefault("HF_HUB_OFFLINE", "1")
                        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    # lazy heavy imports: torch and sentence-transformers take seconds and GBs
                    from sentence_transformers import SentenceTransformer  # noqa: PLC0415

                    try:  # no "Loading weights" bar on every start
                        from transformers.utils import logging as hf_logging  # noqa: PLC0415

                        hf_logging.disable_progress_bar()
                    except Exception:  # pragma: no cover - older transformers
                        pass
                    loaded = SentenceTransformer(self._model_arg, device=self.device)
                    dim = loaded.get_embedding_dimension()
                    if dim is None:
                        raise InvalidArgument(
                            f"embedder: {self._model_arg} does not say its dimension", field="embedder"
                        )
                    self._dim = int(dim)
                    self._model = loaded
                model = self._model
        return model

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
            clip_for_model(texts, int(model.max_seq_length or 512)),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalize(out)
