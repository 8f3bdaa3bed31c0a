"""``Reader``: a memory's read path: contexts, search, history and listings.

``assemble`` and ``search`` read their own writes: they first wait, up to ``read_wait_s``
(:data:`READ_WAIT_S`), for the vectors of every chunk of the namespace this memory acknowledged
before them (``wait_writes``: the writer's, which has the indexer take those first), then catch
the index up with what other writers committed (the ``catch_up`` it was given: the index handle's,
not waiting for a thread already doing it) and count what in scope still has no vector
(``Context.unindexed``: another process's writes, or a wait that ran out). ``assemble`` asks the session states
for the pinned block, then runs :func:`memory.read.assemble.assemble` without the memory's lock:
contexts build concurrently with each other and with writes. The reader owns the retrievers: the
dense one over the index, full text over the store, and the default hybrid of the two (or the
caller's own). The rest read the log: a session's messages after a seq, a namespace's messages
page by page, the tool-call lifecycle, the namespaces and sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from indexers.base import Index
from memory.embedders import Embedder
from memory.errors import InvalidArgument
from memory.models import Context, Hit, StoredMessage, ToolCallState, ToolStatus
from memory.read.as_of import RetrieverAsOf, StoreAsOf, resolve_point
from memory.read.assemble import AssembleConfig, assemble
from memory.session.session_states import SessionStates
from memory.stores.base import ContextStore, Store
from memory.tokens import TokenCounter
from memory.validation import (
    apply_overrides,
    as_timestamp,
    check_budget,
    check_cursor,
    check_k,
    check_limit,
    check_name,
    check_query,
    check_seq,
    check_system,
)
from retrievers.base import Candidates, Query, Retriever
from retrievers.dense import DenseRetriever
from retrievers.fusion import HybridRetriever
from retrievers.lexical import FTSRetriever

READ_WAIT_S = 2.0  # how long a context or search waits for the vectors of the writes acknowledged before it


def check_read_wait(value: float) -> float:
    """``read_wait_s``: seconds >= 0 (0: never wait)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or value == float("inf"):
        raise InvalidArgument(
            f"read_wait_s: give how many seconds a read may wait for the vectors of earlier writes, a number "
            f">= 0 (0: never wait; got {value!r})",
            field="read_wait_s",
        )
    return float(value)


