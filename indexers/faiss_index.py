"""FAISS backend: one exact inner-product index per namespace, persisted atomically.

Its files (one set per namespace, a manifest with their CRC-32s, saved atomically under a
generation and checked on open) are described in :mod:`indexers.faiss_files`.

Session filters use ``faiss.IDSelectorBatch`` over the ids of the selected sessions, so a
scoped search is still exact; so does :meth:`FaissIndex.search_among` (a point in the history).
Above ``hnsw_threshold`` vectors a namespace also keeps an
HNSW graph for unscoped searches (the exact index stays the reference and serves scoped
searches and deletes). The graph is append-only: each entry gets a sequential label, and
an id's current label is the only live one, so deleted ids and the old vectors of
re-added ids are filtered out of HNSW results; the graph is rebuilt when a quarter of it
is stale.
"""

from __future__ import annotations

import fcntl
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from indexers.base import EMPTY_RESULT, check_query, prepare_batch
from indexers.faiss_files import (
    FORMAT_VERSION,
    LOCK_FILE,
    MANIFEST,
    Damaged,
    IndexFileWarning,
    disk_generation,
    durable_write,
    folder_lock,
    fsync_dir,
    read_space,
    space_files,
    stem_of,
)
from indexers.faiss_space import Space
from indexers.locks import ReadWriteLock
from memory.errors import IndexMismatch

