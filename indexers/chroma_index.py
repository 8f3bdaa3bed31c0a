"""Chroma backend: one collection per namespace, our vectors, metadata ``where`` filters.

- Collections are created with ``embedding_function=None`` and the ``ip`` space: Chroma
  never embeds anything itself (it would otherwise download its own ONNX model); turnmem
  always passes the vectors it computed.
- Collection names are ``tm_<sha1(deployment, namespace)[:16]>`` (Chroma limits names to 3-63
  safe characters); the namespace and the deployment are kept in the collection's metadata.
  A *deployment* is one memory (one log): :class:`memory.Memory` gives its index the random id
  its log keeps, so several memories can share one Chroma server, each touching, listing and
  dropping only the collections it created (the same namespace name in two of them is two
  collections). Without a deployment id (an index used on its own) names are
  ``tm_<sha1(namespace)[:16]>`` and only collections without a deployment are listed.
- Each vector carries ``{"session": ...}`` metadata; session-scoped search is a
  ``where={"session": {"$in": [...]}}`` filter.
- Writes are split into batches of at most the client's ``get_max_batch_size()``.
- Several clients may share a server: a collection emptied by ``delete`` is kept (only
  ``drop(namespace)`` deletes it, so a concurrent writer never loses a batch), and a
  cached collection that another client dropped is looked up again by name.

Chroma returns ``distance = 1 - <q, v>`` in the ``ip`` space; scores are ``1 - distance``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from indexers.base import EMPTY_RESULT, check_query, prepare_batch
from memory.errors import IndexMismatch

PREFIX = "tm_"
T = TypeVar("T")


class _Missing(Enum):
    """What ``_with`` returns for a namespace without a collection (``fn`` itself may return None)."""

    MISSING = "missing"


_MISSING = _Missing.MISSING


def _not_found(exc: Exception) -> bool:
    """A missing collection: ``NotFoundError`` (chromadb >= 0.6), or a ``ValueError`` saying so."""
    from chromadb.errors import NotFoundError  # noqa: PLC0415 - lazy: importing chromadb takes seconds

    return isinstance(exc, NotFoundError) or (isinstance(exc, ValueError) and "does not exist" in str(exc))


def collection_name(namespace: str, deployment: str | None = None) -> str:
    key = namespace if deployment is None else f"{deployment}\x00{namespace}"
    return PREFIX + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _settings() -> Any:
    from chromadb.config import Settings  # noqa: PLC0415 - lazy: importing chromadb takes seconds

    return Settings(anonymized_telemetry=False, allow_reset=False)


class ChromaIndex:
    """The ``Index`` protocol on a chromadb client (persistent folder or HTTP server)."""

    def __init__(self, client: Any, dim: int, *, deployment: str | None = None) -> None:
        if not isinstance(dim, int) or dim <= 0:
            raise ValueError("dim: give the embedding dimension as a positive int (MiniLM: 384)")
        if deployment is not None and (not isinstance(deployment, str) or not deployment):
            raise ValueError("deployment: give a non-empty string id (or None)")
        self.client = client
        self.dim = dim
        self.deployment = deployment
        self._lock = threading.RLock()
        self._collections: dict[str, Any] = {}
        try:
            self.max_batch = int(client.get_max_batch_size())
        except Exception:  # older clients
            self.max_batch = 5000

    @classmethod
    def persistent(cls, path: str | Path, dim: int, *, deployment: str | None = None) -> ChromaIndex:
        """A Chroma ``PersistentClient`` in folder ``path``."""
        import chromadb  # noqa: PLC0415 - lazy: importing chromadb takes seconds, and FAISS is the default

        Path(path).mkdir(parents=True, exist_ok=True)
        return cls(chromadb.PersistentClient(path=str(path), settings=_settings()), dim, deployment=deployment)

    @classmethod
    def http(
        cls, host: str = "127.0.0.1", port: int = 8000, dim: int = 384, *, deployment: str | None = None
    ) -> ChromaIndex:
        """A Chroma ``HttpClient`` talking to a ``chroma run`` server."""
        import chromadb  # noqa: PLC0415 - lazy, as in persistent

        return cls(chromadb.HttpClient(host=host, port=port, settings=_settings()), dim, deployment=deployment)

    def _ours(self, metadata: dict[str, Any] | None) -> bool:
        """Whether a collection belongs to this deployment (by its metadata)."""
        return (metadata or {}).get("deployment") == self.deployment

    # -- collections -----------------------------------------------------------------------

    def _collection(self, namespace: str, create: bool = False) -> Any | None:
        with self._lock:
            col = self._collections.get(namespace)
            if col is not None:
                return col
            name = collection_name(namespace, self.deployment)
            if create:
                # Chroma's default search ef (10) gives recall@50 of 0.6 at 100k vectors; 128
                # keeps it near FAISS HNSW's (benchmarks/bench_scale.py)
                metadata: dict[str, Any] = {
                    "hnsw:space": "ip",
                    "hnsw:search_ef": 128,
                    "hnsw:construction_ef": 128,
                    "namespace": namespace,
                    "dim": self.dim,
                }
                if self.deployment is not None:
                    metadata["deployment"] = self.deployment
                col = self.client.get_or_create_collection(name, embedding_function=None, metadata=metadata)
            else:
                try:
                    col = self.client.get_collection(name, embedding_function=None)
                except Exception as exc:
                    if _not_found(exc):
                        return None
                    raise  # a server that is down is not an empty index
            dim = (col.metadata or {}).get("dim")
            if dim is not None and int(dim) != self.dim:
                raise IndexMismatch(
                    f"dim: Chroma collection {name!r} holds {dim}-d vectors but {self.dim}-d were "
                    "asked for; open it with the same model or rebuild the index"
                )
            self._collections[namespace] = col
            return col

    def _with(self, namespace: str, fn: Callable[[Any], T], *, create: bool = False) -> T | Literal[_Missing.MISSING]:
        """``fn(collection)``, or ``_MISSING`` if the namespace has none; a cached collection
        that another client dropped (or dropped and re-created) is looked up again once."""
        for attempt in (0, 1):
            col = self._collection(namespace, create=create)
            if col is None:
                return _MISSING
            try:
                return fn(col)
            except Exception as exc:
                if attempt or not _not_found(exc):
                    raise
                with self._lock:
                    if self._collections.get(namespace) is col:
                        del self._collections[namespace]
        raise AssertionError("unreachable")

    # -- writes ----------------------------------------------------------------------------

    def add(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, *, namespace: str, sessions: Sequence[str]
    ) -> None:
        arr, vecs, sessions = prepare_batch(ids, vectors, sessions, self.dim)
        if arr.size == 0:
            return

        def upsert(col: Any) -> None:
            step = max(1, self.max_batch)
            for start in range(0, arr.shape[0], step):
                end = start + step
                col.upsert(
                    ids=[str(i) for i in arr[start:end].tolist()],
                    embeddings=vecs[start:end],
                    metadatas=[{"session": s} for s in sessions[start:end]],
                )

        self._with(namespace, upsert, create=True)

    def delete(self, ids: Sequence[int] | np.ndarray, *, namespace: str) -> None:
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size == 0:
            return

        def delete(col: Any) -> None:
            step = max(1, self.max_batch)
            for start in range(0, arr.shape[0], step):
                col.delete(ids=[str(i) for i in arr[start : start + step].tolist()])

        self._with(namespace, delete)

    def drop(self, namespace: str, session: str | None = None) -> None:
        if session is not None:
            self._with(namespace, lambda col: col.delete(where={"session": session}))
            return
        with self._lock:
            self._collections.pop(namespace, None)
            try:
                self.client.delete_collection(collection_name(namespace, self.deployment))
            except Exception as exc:
                if not _not_found(exc):
                    raise

    # -- reads -----------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, *, namespace: str, sessions: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = check_query(query, self.dim)
        empty = EMPTY_RESULT
        if k <= 0:
            return empty
        where = None
        if sessions is not None:
            sess = sorted(set(sessions))
            if not sess:
                return empty
            where = {"session": sess[0]} if len(sess) == 1 else {"session": {"$in": sess}}

        def nearest(col: Any) -> Any:
            n = col.count()
            if n == 0:
                return None
            return col.query(query_embeddings=q, n_results=min(k, n), where=where, include=["distances"])

        res = self._with(namespace, nearest)
        if res is _MISSING or res is None:
            return empty
        ids = np.asarray([int(i) for i in res["ids"][0]], dtype=np.int64)
        scores = 1.0 - np.asarray(res["distances"][0], dtype=np.float32)
        order = np.argsort(-scores, kind="stable")
        return ids[order], scores[order].astype(np.float32)

    def ids(self, namespace: str) -> np.ndarray:

        def ids(col: Any) -> list[int]:
            out: list[int] = []
            total = col.count()
            page = max(1, self.max_batch)
            for offset in range(0, total, page):
                got = col.get(include=[], limit=page, offset=offset)
                out.extend(int(i) for i in got["ids"])
            return out

        out = self._with(namespace, ids)
        return np.asarray([] if out is _MISSING else out, dtype=np.int64)

    def namespaces(self) -> list[str]:
        out = []
        for col in self.client.list_collections():
            name = col.name if hasattr(col, "name") else str(col)
            if not name.startswith(PREFIX):
                continue
            try:
                c = self.client.get_collection(name, embedding_function=None)
                ns = (c.metadata or {}).get("namespace")
                if ns is not None and self._ours(c.metadata) and c.count() > 0:
                    out.append(str(ns))
            except Exception as exc:  # dropped meanwhile by another client
                if not _not_found(exc):
                    raise
        return out

    def persist(self) -> None:
        """Chroma writes through; nothing to do."""

    def close(self) -> None:
        self._collections.clear()

    def __repr__(self) -> str:
        return f"ChromaIndex(dim={self.dim}, client={type(self.client).__name__}, deployment={self.deployment!r})"
