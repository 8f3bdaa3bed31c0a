"""A point in the history (``as_of``): contexts and searches built from what existed then.

``as_of`` is given as either

- **a seq of the session** (an int: the last message the asker had seen). The point is that
  message's *position* in the namespace (``pos``, the order messages were stored in, across
  sessions): everything stored at or before it, in any session of the namespace, and nothing
  stored after. Its time is the message's timestamp. ``0`` is before the session's first message.
- **a time** (the forms ``now`` takes: a Unix time as a float, an ISO 8601 string, a datetime).
  The point is every message timestamped at or before it; its position is the last one holding
  such a message.

:func:`resolve_point` checks ``as_of`` and maps it to a :class:`Point`: a position cutoff, a
timestamp cutoff (time points only) and the ids of the chunks allowed (read once per call, one
query over the namespace's chunks). :class:`StoreAsOf` is the store as the read path sees it at
that point: the window's messages, tool-call units (a result stored after the point leaves its
call pending), neighbours, the namespace's last position (recency in turns) and the session
centroids (the session prior) all stop at the point. :class:`RetrieverAsOf` passes the allowed
ids to the retriever (``Query.among``: FAISS, pgvector, FTS5, PostgreSQL full text and bm25s rank
only those chunks, so they return the best ``k`` of them) and filters whatever a custom retriever
returns, asking it four times deeper until it has ``k`` allowed hits or no more to give.

Summaries are messages of the ``<session>::summaries`` companion, stored (seq points) and
timestamped (with their last turn's time: time points) like any other, so only those covering turns
up to the point appear. State blocks are pinned at the version current at the point's time
(:meth:`memory.session.session_states.SessionStates.pinned`). What does not stop at the point: the
participants' names the speaker prior matches (names only add a prior, never a candidate) and
BM25's corpus statistics (as with a ``sessions`` filter, the matches are narrowed, not the IDF).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from memory.errors import InvalidArgument
from memory.stores.base import ContextStore
from memory.stores.rows import CandidateRow, ChunkRow, MessageRow, ToolLink
from memory.validation import as_timestamp, check_as_of_form
from retrievers.base import Candidates, Query, Retriever


@dataclass(frozen=True)
class Point:
    """A resolved ``as_of``: messages at positions ``<= max_pos`` (and timestamped ``<= max_ts``,
    for a time point) existed; ``time`` is the point's time (the default ``now``; None for an empty
    history), ``among`` the ids of the chunks that existed (sorted int64) and ``sessions`` theirs."""

    namespace: str
    max_pos: int
    max_ts: float | None
    time: float | None
    among: np.ndarray = field(repr=False)
    sessions: list[str] = field(repr=False, default_factory=list)

    def has(self, pos: int, ts: float) -> bool:
        """Whether a message at ``pos``, timestamped ``ts``, existed at the point."""
        return pos <= self.max_pos and (self.max_ts is None or ts <= self.max_ts)


def resolve_point(store: ContextStore, namespace: str, session: str | None, as_of: Any) -> Point | None:
    """Check ``as_of`` and map it to a :class:`Point` of ``namespace`` (None: no ``as_of``).

    A :class:`Point` already resolved (:func:`seq_point`: the eval's, for a message of any session)
    is taken as it is. Raises :class:`InvalidArgument` naming ``as_of`` for a seq below 0 or beyond
    the session's last, a seq without a session, or a value that is neither a seq nor a time."""
    if isinstance(as_of, Point):
        if as_of.namespace != namespace:
            raise InvalidArgument(f"as_of: a point of namespace {as_of.namespace!r}, not {namespace!r}", field="as_of")
        return as_of
    check_as_of_form(as_of)
    if as_of is None:
        return None
    if isinstance(as_of, int):
        return seq_point(store, namespace, session, as_of)
    ts = as_timestamp(as_of, "as_of")
    max_pos = store.pos_at(namespace, ts)
    return Point(namespace, max_pos, ts, ts, *store.chunks_until(namespace, max_pos, ts))


def seq_point(store: ContextStore, namespace: str, session: str | None, seq: int) -> Point:
    """The point just after message ``seq`` of ``session`` (0: just before its first message)."""
    if session is None:
        raise InvalidArgument(
            "as_of: a seq is a position in a session: give session= too, or give as_of as a time", field="as_of"
        )
    last = store.last_seq(namespace, session)
    if seq < 0 or seq > last:
        raise InvalidArgument(
            f"as_of: seq {seq} is not in session {session!r} (its seqs are 0 to {last}: 0 is before its first message)",
            field="as_of",
        )
    if seq == 0:
        first = store.messages_by_seq(namespace, session, [1]).get(1)
        max_pos = store.last_pos(namespace) if first is None else first.pos - 1
        before = store.tail(namespace, None, before_pos=max_pos + 1, limit=1)
        time = before[0].ts if before else None
    else:
        row = store.messages_by_seq(namespace, session, [seq]).get(seq)
        if row is None:  # pragma: no cover - seqs are contiguous; a session is deleted whole
            raise InvalidArgument(f"as_of: seq {seq} of session {session!r} is not stored", field="as_of")
        max_pos, time = row.pos, row.ts
    return Point(namespace, max_pos, None, time, *store.chunks_until(namespace, max_pos))


class RetrieverAsOf:
    """``inner`` limited to the chunks of ``point``: the ids go in the query (``Query.among``) and
    whatever comes back outside them is dropped, searching deeper while fewer than ``k`` are left."""

    def __init__(self, inner: Retriever, point: Point) -> None:
        self.inner, self.point = inner, point
        self.name = inner.name

    def retrieve(self, query: Query, k: int) -> Candidates:
        among = self.point.among
        if k <= 0 or among.size == 0:
            return Candidates.empty()
        q = replace(query, among=among)
        depth = k
        while True:
            got = self.inner.retrieve(q, depth)
            keep = np.isin(got.ids, among)
            if bool(keep.all()) or int(keep.sum()) >= k or len(got) < depth:
                idx = np.flatnonzero(keep)[:k]
                return Candidates(got.ids[idx], got.scores[idx], {n: v[idx] for n, v in got.components.items()})
            depth *= 4


class StoreAsOf:
    """A :class:`~memory.stores.base.ContextStore` that shows ``base`` as it was at ``point``
    (see the module docstring); the read path takes it in place of the store."""

    def __init__(self, base: ContextStore, point: Point) -> None:
        self.base, self.point = base, point
        self._among = set(point.among.tolist())
        self._centroids: tuple[list[str], np.ndarray] | None = None

    def _rows(self, rows: Iterable[MessageRow]) -> list[MessageRow]:
        return [r for r in rows if self.point.has(r.pos, r.ts)]

    def _cands(self, rows: dict[Any, CandidateRow]) -> dict[Any, CandidateRow]:
        return {k: c for k, c in rows.items() if c.chunk.id in self._among}

    # -- the log ---------------------------------------------------------------------------

    def last_seq(self, namespace: str, session: str) -> int:
        rows = self.tail(namespace, session, limit=1)
        return rows[0].seq if rows else 0

    def last_pos(self, namespace: str) -> int:
        return min(self.point.max_pos, self.base.last_pos(namespace))

    def pos_at(self, namespace: str, ts: float) -> int:
        return min(self.point.max_pos, self.base.pos_at(namespace, ts))

    def namespaces(self) -> list[str]:
        return self.base.namespaces()

    def sessions(self, namespace: str) -> list[dict[str, Any]]:
        return self.base.sessions(namespace)

    def messages_since(
        self, namespace: str, session: str, since: int = 0, limit: int | None = None
    ) -> list[MessageRow]:
        return self._rows(self.base.messages_since(namespace, session, since, None))[:limit]

    def tail(
        self, namespace: str, session: str | None, before_pos: int | None = None, limit: int = 64
    ) -> list[MessageRow]:
        """The latest messages at the point, newest first (read in pages until ``limit`` of them)."""
        before = self.point.max_pos + 1 if before_pos is None else min(before_pos, self.point.max_pos + 1)
        out: list[MessageRow] = []
        while len(out) < limit:
            rows = self.base.tail(namespace, session, before_pos=before, limit=limit)
            out += self._rows(rows)
            if len(rows) < limit:
                break
            before = rows[-1].pos
        return out[:limit]

    def messages_by_pos(self, namespace: str, positions: Iterable[int]) -> dict[int, MessageRow]:
        return {p: r for p, r in self.base.messages_by_pos(namespace, positions).items() if self.point.has(r.pos, r.ts)}

    def messages_by_seq(self, namespace: str, session: str, seqs: Iterable[int]) -> dict[int, MessageRow]:
        got = self.base.messages_by_seq(namespace, session, seqs)
        return {s: r for s, r in got.items() if self.point.has(r.pos, r.ts)}

    def messages_by_keys(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], MessageRow]:
        got = self.base.messages_by_keys(namespace, keys)
        return {k: r for k, r in got.items() if self.point.has(r.pos, r.ts)}

    def all_messages(self, namespace: str, session: str | None = None) -> list[MessageRow]:
        return self._rows(self.base.all_messages(namespace, session))

    def iter_message_rows(self) -> Iterator[MessageRow]:
        return (r for r in self.base.iter_message_rows() if r.namespace != self.point.namespace or self._has(r))

    def _has(self, r: MessageRow) -> bool:
        return self.point.has(r.pos, r.ts)

    def tool_links(
        self, namespace: str, session: str, *, call_seqs: Iterable[int] = (), call_ids: Iterable[str] = ()
    ) -> list[ToolLink]:
        """The links of calls made by the point; a result stored after it is not there yet (None)."""
        return self._links(
            namespace, session, self.base.tool_links(namespace, session, call_seqs=call_seqs, call_ids=call_ids)
        )

    def session_tool_links(self, namespace: str, session: str) -> list[ToolLink]:
        return self._links(namespace, session, self.base.session_tool_links(namespace, session))

    def _links(self, namespace: str, session: str, links: list[ToolLink]) -> list[ToolLink]:
        seqs = {s for _, c, r in links for s in (c, r) if s is not None}
        there = self.messages_by_seq(namespace, session, sorted(seqs))
        return [(i, c, r if r in there else None) for i, c, r in links if c in there]

    # -- the chunks ------------------------------------------------------------------------

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        return {i: c for i, c in self.base.chunks([i for i in ids if int(i) in self._among]).items()}

    def candidates(self, ids: Sequence[int], *, names: bool = False) -> dict[int, CandidateRow]:
        return self._cands(self.base.candidates([i for i in ids if int(i) in self._among], names=names))

    def chunks_of_message(self, message_id: int) -> list[ChunkRow]:
        return [c for c in self.base.chunks_of_message(message_id) if c.id in self._among]

    def first_candidates(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], CandidateRow]:
        return self._cands(self.base.first_candidates(namespace, keys))

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        return self.base.vectors([i for i in ids if int(i) in self._among])

    def chunks_until(self, namespace: str, max_pos: int, max_ts: float | None = None) -> tuple[np.ndarray, list[str]]:
        ids, sessions = self.base.chunks_until(namespace, min(max_pos, self.point.max_pos), max_ts)
        keep = np.flatnonzero(np.isin(ids, self.point.among)).tolist()
        return ids[keep], [sessions[i] for i in keep]

    def chunk_texts(self, namespace: str) -> tuple[np.ndarray, list[str], list[str]]:
        ids, texts, sessions = self.base.chunk_texts(namespace)
        keep = np.flatnonzero(np.isin(ids, self.point.among)).tolist()
        return ids[keep], [texts[i] for i in keep], [sessions[i] for i in keep]

    def chunk_count(self, namespace: str | None = None) -> int:
        return int(self.point.among.size) if namespace == self.point.namespace else self.base.chunk_count(namespace)

    def search_text(
        self,
        query_terms: Sequence[str],
        namespace: str,
        k: int,
        sessions: Sequence[str] | None = None,
        among: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        allowed = self.point.among if among is None else among[np.isin(among, self.point.among)]
        return self.base.search_text(query_terms, namespace, k, sessions, among=allowed)

    # -- the caches ------------------------------------------------------------------------

    def speakers(self, namespace: str) -> dict[str, str]:
        return self.base.speakers(namespace)  # names only fire a prior: the namespace's, not cut

    def session_centroids(self, namespace: str) -> tuple[list[str], np.ndarray]:
        """Each session's mean vector over the chunks it had at the point (computed once per view, not
        cached across calls: one read of those chunks' vectors)."""
        if self._centroids is None:
            vecs = self.base.vectors(self.point.among.tolist())
            have = [(s, vecs[i]) for i, s in zip(self.point.among.tolist(), self.point.sessions) if i in vecs]
            names = sorted({s for s, _ in have})
            if not names:
                self._centroids = ([], np.zeros((0, 0), dtype=np.float64))
            else:
                row_of = {s: i for i, s in enumerate(names)}
                rows = np.fromiter((row_of[s] for s, _ in have), dtype=np.int64, count=len(have))
                mat = np.stack([v for _, v in have]).astype(np.float64)
                sums = np.zeros((len(names), mat.shape[1]), dtype=np.float64)
                np.add.at(sums, rows, mat)
                self._centroids = (names, sums / np.bincount(rows, minlength=len(names))[:, None])
        return self._centroids

    def cache_rows_read(self) -> int:
        return self.base.cache_rows_read()
