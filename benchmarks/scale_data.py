"""``bench_scale``'s data: synthetic sessions and questions, the texts ``Memory.add`` embeds, and the
embedders (the real one recording its batches; :class:`MixtureEmbedder`, MiniLM-like vectors
synthesized from real ones, see ``bench_scale``'s docstring)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from eval.synthetic import generate
from memory.models import parse_message
from memory.write.chunking import Chunker
from memory.write.pending import embed_text

NS = "bench"
DIM = 384
TURNS_PER_DATASET = 20_000


def sessions(max_turns: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(session id, messages)`` of synthetic conversations, cycled over seeds so that
    the texts vary (other names, ids, numbers) but keep the generator's shape."""
    seed = 1
    turns = 0
    while turns < max_turns:
        ds = generate(turns=TURNS_PER_DATASET, seed=seed, session_turns=20)
        for conv in ds.conversations:
            for sess in conv.sessions:
                msgs = []
                for t in sess.turns:
                    m = dict(t.message)
                    if t.timestamp is not None:
                        m["timestamp"] = t.timestamp
                    msgs.append(m)
                if msgs:
                    turns += len(msgs)
                    yield f"s{seed}-{sess.id}", msgs
        seed += 1


def questions(n: int) -> list[str]:
    out: list[str] = []
    seed = 1
    while len(out) < n:
        ds = generate(turns=TURNS_PER_DATASET, seed=seed, session_turns=20)
        out.extend(q.question for c in ds.conversations for q in c.questions)
        seed += 1
    return out[:n]


def chunk_texts(messages: Sequence[dict[str, Any]], chunker: Chunker) -> list[str]:
    """The texts ``Memory.add`` embeds for these messages (one per chunk)."""
    out = []
    for i, m in enumerate(messages):
        msg = parse_message(m, index=i)
        out.extend(embed_text(msg.name, p.text) for p in chunker.split(msg))
    return out


class RecordingEmbedder:
    """The real embedder, recording each batch it was given and the time it took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.batches: list[list[str]] = []
        self.outputs: list[np.ndarray] = []
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds += time.perf_counter() - t0
        self.batches.append(list(texts))
        self.outputs.append(out)
        return out


class MixtureEmbedder:
    """Synthesized MiniLM-like vectors: noisy mixtures of real embeddings (module docstring)."""

    def __init__(self, base_texts: Sequence[str], base: np.ndarray, *, sigma: float = 0.35, seed: int = 0) -> None:
        self.name = "synthetic-minilm-mixture"
        self.dim = int(base.shape[1])
        self.base = np.ascontiguousarray(base, dtype=np.float32)
        self.where = {t: i for i, t in enumerate(base_texts)}
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)
        self.seconds = 0.0

    def anchor(self, text: str) -> int:
        i = self.where.get(text)
        if i is None:
            h = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
            i = int.from_bytes(h, "little") % self.base.shape[0]
        return i

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        n = len(texts)
        i = np.fromiter((self.anchor(t) for t in texts), dtype=np.int64, count=n)
        j = self.rng.integers(0, self.base.shape[0], size=n)
        a = self.rng.uniform(0.7, 0.98, size=(n, 1)).astype(np.float32)
        noise = self.rng.normal(size=(n, self.dim)).astype(np.float32) / np.sqrt(self.dim)
        v = a * self.base[i] + (1 - a) * self.base[j] + self.sigma * noise
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        self.seconds += time.perf_counter() - t0
        return np.ascontiguousarray(v, dtype=np.float32)
