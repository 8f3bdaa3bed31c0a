"""Budgeted context assembly: pinned part, recent window, retrieved older state.

The algorithm, for ``budget`` B counted with the memory's token counter:

1. **Pinned**: the optional system message, counted first, plus the 3 reply-priming
   tokens every chat request pays. If that alone exceeds B: :class:`BudgetTooSmall`.
2. **Window**: the newest *units* of the session (or of the namespace when no session is
   given), newest first, while they fit ``window_share`` of what is left. A unit is a
   plain message, or an assistant message with tool calls together with all of its
   results: units are taken whole or not at all, so a call never travels without its
   results. A call still waiting for a result is left out and reported as pending. A unit
   larger than everything the budget leaves is passed over (it can only appear by its
   retrieved parts) and the window goes on with the turns before it.
3. **Retrieval** (:func:`retrieve`): the query's analysis, read from the user's own words
   (:mod:`~memory.read.query_plan`; a follow-up's expansion with the last turns feeds only the
   search); candidates from the retriever (dense, lexical or fused) over chunks not
   already shown, with relevance (the fused score, normalized to [0, 1] within the
   candidates) and the priors whose signal the query carries combined once
   (:mod:`retrievers.scorers`: recency, time, session topic, speaker, person, answer
   type), then packed greedily by ``final`` under what remains. A hit on a tool result
   brings its call (and sibling results, shown in full when small or as a one-line stub
   when large); a hit on a chunk of a long message shows that chunk (``Source.partial``).
4. **Fill**: budget still left extends the window further back.
5. **Render**: everything in chronological order (units contiguous, call first), as
   OpenAI chat dicts. ``Context.tokens`` is the sum of each rendered message's count (every
   field it carries, :func:`memory.tokens.count_message`; a whole message by the count stored
   when it was added, under the same counter and counting rules) and never exceeds B.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memory.errors import BudgetTooSmall, InvalidArgument
from memory.models import Context, Hit, MessageRef, Source
from memory.read.candidates import gather_candidates
from memory.read.config import AssembleConfig
from memory.read.packing import Packer, pack_hits, unit_pos
from memory.read.query_plan import expand_follow_up, query_analysis, reference_time
from memory.read.ranking import score_candidates
from memory.stores.base import ContextStore
from memory.tokens import REPLY_PRIMING, TokenCounter, count_message
from memory.validation import check_budget
from retrievers.base import Retriever

__all__ = ["AssembleConfig", "assemble"]


def assemble(
    *,
    store: ContextStore,
    retriever: Retriever | None,
    counter: TokenCounter,
    namespace: str,
    session: str | None,
    query: str | None,
    budget: int,
    system: str | None = None,
    config: AssembleConfig | None = None,
    query_vector: np.ndarray | None = None,
    now: float | None = None,
    state: str | None = None,
) -> Context:
    """Build a :class:`Context` under ``budget`` tokens (see the module docstring).

    ``state`` is the session's rendered state blocks (:mod:`memory.session.state`), pinned after the system prompt.
    """
    config = config or AssembleConfig()
    check_budget(budget)
    pinned: list[dict[str, Any]] = []
    if system is not None:
        if not isinstance(system, str):
            raise InvalidArgument("system: give the system prompt as a string", field="system")
        pinned.append({"role": "system", "content": system})
    if state:
        pinned.append({"role": "system", "content": state})
    pinned_tokens = REPLY_PRIMING + sum(count_message(counter, m) for m in pinned)
    if pinned_tokens > budget:
        raise BudgetTooSmall(
            f"budget: {budget} tokens cannot hold the pinned part ({pinned_tokens} tokens: system "
            f"prompt{', session state' if state else ''} and {REPLY_PRIMING} reply-priming tokens); raise the "
            f"budget to at least {pinned_tokens}",
            budget=budget,
            required=pinned_tokens,
        )
    room = budget - pinned_tokens
    packer = Packer(store, counter, namespace, config)
    has_query = bool(query and query.strip()) or query_vector is not None
    window_limit = int(room * config.window_share) if has_query else room
    resume = packer.window(session, window_limit, room=room, now=now, conversation=has_query)
    window_used = packer.used

    hits: list[Hit] = []
    if has_query and retriever is not None and packer.used < room:
        hits = retrieve(packer, retriever, query, query_vector, session, room, now)
    retrieved_used = packer.used - window_used

    if config.fill_window and resume is not None and packer.used < room:
        packer.window(session, room, start_pos=resume, room=room)

    ordered = sorted(
        packer.items.values(),
        key=lambda it: (unit_pos(packer, it), it.unit_order),
    )
    messages = pinned + [it.rendered for it in ordered]
    sources = [Source(ref=None, origin="pinned") for _ in pinned] + [
        Source(
            ref=MessageRef(namespace=namespace, session=it.row.session, seq=it.row.seq),
            origin=it.origin,
            partial=it.partial,
        )
        for it in ordered
    ]
    # Every item was counted as rendered (a whole message by its stored count, which the
    # memory recounts on open when the counting rules change); the property tests check this
    # sum against an independent recount of the rendered messages (tests/memory/test_budget_property.py).
    tokens = pinned_tokens + sum(it.tokens for it in ordered)
    if tokens > budget:  # pragma: no cover - guarded by the per-item accounting; a bug if hit
        raise AssertionError(f"assembled {tokens} tokens over the budget {budget}")
    return Context(
        messages=messages,
        tokens=tokens,
        budget=budget,
        hits=hits,
        sources=sources,
        breakdown={
            "pinned": pinned_tokens,
            "window": window_used,
            "retrieved": retrieved_used,
            "fill": packer.used - window_used - retrieved_used,
        },
        query=query,
        pending_tool_calls=packer.pending,
    )


def retrieve(
    packer: Packer,
    retriever: Retriever,
    query: str | None,
    query_vector: np.ndarray | None,
    session: str | None,
    room: int,
    now: float | None,
) -> list[Hit]:
    """Step 3, retrieval, as its named steps: analyse the user's query (its own words: the priors
    fire on nothing else), expand it for a follow-up (the session's last turns: for gathering
    only), gather candidates, score them, pack them into ``room``."""
    store, ns, config = packer.store, packer.namespace, packer.config
    ref_time = reference_time(store, ns, now)
    analysis = query_analysis(store, ns, query, ref_time, config)
    search = expand_follow_up(store, ns, session, query, query_vector, analysis, config)
    gathered = gather_candidates(store, ns, retriever, search, analysis, session, room, config)
    if gathered is None:
        return []
    ranked = score_candidates(store, ns, gathered, analysis, query_vector, ref_time, config)
    return pack_hits(packer, ranked, room)
