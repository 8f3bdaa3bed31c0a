"""Per-namespace caches that fold the log forward instead of recomputing it.

A namespace's speakers and session centroids only grow while messages are appended: each
cached value keeps its running aggregate (a set of names; a float64 sum and a count per
session) and the namespace's last position it has seen. When the position moves, only the
messages after it are read, in position order, and folded in; so a context built right after
an append reads the new chunks, not the whole namespace. A delete that touches the namespace,
or re-embedding (``meta.vectors_version``), starts the aggregate over from the log.

Folding the rows of positions ``(a, b]`` onto the aggregate of ``(0, a]`` performs the same
float64 additions, in the same order, as folding ``(0, b]`` at once, so the cached centroids
equal a full recompute exactly (``tests/memory/stores/test_cache_property.py``).

Chunks may be stored before their vectors (write-behind indexing): the centroids fold only up to
``embedded_pos``, the last position before the first message with a chunk still waiting for its
vector, and fold the rest once it is embedded (in position order still, so still exact).

Both stores use this module; each supplies a :class:`CacheReader` over one read snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import numpy as np


@dataclass(frozen=True)
class ChunksVersion:
    """What changes when a namespace's chunks do: its last position (every append moves it),
    the last deletion anywhere (a delete may have touched it), the re-embedding counter, and
    the last position up to which every chunk has its vector (``embedded_pos <= last_pos``)."""

    last_pos: int
    deletion: int
    vectors: str
    embedded_pos: int = -1

    def upto(self, needs_vectors: bool) -> int:
        """The last position an aggregate may fold: ``embedded_pos`` if it reads vectors."""
        return self.embedded_pos if needs_vectors and self.embedded_pos >= 0 else self.last_pos


class CacheReader(Protocol):
    """The rows a cache folds, read inside one snapshot of the store."""

    def version(self, namespace: str) -> ChunksVersion: ...

    def deleted_since(self, namespace: str, after_id: int) -> bool:
        """Whether a deletion with id > ``after_id`` touched the namespace."""
        ...

    def speaker_names(self, namespace: str, after_pos: int, upto_pos: int) -> list[str]:
        """The distinct non-empty ``name`` values of the messages at positions in (after, upto]."""
        ...

    def session_vectors(self, namespace: str, after_pos: int, upto_pos: int) -> tuple[list[str], np.ndarray]:
        """``(sessions, vectors)`` of the chunks of the messages at positions in (after, upto],
        ordered by position, then chunk id."""
        ...


V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


class Aggregate(Protocol[V_co]):
    """A running value over a namespace's messages in position order (``needs_vectors``: it reads
    chunk vectors, so it folds only positions whose chunks are all embedded)."""

    needs_vectors: bool

    def fold(self, reader: CacheReader, namespace: str, after_pos: int, upto_pos: int) -> int:
        """Take in the messages at positions in (after, upto]; returns the rows read."""
        ...

    def value(self) -> V_co:
        """The current value (a new object: a value handed out is never changed)."""
        ...


class SpeakerSet:
    """The participants' names. Keyed by lowercased name; when spellings differ only in case
    ("Ana", "ana"), the first in sorted order is shown, so the value does not depend on the
    order the names were met in."""

    needs_vectors = False

    def __init__(self) -> None:
        self.names: set[str] = set()

    def fold(self, reader: CacheReader, namespace: str, after_pos: int, upto_pos: int) -> int:
        names = reader.speaker_names(namespace, after_pos, upto_pos)
        self.names.update(n for n in names if n)
        return len(names)

    def value(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in sorted(self.names):
            out.setdefault(name.lower(), name)
        return out


class SessionSums:
    """A float64 sum and a count of chunk vectors per session; the value is each session's mean
    vector, sessions in name order (``(names, (n_sessions, dim) array)``)."""

    needs_vectors = True

    def __init__(self) -> None:
        self.row: dict[str, int] = {}
        self.sums = np.zeros((0, 0), dtype=np.float64)
        self.counts = np.zeros(0, dtype=np.int64)

    def fold(self, reader: CacheReader, namespace: str, after_pos: int, upto_pos: int) -> int:
        sessions, vectors = reader.session_vectors(namespace, after_pos, upto_pos)
        if not sessions:
            return 0
        for s in sessions:
            self.row.setdefault(s, len(self.row))
        grow = len(self.row) - self.sums.shape[0]
        if self.sums.shape[0] == 0:
            self.sums = np.zeros((len(self.row), vectors.shape[1]), dtype=np.float64)
        elif grow:
            self.sums = np.vstack([self.sums, np.zeros((grow, self.sums.shape[1]), dtype=np.float64)])
        if grow:
            self.counts = np.concatenate([self.counts, np.zeros(len(self.row) - self.counts.size, dtype=np.int64)])
        rows = np.fromiter((self.row[s] for s in sessions), dtype=np.int64, count=len(sessions))
        # ufunc.at is unbuffered and goes in order: row by row, as a Python loop would
        np.add.at(self.sums, rows, np.asarray(vectors, dtype=np.float64))
        np.add.at(self.counts, rows, 1)
        return len(sessions)

    def value(self) -> tuple[list[str], np.ndarray]:
        names = sorted(self.row)
        if not names:
            return [], np.zeros((0, 0))
        order = np.fromiter((self.row[n] for n in names), dtype=np.int64, count=len(names))
        return names, self.sums[order] / self.counts[order, None]


@dataclass(frozen=True)
class _Entry:
    version: ChunksVersion
    aggregate: Aggregate[Any]
    value: Any  # the value of its aggregate (entries of every kind share one dict)
    upto: int  # the last position folded


class IncrementalCache:
    """Aggregates per (kind, namespace), folded forward from the log as it grows.

    Thread-safe: a namespace's aggregate is folded under that namespace's lock (so two threads
    never fold the same rows twice); a cached value is returned without any lock. ``rows_read``
    counts the rows the folds have read (a diagnostic the tests use: a context right after an
    append reads the new rows only).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self.rows_read = 0

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(
        self,
        kind: str,
        namespace: str,
        make: Callable[[], Aggregate[V]],
        version: Callable[[], ChunksVersion],
        snapshot: Callable[[], AbstractContextManager[CacheReader]],
    ) -> V:
        """The value of ``kind`` for ``namespace``: cached while ``version()`` has not moved,
        else folded forward (or rebuilt by ``make()``) inside one ``snapshot()``. A ``kind`` is
        always made by the same ``make``, so its entry holds a ``V``."""
        key = (kind, namespace)
        entry = self._entries.get(key)
        if entry is not None and entry.version == version():
            return cast(V, entry.value)
        with self._lock(key):
            entry = self._entries.get(key)
            try:
                with snapshot() as reader:
                    now = reader.version(namespace)
                    if entry is not None and entry.version == now:
                        return cast(V, entry.value)
                    if entry is not None and _extends(entry.version, now, reader, namespace):
                        aggregate, after = entry.aggregate, entry.upto
                    else:
                        aggregate, after = make(), 0
                    upto = now.upto(aggregate.needs_vectors)
                    n = aggregate.fold(reader, namespace, after, upto) if upto > after else 0
            except BaseException:
                self._entries.pop(key, None)  # a fold cut short may have left the aggregate half-updated
                raise
            entry = _Entry(now, aggregate, aggregate.value(), max(upto, after))
            self._entries[key] = entry
            with self._guard:
                self.rows_read += n
            return cast(V, entry.value)


def _extends(old: ChunksVersion, new: ChunksVersion, reader: CacheReader, namespace: str) -> bool:
    """Whether ``new`` only adds messages after ``old`` (so folding the new positions is enough)."""
    if new.vectors != old.vectors or new.last_pos < old.last_pos:
        return False
    return new.deletion == old.deletion or not reader.deleted_since(namespace, old.deletion)
