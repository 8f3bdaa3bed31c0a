"""Scoring, the fourth step of retrieval: relevance and the priors combined once, neighbours joined,
and the order packing follows (by score, by score per token, or diversified by MMR).

Relevance is the retriever's fused score min-max normalized over the candidates; the priors are
:mod:`retrievers.scorers` over a :class:`~retrievers.scorers.CandidateView` built from the log,
each firing on a signal of the :class:`~retrievers.query.QueryAnalysis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.read.candidates import Gathered, Pool
from memory.read.config import AssembleConfig
from memory.stores.base import ChunkReader, ContextStore, NamespaceCaches
from memory.stores.rows import CandidateRow, ChunkRow
from retrievers.diversity import mmr_order, session_scores
from retrievers.normalize import minmax
from retrievers.query import QueryAnalysis
from retrievers.replies import is_choice
from retrievers.scorers import AnswerType, CandidateView, Person, Recency, Scorer, SessionTopic, Speaker, Time, combine

MMR_HEAD = 256  # candidates MMR re-orders (the rest keep their score order after them)


@dataclass
class Ranked:
    """The candidates in the order packing tries them, with every score a hit reports.

    Entries ``0 .. n_direct - 1`` of the pool are the retriever's candidates; the rest are their
    neighbours (no source scores, no priors of their own: a share of their best hit's score).
    """

    pool: Pool
    order: list[int]
    reasons: list[str]
    final: np.ndarray
    relevance: np.ndarray
    recency: np.ndarray
    components: dict[str, np.ndarray]  # each source's raw score, direct candidates only
    priors: dict[str, np.ndarray]  # each firing prior's score but recency, direct candidates only
    n_direct: int

    def scores(self, j: int) -> dict[str, float]:
        """Entry ``j``'s score breakdown as its hit reports it."""
        out: dict[str, float] = {}
        if j < self.n_direct:
            out = {n: float(v[j]) for n, v in self.components.items() if not np.isnan(v[j])}
            out.update({n: float(v[j]) for n, v in self.priors.items()})
        out.update(
            {"relevance": float(self.relevance[j]), "recency": float(self.recency[j]), "final": float(self.final[j])}
        )
        return out


def default_scorers(config: AssembleConfig) -> list[Scorer]:
    """The priors of the default pipeline, each with its weight relative to relevance."""
    return [
        Recency(config.recency_weight, config.recency()),
        Time(config.time_weight),
        SessionTopic(config.session_weight),
        Speaker(config.speaker_weight),
        Person(config.person_weight),
        AnswerType(config.answer_type_weight),
    ]


def score_candidates(
    store: ContextStore,
    namespace: str,
    gathered: Gathered,
    analysis: QueryAnalysis,
    query_vector: np.ndarray | None,
    ref_time: float,
    config: AssembleConfig,
) -> Ranked:
    """Score the gathered candidates, join their neighbours and order them for packing.

    ``analysis`` and ``query_vector`` are the user's query's own, not a follow-up's expansion:
    the priors (the session topic's cosine among them) read what the user asked."""
    relevance = minmax(gathered.scores)
    rows = gathered.rows
    chunks = [m.chunk for m in rows]
    chosen, replies = _chosen(store, namespace, rows) if config.chosen_replies else (None, {})
    view = CandidateView(
        relevance=relevance,
        pos=np.array([m.pos for m in rows]),
        ts=np.array([m.ts for m in rows]),
        last_pos=store.last_pos(namespace),
        ref_time=ref_time,
        roles=[m.role for m in rows],
        speakers=[m.name for m in rows],
        texts=[c.text for c in chunks],
        session_prior=_session_prior(store, namespace, query_vector, chunks) if config.session_weight > 0 else None,
        chosen=chosen,
    )
    final, priors = combine(default_scorers(config), view, analysis, gate=config.prior_gate)
    if config.repeat_decay < 1.0:
        final = _decay_repeats(final, chunks, config.repeat_decay)
    recency = priors.pop("recency", np.zeros(len(chunks)))
    n_direct = len(chunks)
    keys = [(c.session, c.seq) for c in chunks]
    nb_keys, nb_final = _neighbours(chunks, chosen, final, config.neighbors, config.reply_share)
    zeros = np.zeros(len(nb_keys))
    # Neighbours are read when packing reaches them, but for the replies read above to find the choices.
    cap = config.neighbor_tokens
    known = {k: r for k, r in replies.items() if cap is None or r.chunk.tokens <= cap}
    cands: list[CandidateRow | None] = [*rows, *(known.get(k) for k in nb_keys)]
    pool = Pool(store, namespace, keys + nb_keys, cands, config.neighbor_tokens)
    final = np.concatenate([final, nb_final])
    return Ranked(
        pool=pool,
        order=_order(store, pool, final, n_direct, config),
        reasons=["retrieved"] * n_direct + ["neighbor"] * len(nb_keys),
        final=final,
        relevance=np.concatenate([relevance, zeros]),
        recency=np.concatenate([recency, zeros]),
        components=gathered.components,
        priors=priors,
        n_direct=n_direct,
    )


def _neighbours(
    chunks: Sequence[ChunkRow], chosen: np.ndarray | None, final: np.ndarray, share: float, reply_share: float
) -> tuple[list[tuple[str, int]], np.ndarray]:
    """A hit's adjacent turns (the question before an answer, the answer after a question) that
    are not candidates themselves, each with ``share`` of its best neighbouring hit's score; the
    user's choice right after an assistant's hit ("option 2", ``chosen``) with ``reply_share``
    when that is larger."""
    if share <= 0 and reply_share <= 0:
        return [], np.zeros(0)
    have = {(c.session, c.seq) for c in chunks}
    best: dict[tuple[str, int], float] = {}
    for j, c in enumerate(chunks):
        after = max(share, reply_share) if chosen is not None and chosen[j] else share
        for nb, part in (((c.session, c.seq - 1), share), ((c.session, c.seq + 1), after)):
            if part > 0 and nb[1] >= 1 and nb not in have:
                best[nb] = max(best.get(nb, 0.0), float(final[j]) * part)
    return list(best), np.array([best[k] for k in best], dtype=np.float64)


def _decay_repeats(final: np.ndarray, chunks: Sequence[ChunkRow], decay: float) -> np.ndarray:
    """Scores with each message's second, third... best chunk (by score) decayed by ``decay``,
    ``decay**2``...: one long turn's many chunks cannot fill the pool that others need."""
    out: np.ndarray = np.asarray(final, dtype=np.float64).copy()
    seen: dict[tuple[str, int], int] = {}
    for j in np.argsort(-out, kind="stable").tolist():
        key = (chunks[j].session, chunks[j].seq)
        n = seen.get(key, 0)
        if n:
            out[j] *= decay**n
        seen[key] = n + 1
    return out


def _chosen(
    store: ChunkReader, namespace: str, rows: Sequence[CandidateRow]
) -> tuple[np.ndarray, dict[tuple[str, int], CandidateRow]]:
    """Which candidates are assistant turns that the user's next turn chose from or accepted
    (:func:`retrievers.replies.is_choice`), and the next turns read for it (in one query)."""
    keys = [(m.chunk.session, m.chunk.seq + 1) for m in rows if m.role == "assistant"]
    nxt = store.first_candidates(namespace, keys) if keys else {}
    chosen = np.zeros(len(rows), dtype=bool)
    for j, m in enumerate(rows):
        reply = nxt.get((m.chunk.session, m.chunk.seq + 1)) if m.role == "assistant" else None
        chosen[j] = reply is not None and reply.role == "user" and is_choice(reply.chunk.text)
    return chosen, nxt


def _order(store: ChunkReader, pool: Pool, final: np.ndarray, n_direct: int, config: AssembleConfig) -> list[int]:
    """The pool's entries best first: by ``final`` (or per sqrt(token) with ``pack="density"``),
    without the neighbours known not to exist, the head diversified by MMR when it is on."""
    if config.pack == "density" or config.mmr_lambda is not None:
        pool.fill(range(n_direct, len(pool.keys)))  # both orders read every candidate's chunk
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
        ids = [pool.cands[j].chunk.id for j in head]
        vecs = store.vectors(ids)  # a chunk not embedded yet has none: zeros
        dim = next(iter(vecs.values())).shape[0] if vecs else 1
        mat = np.stack([vecs.get(i, np.zeros(dim, dtype=np.float32)) for i in ids]).astype(np.float64)
        picked = mmr_order(final[head], mat, lam=config.mmr_lambda)
        order = np.concatenate([head[picked], tail])
    return [int(j) for j in order.tolist()]


def _session_prior(
    store: NamespaceCaches, namespace: str, query_vector: np.ndarray | None, chunks: Sequence[ChunkRow]
) -> np.ndarray | None:
    """Each candidate's session's cosine to the query, min-max normalized over sessions."""
    if query_vector is None:
        return None
    names, cents = store.session_centroids(namespace)
    if not names:
        return None
    ss = session_scores(np.asarray(query_vector, dtype=np.float64), cents)
    norm = dict(zip(names, minmax(ss).tolist()))
    return np.array([norm.get(c.session, 0.0) for c in chunks])
