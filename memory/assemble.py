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
3. **Retrieval**: candidates from the retriever (dense, lexical or fused) over chunks not
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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from memory.errors import BudgetTooSmall, InvalidArgument
from memory.models import Context, Hit, MessageRef, Source
from memory.store import ChunkRow, MessageRow, Store
from memory.tokens import TokenCounter, count_message
from memory.validation import check_budget
from retrievers.base import Query, Retriever
from retrievers.diversity import mmr_order, session_scores
from retrievers.query import QueryAnalysis, analyze, is_follow_up
from retrievers.recency import RecencyScorer
from retrievers.scorers import AnswerType, CandidateView, Person, Recency, Scorer, SessionTopic, Speaker, Time, combine
from retrievers.temporal import zone as time_zone

REPLY_PRIMING = 3
MMR_HEAD = 256  # candidates MMR re-orders (the rest keep their score order after them)


class AssembleConfig(BaseModel):
    """Knobs of :func:`assemble`; every one is measured in the eval harness."""

    window_share: float = Field(0.3, ge=0.0, le=1.0, description="share of the budget for the recent window")
    candidates: int = Field(64, ge=1, le=10_000, description="chunks asked from the retriever")
    candidates_per_token: float = Field(
        0.125, ge=0.0, le=1.0, description="at least this many candidates per token of budget (a big budget holds more)"
    )
    recency_weight: float = Field(0.1, ge=0.0, le=1.0, description="weight of the recency prior (relevance: 1)")
    turn_half_life: float | None = Field(200.0, gt=0, description="recency half-life in turns (None: off)")
    time_half_life_days: float | None = Field(30.0, gt=0, description="recency half-life in days (None: off)")
    stub_tokens: int = Field(120, ge=0, description="sibling tool results above this many tokens show as a stub")
    fill_window: bool = Field(True, description="spend budget left after retrieval on older window turns")
    scope: Literal["namespace", "session"] = Field("namespace", description="where retrieval looks")
    # retrieval pieces (each measured in benchmarks/ablation.py)
    lexical_weight: float = Field(1.0, ge=0.0, description="weight of FTS5 BM25 candidates in fusion (0: dense only)")
    fusion: Literal["rrf", "weighted"] = Field("weighted", description="how dense and lexical rankings are fused")
    rrf_k: float = Field(60.0, gt=0, description="reciprocal rank fusion constant")
    pin_state: bool = Field(True, description="pin the session's state blocks (and stage instructions)")
    text_only: bool = Field(False, description="images and files as their text surrogates instead of parts")
    window_max_messages: int | None = Field(
        None, ge=0, description="cap on recent-window messages before retrieval (None: no cap)"
    )
    window_gap_hours: float | None = Field(
        6.0,
        gt=0,
        description="the recent window is the current conversation: it stops at a pause longer than this "
        "(between turns, or between the newest turn and `now`); older turns come by retrieval (None: no limit)",
    )
    neighbors: float = Field(
        0.35, ge=0.0, le=1.0, description="adjacent turns of a hit join with this share of its score"
    )
    neighbor_tokens: int | None = Field(
        None, ge=1, description="only neighbours of at most this many tokens join (None: any size)"
    )
    mmr_lambda: float | None = Field(None, gt=0.0, le=1.0, description="MMR diversity trade-off (None: off)")
    session_weight: float = Field(
        0.25, ge=0.0, le=1.0, description="weight of the session-level (centroid) score (relevance: 1)"
    )
    pack: Literal["score", "density"] = Field("score", description="pack by score, or by score per sqrt(token)")
    query_turns: int = Field(
        2, ge=0, le=20, description="recent session turns folded into the retrieval query (0: the query alone)"
    )
    query_turns_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="weight of those turns' mean vector against the query vector"
    )
    time_weight: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="weight of a time expression in the query ('in June', 'last week', 'first'; relevance: 1)",
    )
    answer_type_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="weight of 'the turn says when' for a 'when ...?' query (relevance: 1)"
    )
    lexical_names: bool = Field(False, description="keep named participants' names in the lexical query")
    speaker_weight: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="weight of 'said by a participant the query names' (by message name; relevance: 1)",
    )
    person_weight: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="weight of 'said by the side the query's pronouns point at' (my/I: user, you: assistant)",
    )
    timezone: str | None = Field(
        None,
        description="the user's IANA time zone ('America/Los_Angeles'): where 'yesterday' or 'May 3' begin (None: UTC)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        time_zone(value)  # ValueError naming the field for an unknown name
        return value

    def recency(self) -> RecencyScorer:
        days = self.time_half_life_days
        return RecencyScorer(self.turn_half_life, None if days is None else days * 86400.0)


@dataclass
class _Item:
    """One rendered message in the context, with how it got there."""

    row: MessageRow
    rendered: dict[str, Any]
    tokens: int
    origin: Literal["window", "retrieved"]
    partial: bool = False
    parts: set[int] = field(default_factory=set)
    unit_key: tuple[str, int] = ("", 0)
    unit_order: int = 0


class _Packer:
    """State of one assembly: what is in, what it cost, and how to add a unit."""

    def __init__(self, store: Store, counter: TokenCounter, namespace: str, config: AssembleConfig) -> None:
        self.store = store
        self.counter = counter
        self.namespace = namespace
        self.config = config
        self.items: dict[tuple[str, int], _Item] = {}  # (session, seq) -> item
        self.used = 0
        self.pending: list[MessageRef] = []
        self.window_count = 0
        self._rows: dict[tuple[str, int], MessageRow] = {}

    # -- rows and units --------------------------------------------------------------------

    def remember(self, rows: Sequence[MessageRow]) -> None:
        for r in rows:
            self._rows[(r.session, r.seq)] = r

    def rows(self, session: str, seqs: Sequence[int]) -> list[MessageRow]:
        missing = [s for s in seqs if (session, s) not in self._rows]
        if missing:
            self.remember(list(self.store.messages_by_seq(self.namespace, session, missing).values()))
        return [self._rows[(session, s)] for s in seqs if (session, s) in self._rows]

    def rows_for(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], MessageRow]:
        """Rows of (session, seq) keys across sessions, in one query for those not seen yet."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._rows]
        if missing:
            self.remember(list(self.store.messages_by_keys(self.namespace, missing).values()))
        return {k: self._rows[k] for k in keys if k in self._rows}

    def unit(self, row: MessageRow) -> list[MessageRow] | None:
        """The message with everything it must travel with, call first; None if pending."""
        if row.role == "tool":
            links = self.store.tool_links(self.namespace, row.session, call_ids=[row.data["tool_call_id"]])
            if not links:  # pragma: no cover - the log rejects orphan results
                return None
            call = self.rows(row.session, [links[0][1]])
            return self.unit(call[0]) if call else None
        if row.role == "assistant" and row.data.get("tool_calls"):
            links = self.store.tool_links(self.namespace, row.session, call_seqs=[row.seq])
            if any(result is None for _, _, result in links):
                ref = MessageRef(namespace=self.namespace, session=row.session, seq=row.seq)
                if ref not in self.pending:
                    self.pending.append(ref)
                return None
            results = sorted({int(r) for _, _, r in links if r is not None})
            return [row, *self.rows(row.session, results)]
        return [row]

    # -- costs -----------------------------------------------------------------------------

    def full(self, row: MessageRow, origin: Literal["window", "retrieved"], key: tuple[str, int], order: int) -> _Item:
        if self.config.text_only and isinstance(row.data.get("content"), list):
            rendered = _render(row, text_only=True)  # images and files as their surrogates: recount
            return _Item(row, rendered, count_message(self.counter, rendered), origin, unit_key=key, unit_order=order)
        rendered = _render(row)
        return _Item(row, rendered, row.tokens, origin, unit_key=key, unit_order=order)

    def partial(self, row: MessageRow, chunks: Sequence[ChunkRow], key: tuple[str, int], order: int) -> _Item:
        parts = {c.part for c in chunks}
        rendered = _render(row, chunks=sorted(chunks, key=lambda c: c.part), parts_total=chunks[0].parts)
        tokens = count_message(self.counter, rendered)
        return _Item(row, rendered, tokens, "retrieved", partial=True, parts=parts, unit_key=key, unit_order=order)

    def stub(self, row: MessageRow, key: tuple[str, int], order: int) -> _Item:
        rendered = _render(row)
        rendered["content"] = f"[tool output omitted from memory: {row.tokens} tokens]"
        tokens = count_message(self.counter, rendered)
        return _Item(row, rendered, tokens, "retrieved", partial=True, unit_key=key, unit_order=order)

    def try_add(self, items: Sequence[_Item], limit: int) -> bool:
        """Add items (replacing partial versions of the same message) if they fit ``limit``."""
        delta = 0
        for it in items:
            old = self.items.get((it.row.session, it.row.seq))
            delta += it.tokens - (old.tokens if old else 0)
        if self.used + delta > limit:
            return False
        for it in items:
            self.items[(it.row.session, it.row.seq)] = it
        self.used += delta
        return True

    def has(self, row: MessageRow) -> bool:
        return (row.session, row.seq) in self.items

    # -- window ----------------------------------------------------------------------------

    def window(
        self,
        session: str | None,
        limit: int,
        start_pos: int | None = None,
        *,
        room: int | None = None,
        now: float | None = None,
        conversation: bool = False,
    ) -> int | None:
        """Add newest units while they fit; return the pos to continue from (None: exhausted).

        A unit bigger than the whole ``room`` could never be shown whole: it is passed over
        (retrieval may still show its relevant parts) instead of ending the window, so one
        huge message or tool output does not hide every turn before it. With ``conversation``
        (a query will retrieve the rest), the window is the current conversation: it ends at
        a pause longer than ``window_gap_hours`` (from ``now`` to the newest turn, or between
        two turns).
        """
        before = start_pos
        gap = self.config.window_gap_hours
        gap_s = gap * 3600.0 if (gap is not None and conversation) else None
        last_ts = now
        cap = self.config.window_max_messages
        batch = 8 if (cap is not None and start_pos is None) else 64  # a capped window needs few rows
        while True:
            rows = self.store.tail(self.namespace, session, before_pos=before, limit=batch)
            if not rows:
                return None
            self.remember(rows)
            for row in rows:
                if gap_s is not None:
                    if last_ts is not None and last_ts - row.ts > gap_s:
                        return row.pos + 1  # an earlier conversation: retrieval's, then the fill's
                    last_ts = row.ts
                before = row.pos
                if self.has(row):
                    continue
                unit = self.unit(row)
                if unit is None:
                    continue  # a pending call: skipped, reported
                key = (unit[0].session, unit[0].seq)
                items = [self.full(r, "window", key, i) for i, r in enumerate(unit) if not self._full_in(r)]
                if not items:
                    continue
                if cap is not None and self.window_count + len(items) > cap and start_pos is None:
                    return row.pos + 1
                if not self.try_add(items, limit):
                    if room is not None and sum(r.tokens for r in unit) > room:
                        continue
                    return row.pos + 1
                self.window_count += len(items)
            if len(rows) < batch:
                return None
            batch = min(batch * 4, 256)

    def _full_in(self, row: MessageRow) -> bool:
        it = self.items.get((row.session, row.seq))
        return it is not None and not it.partial


def _render(
    row: MessageRow, *, chunks: Sequence[ChunkRow] = (), parts_total: int = 1, text_only: bool = False
) -> dict[str, Any]:
    """The stored message as an OpenAI dict; with ``chunks``, only those pieces of its text."""
    msg = row.message()
    data = msg.to_openai(text_only=text_only)
    if chunks:
        pieces = []
        last = -1
        for c in chunks:
            if c.part != last + 1:
                pieces.append("[…]")
            pieces.append(c.text)
            last = c.part
        if last != parts_total - 1:
            pieces.append("[…]")
        data["content"] = "\n".join(pieces)
        if msg.tool_calls:
            data.pop("content", None)
            data["content"] = None
    return data


def assemble(
    *,
    store: Store,
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

    ``state`` is the session's rendered state blocks (:mod:`memory.state`), pinned after the system prompt.
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
    packer = _Packer(store, counter, namespace, config)
    has_query = bool(query and query.strip()) or query_vector is not None
    window_limit = int(room * config.window_share) if has_query else room
    resume = packer.window(session, window_limit, room=room, now=now, conversation=has_query)
    window_used = packer.used

    hits: list[Hit] = []
    if has_query and retriever is not None and packer.used < room:
        r_query, r_vector = _conversation_query(store, namespace, session, query, query_vector, config)
        hits = _retrieve(packer, retriever, r_query, r_vector, session, room, now)
    retrieved_used = packer.used - window_used

    if config.fill_window and resume is not None and packer.used < room:
        packer.window(session, room, start_pos=resume, room=room)

    ordered = sorted(
        packer.items.values(),
        key=lambda it: (_unit_pos(packer, it), it.unit_order),
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


def _group(keys: Sequence[tuple[str, int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for session, seq in keys:
        out.setdefault(session, []).append(seq)
    return out


def _unit_pos(packer: _Packer, item: _Item) -> int:
    head = packer.items.get(item.unit_key)
    return head.row.pos if head is not None else item.row.pos


def _conversation_query(
    store: Store,
    namespace: str,
    session: str | None,
    query: str | None,
    query_vector: np.ndarray | None,
    config: AssembleConfig,
) -> tuple[str | None, np.ndarray | None]:
    """The retrieval query, made from the latest turn and the few before it.

    "and what did it cost?" alone finds any price; after turns about the Lisbon hotel it
    should find the Lisbon hotel's. The last ``query_turns`` messages of the session (not
    the query itself, if it is already stored) are mixed into the query vector with
    ``query_turns_weight`` (their stored vectors: nothing is embedded again), and their words
    join the lexical query. Only for a follow-up (:func:`retrievers.lexical.is_follow_up`:
    few content words and a pronoun or a leading "and"/"what about"): a self-contained
    query ("Where is KX-48211-Q?") stays as it is. Off without a session: a question about
    the past is not a follow-up of the namespace's last turns.
    """
    if session is None or config.query_turns == 0 or not query or not is_follow_up(query):
        return query, query_vector
    rows = [r for r in store.tail(namespace, session, limit=config.query_turns + 1) if r.role in ("user", "assistant")]
    first = store.first_chunks(namespace, [(r.session, r.seq) for r in rows])
    turns = [first[(r.session, r.seq)] for r in rows if (r.session, r.seq) in first]
    turns = [c for c in turns if c.text.strip() != query.strip()][: config.query_turns]  # newest first
    if not turns:
        return query, query_vector
    text = " ".join([query, *(c.text for c in reversed(turns))])
    if query_vector is None or config.query_turns_weight == 0:
        return text, query_vector
    vecs = store.vectors([c.id for c in turns])
    if not vecs:
        return text, query_vector
    ctx = np.mean(np.stack(list(vecs.values())).astype(np.float64), axis=0)
    q = np.asarray(query_vector, dtype=np.float64)
    w = config.query_turns_weight
    mixed = (1 - w) * q / max(np.linalg.norm(q), 1e-12) + w * ctx / max(np.linalg.norm(ctx), 1e-12)
    return text, (mixed / max(np.linalg.norm(mixed), 1e-12)).astype(np.float32)


def _scorers(config: AssembleConfig) -> list[Scorer]:
    """The priors of the default pipeline, each with its weight relative to relevance."""
    return [
        Recency(config.recency_weight, config.recency()),
        Time(config.time_weight),
        SessionTopic(config.session_weight),
        Speaker(config.speaker_weight),
        Person(config.person_weight),
        AnswerType(config.answer_type_weight),
    ]


def _analyze(store: Store, namespace: str, query: str | None, ref_time: float, config: AssembleConfig) -> QueryAnalysis:
    speakers = store.speakers(namespace) if (config.speaker_weight > 0 and query) else None
    return analyze(
        query,
        speakers=speakers,
        now=ref_time if config.time_weight > 0 else None,
        names_in_lexical=config.lexical_names,
        timezone=config.timezone,
    )


def _retrieve(
    packer: _Packer,
    retriever: Retriever,
    query: str | None,
    query_vector: np.ndarray | None,
    session: str | None,
    room: int,
    now: float | None,
) -> list[Hit]:
    config = packer.config
    store = packer.store
    ns = packer.namespace
    sessions = [session] if (config.scope == "session" and session is not None) else None
    last_pos = store.last_pos(ns)
    ref_time = now
    if ref_time is None:
        tail = store.tail(ns, None, limit=1)
        ref_time = tail[0].ts if tail else 0.0
    qa = _analyze(store, ns, query, ref_time, config)
    k = max(config.candidates, int(room * config.candidates_per_token))
    k *= 2 if qa.time is not None else 1  # the right time may rank lower
    # Dense search always sees the whole query; the lexical side may drop named participants.
    text = qa.lexical_text if query_vector is not None else query
    cands = retriever.retrieve(Query(text, ns, sessions, query_vector), k)
    if len(cands) == 0:
        return []
    chunk_rows = store.chunks(cands.ids.tolist())
    keep = [i for i, cid in enumerate(cands.ids.tolist()) if cid in chunk_rows]
    if not keep:
        return []
    ids = cands.ids[keep]
    rel = cands.scores[keep].astype(np.float64)
    lo, hi = float(rel.min()), float(rel.max())
    rel_n = (rel - lo) / (hi - lo) if hi > lo else np.ones_like(rel)
    chunks = [chunk_rows[int(i)] for i in ids]
    rows_by_key = packer.rows_for([(c.session, c.seq) for c in chunks])
    rows = [rows_by_key.get((c.session, c.seq)) for c in chunks]
    view = CandidateView(
        relevance=rel_n,
        pos=np.array([r.pos if r is not None else last_pos for r in rows]),
        ts=np.array([r.ts if r is not None else ref_time for r in rows]),
        last_pos=last_pos,
        ref_time=ref_time,
        roles=[r.role if r is not None else "" for r in rows],
        speakers=[_speaker(r) for r in rows],
        texts=[c.text for c in chunks],
        session_prior=_session_prior(store, ns, query_vector, chunks) if config.session_weight > 0 else None,
    )
    final, extra_scores = combine(_scorers(config), view, qa)
    recency = extra_scores.pop("recency", np.zeros(len(chunks)))
    n_direct = len(chunks)
    reasons = ["retrieved"] * n_direct
    if config.neighbors > 0:
        # A hit's adjacent turns (the question before an answer, the answer after a
        # question) join the candidates with a share of its score.
        have = {(c.session, c.seq) for c in chunks}
        best: dict[tuple[str, int], float] = {}
        for j, c in enumerate(chunks):
            for nb in ((c.session, c.seq - 1), (c.session, c.seq + 1)):
                if nb[1] >= 1 and nb not in have:
                    best[nb] = max(best.get(nb, 0.0), float(final[j]) * config.neighbors)
        extra = store.first_chunks(ns, list(best))
        if config.neighbor_tokens is not None:
            extra = {k: c for k, c in extra.items() if c.tokens <= config.neighbor_tokens}
        if extra:
            rows_by_key.update(packer.rows_for(list(extra)))
            keys = list(extra)
            chunks = chunks + [extra[k] for k in keys]
            final = np.concatenate([final, [best[k] for k in keys]])
            zeros = np.zeros(len(keys))
            rel_n = np.concatenate([rel_n, zeros])
            recency = np.concatenate([recency, zeros])
            reasons += ["neighbor"] * len(keys)
    if config.pack == "density":
        tok = np.array([max(c.tokens, 1) for c in chunks], dtype=np.float64)
        order = np.argsort(-(final / np.sqrt(tok)), kind="stable")
    else:
        order = np.argsort(-final, kind="stable")
    if config.mmr_lambda is not None and len(order) > 1:
        # MMR re-orders the best MMR_HEAD only: its similarity matrix is n x n, and a big
        # budget's pool (candidates_per_token) must not make it quadratic in the budget.
        head, tail = order[:MMR_HEAD], order[MMR_HEAD:]
        vecs = store.vectors([chunks[j].id for j in head])
        dim = next(iter(vecs.values())).shape[0]
        mat = np.stack([vecs.get(chunks[j].id, np.zeros(dim, dtype=np.float32)) for j in head]).astype(np.float64)
        picked = mmr_order(final[head], mat, lam=config.mmr_lambda)
        order = np.concatenate([head[picked], tail])

    hits: list[Hit] = []
    shown_parts: dict[tuple[str, int], list[ChunkRow]] = {}

    components = {n: v[keep] for n, v in cands.components.items()}

    def hit(j: int, c: ChunkRow, row: MessageRow, reason: str) -> Hit:
        scores = {}
        if j < n_direct:
            scores = {n: float(v[j]) for n, v in components.items() if not np.isnan(v[j])}
            scores.update({n: float(v[j]) for n, v in extra_scores.items()})
        scores.update({"relevance": float(rel_n[j]), "recency": float(recency[j]), "final": float(final[j])})
        return c.hit(role=row.role, rank=len(hits) + 1, scores=scores, reason=reason)

    for j in order.tolist():
        c = chunks[j]
        row = rows_by_key.get((c.session, c.seq))
        if row is None:
            continue
        key = (row.session, row.seq)
        existing = packer.items.get(key)
        if existing is not None and (not existing.partial or c.part in existing.parts):
            # Already in the context (recent window, or brought by an earlier hit's unit).
            if reasons[j] != "neighbor":
                hits.append(hit(j, c, row, f"retrieved; already in context ({existing.origin})"))
            continue
        if packer.used >= room:
            break
        if c.parts == 1 and row.role != "tool" and not row.data.get("tool_calls") and row.tokens > room - packer.used:
            continue  # a plain whole message that cannot fit: passed over before it is rendered
        if existing is None and c.tokens > room - packer.used:
            continue  # its own text alone cannot fit: skip building its unit (tool links, rendering, counts)
        items = _unit_items(packer, row, c, shown_parts)
        if items is None:
            continue
        if not packer.try_add(items, room):
            continue
        shown_parts.setdefault(key, []).append(c)
        hits.append(hit(j, c, row, reasons[j]))
    return hits


def _speaker(row: MessageRow | None) -> str | None:
    return None if row is None else row.data.get("name")


def _session_prior(
    store: Store, namespace: str, query_vector: np.ndarray | None, chunks: Sequence[ChunkRow]
) -> np.ndarray | None:
    """Each candidate's session's cosine to the query, min-max normalized over sessions."""
    if query_vector is None:
        return None
    names, cents = store.session_centroids(namespace)
    if not names:
        return None
    ss = session_scores(np.asarray(query_vector, dtype=np.float64), cents)
    lo, hi = float(ss.min()), float(ss.max())
    norm = dict(zip(names, ((ss - lo) / (hi - lo) if hi > lo else np.ones_like(ss)).tolist()))
    return np.array([norm.get(c.session, 0.0) for c in chunks])


def _unit_items(
    packer: _Packer, row: MessageRow, chunk: ChunkRow, shown: dict[tuple[str, int], list[ChunkRow]]
) -> list[_Item] | None:
    """Items to add for a hit on ``chunk`` of ``row``: the message (whole or partial) and,
    for tool messages, the rest of its unit."""
    unit = packer.unit(row)
    if unit is None:
        return None
    key = (unit[0].session, unit[0].seq)
    items: list[_Item] = []
    for order, member in enumerate(unit):
        mkey = (member.session, member.seq)
        existing = packer.items.get(mkey)
        if member.seq == row.seq and member.session == row.session:
            if chunk.parts > 1:
                chunks = [*shown.get(mkey, []), chunk]
                items.append(packer.partial(member, chunks, key, order))
            elif existing is None or existing.partial:
                items.append(packer.full(member, "retrieved", key, order))
        elif existing is None:
            if member.role == "tool" and member.tokens > packer.config.stub_tokens:
                items.append(packer.stub(member, key, order))
            else:
                items.append(packer.full(member, "retrieved", key, order))
    return items
