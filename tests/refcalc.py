"""Independent textbook implementations of the indicators, to check TA-Lib's values against."""

from __future__ import annotations

import itertools
import math
import random


def random_walk(n: int, seed: int = 7, start: float = 2000.0) -> list[float]:
    rng = random.Random(seed)
    out, p = [], start
    for _ in range(n):
        p *= math.exp(rng.gauss(0.0002, 0.012))
        out.append(p)
    return out


def ref_sma(xs: list[float], n: int) -> float:
    return sum(xs[-n:]) / n


def ref_rsi(xs: list[float], n: int = 14) -> float:
    """Wilder's RSI: simple averages over the first n changes, then Wilder smoothing."""
    changes = [b - a for a, b in itertools.pairwise(xs)]
    gain = sum(max(c, 0.0) for c in changes[:n]) / n
    loss = sum(max(-c, 0.0) for c in changes[:n]) / n
    for c in changes[n:]:
        gain = (gain * (n - 1) + max(c, 0.0)) / n
        loss = (loss * (n - 1) + max(-c, 0.0)) / n
    return 100.0 * gain / (gain + loss)


def ref_ema(xs: list[float], n: int) -> list[float]:
    k = 2.0 / (n + 1)
    out = [math.nan] * (n - 1) + [sum(xs[:n]) / n]
    for x in xs[n:]:
        out.append(out[-1] + k * (x - out[-1]))
    return out


def ref_macd(xs: list[float]) -> tuple[float, float, list[float]]:
    fast, slow = ref_ema(xs, 12), ref_ema(xs, 26)
    line = [f - s for f, s in zip(fast, slow, strict=True)][25:]
    signal = ref_ema(line, 9)
    diff = [a - b for a, b in zip(line[8:], signal[8:], strict=True)]
    return line[-1], signal[-1], diff
