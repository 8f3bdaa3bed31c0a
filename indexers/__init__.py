"""Vector index backends behind one protocol: FAISS (embedded default) and Chroma."""

from indexers.base import Index, check_ids, check_vectors

__all__ = ["Index", "check_ids", "check_vectors"]
