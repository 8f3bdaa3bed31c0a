"""What the benchmarks share: percentiles, and the chat loop a chatbot runs.

The chat loop, ``turns`` times in one session: ``add`` the user's turn, build the context
for it right after that append, build it once more (warm: nothing appended since),
optionally embed the same turn again without storing it and build the context a third time
(the control: an embedder run evicts the CPU caches whether or not anything is stored, so
"after an append ÷ after an embed only" is what the append itself costs a context), then
``add`` a long assistant answer. ``handle`` is a :class:`memory.Memory` or a
:class:`memory.client.Client` (the same ``add`` / ``assemble``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from memory.client import Client


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if len(xs) else float("nan")


def pct_summary(xs: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean of milliseconds, and how many."""
    return {"p50": pct(xs, 50), "p95": pct(xs, 95), "mean": float(np.mean(xs)) if xs else float("nan"), "n": len(xs)}


def answer_text(texts: Sequence[str], start: int, words: int) -> str:
    """``words`` words of the conversation's own text from turn ``start`` on (cycling)."""
    out: list[str] = []
    i = start
    while len(out) < words:
        out += texts[i % len(texts)].split()
        i += 1
    return " ".join(out[:words])


def chat_loop(
    handle: Any,
    namespace: str,
    questions: Sequence[str],
    texts: Sequence[str],
    *,
    turns: int,
    budget: int,
    answer_words: int = 1000,
    vecs: np.ndarray | None = None,
    embed: Callable[[list[str]], Any] | None = None,
    session: str = "chat-loop",
    after_answer: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Append a user turn, build its context, build it again warm, append a long answer.

    ``vecs``: query vectors to pass as ``query_vector`` (None: the query is embedded inside
    ``assemble``). ``embed``: the embedder, for the "after an embed only" control (None: no
    control row). ``after_answer``: called, not timed, after each answer is stored: the user's
    time to read and type, e.g. ``flush`` (the answer is indexed before the next turn comes)."""
    after: list[float] = []
    warm: list[float] = []
    after_embed: list[float] = []
    cpu: dict[int, list[float]] = {id(after): [], id(warm): []}  # this thread's CPU time: what load does not inflate
    add_short: list[float] = []
    add_long: list[float] = []
    seqs: list[int] = []
    store = getattr(handle, "store", None)  # a Memory (embedded), not a Client
    kinds = [after, warm] + ([after_embed] if embed is not None else [])
    # The first context a process builds reads the store's caches (session centroids, speakers)
    # from the whole log; the loop times the steady state after it, as a running chatbot sees it.
    first = {} if vecs is None else {"query_vector": vecs[0]}
    handle.assemble(questions[0], session=session, namespace=namespace, budget=budget, **first)
    for i in range(turns):
        q = questions[i % len(questions)]
        extra = {} if vecs is None else {"query_vector": vecs[i % len(vecs)]}
        t = time.perf_counter()
        handle.add([{"role": "user", "content": q}], session=session, namespace=namespace)
        add_short.append((time.perf_counter() - t) * 1000)
        for out in kinds:
            if out is after_embed:
                embed([q])  # the embedder's work of that add, nothing stored
            t, c = time.perf_counter(), time.thread_time()
            handle.assemble(q, session=session, namespace=namespace, budget=budget, **extra)
            out.append((time.perf_counter() - t) * 1000)
            if id(out) in cpu:
                cpu[id(out)].append((time.thread_time() - c) * 1000)
        answer = answer_text(texts, i * 17, answer_words)
        t = time.perf_counter()
        [seq] = handle.add([{"role": "assistant", "content": answer}], session=session, namespace=namespace)
        add_long.append((time.perf_counter() - t) * 1000)
        seqs.append(seq)
        if after_answer is not None:
            after_answer()
    res: dict[str, Any] = {
        "turns": turns,
        "answer_words": answer_words,
        "context_after_append_ms": pct_summary(after),
        "context_warm_ms": pct_summary(warm),
        "add_short_ms": pct_summary(add_short),
        "add_long_ms": pct_summary(add_long),
        "after_vs_warm_p50": pct(after, 50) / pct(warm, 50),
        "after_vs_warm_p95": pct(after, 95) / pct(warm, 95),
    }
    if store is not None:  # embedded: contexts built on this thread (CPU time: the work done); chunks per answer
        ca, cw = cpu[id(after)], cpu[id(warm)]
        res["context_after_append_cpu_ms"] = pct_summary(ca)
        res["context_warm_cpu_ms"] = pct_summary(cw)
        res["after_vs_warm_cpu_p50"] = pct(ca, 50) / pct(cw, 50)
        res["after_vs_warm_cpu_p95"] = pct(ca, 95) / pct(cw, 95)
        per = [len(store.chunks_of_message(r.id)) for r in store.messages_by_seq(namespace, session, seqs).values()]
        res["answer_chunks_mean"] = float(np.mean(per))
    if embed is not None:
        res["context_after_embed_only_ms"] = pct_summary(after_embed)
        res["after_vs_embed_only_p50"] = pct(after, 50) / pct(after_embed, 50)
        res["after_vs_embed_only_p95"] = pct(after, 95) / pct(after_embed, 95)
    return res


def sustained(
    clients: int, seconds: float, make: Callable[[], Any], work: Callable[[Any, int], None]
) -> dict[str, float | None]:
    """``clients`` threads each call ``work(handle, i)`` in a loop for ``seconds`` (each thread
    makes its own ``handle``): calls per second and latency of the calls that succeeded, how many
    raised (``failed``: counted, not timed), and the machine's busy CPU share meanwhile (``cpu_busy``,
    :func:`busy_share`). With 2 threads on 2 cores both cores are busy; a lock held
    for a whole call shows as 2 threads giving no more than 1."""
    lat: list[float] = []
    failed: list[str] = []
    lock = threading.Lock()
    counter = itertools.count()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def run() -> None:
        handle = make()
        mine: list[float] = []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            i = next(counter)
            t0 = time.perf_counter()
            try:
                work(handle, i)
            except Exception as exc:  # counted, not timed: a row says how many calls failed
                with lock:
                    failed.append(type(exc).__name__)
                continue
            mine.append(time.perf_counter() - t0)
        with lock:
            lat.extend(mine)
        if isinstance(handle, Client):
            handle.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t0, cpu0 = time.perf_counter(), cpu_times()
    start.wait()
    for t in threads:
        t.join()
    stats = rate_stats(lat, time.perf_counter() - t0)
    return {**stats, "failed": len(failed), "cpu_busy": busy_share(cpu0, cpu_times())}


def cpu_times() -> tuple[float, float] | None:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (``/proc/stat``; None
    where there is none): the share of the cores a row kept busy, whoever the process was
    (server replicas, PostgreSQL, the clients)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    """The machine's busy share of CPU time between two :func:`cpu_times` (1.0: every core busy)."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def rate_stats(lat: Sequence[float], elapsed: float) -> dict[str, float]:
    """Calls, calls per second over ``elapsed`` seconds, and p50/p95 latency (ms) of ``lat`` (s)."""
    arr = np.asarray(lat) * 1000
    return {
        "requests": len(lat),
        "per_s": len(lat) / elapsed,
        "p50_ms": pct(arr, 50),
        "p95_ms": pct(arr, 95),
    }
