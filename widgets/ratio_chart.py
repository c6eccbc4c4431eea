"""One panel of a relative-strength pair, drawn with plotext: both prices rebased to 100, or the ratio
with its SMA 50.

A plotext build costs tens of milliseconds on the event loop, so the chart is built only when what it
draws (the window's key), its size or the theme changed; any other repaint reuses the last build. A
pair without data shows its reason in words instead of an empty plot.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from datetime import date

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color, ColorParseError
from textual.content import Content
from textual_plotext import PlotextPlot

from services.relative_strength import StrengthWindow, Unavailable

LABEL_WIDTH = 10
"""Columns between x tick labels, at least (a label is at most 7 characters)."""
SHORT_FRAME_DAYS = 200
"""Windows shorter than this label their x axis by day ("Mar 06"), longer ones by month ("2026-03")."""


class ChartPanel(enum.StrEnum):
    PRICES = "prices"
    """Numerator and denominator closes, each rebased to 100 on the window's first session."""
    RATIO = "ratio"
    """numerator / denominator and its SMA 50."""


ThemeColors = dict[str, tuple[int, int, int]]
LINE_VARIABLES = ("primary", "foreground-muted", "warning", "text-muted")
"""Theme variables the lines are drawn in: small caps and the ratio, large caps, the SMA, the 100 line."""


def theme_colors(variables: dict[str, str]) -> ThemeColors:
    """RGB of the theme variables the chart uses; translucent ones blended over the surface."""
    surface = Color.parse(variables.get("surface", "#000000"))
    foreground = Color.parse(variables.get("foreground", "#ffffff"))
    out: ThemeColors = {}
    for name in LINE_VARIABLES:
        spec = variables.get(name, "")
        try:
            color = Color.parse(spec)
        except ColorParseError:  # "auto 60%" and the like: the foreground at that strength
            pct = next((float(p.rstrip("%")) for p in spec.split() if p.endswith("%")), 60.0)
            color = foreground.with_alpha(pct / 100.0)
        out[name] = surface.blend(color, color.a).rgb if color.a < 1.0 else color.rgb
    return out


def x_ticks(days: Sequence[date], width: int) -> tuple[list[float], list[str]]:
    """Evenly spaced session indices with their dates, as many as fit in `width` columns."""
    n = len(days)
    count = max(2, min(8, width // LABEL_WIDTH))
    idx = list(range(n)) if n <= count else sorted({round(k * (n - 1) / (count - 1)) for k in range(count)})
    long = (days[-1] - days[0]).days > SHORT_FRAME_DAYS
    fmt = "%Y-%m" if long else "%b %d"
    return [float(i) for i in idx], [days[i].strftime(fmt) for i in idx]


def y_ticks(values: Sequence[float], rows: int, decimals: int) -> tuple[float, float, list[float], list[str]]:
    """Limits (padded by 5 % of the range) and up to one tick every two rows, labelled with `decimals`."""
    lo, hi = min(values), max(values)
    span = hi - lo or abs(hi) * 0.01 or 1.0
    lo, hi = lo - span * 0.05, hi + span * 0.05
    count = max(2, min(6, rows // 2))
    ticks = [lo + (hi - lo) * k / (count - 1) for k in range(count)]
    return lo, hi, ticks, [f"{t:.{decimals}f}" for t in ticks]


def rebased_decimals(values: Sequence[float], rows: int) -> int:
    """Decimals for ticks of prices rebased to 100: none when ticks are 2 points apart or more."""
    step = (max(values) - min(values)) / max(1, min(6, rows // 2) - 1)
    return 0 if step >= 2 else 1 if step >= 0.2 else 2


def ratio_decimals(values: Sequence[float]) -> int:
    """Enough decimals to tell ticks of the ratio apart: 4 for IWM/SPY (0.37), 2 above 10."""
    top = max(abs(v) for v in values)
    return 2 if top >= 10 else 4


class RatioChart(PlotextPlot):
    """One panel of a pair (see `ChartPanel`); fed with `show()`."""

    DEFAULT_CSS = """
    RatioChart {
        width: 1fr;
        height: 1fr;
        min-height: 4;
    }
    """

    def __init__(self, panel: ChartPanel, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.panel = panel
        self.builds = 0
        """plotext builds so far (tests check that an unchanged snapshot costs none)."""
        self._data: StrengthWindow | Unavailable | None = None
        self._built_key: tuple[object, ...] | None = None
        self._built: Text | None = None

    def show(self, data: StrengthWindow | Unavailable) -> bool:
        """Draw `data`; returns False (and repaints nothing) when it draws the same as what is shown."""
        if self._data is not None and data.key == self._data.key:
            return False
        self._data = data
        self.refresh()
        return True

    def render(self) -> RenderResult:
        data = self._data
        if data is None:
            return Content.assemble(("waiting for data", "$text-muted"))
        if isinstance(data, Unavailable):
            return Content.assemble((f"n/a: {data.reason}", "$text-muted"))
        width, height = self.size
        key = (data.key, width, height, self.app.theme)
        if key != self._built_key or self._built is None:
            self._draw(data, width, height)
            built = super().render()
            self._built = built if isinstance(built, Text) else Text(str(built))
            self._built_key = key
            self.builds += 1
        return self._built

    def _draw(self, w: StrengthWindow, width: int, height: int) -> None:
        colors = theme_colors(self.app.theme_variables)
        plt = self.plt
        plt.clear_figure()
        # No top or right border: one more row of plot at 80x24.
        plt.xaxes(True, False)
        plt.yaxes(True, False)
        x = list(range(len(w.days)))
        rows = max(1, height - 2)  # less the x axis and its labels
        if self.panel is ChartPanel.PRICES:
            values = [*w.numerator_rebased, *w.denominator_rebased]
            lo, hi, yt, yl = y_ticks(values, rows, rebased_decimals(values, rows))
            if lo < 100.0 < hi:
                plt.horizontal_line(100.0, color=colors["text-muted"])
            plt.plot(x, list(w.denominator_rebased), marker="braille", color=colors["foreground-muted"])
            plt.plot(x, list(w.numerator_rebased), marker="braille", color=colors["primary"])
        else:
            sma = [(i, v) for i, v in enumerate(w.sma) if v is not None and math.isfinite(v)]
            values = [*w.ratio, *(v for _i, v in sma)]
            lo, hi, yt, yl = y_ticks(values, rows, ratio_decimals(values))
            if sma:
                # Dotted, so the SMA stays distinct from the ratio without colours (NO_COLOR).
                plt.plot([i for i, _v in sma], [v for _i, v in sma], marker="dot", color=colors["warning"])
            plt.plot(x, list(w.ratio), marker="braille", color=colors["primary"])
        plt.ylim(lo, hi)
        plt.yticks(yt, yl)
        xt, xl = x_ticks(w.days, max(1, width - max(len(s) for s in yl) - 2))
        plt.xlim(0, max(1, len(x) - 1))
        plt.xticks(xt, xl)
