"""Candidate gathering, the third step of retrieval: the retriever's ranked chunks (dense, lexical
or fused) joined to what scoring reads of their messages, and the :class:`Pool` that scoring and
packing index them by once neighbours join.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from memory.read.config import AssembleConfig
from memory.read.query_plan import SearchQuery
from memory.stores.base import ChunkReader
from memory.stores.rows import CandidateRow
from retrievers.base import Query, Retriever
from retrievers.query import QueryAnalysis


@dataclass
class Gathered:
    """The retriever's candidates still in the log, best first: their ids, raw fused scores,
    each source's raw score (``components``, nan where a source did not find it) and their rows."""

    ids: np.ndarray
    scores: np.ndarray
    components: dict[str, np.ndarray]
    rows: list[CandidateRow]


def gather_candidates(
    store: ChunkReader,
    namespace: str,
    retriever: Retriever,
    search: SearchQuery,
    analysis: QueryAnalysis,
    session: str | None,
    room: int,
    config: AssembleConfig,
) -> Gathered | None:
    """Ask the retriever for more candidates the bigger the room (twice as many when the query
    names a time: the right time may rank lower) and read their rows in one query without the
    messages' bodies; None when none is left."""
    sessions = [session] if (config.scope == "session" and session is not None) else None
    k = max(config.candidates, int(room * config.candidates_per_token))
    k *= 2 if analysis.time is not None else 1
    # Dense search always sees the whole query; the lexical side may drop named participants.
    text = search.lexical_text if search.vector is not None else search.text
    cands = retriever.retrieve(Query(text, namespace, sessions, search.vector), k)
    if len(cands) == 0:
        return None
    rows = store.candidates(cands.ids.tolist(), names=bool(analysis.named) and config.speaker_weight > 0)
    keep = [i for i, cid in enumerate(cands.ids.tolist()) if cid in rows]
    if not keep:
        return None
    ids = cands.ids[keep]
    return Gathered(
        ids=ids,
        scores=cands.scores[keep].astype(np.float64),
        components={n: v[keep] for n, v in cands.components.items()},
        rows=[rows[int(i)] for i in ids],
    )


class Pool:
    """Retrieval's candidates by index: their keys, and each one's chunk and message meta once read
    (a direct candidate's at once; a neighbour's when packing reaches it, :meth:`fill`)."""

    def __init__(
        self,
        store: ChunkReader,
        namespace: str,
        keys: list[tuple[str, int]],
        cands: list[CandidateRow | None],
        max_tokens: int | None,
    ) -> None:
        self.store, self.namespace, self.keys, self.cands, self.max_tokens = store, namespace, keys, cands, max_tokens
        self.fetched = [c is not None for c in cands]
        self.fills = 0  # first_candidates reads so far

    def fill(self, indices: Iterable[int]) -> None:
        """Read the first chunks of these (neighbour) entries; one that does not exist, or is over
        ``neighbor_tokens``, stays None."""
        todo = [i for i in indices if not self.fetched[i]]
        if not todo:
            return
        got = self.store.first_candidates(self.namespace, [self.keys[i] for i in todo])
        self.fills += 1
        for i in todo:
            c = got.get(self.keys[i])
            over = c is not None and self.max_tokens is not None and c.chunk.tokens > self.max_tokens
            self.cands[i] = None if over else c
            self.fetched[i] = True

    def exists(self, i: int) -> bool:
        """False once entry ``i`` is known to have no chunk (a neighbour that was read and is not there)."""
        return not self.fetched[i] or self.cands[i] is not None
