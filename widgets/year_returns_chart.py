"""The spread (small minus large, percentage points) per calendar year as horizontal bars of text, one
row per year in the table's order (oldest first) and scrolled with it: the zero axis in the middle,
bars to the right for the years small caps led ($success), to the left for the years they lagged
($error), the value at the bar's end when it fits, partial years marked as in the table (a "*", muted).

Eighth blocks give a bar 8 steps per cell. Unicode has left-filled eighths only (▏..▉), so the ragged
end of a bar growing left is the complementary left eighth drawn in reverse: still right without colour
(NO_COLOR). The scale is the largest |spread| of all the years (not only the rows on screen), so a bar
keeps its length while the rows scroll; the subtitle names it.

The rows are built only when the years, the first row shown or the size changed; Textual repaints the
widget's whole region on every refresh, so `show()` and `scroll_to_row()` skip unchanged input.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widget import Widget

from services import formatting as fmt
from services.history import YearHistory

EIGHTHS = " ▏▎▍▌▋▊▉"
"""EIGHTHS[k]: a cell filled k eighths from the left."""
FULL = "█"
AXIS = "│"
PARTIAL_MARK = "*"
YEAR_W = 6
"""A year label and its gap: "2024* "."""
YEARS_FROM_WIDTH = 44
"""From this content width the chart labels its own rows with the year (too narrow beside the table
at 80 columns, where the table's year is on the same line)."""
MIN_BAR = 6
"""Below this many cells for the longest bar, the values are left off (the table has them)."""


@dataclass(frozen=True, slots=True)
class SpreadBar:
    year: int
    spread: float
    """Small minus large, percentage points."""
    partial: bool


@dataclass(frozen=True, slots=True)
class Geometry:
    """Where things go in a row `width` cells wide."""

    year_w: int
    """0 or YEAR_W."""
    half: int
    """Cells on each side of the axis."""
    bar_max: int
    """Cells the largest |spread| fills."""
    labels: bool
    """The values fit after the bars."""


def value_label(bar: SpreadBar) -> str:
    """ "+19.0", "-12.3*" (partial); two decimals when one would read as zero."""
    decimals = 1 if abs(bar.spread) >= 0.05 else 2
    return fmt.signed(bar.spread, decimals) + (PARTIAL_MARK if bar.partial else "")


def geometry(width: int, label_w: int) -> Geometry:
    """The layout of a row `width` cells wide whose widest value label is `label_w` cells."""
    year_w = YEAR_W if width >= YEARS_FROM_WIDTH else 0
    half = max(0, (width - year_w - 1) // 2)
    room = half - label_w - 1  # a space between a bar and its value
    if room >= MIN_BAR:
        return Geometry(year_w, half, room, True)
    return Geometry(year_w, half, half, False)


def eighths(spread: float, scale: float, bar_max: int) -> int:
    """The bar's length in eighths of a cell; a non-zero spread gets at least one eighth."""
    if scale <= 0 or spread == 0:
        return 0
    return max(1, round(abs(spread) / scale * bar_max * 8))


def bar_line(bar: SpreadBar, scale: float, geo: Geometry) -> Content:
    """One year's row: [year] left half, axis, right half."""
    n = eighths(bar.spread, scale, geo.bar_max)
    style = "$success" if bar.spread > 0 else "$error"
    label = value_label(bar) if geo.labels else ""
    parts: list[tuple[str, str] | str] = []
    if geo.year_w:
        year = f"{bar.year}{PARTIAL_MARK if bar.partial else ''}"
        parts.append((f"{year:<{geo.year_w}}", "$text-muted" if bar.partial else ""))
    full, rest = divmod(n, 8)
    if bar.spread > 0:
        body = FULL * full + (EIGHTHS[rest] if rest else "")
        tail = f" {label}" if label else ""
        parts += [" " * geo.half, (AXIS, "$text-muted"), (body, style), (tail, style)]
        parts.append(" " * max(0, geo.half - len(body) - len(tail)))
    elif bar.spread < 0:
        head = f"{label} " if label else ""
        cells = full + (1 if rest else 0)
        parts.append(" " * max(0, geo.half - cells - len(head)))
        parts.append((head, style))
        if rest:
            # The complementary left eighth, reversed: the cell's right `rest` eighths are filled.
            parts.append((EIGHTHS[8 - rest], f"{style} reverse"))
        parts += [(FULL * full, style), (AXIS, "$text-muted"), " " * geo.half]
    else:
        parts += [" " * geo.half, (AXIS, "$text-muted"), " " * geo.half]
    return Content.assemble(*parts)


def legend_line(small: str, geo: Geometry) -> Content:
    """The line over the rows: which side is which, the axis at zero."""
    left, right = f"◀ {small} lagged ", f" {small} led ▶"
    if len(left) > geo.half:
        left, right = "◀ lagged ", " led ▶"
    return Content.assemble(
        " " * geo.year_w,
        (f"{left:>{geo.half}}"[-geo.half :] if geo.half else "", "$error"),
        ("0", "bold"),
        (f"{right:<{geo.half}}"[: geo.half], "$success"),
    )


RowsKey = tuple[tuple[SpreadBar, ...], int, int, int]


class YearReturnsChart(Widget):
    """Diverging bars of a `YearHistory`'s spreads; `show()` the years, `scroll_to_row()` the first
    year on screen (the table's), the widget redraws only when one of them or its size changed."""

    DEFAULT_CSS = """
    YearReturnsChart {
        height: 1fr;
        width: 1fr;
        border: round $primary;
        padding: 0 0 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Spread, small - large, pp"
        self.bars: tuple[SpreadBar, ...] = ()
        self.small = ""
        self.top = 0
        """Index of the year on the first row."""
        self._built_key: RowsKey | None = None
        self._built = Content("")
        self.builds = 0
        """How many times the rows were built (tests check that an unchanged input costs nothing)."""

    def show(self, history: YearHistory) -> None:
        """Chart `history`'s years, oldest first; nothing happens when they are those already shown."""
        bars = tuple(SpreadBar(y.year, y.spread, y.partial) for y in history.years)
        if bars == self.bars and history.pair.small == self.small:
            return
        self.bars, self.small = bars, history.pair.small
        pair = history.pair
        self.border_title = f"Spread, {pair.small} - {pair.large}, pp"
        widest = max(self.bars, key=lambda b: abs(b.spread), default=None)
        self.border_subtitle = (
            f"scale ±{abs(widest.spread):.1f} pp ({widest.year})" if widest and widest.spread else ""
        )
        self.refresh()

    def scroll_to_row(self, top: int) -> None:
        """Show the years from `top` (an index into the years) on the first row."""
        if top != self.top:
            self.top = top
            self.refresh()

    @property
    def text(self) -> str:
        """What is drawn, as plain text (the legend line, then the rows on screen)."""
        return self.render().plain

    def render(self) -> Content:
        width, height = self.content_size
        key: RowsKey = (self.bars, self.top, width, height)
        if key == self._built_key:
            return self._built
        self._built_key = key
        self.builds += 1
        if not self.bars:
            self._built = Content.styled(f"{fmt.NA}: no years to chart", "$text-muted")
            return self._built
        scale = max(abs(b.spread) for b in self.bars)
        geo = geometry(width, max(len(value_label(b)) for b in self.bars))
        rows = self.bars[self.top : self.top + max(0, height - 1)]
        lines = [legend_line(self.small, geo), *(bar_line(b, scale, geo) for b in rows)]
        self._built = Content("\n").join(lines)
        return self._built
