"""A per-namespace cache keyed by a version: a value is recomputed only when the version moved."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any


class VersionedCache:
    """``get(kind, namespace, version, compute)``: the cached value while ``version`` is unchanged."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], tuple[Hashable, Any]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, namespace: str, version: Hashable, compute: Callable[[], Any]) -> Any:
        hit = self._values.get((kind, namespace))
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        with self._lock:
            self._values[(kind, namespace)] = (version, value)
        return value
