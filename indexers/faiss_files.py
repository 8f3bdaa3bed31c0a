"""FAISS index files: how a :class:`indexers.faiss_index.FaissIndex` lies on disk, written durably and read checked.

Layout of the index folder::

    manifest.json          # {"version", "dim", "generation", "namespaces": {ns: file stem},
                           #  "bases": {ns: "<stem>.<gen>"}, "files": {file name: CRC-32}}
    <stem>.<gen>.faiss     # IndexIDMap2(IndexFlatIP) of the namespace
    <stem>.<gen>.npz       # ids and session codes (for session-scoped search), HNSW labels
    <stem>.<gen>.hnsw      # the namespace's HNSW graph, when it has one

``FaissIndex.persist`` writes the files of each namespace that changed under a temporary name, fsyncs
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
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from indexers.faiss_space import Space

MANIFEST = "manifest.json"
LOCK_FILE = "persist.lock"  # flock: several processes on one folder save one at a time
FORMAT_VERSION = 2  # 2: per-file CRC-32 and the HNSW graph (version 1 files still load)


class IndexFileWarning(RuntimeWarning):
    """An index file was missing or damaged; what it held is rebuilt from the log."""


class Damaged(Exception):
    """A file that cannot be used (unreadable, checksum wrong, not what the manifest says)."""


def stem_of(namespace: str) -> str:
    return hashlib.sha1(namespace.encode("utf-8")).hexdigest()[:16]


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def folder_lock(path: Path, mode: int) -> Iterator[None]:
    """``flock`` on the folder's lock file: one process saves at a time, and none loads meanwhile
    (threads of one process are serialized by the index's own lock)."""
    with open(path / LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def disk_generation(path: Path) -> int:
    try:
        return int(json.loads((path / MANIFEST).read_text()).get("generation", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def durable_write(path: Path, data: bytes) -> int:
    """Write ``data`` to a temporary name, fsync it, rename it to ``path``; returns its CRC-32."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return zlib.crc32(data)


def read_checked(path: Path, crc: int | None) -> bytes:
    """A file's bytes, if it exists and matches its CRC-32 (when the manifest holds one)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Damaged(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    if crc is not None and zlib.crc32(data) != crc:
        raise Damaged(f"{path.name} is damaged (its checksum does not match the manifest)")
    return data


def index_bytes(index: faiss.Index) -> bytes:
    return faiss.serialize_index(index).tobytes()


def index_from(data: bytes) -> faiss.Index:
    try:  # deserialize_index gives the concrete class (downcasting it again would dangle)
        return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except Exception as exc:  # faiss raises RuntimeError on a bad file
        raise Damaged(f"not a FAISS index ({str(exc).splitlines()[0][:120]})") from None


def read_space(
    folder: Path, base: str, sums: dict[str, int], dim: int, *, hnsw: bool, warn: Callable[[str], None]
) -> Space:
    """One namespace's files under ``base`` (checked against ``sums``, the manifest's CRC-32s), as a clean space.

    Raises :class:`Damaged` when the exact index or its ids cannot be used; a bad HNSW graph is only
    reported through ``warn`` (the graph is rebuilt on the next search).
    """
    data = read_checked(folder / f"{base}.faiss", sums.get(f"{base}.faiss"))
    index = index_from(data)
    arrays = np.load(io.BytesIO(read_checked(folder / f"{base}.npz", sums.get(f"{base}.npz"))))
    ids, codes = arrays["ids"].astype(np.int64), arrays["codes"]
    if not isinstance(index, faiss.IndexIDMap2) or index.d != dim or index.ntotal != len(ids):
        raise Damaged(f"{base}.faiss does not match {base}.npz")
    names = [str(s) for s in arrays["names"]]
    space = Space(index=index)
    for i, code in zip(ids.tolist(), codes.tolist()):
        s = names[code]
        space.session_of[i] = s
        space.members.setdefault(s, set()).add(i)
    if hnsw and f"{base}.hnsw" in sums and "hnsw_ids" in arrays:
        try:
            graph = index_from(read_checked(folder / f"{base}.hnsw", sums[f"{base}.hnsw"]))
            if not isinstance(graph, faiss.IndexHNSWFlat) or graph.ntotal != len(arrays["hnsw_ids"]):
                raise Damaged(f"{base}.hnsw does not match {base}.npz")
            space.hnsw, space.hnsw_id = graph, arrays["hnsw_ids"].astype(np.int64).tolist()
            space.hnsw_label = dict(zip(arrays["live_ids"].tolist(), arrays["live_labels"].tolist()))
        except Damaged as exc:  # the exact index is fine: only the graph is rebuilt
            warn(f"the HNSW graph: {exc}")
    space.dirty = False
    space.files = {name: sums[name] for name in sums if name.startswith(f"{base}.")}
    return space


def space_files(space: Space, base: str) -> list[tuple[str, bytes]]:
    """The files of one namespace: exact index, ids and sessions, and its HNSW graph if built."""
    sess = sorted(space.members)
    code = {s: k for k, s in enumerate(sess)}
    ids = np.fromiter(space.session_of.keys(), dtype=np.int64, count=len(space.session_of))
    codes = np.fromiter((code[s] for s in space.session_of.values()), dtype=np.int32, count=len(ids))
    arrays: dict[str, np.ndarray] = {"ids": ids, "codes": codes, "names": np.array(sess, dtype=str)}
    files = [(f"{base}.faiss", index_bytes(space.index))]
    if space.hnsw is not None:
        files.append((f"{base}.hnsw", index_bytes(space.hnsw)))
        arrays["hnsw_ids"] = np.asarray(space.hnsw_id, dtype=np.int64)
        arrays["live_ids"] = np.fromiter(space.hnsw_label.keys(), dtype=np.int64, count=len(space.hnsw_label))
        arrays["live_labels"] = np.fromiter(space.hnsw_label.values(), dtype=np.int64, count=len(space.hnsw_label))
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)  # plain arrays only, as np.load reads them back
    files.append((f"{base}.npz", buf.getvalue()))
    return files
