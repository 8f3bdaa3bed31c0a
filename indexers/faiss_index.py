"""FAISS backend: one exact inner-product index per namespace, persisted atomically.

Layout of the index folder::

    manifest.json          # {"version", "dim", "generation", "namespaces": {ns: file stem},
                           #  "bases": {ns: "<stem>.<gen>"}, "files": {file name: CRC-32}}
    <stem>.<gen>.faiss     # IndexIDMap2(IndexFlatIP) of the namespace
    <stem>.<gen>.npz       # ids and session codes (for session-scoped search), HNSW labels
    <stem>.<gen>.hnsw      # the namespace's HNSW graph, when it has one

``persist`` writes the files of each namespace that changed under a temporary name, fsyncs
them and renames them into place, under a new generation (a namespace that did not change
keeps its files); then it replaces the manifest the same way and fsyncs the folder; then it
removes the files the manifest no longer names. A crash at any point leaves a manifest that points
at complete files (the log then re-adds whatever the index missed). Saving holds an exclusive
``flock`` on ``persist.lock`` in the folder (loading a shared one), so several processes on one
folder save one at a time, each under a generation above the one on disk.

On open, each file is checked against the CRC-32 the manifest holds for it. A namespace
whose files are missing or damaged (or a manifest that cannot be read) is left out with an
:class:`IndexFileWarning`, and :class:`memory.Memory` re-adds its vectors from the log when
it reconciles on open. A damaged or missing HNSW graph is only rebuilt (on the next search).

Session filters use ``faiss.IDSelectorBatch`` over the ids of the selected sessions, so a
scoped search is still exact. Above ``hnsw_threshold`` vectors a namespace also keeps an
HNSW graph for unscoped searches (the exact index stays the reference and serves scoped
searches and deletes). The graph is append-only: each entry gets a sequential label, and
an id's current label is the only live one, so deleted ids and the old vectors of
re-added ids are filtered out of HNSW results; the graph is rebuilt when a quarter of it
is stale.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from indexers.base import EMPTY_RESULT, check_query, prepare_batch
from indexers.locks import ReadWriteLock
from memory.errors import IndexMismatch

MANIFEST = "manifest.json"
LOCK_FILE = "persist.lock"  # flock: several processes on one folder save one at a time
FORMAT_VERSION = 2  # 2: per-file CRC-32 and the HNSW graph (version 1 files still load)


class IndexFileWarning(RuntimeWarning):
    """An index file was missing or damaged; what it held is rebuilt from the log."""


class _Damaged(Exception):
    pass


def _stem(namespace: str) -> str:
    return hashlib.sha1(namespace.encode("utf-8")).hexdigest()[:16]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _folder_lock(path: Path, mode: int) -> Iterator[None]:
    """``flock`` on the folder's lock file: one process saves at a time, and none loads meanwhile
    (threads of one process are serialized by the index's own lock)."""
    with open(path / LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _disk_generation(path: Path) -> int:
    try:
        return int(json.loads((path / MANIFEST).read_text()).get("generation", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def _durable_write(path: Path, data: bytes) -> int:
    """Write ``data`` to a temporary name, fsync it, rename it to ``path``; returns its CRC-32."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return zlib.crc32(data)


def _read_checked(path: Path, crc: int | None) -> bytes:
    """A file's bytes, if it exists and matches its CRC-32 (when the manifest holds one)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Damaged(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    if crc is not None and zlib.crc32(data) != crc:
        raise _Damaged(f"{path.name} is damaged (its checksum does not match the manifest)")
    return data


def _index_bytes(index: faiss.Index) -> bytes:
    return faiss.serialize_index(index).tobytes()


def _index_from(data: bytes) -> faiss.Index:
    try:  # deserialize_index gives the concrete class (downcasting it again would dangle)
        return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except Exception as exc:  # faiss raises RuntimeError on a bad file
        raise _Damaged(f"not a FAISS index ({str(exc).splitlines()[0][:120]})") from None


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
    files: dict[str, int] = field(default_factory=dict)  # its files on disk (name -> CRC-32) while clean

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
        with _folder_lock(self.path, fcntl.LOCK_SH):  # not while another process saves
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
                self._spaces[ns] = self._load_space(bases.get(ns, f"{stem}.{self._generation}"), sums)
            except (_Damaged, KeyError, ValueError, OSError) as exc:
                reason = str(exc) if isinstance(exc, _Damaged) else f"its files are damaged ({exc.__class__.__name__})"
                self._warn(f"namespace {ns!r}: {reason}")

    def _load_space(self, base: str, sums: dict[str, int]) -> _Space:
        assert self.path is not None
        data = _read_checked(self.path / f"{base}.faiss", sums.get(f"{base}.faiss"))
        index = _index_from(data)
        arrays = np.load(io.BytesIO(_read_checked(self.path / f"{base}.npz", sums.get(f"{base}.npz"))))
        ids, codes = arrays["ids"].astype(np.int64), arrays["codes"]
        if not isinstance(index, faiss.IndexIDMap2) or index.d != self.dim or index.ntotal != len(ids):
            raise _Damaged(f"{base}.faiss does not match {base}.npz")
        names = [str(s) for s in arrays["names"]]
        space = _Space(index=index)
        for i, code in zip(ids.tolist(), codes.tolist()):
            s = names[code]
            space.session_of[i] = s
            space.members.setdefault(s, set()).add(i)
        if self.hnsw_threshold is not None and f"{base}.hnsw" in sums and "hnsw_ids" in arrays:
            try:
                graph = _index_from(_read_checked(self.path / f"{base}.hnsw", sums[f"{base}.hnsw"]))
                if not isinstance(graph, faiss.IndexHNSWFlat) or graph.ntotal != len(arrays["hnsw_ids"]):
                    raise _Damaged(f"{base}.hnsw does not match {base}.npz")
                space.hnsw, space.hnsw_id = graph, arrays["hnsw_ids"].astype(np.int64).tolist()
                space.hnsw_label = dict(zip(arrays["live_ids"].tolist(), arrays["live_labels"].tolist()))
            except _Damaged as exc:  # the exact index is fine: only the graph is rebuilt
                self._warn(f"the HNSW graph: {exc}")
        space.dirty = False
        space.files = {name: sums[name] for name in sums if name.startswith(f"{base}.")}
        return space

    def persist(self) -> None:
        if self.path is None:
            return
        with self._lock.write(), _folder_lock(self.path, fcntl.LOCK_EX):
            if not any(s.dirty for s in self._spaces.values()) and (self.path / MANIFEST).exists():
                try:
                    current = json.loads((self.path / MANIFEST).read_text()).get("namespaces", {})
                except (OSError, ValueError, AttributeError):
                    current = None
                if current is not None and set(current) == set(self._spaces):
                    return
            gen = max(self._generation, _disk_generation(self.path)) + 1  # another process may have saved
            names: dict[str, str] = {}
            bases: dict[str, str] = {}
            sums: dict[str, int] = {}
            for ns, space in self._spaces.items():
                stem = names[ns] = _stem(ns)
                kept = space.files and all((self.path / name).exists() for name in space.files)
                if space.dirty or not kept:  # a clean namespace keeps its files as they are
                    space.files = {
                        name: _durable_write(self.path / name, data)
                        for name, data in self._space_files(space, f"{stem}.{gen}")
                    }
                bases[ns] = next(iter(space.files)).rsplit(".", 1)[0]
                sums.update(space.files)
            manifest = {"version": FORMAT_VERSION, "dim": self.dim, "generation": gen, "namespaces": names}
            manifest["bases"], manifest["files"] = bases, sums
            _durable_write(self.path / MANIFEST, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
            _fsync_dir(self.path)  # the renames themselves are durable
            self._generation = gen
            for space in self._spaces.values():
                space.dirty = False
            for f in self.path.iterdir():  # files no namespace points at any more, and leftovers
                if f.name != MANIFEST and len(f.name.split(".")) >= 3 and f.name not in sums:
                    f.unlink(missing_ok=True)

    def _space_files(self, space: _Space, base: str) -> list[tuple[str, bytes]]:
        """The files of one namespace: exact index, ids and sessions, and its HNSW graph if built."""
        sess = sorted(space.members)
        code = {s: k for k, s in enumerate(sess)}
        ids = np.fromiter(space.session_of.keys(), dtype=np.int64, count=len(space.session_of))
        codes = np.fromiter((code[s] for s in space.session_of.values()), dtype=np.int32, count=len(ids))
        arrays: dict[str, np.ndarray] = {"ids": ids, "codes": codes, "names": np.array(sess, dtype=str)}
        files = [(f"{base}.faiss", _index_bytes(space.index))]
        if space.hnsw is not None:
            files.append((f"{base}.hnsw", _index_bytes(space.hnsw)))
            arrays["hnsw_ids"] = np.asarray(space.hnsw_id, dtype=np.int64)
            arrays["live_ids"] = np.fromiter(space.hnsw_label.keys(), dtype=np.int64, count=len(space.hnsw_label))
            arrays["live_labels"] = np.fromiter(space.hnsw_label.values(), dtype=np.int64, count=len(space.hnsw_label))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        files.append((f"{base}.npz", buf.getvalue()))
        return files

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
        with self._lock.write():
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
        with self._lock.write():
            space = self._space(namespace)
            if space is None:
                return
            present = [i for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist() if i in space.session_of]
            if present:
                self._remove(space, present)
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
                self._remove(space, sorted(members))
            if not space.session_of:
                del self._spaces[namespace]

    # -- reads -----------------------------------------------------------------------------

    def _hnsw_stale(self, space: _Space) -> bool:
        """Whether the space's graph must be (re)built before a search."""
        if self.hnsw_threshold is None or space.index.ntotal < self.hnsw_threshold:
            return False
        return space.hnsw is None or space.hnsw_stale > len(space.hnsw_id) // 4

    def _hnsw_for(self, space: _Space) -> faiss.IndexHNSWFlat | None:
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
                scores, ids = space.index.search(q, kk, params=faiss.SearchParameters(sel=sel))
            else:
                # the graph as it is (built above; a change since then only makes it a bit stale)
                large = self.hnsw_threshold is not None and space.index.ntotal >= self.hnsw_threshold
                hnsw = space.hnsw if large else None
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
