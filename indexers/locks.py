"""A readers-writer lock: searches of an index run side by side; a change waits for them and
runs alone. FAISS searches one index from several threads safely (and without the GIL), but
adding to it while it is searched is not safe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    """Many readers or one writer. The writer may take the lock again (reads and writes) inside
    its own write; a reader must not ask for the write lock inside its read (it would wait for itself)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None
        self._depth = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            counted = self._writer != me  # inside our own write: already exclusive
            if counted:
                self._cond.wait_for(lambda: self._writer is None)
                self._readers += 1
        try:
            yield
        finally:
            if counted:
                with self._cond:
                    self._readers -= 1
                    if self._readers == 0:
                        self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._depth += 1
            else:
                self._cond.wait_for(lambda: self._writer is None and self._readers == 0)
                self._writer, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._writer = None
                    self._cond.notify_all()
