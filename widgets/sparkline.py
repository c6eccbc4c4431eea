"""Single-colour text sparkline rows: a few hundred bytes per repaint where Textual's Sparkline widget, with
a colour per cell, costs tens of kilobytes per second on a live screen. The quote card and the strip's
mini quotes draw them as lines of their text blocks (only the rows that changed are repainted)."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"


def resample(values: Sequence[float], width: int) -> list[float]:
    """Fit `values` into `width` columns: the last `width` points when there are enough, else stretched
    so that a short series still spans the line."""
    if width <= 0 or not values:
        return []
    if len(values) >= width:
        # Bucket by averaging so a long series keeps its shape instead of aliasing.
        step = len(values) / width
        out = []
        for i in range(width):
            chunk = values[int(i * step) : max(int(i * step) + 1, int((i + 1) * step))]
            out.append(sum(chunk) / len(chunk))
        return out
    return [values[min(len(values) - 1, int(i * len(values) / width))] for i in range(width)]


def place(values: Sequence[float], width: int, capacity: int) -> list[float]:
    """Put `values` on a timeline of `capacity` slots across `width` columns (several values in one
    column are averaged); the columns after the last value stay empty."""
    buckets: list[list[float]] = [[] for _ in range(width)]
    for i, v in enumerate(values):
        buckets[min(width - 1, i * width // max(capacity, 1))].append(v)
    last = max((x for x, b in enumerate(buckets) if b), default=-1)
    out: list[float] = []
    for x in range(last + 1):
        out.append(sum(buckets[x]) / len(buckets[x]) if buckets[x] else out[-1])
    return out


def draw(values: Sequence[float], width: int, height: int = 1, capacity: int | None = None) -> list[str]:
    """Rows of block characters, top row first; blank when there are fewer than two points.

    With `capacity`, the values sit on a timeline of that many slots (an intraday path part-way
    through the day); without, they are stretched or averaged to fill the width.
    """
    pts = [v for v in values if math.isfinite(v)]
    if len(pts) < 2 or width <= 0 or height <= 0:
        return [" " * max(0, width)] * max(0, height)
    cols = resample(pts, width) if capacity is None else place(pts, width, capacity)
    lo, hi = min(cols), max(cols)
    span = hi - lo
    levels = height * 8
    rows = [[" "] * len(cols) for _ in range(height)]  # len(cols) <= width: a timeline may end early
    for x, v in enumerate(cols):
        # At least one eighth so a flat stretch still shows as a line, not as nothing.
        level = max(1, round((v - lo) / span * levels)) if span > 0 else levels // 2 or 1
        for r in range(height):
            fill = level - (height - 1 - r) * 8
            rows[r][x] = BLOCKS[max(0, min(8, fill))]
    return ["".join(r).ljust(width) for r in rows]
