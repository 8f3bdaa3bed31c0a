"""One namespace of a :class:`indexers.faiss_index.FaissIndex`: its exact index, who said what, its HNSW graph."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np


@dataclass
class Space:
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

    def remove(self, ids: Sequence[int]) -> None:
        """Take ``ids`` out of the exact index, the session maps and the live HNSW labels."""
        arr = np.asarray(list(ids), dtype=np.int64)
        self.index.remove_ids(faiss.IDSelectorBatch(arr))
        for i in arr.tolist():
            s = self.session_of.pop(i, None)
            if s is not None:
                m = self.members.get(s)
                if m is not None:
                    m.discard(i)
                    if not m:
                        del self.members[s]
            self.hnsw_label.pop(i, None)
        self.dirty = True
