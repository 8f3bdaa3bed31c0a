"""FAISS backend: one exact inner-product index per namespace, persisted atomically.

Layout of the index folder::

    manifest.json          # {"version", "dim", "generation", "namespaces": {ns: file stem}}
    <stem>.<gen>.faiss     # IndexIDMap2(IndexFlatIP) of the namespace
    <stem>.<gen>.npz       # ids and session codes (for session-scoped search)

``persist`` writes new files under a new generation, then atomically replaces the
manifest, then removes the previous generation: a crash at any point leaves a manifest
that points at complete files (the log then re-adds whatever the index missed).

Session filters use ``faiss.IDSelectorBatch`` over the ids of the selected sessions, so a
scoped search is still exact. Above ``hnsw_threshold`` vectors a namespace also keeps an
HNSW graph for unscoped searches (the exact index stays the reference and serves scoped
searches and deletes). The graph is append-only: each entry gets a sequential label, and
an id's current label is the only live one, so deleted ids and the old vectors of
re-added ids are filtered out of HNSW results; the graph is rebuilt when a quarter of it
is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from indexers.base import EMPTY_RESULT, check_query, prepare_batch
from memory.errors import IndexMismatch

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def _stem(namespace: str) -> str:
    return hashlib.sha1(namespace.encode("utf-8")).hexdigest()[:16]


@dataclass
class _Space:
    """One namespace: exact index, id → session, session → ids, optional HNSW.

    ``hnsw_id[label]`` is the id stored under graph label ``label``; ``hnsw_label[id]`` is
    the id's live label (absent once deleted). Entries whose label is not live are stale.
    """

    index: faiss.IndexIDMap2
    session_of: dict[int, str] = field(default_factory=dict)
    members: dict[str, set[int]] = field(default_factory=dict)
    hnsw: faiss.IndexHNSWFlat | None = None
    hnsw_id: list[int] = field(default_factory=list)
    hnsw_label: dict[int, int] = field(default_factory=dict)
    dirty: bool = True

    @property
    def hnsw_stale(self) -> int:
        return len(self.hnsw_id) - len(self.hnsw_label)

    def hnsw_append(self, ids: list[int], vecs: np.ndarray) -> None:
        assert self.hnsw is not None
        start = len(self.hnsw_id)
        self.hnsw.add(vecs)
        self.hnsw_id.extend(ids)
        for j, i in enumerate(ids):
            self.hnsw_label[i] = start + j


class FaissIndex:
    """Exact (flat inner product) FAISS index per namespace; optional HNSW above a size.

    ``path=None`` keeps everything in memory (``persist`` is then a no-op).
    """

    def __init__(
        self,
        dim: int,
        path: str | Path | None = None,
        *,
        hnsw_threshold: int | None = None,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 128,
    ) -> None:
        if not isinstance(dim, int) or dim <= 0:
            raise ValueError("dim: give the embedding dimension as a positive int (MiniLM: 384)")
        self.dim = dim
        self.path = Path(path) if path is not None else None
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self._spaces: dict[str, _Space] = {}
        self._generation = 0
        self._lock = threading.RLock()
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._load()

    # -- persistence -----------------------------------------------------------------------

    def _load(self) -> None:
        assert self.path is not None
        manifest = self.path / MANIFEST
        if not manifest.exists():
            return
        meta = json.loads(manifest.read_text())
        if int(meta.get("dim", self.dim)) != self.dim:
            raise IndexMismatch(
                f"dim: the FAISS index at {str(self.path)!r} holds {meta['dim']}-d vectors but "
                f"{self.dim}-d were asked for; open it with the same model or rebuild it"
            )
        self._generation = int(meta.get("generation", 0))
        for ns, stem in meta.get("namespaces", {}).items():
            base = self.path / f"{stem}.{self._generation}"
            index = faiss.read_index(str(base) + ".faiss")
            arrays = np.load(str(base) + ".npz", allow_pickle=False)
            names = [str(s) for s in arrays["names"]]
            space = _Space(index=index)
            for i, code in zip(arrays["ids"].tolist(), arrays["codes"].tolist()):
                s = names[code]
                space.session_of[i] = s
                space.members.setdefault(s, set()).add(i)
            space.dirty = False
            self._spaces[ns] = space

    def persist(self) -> None:
        if self.path is None:
            return
        with self._lock:
            if not any(s.dirty for s in self._spaces.values()) and (self.path / MANIFEST).exists():
                current = json.loads((self.path / MANIFEST).read_text()).get("namespaces", {})
                if set(current) == set(self._spaces):
                    return
            old = self._generation
            gen = old + 1
            names: dict[str, str] = {}
            for ns, space in self._spaces.items():
                stem = _stem(ns)
                names[ns] = stem
                base = self.path / f"{stem}.{gen}"
                faiss.write_index(space.index, str(base) + ".faiss.tmp")
                os.replace(str(base) + ".faiss.tmp", str(base) + ".faiss")
                sess = sorted(space.members)
                code = {s: k for k, s in enumerate(sess)}
                ids = np.fromiter(space.session_of.keys(), dtype=np.int64, count=len(space.session_of))
                codes = np.fromiter((code[s] for s in space.session_of.values()), dtype=np.int32, count=len(ids))
                with open(str(base) + ".npz.tmp", "wb") as fh:
                    np.savez(fh, ids=ids, codes=codes, names=np.array(sess, dtype=str))
                os.replace(str(base) + ".npz.tmp", str(base) + ".npz")
            manifest = {"version": FORMAT_VERSION, "dim": self.dim, "generation": gen, "namespaces": names}
            tmp = self.path / (MANIFEST + ".tmp")
            tmp.write_text(json.dumps(manifest, ensure_ascii=False))
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / MANIFEST)
            self._generation = gen
            for space in self._spaces.values():
                space.dirty = False
            for f in self.path.iterdir():  # previous generations and leftovers
                parts = f.name.split(".")
                if f.name != MANIFEST and len(parts) >= 3 and parts[1] != str(gen):
                    f.unlink(missing_ok=True)

    def close(self) -> None:
        self.persist()

    # -- writes ----------------------------------------------------------------------------

    def _space(self, namespace: str, create: bool = False) -> _Space | None:
        space = self._spaces.get(namespace)
        if space is None and create:
            space = _Space(index=faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)))
            self._spaces[namespace] = space
        return space

    def add(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, *, namespace: str, sessions: Sequence[str]
    ) -> None:
        arr, vecs, sessions = prepare_batch(ids, vectors, sessions, self.dim)
        if arr.size == 0:
            return
        with self._lock:
            space = self._space(namespace, create=True)
            assert space is not None
            present = [i for i in arr.tolist() if i in space.session_of]
            if present:
                self._remove(space, present)
            space.index.add_with_ids(vecs, arr)
            for i, s in zip(arr.tolist(), sessions):
                space.session_of[i] = s
                space.members.setdefault(s, set()).add(i)
            if space.hnsw is not None:
                space.hnsw_append(arr.tolist(), vecs)
            space.dirty = True

    def _remove(self, space: _Space, ids: Sequence[int]) -> None:
        arr = np.asarray(list(ids), dtype=np.int64)
        space.index.remove_ids(faiss.IDSelectorBatch(arr))
        for i in arr.tolist():
            s = space.session_of.pop(i, None)
            if s is not None:
                m = space.members.get(s)
                if m is not None:
                    m.discard(i)
                    if not m:
                        del space.members[s]
            space.hnsw_label.pop(i, None)
        space.dirty = True

    def delete(self, ids: Sequence[int] | np.ndarray, *, namespace: str) -> None:
        with self._lock:
            space = self._space(namespace)
            if space is None:
                return
            present = [i for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist() if i in space.session_of]
            if present:
                self._remove(space, present)
            if not space.session_of:
                del self._spaces[namespace]

    def drop(self, namespace: str, session: str | None = None) -> None:
        with self._lock:
            space = self._space(namespace)
            if space is None:
                return
            if session is None:
                del self._spaces[namespace]
                return
            members = space.members.get(session)
            if members:
                self._remove(space, sorted(members))
            if not space.session_of:
                del self._spaces[namespace]

    # -- reads -----------------------------------------------------------------------------

    def _hnsw_for(self, space: _Space) -> faiss.IndexHNSWFlat | None:
        if self.hnsw_threshold is None or space.index.ntotal < self.hnsw_threshold:
            return None
        if space.hnsw is None or space.hnsw_stale > len(space.hnsw_id) // 4:
            n = space.index.ntotal
            ids = faiss.vector_to_array(space.index.id_map).astype(np.int64)
            vecs = space.index.index.reconstruct_n(0, n)
            graph = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = self.ef_construction
            space.hnsw, space.hnsw_id, space.hnsw_label = graph, [], {}
            space.hnsw_append(ids.tolist(), vecs)
        return space.hnsw

    def search(
        self, query: np.ndarray, k: int, *, namespace: str, sessions: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = check_query(query, self.dim)
        empty = EMPTY_RESULT
        if k <= 0:
            return empty
        with self._lock:
            space = self._space(namespace)
            if space is None or space.index.ntotal == 0:
                return empty
            if sessions is not None:
                sel_ids = [i for s in set(sessions) for i in space.members.get(s, ())]
                if not sel_ids:
                    return empty
                sel = faiss.IDSelectorBatch(np.asarray(sel_ids, dtype=np.int64))
                kk = min(k, len(sel_ids))
                scores, ids = space.index.search(q, kk, params=faiss.SearchParameters(sel=sel))
            else:
                hnsw = self._hnsw_for(space)
                if hnsw is not None:
                    kk = min(k + space.hnsw_stale, hnsw.ntotal)
                    params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, kk))
                    scores, labels = hnsw.search(q, kk, params=params)
                    live = [
                        (space.hnsw_id[lab], j)
                        for j, lab in enumerate(labels[0].tolist())
                        if lab >= 0 and space.hnsw_label.get(space.hnsw_id[lab]) == lab
                    ][:k]
                    ids = np.asarray([[i for i, _ in live]], dtype=np.int64).reshape(1, -1)
                    scores = scores[:, [j for _, j in live]]
                else:
                    kk = min(k, space.index.ntotal)
                    scores, ids = space.index.search(q, kk)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def ids(self, namespace: str) -> np.ndarray:
        with self._lock:
            space = self._space(namespace)
            if space is None:
                return np.zeros(0, dtype=np.int64)
            return np.fromiter(space.session_of.keys(), dtype=np.int64, count=len(space.session_of))

    def namespaces(self) -> list[str]:
        with self._lock:
            return [ns for ns, s in self._spaces.items() if s.session_of]

    def __len__(self) -> int:
        return sum(len(s.session_of) for s in self._spaces.values())

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"FaissIndex(dim={self.dim}, path={where!r}, vectors={len(self)})"
