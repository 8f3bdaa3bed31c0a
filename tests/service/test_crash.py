"""kill -9 of the server during a write burst: every acknowledged write survives, whole, and the
vector index is brought back in line with the log on restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from indexers import FaissIndex
from memory.client import Client
from memory.errors import ServiceError
from memory.memory import LOG_FILE
from memory.stores.sqlite import SQLiteStore as Store
from tests.service.helpers import ServerProcess

BATCH = 3


def _index_and_log(data: Path, ns: str) -> tuple[np.ndarray, np.ndarray]:
    index = FaissIndex(384, data / "index")
    store = Store(data / LOG_FILE)
    try:
        return np.sort(index.ids(ns)), np.sort(store.chunk_ids(ns))
    finally:
        index.close()
        store.close()


@pytest.mark.slow  # starts, kills and restarts a server under a write burst
def test_kill_9_during_a_write_burst_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    acked: dict[int, list[tuple[str, int]]] = {}  # batch number -> [(content, seq)]
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**9))

    def writer(w: int) -> None:
        with Client(server.url, retries=0, timeout=10) as client:
            while not stop.is_set():
                with lock:
                    b = next(counter)
                texts = [f"batch {b} line {j}: writer {w} logged parcel {b * 10 + j}" for j in range(BATCH)]
                try:
                    seqs = client.add(
                        [{"role": "user", "content": t} for t in texts], session="burst", namespace="crash"
                    )
                except ServiceError:
                    return  # the server is gone: this write was not acknowledged
                with lock:
                    acked[b] = list(zip(texts, seqs))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-burst: writers are blocked in requests right now
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert len(acked) >= 40

    # the index on disk was not persisted for the latest writes: the restart must rebuild it
    on_disk, logged = _index_and_log(data, "crash")
    assert len(on_disk) < len(logged)

    restarted = ServerProcess(data).start()
    try:
        with Client(restarted.url) as client:
            stored = client.since("burst", namespace="crash")
            seqs = [m.seq for m in stored]
            assert seqs == list(range(1, len(stored) + 1))  # gap-free
            by_text = {m.content: m.seq for m in stored}
            assert len(by_text) == len(stored)  # no duplicates
            for pairs in acked.values():  # every acknowledged message, at the seq it was given
                for text, seq in pairs:
                    assert by_text.get(text) == seq
            # unacknowledged batches are there whole or not at all
            batches: dict[str, int] = {}
            for m in stored:
                key = str(m.content).split(" line ")[0]
                batches[key] = batches.get(key, 0) + 1
            assert set(batches.values()) == {BATCH}
            # the index serves what the log has: the last acknowledged message is findable, by its
            # vector too once the restarted server has embedded what the killed one had not (a
            # write that waits for indexing waits for that queue too)
            client.add([{"role": "user", "content": "probe"}], session="p", namespace="crash-probe", wait_indexed=True)
            last_text = max((p for pairs in acked.values() for p in pairs), key=lambda p: p[1])[0]
            hits = client.search(last_text, namespace="crash", k=3)
            assert hits and hits[0].text == last_text
    finally:
        restarted.stop()
    on_disk, logged = _index_and_log(data, "crash")
    assert np.array_equal(on_disk, logged)  # index and log agree exactly
