"""Retry delays: exponential backoff with jitter, shared by the refresh loop and the quote stream."""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with jitter: base·2ⁿ capped, each delay drawn from its upper half so that
    several monitors never retry in lockstep and a retry never comes immediately."""

    def __init__(
        self, base_s: float = 5.0, cap_s: float = 300.0, factor: float = 2.0, rng: random.Random | None = None
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.factor = factor
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * self.factor**self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2.0, ceiling)

    def reset(self) -> None:
        self.failures = 0
