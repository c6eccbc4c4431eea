"""A single-colour text sparkline: a few hundred bytes per repaint where the built-in Sparkline, with a
colour per cell, costs tens of kilobytes per second on a live screen."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget

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


class TextSparkline(Widget):
    """Draws the values it was last given across its full width; repaints only the rows whose blocks
    changed (a new intraday point usually changes one column, or nothing at all), or on resize."""

    DEFAULT_CSS = """
    TextSparkline {
        height: 1;
        width: 1fr;
        color: $accent;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._values: tuple[float, ...] = ()
        self._capacity: int | None = None
        self._rows: list[str] = []
        """The rows last drawn, at the size they were drawn for."""

    def set_values(self, values: Sequence[float], capacity: int | None = None) -> bool:
        """Draw `values` (on a timeline of `capacity` slots when given); False when nothing changed."""
        new = tuple(values)
        if new == self._values and capacity == self._capacity:
            return False
        self._values, self._capacity = new, capacity
        width, height = self.size
        rows = draw(new, width, height, capacity)
        if len(rows) != len(self._rows) or not self._rows:
            self._rows = rows
            self.refresh()
            return True
        changed = False
        for y, (old, row) in enumerate(zip(self._rows, rows, strict=True)):
            if old != row:
                changed = True
                self.refresh(Region(0, y, width, 1))
        self._rows = rows
        return changed

    def render(self) -> Content:
        width, height = self.size
        rows = self._rows
        if len(rows) != height or any(len(r) != width for r in rows):
            rows = self._rows = draw(self._values, width, height, self._capacity)
        return Content("\n".join(rows))
