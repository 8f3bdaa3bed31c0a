"""The log knows which embedder made its vectors: another model of the same dimension is refused,
naming both and the fix, and ``turnmem reindex --embedder`` re-embeds from the log.

The other 384-d model is an OpenAI-compatible embeddings endpoint on loopback (a paid service)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eval.cli import main
from memory.embedders import Embedder, OpenAIEmbedder
from memory.errors import IndexMismatch
from memory.memory import LOG_FILE, Memory
from memory.stores.sqlite import SQLiteStore
from tests.fakes import serve

TURNS = [
    {"role": "user", "content": "Book Casa Azul in Lisbon for 14 June."},
    {"role": "assistant", "content": "Booked Casa Azul, 129 EUR a night."},
    {"role": "user", "content": "And a table at Chez Lulu on Friday."},
]


def _vector(text: str, dim: int = 384) -> list[float]:
    """A deterministic vector per word bag: another 'model' (``other-384`` has MiniLM's dimension)."""
    vec = np.zeros(dim)
    for word in text.lower().split():
        seed = int.from_bytes(hashlib.sha256(word.strip(".,?").encode()).digest()[:4], "little")
        vec += np.random.default_rng(seed).normal(size=dim)
    return (vec / (np.linalg.norm(vec) or 1.0)).tolist()


@pytest.fixture(scope="module")
def other_model_url() -> Iterator[str]:
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        dim = int(body["model"].rsplit("-", 1)[1])  # other-384, other-128: the dimension is in the name
        data = [{"index": i, "embedding": _vector(t, dim), "object": "embedding"} for i, t in enumerate(body["input"])]
        return JSONResponse({"data": data, "model": body["model"], "object": "list"})

    with serve(app) as url:
        yield url + "/v1"


def test_another_model_of_the_same_dimension_is_refused(
    tmp_path: Path, embedder: Embedder, other_model_url: str
) -> None:
    with Memory.open(tmp_path / "m", embedder=embedder) as mem:
        mem.add(TURNS, session="s")
        assert len(json.loads(mem.store.get_meta("embedder_probe") or "[]")) == 384
    other = OpenAIEmbedder("other-384", base_url=other_model_url, dim=384, api_key="sk-test")
    with pytest.raises(IndexMismatch) as err:
        Memory.open(tmp_path / "m", embedder=other)
    text = str(err.value)
    assert "'all-MiniLM-L6-v2'" in text and "'other-384'" in text
    assert "turnmem reindex --data FOLDER --embedder other-384" in text
    with Memory.open(tmp_path / "m", embedder=embedder) as mem:  # the right model still opens it
        assert [h.seq for h in mem.search("Casa Azul", k=1)]


def test_a_log_without_a_fingerprint_compares_names_then_records_one(tmp_path: Path, embedder: Embedder) -> None:
    def as_before_fingerprints(name: str) -> None:
        store = SQLiteStore(tmp_path / "m" / LOG_FILE)
        store._conn().execute("DELETE FROM meta WHERE key='embedder_probe'")
        store.set_meta("embedder", name)
        store.close()

    with Memory.open(tmp_path / "m", embedder=embedder) as mem:
        mem.add(TURNS, session="s")
    as_before_fingerprints("some-other-model")
    with pytest.raises(IndexMismatch, match="'some-other-model'.*'all-MiniLM-L6-v2'.*another name"):
        Memory.open(tmp_path / "m", embedder=embedder)
    as_before_fingerprints(embedder.name)
    with Memory.open(tmp_path / "m", embedder=embedder) as mem:
        assert mem.store.get_meta("embedder_probe") is not None


def test_reindex_with_another_embedder_reembeds_from_the_log(
    tmp_path: Path, embedder: Embedder, other_model_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "m"
    with Memory.open(folder, embedder=embedder) as mem:
        mem.add(TURNS, session="s")
    monkeypatch.setenv("OPENAI_BASE_URL", other_model_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(["reindex", "--data", str(folder), "--embedder", "openai:other-384"]) == 0
    other = OpenAIEmbedder("other-384", base_url=other_model_url, dim=384, api_key="sk-test")
    with Memory.open(folder, embedder=other) as mem:
        assert mem.store.get_meta("embedder") == "other-384"
        assert [h.seq for h in mem.search("table at Chez Lulu on Friday", k=1)] == [3]
        stored = next(v for _, _, _, vecs in mem.store.chunk_vectors() for v in vecs)
        assert np.allclose(stored, _vector(TURNS[0]["content"]), atol=1e-5)  # the new model's vectors
    with pytest.raises(IndexMismatch, match="'other-384'.*'all-MiniLM-L6-v2'"):
        Memory.open(folder, embedder=embedder)
    assert main(["reindex", "--data", str(folder), "--embedder", "no-such-model"]) == 2


def test_reindex_a_database_with_a_model_of_another_dimension(
    pg_dsn: str, embedder: Embedder, other_model_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the vectors are the index: re-embedding swaps them, the identity and the HNSW
    index (its dimension is fixed) in one transaction; the old model is refused afterwards."""
    with Memory.open(pg_dsn, embedder=embedder) as mem:
        mem.add(TURNS, session="s")
    monkeypatch.setenv("OPENAI_BASE_URL", other_model_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(["reindex", "--data", pg_dsn]) == 2  # nothing to rebuild without a model
    assert main(["reindex", "--data", pg_dsn, "--embedder", "openai:other-128"]) == 0
    other = OpenAIEmbedder("other-128", base_url=other_model_url, api_key="sk-test")
    with Memory.open(pg_dsn, embedder=other) as mem:
        assert mem.store.get_meta("embedder") == "other-128" and mem.store.get_meta("dim") == "128"
        stored = next(v for _, _, _, vecs in mem.store.chunk_vectors() for v in vecs)
        assert np.allclose(stored, _vector(TURNS[0]["content"], 128), atol=1e-5)
        with mem.store._read() as conn:  # type: ignore[attr-defined]
            names = {
                r[0]
                for r in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename='chunks' AND schemaname=current_schema()"
                )
            }
        assert "chunks_hnsw_128" in names and "chunks_hnsw_384" not in names
        mem.index.hnsw_min_rows = 1  # through the new HNSW index
        assert [h.seq for h in mem.search("table at Chez Lulu on Friday", k=1)] == [3]
        mem.add([{"role": "user", "content": "Chez Lulu moved to Rua Augusta."}], session="s", wait_indexed=True)
        assert [h.seq for h in mem.search("Chez Lulu moved to Rua Augusta", k=1)] == [4]
    with pytest.raises(IndexMismatch, match="'other-128'.*'all-MiniLM-L6-v2'"):
        Memory.open(pg_dsn, embedder=embedder)
