"""Retrieval: dense, lexical (FTS5 and bm25s), fusion, min-max normalisation and a recency prior."""

from retrievers.base import Candidates, Query, Retriever, TextSearcher
from retrievers.dense import DenseRetriever
from retrievers.fusion import HybridRetriever, reciprocal_rank_fusion, weighted_fusion
from retrievers.lexical import BM25sRetriever, FTSRetriever, query_terms
from retrievers.normalize import minmax
from retrievers.recency import RecencyScorer

__all__ = [
    "BM25sRetriever",
    "Candidates",
    "DenseRetriever",
    "FTSRetriever",
    "HybridRetriever",
    "Query",
    "RecencyScorer",
    "Retriever",
    "TextSearcher",
    "minmax",
    "query_terms",
    "reciprocal_rank_fusion",
    "weighted_fusion",
]
