"""The embedded Memory across processes on one machine: SQLite orders the writers, seqs stay gap-free,
an idempotency key shared by racing processes stores once, and each process's index catches up with
what the others wrote."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from memory.embedders import Embedder
from memory.memory import Memory

PROCS, APPENDS = 3, 40


def _worker(folder: str, w: int, barrier: Any, out: Any) -> None:
    mem = Memory.open(folder)
    try:
        barrier.wait(timeout=300)
        shared = mem.add([{"role": "user", "content": "the shared greeting"}], session="s", idempotency_key="hello")
        acked = {}
        for i in range(APPENDS):
            text = f"process {w} line {i}: invoice {w * 100 + i} was paid"
            [seq] = mem.add([{"role": "user", "content": text}], session="s")
            acked[text] = seq
        out.put((w, shared, acked))
    finally:
        mem.close()


@pytest.mark.slow  # several processes, each loading MiniLM
def test_processes_writing_one_session_lose_and_duplicate_nothing(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "shared"
    Memory.open(folder, embedder=embedder).close()  # create the log once
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCS)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(folder), w, barrier, out)) for w in range(PROCS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    shared = {tuple(r[1]) for r in results}
    assert len(shared) == 1  # every racer got the one answer of the one write
    acked: dict[str, int] = {}
    for _, _, a in results:
        acked.update(a)
    with Memory.open(folder, embedder=embedder) as mem:
        stored = mem.since("s", 0)
        assert [m.seq for m in stored] == list(range(1, PROCS * APPENDS + 2))
        assert sum(m.content == "the shared greeting" for m in stored) == 1
        assert {m.content: m.seq for m in stored if m.content != "the shared greeting"} == acked
        # this process's index holds what the others wrote
        assert mem.search("invoice 207 was paid", k=1)[0].text == "process 2 line 7: invoice 207 was paid"
        assert len(mem.index.ids("default")) == len(stored)
