"""The eval's ingest: a dataset stored in a :class:`memory.Memory`, and the key of a kept ingest.

Every conversation becomes a namespace (each session a session, each turn a message carrying
``metadata["turn_id"]``); sessions already stored are skipped. :func:`ingest_key` names the
folder a kept ingest lives in, so an eval never reuses one made by other code or another model.
"""

from __future__ import annotations

import hashlib
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from rich.progress import Progress

from eval.datasets import Dataset
from memory.embedders import Embedder
from memory.memory import Memory
from memory.tokens import TokenCounter


def versions() -> dict[str, str]:
    """Python's version and those of the packages a result depends on (the installed ones)."""
    out = {"python": platform.python_version()}
    for pkg in ("turnmem", "sentence-transformers", "torch", "faiss-cpu", "chromadb", "bm25s", "bpe-openai", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def ingest(
    memory: Memory,
    dataset: Dataset,
    *,
    progress: bool = True,
    batch_sessions: int = 1,
) -> dict[str, float]:
    """Store every conversation of ``dataset`` in ``memory`` (skipping sessions already there)."""
    total = sum(len(s.turns) for c in dataset.conversations for s in c.sessions)
    stored = sum(
        min(memory.last_seq(s.id, namespace=c.id), len(s.turns)) for c in dataset.conversations for s in c.sessions
    )
    memory.embedder.embed(["warm-up"])  # load the model outside the timed part
    t0 = time.perf_counter()
    added = 0
    with Progress(disable=not progress or stored == total, transient=False) as bar:  # no bar when all is stored
        task = bar.add_task(f"ingest {dataset.name}", total=total)
        for conv in dataset.conversations:
            for sess in conv.sessions:
                n = len(sess.turns)
                if n == 0:
                    continue
                if memory.last_seq(sess.id, namespace=conv.id) >= n:
                    bar.advance(task, n)
                    continue
                messages = []
                for t in sess.turns:
                    msg = dict(t.message)
                    meta = dict(msg.get("metadata") or {})
                    meta["turn_id"] = t.id
                    msg["metadata"] = meta
                    if t.timestamp is not None:
                        msg["timestamp"] = t.timestamp
                    messages.append(msg)
                memory.add(messages, session=sess.id, namespace=conv.id, idempotency_key=f"ingest:{conv.id}:{sess.id}")
                added += n
                bar.advance(task, n)
    memory.flush()  # every vector indexed (write-behind): the eval searches right after, and the time counts it
    memory.index.persist()
    secs = time.perf_counter() - t0
    return {
        "ingest_s": secs,
        "ingested_messages": float(added),
        "messages_per_s": added / secs if secs and added else 0.0,
    }


# Bump when what ingest stores changes outside the files hashed below (e.g. what gets embedded).
INGEST_VERSION = 2
_INGEST_SOURCES = (
    "memory/write/chunking.py",
    "memory/models/messages.py",
    "memory/models/parse.py",
    "memory/tokens.py",
    "memory/models/images.py",
)


def ingest_key(embedder: Embedder, counter: TokenCounter | str) -> str:
    """A short hash of what an ingested memory depends on: the turnmem version, the code that
    turns a conversation into stored chunks, the embedder's identity (name, dimension and its
    vector for a fixed text) and the token counter. A kept ``memory_dir`` holds one folder
    per key, so an eval never reuses an ingest made by other code or another model."""
    h = hashlib.sha256()
    h.update(versions().get("turnmem", "unversioned").encode())
    h.update(str(INGEST_VERSION).encode())
    root = Path(__file__).resolve().parents[1]
    for rel in _INGEST_SOURCES:
        h.update((root / rel).read_bytes())
    h.update(f"{embedder.name}:{embedder.dim}".encode())
    h.update(np.round(embedder.embed(["turnmem ingest key"])[0], 4).astype(np.float32).tobytes())
    h.update((counter if isinstance(counter, str) else getattr(counter, "name", type(counter).__name__)).encode())
    return h.hexdigest()[:12]
