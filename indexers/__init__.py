"""Vector index backends behind one protocol: FAISS (embedded default) and Chroma."""

from __future__ import annotations

from pathlib import Path

from indexers.base import Index, check_ids, check_vectors, prepare_batch
from indexers.chroma_index import ChromaIndex
from indexers.faiss_index import FaissIndex
from memory.errors import InvalidArgument

SPECS = ("faiss", "faiss-hnsw", "chroma", "chroma-http://HOST:PORT")
HNSW_THRESHOLD = 50_000


def open_index(spec: str, path: str | Path, dim: int, *, deployment: str | None = None) -> Index:
    """An index from a spec string (what ``Memory.open(index=...)`` and the CLI take).

    ``faiss`` (exact, persisted in ``path``), ``faiss-hnsw`` (exact plus an HNSW graph for
    namespaces above 50k vectors), ``chroma`` (Chroma PersistentClient in ``path``) or
    ``chroma-http://HOST:PORT`` (a ``chroma run`` server). ``deployment`` (the memory's id)
    keeps a Chroma index to the collections it created.
    """
    if spec == "faiss":
        return FaissIndex(dim, path)
    if spec == "faiss-hnsw":
        return FaissIndex(dim, path, hnsw_threshold=HNSW_THRESHOLD)
    if spec == "chroma":
        return ChromaIndex.persistent(Path(path).with_name(Path(path).name + "-chroma"), dim, deployment=deployment)
    if spec.startswith("chroma-http://"):
        hostport = spec[len("chroma-http://") :].rstrip("/")
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise InvalidArgument(f"index: {spec!r} should look like chroma-http://127.0.0.1:8000", field="index")
        return ChromaIndex.http(host, int(port), dim, deployment=deployment)
    raise InvalidArgument(f"index: unknown index {spec!r}; use one of {', '.join(SPECS)}", field="index")


__all__ = ["ChromaIndex", "FaissIndex", "Index", "SPECS", "check_ids", "check_vectors", "open_index", "prepare_batch"]
