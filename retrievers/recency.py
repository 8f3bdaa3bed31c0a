"""Recency prior: exponential decay by turn distance and by elapsed time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RecencyScorer:
    """``recency = 0.5 ** (turns / turn_half_life) * 0.5 ** (seconds / time_half_life_s)``.

    Either half-life may be None to switch that factor off. The result is in (0, 1]:
    1 for the newest message, 0.5 one half-life back.
    """

    turn_half_life: float | None = 200.0
    time_half_life_s: float | None = 30 * 86400.0

    def score(self, turns_ago: np.ndarray, seconds_ago: np.ndarray) -> np.ndarray:
        out = np.ones(np.shape(turns_ago), dtype=np.float64)
        if self.turn_half_life:
            out *= np.power(0.5, np.maximum(np.asarray(turns_ago, dtype=np.float64), 0) / self.turn_half_life)
        if self.time_half_life_s:
            out *= np.power(0.5, np.maximum(np.asarray(seconds_ago, dtype=np.float64), 0) / self.time_half_life_s)
        return out