__all__ = ["FORMAT_VERSION", "LOCK_FILE", "MANIFEST", "FaissIndex", "IndexFileWarning"]


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
        self._spaces: dict[str, Space] = {}
        self._generation = 0
        self._lock = ReadWriteLock()  # searches side by side; changes alone
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._load()

    # -- persistence -----------------------------------------------------------------------

    def _warn(self, what: str) -> None:
        warnings.warn(
            f"FAISS index at {str(self.path)!r}: {what}; rebuilt from the log", IndexFileWarning, stacklevel=4
        )

    def _load(self) -> None:
        assert self.path is not None
        with folder_lock(self.path, fcntl.LOCK_SH):  # not while another process saves
            self._load_locked()

    def _load_locked(self) -> None:
        assert self.path is not None
        manifest = self.path / MANIFEST
        if not manifest.exists():
            if any(self.path.glob("*.faiss")):
                self._warn("manifest.json is missing")
            return
        try:
            meta = json.loads(manifest.read_text())
            spaces = dict(meta.get("namespaces", {}))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            self._warn(f"manifest.json is damaged ({exc.__class__.__name__})")
            return
        if int(meta.get("dim", self.dim)) != self.dim:
            raise IndexMismatch(
                f"dim: the FAISS index at {str(self.path)!r} holds {meta['dim']}-d vectors but "
                f"{self.dim}-d were asked for; open it with the same model or rebuild it"
            )
        self._generation = int(meta.get("generation", 0))
        sums: dict[str, int] = meta.get("files") or {}
        bases: dict[str, str] = meta.get("bases") or {}
        for ns, stem in spaces.items():
            try:
                self._spaces[ns] = read_space(
                    self.path,
                    bases.get(ns, f"{stem}.{self._generation}"),
                    sums,
                    self.dim,
                    hnsw=self.hnsw_threshold is not None,
                    warn=self._warn,
                )
            except (Damaged, KeyError, ValueError, OSError) as exc:
                reason = str(exc) if isinstance(exc, Damaged) else f"its files are damaged ({exc.__class__.__name__})"
                self._warn(f"namespace {ns!r}: {reason}")

    def persist(self) -> None:
        if self.path is None:
            return
        with self._lock.write(), folder_lock(self.path, fcntl.LOCK_EX):
            if not any(s.dirty for s in self._spaces.values()) and (self.path / MANIFEST).exists():
                try:
                    current = json.loads((self.path / MANIFEST).read_text()).get("namespaces", {})
                except (OSError, ValueError, AttributeError):
                    current = None
                if current is not None and set(current) == set(self._spaces):
                    return
            gen = max(self._generation, disk_generation(self.path)) + 1  # another process may have saved
            names: dict[str, str] = {}
            bases: dict[str, str] = {}
            sums: dict[str, int] = {}
            for ns, space in self._spaces.items():
                stem = names[ns] = stem_of(ns)
                kept = space.files and all((self.path / name).exists() for name in space.files)
                if space.dirty or not kept:  # a clean namespace keeps its files as they are
                    space.files = {
                        name: durable_write(self.path / name, data)
                        for name, data in space_files(space, f"{stem}.{gen}")
                    }
                bases[ns] = next(iter(space.files)).rsplit(".", 1)[0]
                sums.update(space.files)
            manifest = {"version": FORMAT_VERSION, "dim": self.dim, "generation": gen, "namespaces": names}
            manifest["bases"], manifest["files"] = bases, sums
            durable_write(self.path / MANIFEST, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
            fsync_dir(self.path)  # the renames themselves are durable
            self._generation = gen
            for space in self._spaces.values():
                space.dirty = False
            for f in self.path.iterdir():  # files no namespace points at any more, and leftovers
                if f.name != MANIFEST and len(f.name.split(".")) >= 3 and f.name not in sums:
                    f.unlink(missing_ok=True)

    def close(self) -> None:
        self.persist()

    # -- writes ----------------------------------------------------------------------------

    def _space(self, namespace: str, create: bool = False) -> Space | None:
        space = self._spaces.get(namespace)
        if space is None and create:
            space = Space(index=faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)))
            self._spaces[namespace] = space
        return space

    def add(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, *, namespace: str, sessions: Sequence[str]
    ) -> None:
        arr, vecs, sessions = prepare_batch(ids, vectors, sessions, self.dim)
        if arr.size == 0:
            return
        with self._lock.write():
            space = self._space(namespace, create=True)
            assert space is not None
            present = [i for i in arr.tolist() if i in space.session_of]
            if present:
                space.remove(present)
            space.index.add_with_ids(vecs, arr)
            for i, s in zip(arr.tolist(), sessions):
                space.session_of[i] = s
                space.members.setdefault(s, set()).add(i)
            if space.hnsw is not None:
                space.hnsw_append(arr.tolist(), vecs)
            space.dirty = True

    def delete(self, ids: Sequence[int] | np.ndarray, *, namespace: str) -> None:
        with self._lock.write():
            space = self._space(namespace)
            if space is None:
                return
            present = [i for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist() if i in space.session_of]
            if present:
                space.remove(present)
            if not space.session_of:
                del self._spaces[namespace]

    def drop(self, namespace: str, session: str | None = None) -> None:
        with self._lock.write():
            space = self._space(namespace)
            if space is None:
                return
            if session is None:
                del self._spaces[namespace]
                return
            members = space.members.get(session)
            if members:
                space.remove(sorted(members))
            if not space.session_of:
                del self._spaces[namespace]

    # -- reads -----------------------------------------------------------------------------

    def _hnsw_stale(self, space: Space) -> bool:
        """Whether the space's graph must be (re)built before a search."""
        if self.hnsw_threshold is None or space.index.ntotal < self.hnsw_threshold:
            return False
        return space.hnsw is None or space.hnsw_stale > len(space.hnsw_id) // 4

    def _hnsw_for(self, space: Space) -> faiss.IndexHNSWFlat | None:
        if self.hnsw_threshold is None or space.index.ntotal < self.hnsw_threshold:
            return None
        if self._hnsw_stale(space):
            n = space.index.ntotal
            ids = faiss.vector_to_array(space.index.id_map).astype(np.int64)
            vecs = space.index.index.reconstruct_n(0, n)
            graph = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = self.ef_construction
            space.hnsw, space.hnsw_id, space.hnsw_label = graph, [], {}
            space.hnsw_append(ids.tolist(), vecs)
            space.dirty = True  # the next persist saves the graph, so a restart does not rebuild it
        return space.hnsw

    def search(
        self, query: np.ndarray, k: int, *, namespace: str, sessions: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = check_query(query, self.dim)
        empty = EMPTY_RESULT
        if k <= 0:
            return empty
        with self._lock.read():
            space = self._space(namespace)
            stale = space is not None and sessions is None and self._hnsw_stale(space)
        if stale:  # (re)building the graph changes the space: alone, before the search
            with self._lock.write():
                space = self._space(namespace)
                if space is not None:
                    self._hnsw_for(space)
        with self._lock.read():
            space = self._space(namespace)
            if space is None or space.index.ntotal == 0:
                return empty
            if sessions is not None:
                sel_ids = [i for s in set(sessions) for i in space.members.get(s, ())]
                if not sel_ids:
                    return empty
                sel = faiss.IDSelectorBatch(np.asarray(sel_ids, dtype=np.int64))
                kk = min(k, len(sel_ids))
                params = faiss.SearchParameters()
                params.sel = sel
                scores, ids = space.index.search(q, kk, params=params)
            else:
                # the graph as it is (built above; a change since then only makes it a bit stale)
                large = self.hnsw_threshold is not None and space.index.ntotal >= self.hnsw_threshold
                hnsw = space.hnsw if large else None
                if hnsw is not None:
                    kk = min(k + space.hnsw_stale, hnsw.ntotal)
                    # faiss's stubs (1.15) omit SearchParametersHNSW, which its module defines
                    params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, kk))  # type: ignore[attr-defined]
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

    def search_among(
        self,
        query: np.ndarray,
        k: int,
        *,
        namespace: str,
        among: np.ndarray,
        sessions: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` among the ids ``among`` (and ``sessions``): the exact index under an
        ``IDSelectorBatch``, so the best ``k`` of those ids, never fewer while more are stored."""
        q = check_query(query, self.dim)
        if k <= 0:
            return EMPTY_RESULT
        with self._lock.read():
            space = self._space(namespace)
            if space is None or space.index.ntotal == 0:
                return EMPTY_RESULT
            allowed = [i for i in np.asarray(among, dtype=np.int64).tolist() if i in space.session_of]
            if sessions is not None:
                wanted = set(sessions)
                allowed = [i for i in allowed if space.session_of[i] in wanted]
            if not allowed:
                return EMPTY_RESULT
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            scores, ids = space.index.search(q, min(k, len(allowed)), params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def ids(self, namespace: str) -> np.ndarray:
        with self._lock.read():
            space = self._space(namespace)
            if space is None:
                return np.zeros(0, dtype=np.int64)
            return np.fromiter(space.session_of.keys(), dtype=np.int64, count=len(space.session_of))

    def namespaces(self) -> list[str]:
        with self._lock.read():
            return [ns for ns, s in self._spaces.items() if s.session_of]

    def __len__(self) -> int:
        return sum(len(s.session_of) for s in self._spaces.values())

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"FaissIndex(dim={self.dim}, path={where!r}, vectors={len(self)})"
