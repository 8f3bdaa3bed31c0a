"""Retrieval inside assembly: the query (conversation-aware), candidates, named scorers,
neighbours, MMR, and packing the hits under what the budget leaves.

Scoring is :mod:`retrievers.scorers` over a :class:`~retrievers.scorers.CandidateView` built
from the log; query analysis is :mod:`retrievers.query`. See :mod:`memory.read.assemble` for where
this step sits in the whole algorithm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from memory.models import Hit
from memory.read.config import AssembleConfig
from memory.read.packing import Packer, unit_items
from memory.stores.base import Store
from memory.stores.rows import CandidateRow, ChunkRow, MessageRow
from retrievers.base import Query, Retriever
from retrievers.diversity import mmr_order, session_scores
from retrievers.query import QueryAnalysis, analyze, is_follow_up
from retrievers.scorers import AnswerType, CandidateView, Person, Recency, Scorer, SessionTopic, Speaker, Time, combine

MMR_HEAD = 256  # candidates MMR re-orders (the rest keep their score order after them)
UNIT_KINDS = ("tool_call", "tool_result")  # chunks of messages that travel in a unit (call + results)
NEIGHBORS_AHEAD = 64  # neighbours' first chunks read in the first query when packing reaches one
ROWS_AHEAD = 32  # the fewest message rows read in one query when packing reaches one not read yet


def conversation_query(
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
    first = store.first_candidates(namespace, [(r.session, r.seq) for r in rows])
    turns = [first[(r.session, r.seq)].chunk for r in rows if (r.session, r.seq) in first]
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
    mixed = (1 - w) * q / max(float(np.linalg.norm(q)), 1e-12) + w * ctx / max(float(np.linalg.norm(ctx)), 1e-12)
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


def retrieve(
    packer: Packer,
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
    # scoring reads each candidate's position, time, role (and speaker, when the query names one):
    # one read without the messages' bodies; packing reads the rows of the few it reaches
    cand_rows = store.candidates(cands.ids.tolist(), names=bool(qa.named) and config.speaker_weight > 0)
    keep = [i for i, cid in enumerate(cands.ids.tolist()) if cid in cand_rows]
    if not keep:
        return []
    ids = cands.ids[keep]
    rel = cands.scores[keep].astype(np.float64)
    lo, hi = float(rel.min()), float(rel.max())
    rel_n = (rel - lo) / (hi - lo) if hi > lo else np.ones_like(rel)
    metas = [cand_rows[int(i)] for i in ids]
    chunks = [m.chunk for m in metas]
    view = CandidateView(
        relevance=rel_n,
        pos=np.array([m.pos for m in metas]),
        ts=np.array([m.ts for m in metas]),
        last_pos=last_pos,
        ref_time=ref_time,
        roles=[m.role for m in metas],
        speakers=[m.name for m in metas],
        texts=[c.text for c in chunks],
        session_prior=_session_prior(store, ns, query_vector, chunks) if config.session_weight > 0 else None,
    )
    final, extra_scores = combine(_scorers(config), view, qa)
    recency = extra_scores.pop("recency", np.zeros(len(chunks)))
    n_direct = len(chunks)
    reasons = ["retrieved"] * n_direct
    keys = [(c.session, c.seq) for c in chunks]
    cands_or_none: list[CandidateRow | None] = list(metas)
    if config.neighbors > 0:
        # A hit's adjacent turns (the question before an answer, the answer after a
        # question) join the candidates with a share of its score.
        have = set(keys)
        best: dict[tuple[str, int], float] = {}
        for j, c in enumerate(chunks):
            for nb in ((c.session, c.seq - 1), (c.session, c.seq + 1)):
                if nb[1] >= 1 and nb not in have:
                    best[nb] = max(best.get(nb, 0.0), float(final[j]) * config.neighbors)
        nb_keys = list(best)
        keys += nb_keys
        cands_or_none += [None] * len(nb_keys)  # read when packing reaches them (most never are)
        final = np.concatenate([final, [best[k] for k in nb_keys]])
        zeros = np.zeros(len(nb_keys))
        rel_n = np.concatenate([rel_n, zeros])
        recency = np.concatenate([recency, zeros])
        reasons += ["neighbor"] * len(nb_keys)
    pool = _Pool(store, ns, keys, cands_or_none, config.neighbor_tokens)
    if config.pack == "density" or config.mmr_lambda is not None:
        pool.fill(range(n_direct, len(keys)))  # both orders read every candidate's chunk
    if config.pack == "density":
        tok = np.array([max(m.chunk.tokens, 1) if m else 1 for m in pool.cands], dtype=np.float64)
        order = np.argsort(-(final / np.sqrt(tok)), kind="stable")
    else:
        order = np.argsort(-final, kind="stable")
    order = np.array([j for j in order.tolist() if pool.exists(j)], dtype=np.int64)  # drops missing neighbours
    if config.mmr_lambda is not None and len(order) > 1:
        # MMR re-orders the best MMR_HEAD only: its similarity matrix is n x n, and a big
        # budget's pool (candidates_per_token) must not make it quadratic in the budget.
        head, tail = order[:MMR_HEAD], order[MMR_HEAD:]
        ids = [pool.cands[j].chunk.id for j in head]  # type: ignore[union-attr]
        vecs = store.vectors(ids)  # a chunk not embedded yet has none: zeros
        dim = next(iter(vecs.values())).shape[0] if vecs else 1
        mat = np.stack([vecs.get(i, np.zeros(dim, dtype=np.float32)) for i in ids]).astype(np.float64)
        picked = mmr_order(final[head], mat, lam=config.mmr_lambda)
        order = np.concatenate([head[picked], tail])

    hits: list[Hit] = []
    shown_parts: dict[tuple[str, int], list[ChunkRow]] = {}

    components = {n: v[keep] for n, v in cands.components.items()}

    def hit(j: int, c: ChunkRow, role: str, reason: str) -> Hit:
        scores = {}
        if j < n_direct:
            scores = {n: float(v[j]) for n, v in components.items() if not np.isnan(v[j])}
            scores.update({n: float(v[j]) for n, v in extra_scores.items()})
        scores.update({"relevance": float(rel_n[j]), "recency": float(recency[j]), "final": float(final[j])})
        return c.hit(role=role, rank=len(hits) + 1, scores=scores, reason=reason)

    order_list = order.tolist()
    rows_by_key: dict[tuple[str, int], MessageRow] = {}
    asked: set[tuple[str, int]] = set()
    for at, j in enumerate(order_list):
        if not pool.fetched[j]:  # a neighbour: read its first chunk with the next ones packing reaches
            # (the next NEIGHBORS_AHEAD the first time; all the others the second: packing that gets
            # this far usually runs to the end of the list, looking for something small enough)
            ahead = [i for i in order_list[at:] if not pool.fetched[i]]
            pool.fill(ahead if pool.fills else ahead[:NEIGHBORS_AHEAD])
        meta = pool.cands[j]
        if meta is None:
            continue  # a neighbour that does not exist, or over neighbor_tokens
        c = meta.chunk
        key = keys[j]
        existing = packer.items.get(key)
        if existing is not None and (not existing.partial or c.part in existing.parts):
            # Already in the context (recent window, or brought by an earlier hit's unit).
            if reasons[j] != "neighbor":
                hits.append(hit(j, c, existing.row.role, f"retrieved; already in context ({existing.origin})"))
            continue
        if packer.used >= room:
            break
        if existing is None and c.tokens > room - packer.used:
            continue  # its own text alone cannot fit: skip building its unit (tool links, rendering, counts)
        if c.parts == 1 and c.kind not in UNIT_KINDS and meta.tokens > room - packer.used:
            continue  # a plain whole message that cannot fit (its token count is in its meta): no row read
        if key not in asked:  # read this row with the next ones packing will reach
            ahead = _ahead(pool, order_list, at, asked, 2 * (room - packer.used))
            rows_by_key.update(packer.rows_for(ahead))
            asked.update(ahead)
        row = rows_by_key.get(key)
        if row is None:
            continue
        items = unit_items(packer, row, c, shown_parts)
        if items is None:
            continue
        if not packer.try_add(items, room):
            continue
        shown_parts.setdefault(key, []).append(c)
        hits.append(hit(j, c, row.role, reasons[j]))
    return hits


class _Pool:
    """Retrieval's candidates by index: their keys, and each one's chunk and message meta once read
    (a direct candidate's at once; a neighbour's when packing reaches it, :meth:`fill`)."""

    def __init__(
        self,
        store: Store,
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


def _ahead(
    pool: _Pool, order: Sequence[int], at: int, asked: set[tuple[str, int]], tokens: int
) -> list[tuple[str, int]]:
    """The messages packing is about to reach from ``order[at]``, not read yet: at least
    ``ROWS_AHEAD`` and until their chunks add up to ``tokens`` (twice the room left: about what
    packing will get through before the budget is full), so that most contexts read their
    candidates' rows in one or two queries. A neighbour not read yet counts no tokens."""
    keys: dict[tuple[str, int], None] = {}
    for i in order[at:]:
        key = pool.keys[i]
        if key in asked or key in keys or not pool.exists(i):
            continue
        keys[key] = None
        c = pool.cands[i]
        tokens -= c.chunk.tokens if c is not None else 0
        if tokens <= 0 and len(keys) >= ROWS_AHEAD:
            break
    return list(keys)


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
