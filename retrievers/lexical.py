"""Lexical retrieval: BM25 over chunk text, two ways.

- ``FTSRetriever`` asks a ``TextSearcher`` (turnmem's log: SQLite FTS5, updated in the
  same transaction as the write, so it is always current; porter stemming).
- ``BM25sRetriever`` builds a bm25s index per namespace in memory from a corpus callback,
  rebuilt when the corpus version changes (fast to query; a rebuild per write).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from retrievers.base import Candidates, Query, TextSearcher

if TYPE_CHECKING:  # for annotations only: bm25s (and scipy under it) loads on the first BM25 query
    from bm25s import BM25

# Function words that only add noise to an OR query; kept short on purpose so that
# content words (names, numbers, ids) are never dropped.
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here there
    when where why how all any both each few more most other some such no nor not only own same so
    than too very s t can will just don should now i me my myself we our ours ourselves you your
    yours yourself yourselves he him his himself she her hers herself it its itself they them their
    theirs themselves what which who whom this that these those am is are was were be been being
    have has had having do does did doing would could ought i'm you're he's she's it's we're
    they're i've you've we've they've i'd you'd he'd she'd we'd they'd i'll you'll he'll she'll
    we'll they'll isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't won't
    wouldn't shan't shouldn't can't cannot couldn't mustn't let's that's who's what's here's
    there's when's where's why's how's as until while""".split()
)

_WORD = re.compile(r"[\w][\w'\-.]*[\w]|[\w]", re.UNICODE)


def tokens(text: str, *, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Lower-cased content words of a text, in order, repeats kept (term frequency)."""
    out = []
    for m in _WORD.finditer(text.lower()):
        word = m.group(0).strip(".-'")
        if word and word not in stopwords:
            out.append(word)
    return out


def query_terms(text: str, *, stopwords: frozenset[str] = STOPWORDS, max_terms: int = 32) -> list[str]:
    """Lower-cased content words of a query, deduplicated, in order."""
    return list(dict.fromkeys(tokens(text, stopwords=stopwords)))[:max_terms]


class FTSRetriever:
    """BM25 through the log's FTS5 table; incremental and transactional."""

    name = "lexical"

    def __init__(self, searcher: TextSearcher) -> None:
        self.searcher = searcher

    def retrieve(self, query: Query, k: int) -> Candidates:
        if not query.text or k <= 0 or (query.sessions is not None and len(query.sessions) == 0):
            return Candidates.empty()  # sessions=[] selects nothing, as in the vector index
        if query.among is not None:
            ids, scores = self.searcher.search_text(
                query_terms(query.text), query.namespace, k, query.sessions, among=query.among
            )
        else:
            ids, scores = self.searcher.search_text(query_terms(query.text), query.namespace, k, query.sessions)
        return Candidates(ids, scores, {"lexical": scores})


CorpusFn = Callable[[str], tuple[np.ndarray, list[str], list[str]]]


class Stemmer(Protocol):
    """A word stemmer such as PyStemmer's ``Stemmer.Stemmer("english")`` (what bm25s uses)."""

    def stemWords(self, words: Sequence[str]) -> Sequence[str]: ...  # noqa: N802 - PyStemmer's name


class BM25sRetriever:
    """bm25s (numpy/scipy BM25) per namespace, built lazily from ``corpus(namespace)``.

    Words are lower-cased, stop words dropped and, with a ``stemmer``, stemmed on both
    sides (the eval's ``bm25`` baseline uses English Snowball, as bm25s recommends).

    ``corpus`` returns ``(ids, texts, sessions)``; ``version(namespace)`` returns anything
    that changes when the corpus does (turnmem passes the namespace's chunk count and
    highest chunk id), and a change triggers a rebuild on the next query.
    """

    name = "bm25"

    def __init__(self, corpus: CorpusFn, version: Callable[[str], object], *, stemmer: Stemmer | None = None) -> None:
        self.corpus = corpus
        self.version = version
        self._cache: dict[str, tuple[object, BM25, np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.stemmer = stemmer

    def _stem(self, words: list[str]) -> list[str]:
        return list(self.stemmer.stemWords(words)) if self.stemmer is not None else words

    def _tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        # Stop words out, repeats kept (BM25 needs term frequencies), then stemmed.
        return [self._stem(tokens(t)) for t in texts]

    def _get(self, namespace: str) -> tuple[BM25, np.ndarray, np.ndarray] | None:
        import bm25s  # noqa: PLC0415 - lazy: ~0.25 s of imports that only the bm25 baseline needs

        version = self.version(namespace)
        with self._lock:
            hit = self._cache.get(namespace)
            if hit is not None and hit[0] == version:
                return hit[1], hit[2], hit[3]
        ids, texts, sessions = self.corpus(namespace)
        if len(texts) == 0:
            return None
        model = bm25s.BM25()
        model.index(self._tokenize(texts), show_progress=False)
        sess = np.asarray(sessions, dtype=object)
        with self._lock:
            self._cache[namespace] = (version, model, np.asarray(ids, dtype=np.int64), sess)
        return model, np.asarray(ids, dtype=np.int64), sess

    def retrieve(self, query: Query, k: int) -> Candidates:
        if not query.text or k <= 0 or (query.sessions is not None and len(query.sessions) == 0):
            return Candidates.empty()
        got = self._get(query.namespace)
        if got is None:
            return Candidates.empty()
        model, ids, sessions = got
        terms = list(dict.fromkeys(self._stem(query_terms(query.text))))
        if not terms:
            return Candidates.empty()
        scores = model.get_scores(terms)
        if query.sessions is not None:
            scores = np.where(np.isin(sessions, list(query.sessions)), scores, 0.0)
        if query.among is not None:  # a point in the history: only the chunks stored by then
            scores = np.where(np.isin(ids, query.among), scores, 0.0)
        n = min(k, int((scores > 0).sum()))
        if n == 0:
            return Candidates.empty()
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        out = scores[top].astype(np.float32)
        return Candidates(ids[top], out, {"lexical": out})
