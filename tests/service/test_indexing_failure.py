"""README, "Failures are raised, not lost": a write whose earlier turn's background indexing
failed gets 503 with ``Retry-After`` through the service and stores nothing; a retry succeeds."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from memory.embedders import Embedder
from memory.memory import Memory
from memory.service.app import create_app
from tests.memory.test_write_behind import GatedEmbedder


def test_a_failed_background_indexing_is_a_503_with_retry_after_and_stores_nothing(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    emb = GatedEmbedder(fake_embedder, fail=1)  # the failure, not the model
    emb.gate.set()
    with Memory.open(tmp_path / "m", embedder=emb) as mem:
        client = TestClient(create_app(mem))
        url = "/v1/namespaces/default/sessions/s/messages"
        first = client.post(url, json={"messages": [{"role": "user", "content": "The gate code is 4471."}]})
        assert first.status_code == 200 and first.json()["seqs"] == [1]  # acknowledged at the commit
        mem._indexer.wait()  # the background indexing of turn 1 has failed (once)
        refused = client.post(url, json={"messages": [{"role": "user", "content": "Thanks."}]})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.json()["error"] == "IndexingFailed"
        assert client.get(url).json()["last_seq"] == 1  # nothing stored
        again = client.post(url, json={"messages": [{"role": "user", "content": "Thanks."}], "wait_indexed": True})
        assert again.status_code == 200 and again.json()["seqs"] == [2]
        assert len(mem.index.ids("default")) == 2  # the failed turn was indexed on the retry