class Reader:
    """Reads ``store`` and searches ``index``; ``catch_up()`` brings the index up to date with the
    log without waiting; ``wait_writes(namespace, timeout)`` waits for this memory's writes'
    vectors (read-your-writes, up to ``read_wait_s``); ``states`` renders a session's pinned state."""

    def __init__(
        self,
        store: Store,
        index: Index,
        *,
        embedder: Embedder,
        counter: TokenCounter,
        config: AssembleConfig,
        retriever: Retriever | None,
        catch_up: Callable[[], None],
        states: SessionStates,
        wait_writes: Callable[[str, float], object] | None = None,
        read_wait_s: float = READ_WAIT_S,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.counter = counter
        self.config = config
        self.dense = DenseRetriever(index, embedder)
        self.lexical = FTSRetriever(store)
        self.custom_retriever = retriever is not None
        self.retriever = retriever or self.retriever_for(config)
        self._catch_up = catch_up
        self._states = states
        self._wait_writes = wait_writes
        self.read_wait_s = check_read_wait(read_wait_s)

    def retriever_for(self, cfg: AssembleConfig) -> Retriever:
        """The default hybrid retriever as ``cfg`` sets it (dense + FTS5, fused)."""
        if cfg.lexical_weight == 0:
            return self.dense
        return HybridRetriever(
            [self.dense, self.lexical], method=cfg.fusion, weights=[1.0, cfg.lexical_weight], rrf_k=cfg.rrf_k
        )

    def assemble(
        self,
        query: str | None,
        session: str | None,
        namespace: str,
        budget: int,
        system: str | None,
        config: AssembleConfig | None,
        query_vector: np.ndarray | None,
        now: Any,
        timezone: str | None,
        overrides: dict[str, Any],
        as_of: Any = None,
    ) -> Context:
        """Check the arguments, catch the index up, embed the query once, then build the context
        (as of a point in the history: :mod:`memory.read.as_of`; ``now`` defaults to its time)."""
        if timezone is not None:
            overrides["timezone"] = timezone
        check_name(namespace, "namespace", existing=True)  # reads take names from before the rule
        if session is not None:
            check_name(session, "session", existing=True)
        check_query(query)
        check_system(system)
        cfg = apply_overrides(config or self.config, overrides)
        check_budget(budget)  # before embedding the query
        point = resolve_point(self.store, namespace, session, as_of)
        retriever = self.retriever if (self.custom_retriever or cfg == self.config) else self.retriever_for(cfg)
        store = self.store if point is None else StoreAsOf(self.store, point)
        if point is not None:
            retriever, now = RetrieverAsOf(retriever, point), point.time if now is None else now
        if query_vector is None and query is not None and query.strip() and not self.custom_retriever:
            query_vector = self.embedder.embed([query])[0]  # once (while the indexer embeds the last turn)
        unindexed = 0  # a context without a query retrieves nothing: no vectors to wait for
        if bool(query and query.strip()) or query_vector is not None:
            unindexed = self.read_own_writes(namespace, [session] if cfg.scope == "session" and session else None)
        else:
            self._catch_up()
        ctx = assemble(
            store=store,
            retriever=retriever,
            counter=self.counter,
            namespace=namespace,
            session=session,
            query=query,
            budget=budget,
            system=system,
            config=cfg,
            query_vector=query_vector,
            now=None if now is None else as_timestamp(now, "now"),
            state=self._states.pinned(namespace, session, None if point is None else point.time)
            if cfg.pin_state
            else None,
        )
        ctx.unindexed = unindexed
        return ctx

    def read_own_writes(self, namespace: str, sessions: Sequence[str] | None) -> int:
        """Wait, up to :attr:`read_wait_s`, until the chunks of ``namespace`` this memory acknowledged
        so far have their vectors; catch the index up; return how many chunks in ``sessions``
        (None: the namespace) still have none."""
        if self._wait_writes is not None and self.read_wait_s > 0:
            self._wait_writes(namespace, self.read_wait_s)
        self._catch_up()
        left = self.store.pending_chunk_ids(namespace=namespace)
        if not left.size or sessions is None:
            return int(left.size)
        return sum(c.session in sessions for c in self.store.chunks(left.tolist()).values())

    def tool_calls(self, session: str, namespace: str) -> list[ToolCallState]:
        """Each call of the session, its result's seq and status (``retried``: called again after an error)."""
        check_name(session, "session", existing=True)
        check_name(namespace, "namespace", existing=True)
        links = self.store.session_tool_links(namespace, session)
        seqs = {s for _, c, r in links for s in (c, r) if s is not None}
        rows = self.store.messages_by_seq(namespace, session, sorted(seqs))
        states: list[ToolCallState] = []
        for call_id, call_seq, result_seq in links:
            call = next(c for c in rows[call_seq].message().tool_calls or () if c.id == call_id)
            status: ToolStatus = "pending"
            if result_seq is not None:
                failed = bool(rows[result_seq].message().metadata.get("is_error"))
                status = "error" if failed else "completed"
            states.append(
                ToolCallState(
                    id=call_id,
                    name=call.function.name,
                    arguments=call.function.arguments,
                    call_seq=call_seq,
                    result_seq=result_seq,
                    status=status,
                )
            )
        for i, st in enumerate(states):  # a failed call followed by another call of the same function
            if st.status == "error":
                later = next((t for t in states[i + 1 :] if t.name == st.name and t.call_seq > st.call_seq), None)
                if later is not None:
                    states[i] = st.model_copy(update={"status": "retried", "retried_by": later.id})
        return states

    def search(
        self, query: str, namespace: str, k: int, sessions: Sequence[str] | None, as_of: Any = None
    ) -> list[Hit]:
        """Retrieve, then give each chunk its message's role, rank and score breakdown (as of a point:
        the best ``k`` of the chunks stored by then, :mod:`memory.read.as_of`; a seq is of
        ``sessions``' one session)."""
        check_name(namespace, "namespace", existing=True)
        check_query(query, optional=False)
        check_k(k)
        session = sessions[0] if sessions is not None and len(sessions) == 1 else None
        point = resolve_point(self.store, namespace, session, as_of)
        self.read_own_writes(namespace, sessions)
        retriever: Retriever = self.retriever if point is None else RetrieverAsOf(self.retriever, point)
        store: ContextStore = self.store if point is None else StoreAsOf(self.store, point)
        cands: Candidates = retriever.retrieve(Query(query, namespace, sessions), k)
        rows = store.chunks(cands.ids.tolist())
        hits = []
        for rank, (cid, score) in enumerate(zip(cands.ids.tolist(), cands.scores.tolist()), 1):
            c = rows.get(int(cid))
            if c is None:
                continue
            comps = {n: float(v[rank - 1]) for n, v in cands.components.items() if not np.isnan(v[rank - 1])}
            msg = store.messages_by_seq(namespace, c.session, [c.seq]).get(c.seq)
            role = msg.role if msg else "unknown"
            hits.append(c.hit(role=role, rank=rank, scores={**comps, "final": float(score)}))
        return hits

    def since(self, session: str, seq: int, namespace: str, limit: int | None) -> list[StoredMessage]:
        """The messages of a session after ``seq`` (at most ``limit``), arguments checked."""
        check_name(session, "session", existing=True)
        check_name(namespace, "namespace", existing=True)
        check_seq(seq)
        check_limit(limit)
        return [r.stored() for r in self.store.messages_since(namespace, session, seq, limit)]

    def messages(self, namespace: str, session: str | None) -> list[StoredMessage]:
        """Every stored message of a session, or of a namespace in order."""
        return [r.stored() for r in self.store.all_messages(namespace, session)]

    def messages_page(self, namespace: str, after: int, limit: int) -> tuple[list[StoredMessage], int | None]:
        """A page of a namespace's messages by position, and the next page's cursor."""
        if check_limit(limit) is None:
            raise InvalidArgument("limit: give an int >= 1 (got None)", field="limit")
        check_cursor(after)
        last = self.store.last_pos(namespace)
        rows: list[Any] = []
        start, span = after + 1, limit
        while len(rows) < limit and start <= last:
            got = self.store.messages_by_pos(namespace, range(start, min(start + span, last + 1)))
            rows.extend(got[p] for p in sorted(got))
            start += span
            span = min(span * 2, 64 * limit)
        rows = rows[:limit]
        cursor = rows[-1].pos if rows and rows[-1].pos < last else None
        return [r.stored() for r in rows], cursor

    def last_seq(self, session: str, namespace: str) -> int:
        return self.store.last_seq(namespace, session)

    def namespaces(self) -> list[str]:
        return self.store.namespaces()

    def sessions(self, namespace: str) -> list[dict[str, Any]]:
        return self.store.sessions(namespace)
