"""The query plan: what the user's query says (its analysis) and what retrieval searches with (its
follow-up expansion), the first two steps of retrieval in :func:`memory.read.assemble.assemble`.

The analysis is :func:`retrievers.query.analyze` of the query as the user gave it, with what the
log knows (the participants' names, the reference time): every prior fires on the user's own words.
The expansion folds the session's last turns into a follow-up's *search* only ("and what did it
cost?" after turns about the Lisbon hotel searches for the Lisbon hotel's price), so a "last week"
or a "you" in the turn before does not become a time hint or a person prior the user never asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memory.read.config import AssembleConfig
from memory.stores.base import ContextStore, LogReader, NamespaceCaches
from retrievers.query import QueryAnalysis, analyze, without_names


def reference_time(store: LogReader, namespace: str, now: float | None) -> float:
    """ "Now" for recency and relative times: ``now`` if given, else the namespace's newest turn's time."""
    if now is not None:
        return now
    tail = store.tail(namespace, None, limit=1)
    return tail[0].ts if tail else 0.0


def query_analysis(
    store: NamespaceCaches, namespace: str, query: str | None, ref_time: float, config: AssembleConfig
) -> QueryAnalysis:
    """The signals of ``query`` that the priors fire on; the participants' names are read only when
    the speaker prior is on, the time only when the time prior is."""
    speakers = store.speakers(namespace) if (config.speaker_weight > 0 and query) else None
    return analyze(
        query,
        speakers=speakers,
        now=ref_time if config.time_weight > 0 else None,
        names_in_lexical=config.lexical_names,
        timezone=config.timezone,
        time_reading=config.time_reading,
        person_reading=config.person_reading,
    )


@dataclass(frozen=True)
class SearchQuery:
    """What candidate gathering searches with: the whole text (for a retriever without a vector),
    the lexical words and the vector, of the query or of a follow-up's expansion (``expanded``)."""

    text: str | None
    lexical_text: str | None
    vector: np.ndarray | None
    expanded: bool = False


def expand_follow_up(
    store: ContextStore,
    namespace: str,
    session: str | None,
    query: str | None,
    query_vector: np.ndarray | None,
    analysis: QueryAnalysis,
    config: AssembleConfig,
) -> SearchQuery:
    """The search for a follow-up, made from the latest turn and the few before it.

    "and what did it cost?" alone finds any price; after turns about the Lisbon hotel it
    should find the Lisbon hotel's. The last ``query_turns`` messages of the session (not
    the query itself, if it is already stored) are mixed into the query vector with
    ``query_turns_weight`` (their stored vectors: nothing is embedded again), and their words
    join the lexical query (without the participants the query names, as the query's own
    words are). Only for a follow-up (``analysis.follow_up``, :func:`retrievers.query.is_follow_up`:
    few content words and a pronoun or a leading "and"/"what about"): a self-contained
    query ("Where is KX-48211-Q?") stays as it is. Off without a session: a question about
    the past is not a follow-up of the namespace's last turns. The expansion feeds candidate
    gathering only; scoring reads the query's own analysis and vector.
    """
    as_given = SearchQuery(query, analysis.lexical_text, query_vector)
    if session is None or config.query_turns == 0 or not query or not analysis.follow_up:
        return as_given
    rows = [r for r in store.tail(namespace, session, limit=config.query_turns + 1) if r.role in ("user", "assistant")]
    first = store.first_candidates(namespace, [(r.session, r.seq) for r in rows])
    turns = [first[(r.session, r.seq)].chunk for r in rows if (r.session, r.seq) in first]
    turns = [c for c in turns if c.text.strip() != query.strip()][: config.query_turns]  # newest first
    if not turns:
        return as_given
    words = " ".join(c.text for c in reversed(turns))
    named = analysis.named if not config.lexical_names else frozenset()
    lexical = f"{analysis.lexical_text} {without_names(words, named) if named else words}"
    text = f"{query} {words}"
    if query_vector is None or config.query_turns_weight == 0:
        return SearchQuery(text, lexical, query_vector, expanded=True)
    vecs = store.vectors([c.id for c in turns])
    if not vecs:
        return SearchQuery(text, lexical, query_vector, expanded=True)
    ctx = np.mean(np.stack(list(vecs.values())).astype(np.float64), axis=0)
    q = np.asarray(query_vector, dtype=np.float64)
    w = config.query_turns_weight
    mixed = (1 - w) * q / max(float(np.linalg.norm(q)), 1e-12) + w * ctx / max(float(np.linalg.norm(ctx)), 1e-12)
    unit = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
    return SearchQuery(text, lexical, unit.astype(np.float32), expanded=True)
