"""Waiting calls (``flush``, ``wait_indexed`` writes) on threads of their own, bounded: one tenant's
waits cannot take the worker threads that every other request needs.

FastAPI runs a sync route on anyio's default thread limiter (40 threads, shared by every sync
route of the process). A flush holds its thread for as long as it waits (up to its ``timeout``,
300 s), so 40 of them used to stall every other tenant's context, and ``/healthz``, until one
finished. Here a waiting call takes a slot first (:meth:`WaitSlots.slot`): at most
``max_waiting`` in the process and ``max_waiting_per_namespace`` in one namespace; past either
it gets :class:`memory.errors.Busy` (503 with ``Retry-After``) before it does anything. Its work
then runs on a thread of :class:`anyio.CapacityLimiter` sized to the slots
(:meth:`WaitSlots.run`), never on the default limiter's. The slots are counted on the event
loop's thread (async code only), so they need no lock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

from memory.errors import Busy

T = TypeVar("T")

MAX_WAITING = 64  # waiting calls at once in one service process
MAX_WAITING_PER_NAMESPACE = 16  # ... in one namespace: one tenant leaves room for the others


class WaitSlots:
    """The slots of waiting calls in one service process (see the module's docstring)."""

    def __init__(self, total: int = MAX_WAITING, per_namespace: int = MAX_WAITING_PER_NAMESPACE) -> None:
        self.total = total
        self.per_namespace = per_namespace
        self.busy = 0
        self.by_namespace: Counter[str] = Counter()
        self._limiter: CapacityLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _refuse(self, what: str, namespace: str) -> Busy:
        if self.busy >= self.total:
            where = f"this server already has {self.busy} calls waiting (its limit: {self.total})"
        else:
            n = self.by_namespace[namespace]
            where = f"namespace {namespace!r} already has {n} calls waiting (its limit: {self.per_namespace})"
        return Busy(f"{what}: {where}; nothing was done: retry after Retry-After seconds, or wait less often")

    @asynccontextmanager
    async def slot(self, namespace: str, what: str) -> AsyncIterator[None]:
        """Hold one waiting slot of ``namespace`` for the block, or raise :class:`Busy` at once."""
        if self.busy >= self.total or self.by_namespace[namespace] >= self.per_namespace:
            raise self._refuse(what, namespace)
        self.busy += 1
        self.by_namespace[namespace] += 1
        try:
            yield
        finally:
            self.busy -= 1
            self.by_namespace[namespace] -= 1
            if not self.by_namespace[namespace]:
                del self.by_namespace[namespace]

    def limiter(self) -> CapacityLimiter:
        """The limiter of the waiting calls' threads (one per event loop: a test opens several)."""
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._limiter, self._loop = CapacityLimiter(self.total), loop
        return self._limiter

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (blocking) on a waiting call's thread; call it inside :meth:`slot`."""
        return await anyio.to_thread.run_sync(fn, limiter=self.limiter())


__all__ = ["MAX_WAITING", "MAX_WAITING_PER_NAMESPACE", "WaitSlots"]
