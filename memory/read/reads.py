"""The reads of :class:`memory.memory.Memory`: contexts, search, history and listings.

``assemble`` catches the index up with what other writers committed, then runs
:func:`memory.read.assemble.assemble` without the memory's lock: contexts build concurrently with each
other and with writes. The rest read the log: a session's messages after a seq, a namespace's
messages page by page, the tool-call lifecycle, the namespaces and sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from memory.errors import InvalidArgument
from memory.models import Context, Hit, StoredMessage, ToolCallState, ToolStatus
from memory.parts import MemoryParts
from memory.read.assemble import AssembleConfig, assemble
from memory.validation import (
    DEFAULT_NAMESPACE,
    apply_overrides,
    as_timestamp,
    check_budget,
    check_k,
    check_limit,
    check_name,
    check_query,
    check_seq,
)
from retrievers.base import Candidates, Query


class Reads(MemoryParts):
    """``assemble``, ``search``, ``since``, ``messages``, ``messages_page``, ``tool_calls`` and listings."""

    def assemble(
        self,
        query: str | None = None,
        *,
        session: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        budget: int = 4000,
        system: str | None = None,
        config: AssembleConfig | None = None,
        query_vector: np.ndarray | None = None,
        now: Any = None,
        timezone: str | None = None,
        **overrides: Any,
    ) -> Context:
        """The context for the next model call, within ``budget`` tokens.

        ``query=None`` means no retrieval: the recent window only. ``session=None`` takes
        the window from the namespace's whole timeline. Config fields may be overridden per
        call (``window_share=0.5``); ``query_vector`` skips embedding the query.
        ``timezone`` (an IANA name, e.g. ``"America/Los_Angeles"``) is the user's: "yesterday"
        or "last Tuesday" in the query are that zone's days (default: UTC).
        """
        if timezone is not None:
            overrides["timezone"] = timezone
        check_name(namespace, "namespace")
        if session is not None:
            check_name(session, "session")
        check_query(query)
        cfg = apply_overrides(config or self.config, overrides)
        check_budget(budget)  # before embedding the query
        self._catch_up(wait=False)
        retriever = self.retriever if (self.custom_retriever or cfg == self.config) else self.retriever_for(cfg)
        if query_vector is None and query is not None and query.strip() and not self.custom_retriever:
            query_vector = self.embedder.embed([query])[0]  # once, for dense search and session scores
        return assemble(
            store=self.store,
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
            state=self._pinned_state(namespace, session) if cfg.pin_state else None,
        )

    def tool_calls(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[ToolCallState]:
        """The lifecycle of every tool call of a session, in call order (see :class:`ToolCallState`)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
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
        self, query: str, *, namespace: str = DEFAULT_NAMESPACE, k: int = 10, sessions: Sequence[str] | None = None
    ) -> list[Hit]:
        """Retrieval alone: the top ``k`` chunks for ``query`` with their scores."""
        check_name(namespace, "namespace")
        check_query(query, optional=False)
        check_k(k)
        self._catch_up(wait=False)
        cands: Candidates = self.retriever.retrieve(Query(query, namespace, sessions), k)
        rows = self.store.chunks(cands.ids.tolist())
        hits = []
        for rank, (cid, score) in enumerate(zip(cands.ids.tolist(), cands.scores.tolist()), 1):
            c = rows.get(int(cid))
            if c is None:
                continue
            comps = {n: float(v[rank - 1]) for n, v in cands.components.items() if not np.isnan(v[rank - 1])}
            msg = self.store.messages_by_seq(namespace, c.session, [c.seq]).get(c.seq)
            role = msg.role if msg else "unknown"
            hits.append(c.hit(role=role, rank=rank, scores={**comps, "final": float(score)}))
        return hits

    def since(
        self, session: str, seq: int = 0, *, namespace: str = DEFAULT_NAMESPACE, limit: int | None = None
    ) -> list[StoredMessage]:
        """The messages of a session after ``seq``: what a client that saw ``seq`` missed."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        check_seq(seq)
        check_limit(limit)
        return [r.stored() for r in self.store.messages_since(namespace, session, seq, limit)]

    def messages(self, *, namespace: str = DEFAULT_NAMESPACE, session: str | None = None) -> list[StoredMessage]:
        """Every stored message of a session, or of a namespace in order."""
        return [r.stored() for r in self.store.all_messages(namespace, session)]

    def messages_page(
        self, *, namespace: str = DEFAULT_NAMESPACE, after: int = 0, limit: int = 1000
    ) -> tuple[list[StoredMessage], int | None]:
        """Up to ``limit`` messages of a namespace in the order they were stored, after the
        cursor ``after`` (0: from the start); and the cursor of the next page (None: the last).

        Reads positions in windows (deleted sessions leave gaps, so a window grows while it
        comes back short) until a store query by position range replaces it.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidArgument(f"limit: give an int >= 1 (got {limit!r})", field="limit")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise InvalidArgument(f"after: give a cursor >= 0 (got {after!r})", field="after")
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

    def last_seq(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> int:
        return self.store.last_seq(namespace, session)

    def namespaces(self) -> list[str]:
        return self.store.namespaces()

    def sessions(self, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
        return self.store.sessions(namespace)
