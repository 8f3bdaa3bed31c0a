"""Which embedder made a log's vectors: its name, dimension and a fingerprint of its output.

Two models of the same dimension (MiniLM and another 384-d model) give vectors of different
spaces; mixing them makes search silently wrong. So the log keeps, in its meta table, the
embedder's ``name``, ``dim`` and ``embedder_probe``: its unit vector for :data:`PROBE_TEXT`.
On open, the embedder given embeds the same text; if its vector is not the stored one (cosine
below :data:`SAME_MODEL_COSINE`: the same model on another machine or thread count differs only
in the last float digits), or its dimension differs, :class:`IndexMismatch` names both models
and the fix, ``turnmem reindex --data FOLDER --embedder NAME`` (re-embeds every chunk from the
log with the new model: :func:`reembed`).

Backends of one model (the bundled MiniLM on torch, on ONNX Runtime, or ONNX int8: see
:func:`memory.embedders.bundled_embedder`) carry the model's name and give vectors of the same
space: fp32 ONNX agrees with torch to float noise, int8 to a cosine of about 0.99 (0.988 on the
probe text). So when the stored name is the embedder's name the floor is
:data:`SAME_NAME_COSINE`, low enough for int8 and still far above what another model gives
(unrelated spaces agree near 0); under another name the strict floor stays.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from memory.embedders import Embedder
from memory.errors import IndexMismatch
from memory.stores.base import MetaStore

PROBE_TEXT = "turnmem embedder fingerprint: Ana booked Casa Azul in Lisbon for 129 EUR on 14 June."
SAME_MODEL_COSINE = 0.99
SAME_NAME_COSINE = 0.97


def probe(embedder: Embedder) -> np.ndarray:
    """The embedder's unit vector for the fixed probe text. A batching front
    (:class:`memory.embedders.BatchingEmbedder`) is probed through its model: its queue
    timeout is a policy for requests, not for opening the memory."""
    model: Embedder = getattr(embedder, "inner", embedder)
    vec = np.asarray(model.embed([PROBE_TEXT])[0], dtype=np.float64)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def identity(embedder: Embedder) -> dict[str, str]:
    """The meta rows that name ``embedder`` as the maker of the log's vectors."""
    return {
        "embedder": embedder.name,
        "dim": str(embedder.dim),
        "embedder_probe": json.dumps([round(float(x), 6) for x in probe(embedder)]),
    }


def record(store: MetaStore, embedder: Embedder) -> None:
    """Remember ``embedder`` as the maker of the log's vectors."""
    for key, value in identity(embedder).items():
        store.set_meta(key, value)


def check(store: MetaStore, embedder: Embedder) -> None:
    """Refuse an embedder other than the one that made the log's vectors (a new log records it)."""
    name, dim, stored = store.get_meta("embedder"), store.get_meta("dim"), store.get_meta("embedder_probe")
    if name is None:
        record(store, embedder)
        return
    if int(dim or 0) != embedder.dim:
        raise _mismatch(name, int(dim or 0), embedder, "its vectors have another dimension")
    if stored is None:  # a log written before fingerprints: the name is all there is to compare
        if name != embedder.name:
            raise _mismatch(name, int(dim or 0), embedder, "it has another name")
        record(store, embedder)
        return
    cosine = float(np.dot(np.asarray(json.loads(stored), dtype=np.float64), probe(embedder)))
    if cosine < (SAME_NAME_COSINE if name == embedder.name else SAME_MODEL_COSINE):
        raise _mismatch(name, int(dim or 0), embedder, f"its vector for a fixed text differs (cosine {cosine:.3f})")


def _mismatch(name: str, dim: int, embedder: Embedder, why: str) -> IndexMismatch:
    return IndexMismatch(
        f"embedder: this memory's vectors come from {name!r} ({dim}-d), but the embedder given is "
        f"{embedder.name!r} ({embedder.dim}-d) and {why}; open it with {name!r}, or re-embed the log "
        f"with the new model: turnmem reindex --data FOLDER --embedder {embedder.name}"
    )


def reembed(store: MetaStore, embedder: Embedder, advance: Callable[[int], None] | None = None) -> int:
    """Recompute every chunk's vector with ``embedder`` and record it as the log's embedder, in one
    transaction of the store; returns the chunks re-embedded. A derived index (FAISS, Chroma) must
    be rebuilt afterwards; a live one (pgvector) is rebuilt in that transaction."""
    return store.reembed(embedder.embed, identity(embedder), advance)
