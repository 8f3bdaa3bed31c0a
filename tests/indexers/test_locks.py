"""The index's readers-writer lock: searches overlap, a change waits for them and runs alone."""

from __future__ import annotations

import threading

from indexers.locks import ReadWriteLock


def test_readers_overlap_and_a_writer_waits_for_them() -> None:
    lock = ReadWriteLock()
    both_in = threading.Barrier(2, timeout=10)  # broken if the second reader had to wait for the first
    release = threading.Event()
    events: list[str] = []

    def reader(name: str) -> None:
        with lock.read():
            both_in.wait()
            events.append(f"{name} in")
            release.wait(timeout=10)
            events.append(f"{name} out")

    def writer() -> None:
        with lock.write():
            events.append("writer")
            with lock.read(), lock.write():  # the writer's own nested use does not wait for itself
                events.append("writer nested")

    readers = [threading.Thread(target=reader, args=(n,)) for n in ("a", "b")]
    for t in readers:
        t.start()
    while len(events) < 2:
        threading.Event().wait(0.01)
    w = threading.Thread(target=writer)
    w.start()
    w.join(timeout=0.2)
    assert w.is_alive() and "writer" not in events  # held back while the searches run
    release.set()
    for t in [*readers, w]:
        t.join(timeout=10)
    assert events[-2:] == ["writer", "writer nested"] and sorted(events[:4]) == ["a in", "a out", "b in", "b out"]
