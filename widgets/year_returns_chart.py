"""The spread (small minus large, percentage points) per calendar year as a bar chart, oldest year on
the left: bars above zero are the years small caps led ($success), below zero the years they lagged
($error); the zero line separates them without colour too (NO_COLOR).

A plotext rebuild costs 24-64 ms on the event loop, so the plot is rebuilt only when the bars, the
size or the theme changed; anything else repaints the last build.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

TICK_STEPS = (1, 2, 5, 10, 20, 50)
TICK_LABEL_W = 6
"""A year label and the room it needs around it on the x axis."""
Y_AXIS_W = 8
"""What plotext takes on the left for the y labels and the frame (roughly)."""

BuildKey = tuple[tuple[tuple[int, float], ...], int, int, str]


def year_ticks(first: int, last: int, plot_width: int) -> list[int]:
    """Years to label on the x axis: every 1, 2, 5, 10... years, as dense as the width allows."""
    room = max(1, plot_width // TICK_LABEL_W)
    for step in TICK_STEPS:
        ticks = [y for y in range(first, last + 1) if y % step == 0]
        if len(ticks) <= room:
            return ticks or [first]
    return [first, last] if room >= 2 else [last]


class YearReturnsChart(PlotextPlot):
    """Bars of (year, spread in percentage points); `show()` them, the widget redraws when they change."""

    DEFAULT_CSS = """
    YearReturnsChart {
        height: 1fr;
        width: 1fr;
        border: round $primary;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Spread, small - large, pp"
        self.bars: tuple[tuple[int, float], ...] = ()
        self._built_key: BuildKey | None = None
        self._built: RenderResult | None = None
        self.builds = 0
        """How many times the plot was rebuilt (tests check that an unchanged input costs nothing)."""

    def show(self, bars: Sequence[tuple[int, float]]) -> None:
        """Plot (year, spread) pairs, oldest first; nothing happens when they are those already shown."""
        data = tuple(bars)
        if data == self.bars:
            return
        self.bars = data
        self.refresh()

    def _rgb(self, variable: str, fallback: tuple[int, int, int]) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable)
        if not value:
            return fallback
        try:
            r, g, b = Color.parse(value).rgb
        except Exception:  # an unparsable theme value: the plot keeps a readable default
            return fallback
        return (r, g, b)

    def render(self) -> RenderResult:
        width, height = self.size
        key: BuildKey = (self.bars, width, height, self.app.theme)
        if key == self._built_key and self._built is not None:
            return self._built
        if not self.bars:
            return "no years to plot"
        plt = self.plt
        plt.clear_figure()
        years = [y for y, _ in self.bars]
        up = [(y, s) for y, s in self.bars if s > 0]
        down = [(y, s) for y, s in self.bars if s <= 0]
        # Separate bar series so each sign gets its theme colour.
        if up:
            plt.bar(
                [y for y, _ in up], [s for _, s in up], color=self._rgb("success", (0, 160, 0)), width=0.5
            )
        if down:
            plt.bar(
                [y for y, _ in down], [s for _, s in down], color=self._rgb("error", (200, 0, 0)), width=0.5
            )
        lo = min(0.0, *(s for _, s in self.bars))
        hi = max(0.0, *(s for _, s in self.bars))
        pad = (hi - lo) * 0.05 or 1.0
        plt.ylim(lo - pad, hi + pad)
        plt.xlim(years[0] - 0.7, years[-1] + 0.7)
        ticks = year_ticks(years[0], years[-1], width - Y_AXIS_W)
        plt.xticks([float(t) for t in ticks], [str(t) for t in ticks])
        built = super().render()
        self._built_key, self._built = key, built
        self.builds += 1
        return built
