"""The indicator matrix: one row per watched symbol and frame (daily, weekly), one column per value.

A Line API widget: it draws only the rows on screen, keeps the header row and the symbol/frame columns
in place while the rest scrolls, and never takes focus (the view that owns it moves its cursor). On a
narrow terminal it drops or shortens whole columns rather than cutting a number; whatever still does
not fit scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual

from services import formatting as fmt
from services import indicators as ind
from services.indicator_matrix import Frame, FrameRow, SymbolMatrix
from widgets.indicator_table import ZONE_STYLE

Cell = tuple[str, str]
"""(text, style): the style is a Textual style string with theme variables."""

ABOVE, BELOW, STRETCHED, MUTED = "$success", "$error", "bold $warning", "$text-muted"
NA_CELL: Cell = (fmt.NA, MUTED)
GAP = 1
"""Blank cells between columns."""
CURSOR_MARK = "▸"
"""Drawn in the gutter of the cursor row, so the cursor shows without colour too."""


def _yield_bp(value: float) -> str:
    """A yield difference in basis points: how rates traders read MACD, ATR and gaps on ^TNX."""
    return f"{fmt.signed(value * 100.0, 1)} bp"


def _side(up: bool | None) -> str:
    return MUTED if up is None else (ABOVE if up else BELOW)


def _frame(row: FrameRow, short: bool) -> Cell:
    text = ("D" if row.frame is Frame.DAILY else "W") if short else row.frame.value
    return (text + ("*" if row.incomplete else ""), "$warning" if row.incomplete else MUTED)


def _close(row: FrameRow, short: bool) -> Cell:
    return (fmt.price(row.symbol, row.close), "bold")


def _rsi(row: FrameRow, short: bool) -> Cell:
    if row.rsi_14 is None or row.rsi_zone is None:
        return NA_CELL
    return (ind.rsi_shown(row.rsi_14, 1), ZONE_STYLE[row.rsi_zone])


def _sma(value: Callable[[FrameRow], float | None]) -> Callable[[FrameRow, bool], Cell]:
    def cell(row: FrameRow, short: bool) -> Cell:
        sma = value(row)
        if sma is None:
            return NA_CELL
        return (fmt.price(row.symbol, sma), _side(row.close >= sma))

    return cell


def _distance(value: Callable[[FrameRow], float | None]) -> Callable[[FrameRow, bool], Cell]:
    def cell(row: FrameRow, short: bool) -> Cell:
        sma = value(row)
        if sma is None:
            return NA_CELL
        if fmt.is_yield(row.symbol):
            text = _yield_bp(row.close - sma)
        else:
            text = fmt.percent((row.close / sma - 1.0) * 100.0, 1)
        return (text, _side(row.close >= sma))

    return cell


def _macd_part(value: Callable[[FrameRow], float | None]) -> Callable[[FrameRow, bool], Cell]:
    def cell(row: FrameRow, short: bool) -> Cell:
        v = value(row)
        if v is None:
            return NA_CELL
        text = _yield_bp(v) if fmt.is_yield(row.symbol) else fmt.signed(v, 2)
        return (text, _side(row.macd_above_signal))

    return cell


def _cross(row: FrameRow, short: bool) -> Cell:
    if row.macd is None:
        return NA_CELL
    c = row.last_cross
    if c is None:
        return ("none", MUTED)
    arrow = "▲" if c.bullish else "▼"
    if not short:
        when = c.day.isoformat()
    elif c.sessions_ago == 0:
        when = "now"  # on the latest bar
    else:
        when = f"{c.sessions_ago}{'d' if row.frame is Frame.DAILY else 'w'}"  # bars of the frame ago
    return (f"{arrow} {when}", ABOVE if c.bullish else BELOW)


def _pct_b(row: FrameRow, short: bool) -> Cell:
    b = row.bollinger_pct_b
    if b is None:
        return NA_CELL
    return (f"{b:.2f}", STRETCHED if b > 1.0 or b < 0.0 else "")


def _atr(row: FrameRow, short: bool) -> Cell:
    a = row.atr_14
    if a is None:
        return NA_CELL
    return (_yield_bp(a).lstrip("+") if fmt.is_yield(row.symbol) else f"{a:,.2f}", "")


def _atr_pct(row: FrameRow, short: bool) -> Cell:
    p = row.atr_pct
    return NA_CELL if p is None else (f"{p:.1f} %", MUTED)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    cell: Callable[[FrameRow, bool], Cell]
    """(row, short) -> what the cell shows; `short` once the layout had to narrow this column."""
    alone: tuple[str, str] | None = None
    """(column key, header): the header to use when that column is not shown (a distance column
    without its SMA value says which SMA it is)."""
    left: bool = False


FIXED = (
    Column("symbol", "", lambda r, s: (r.symbol, "bold"), left=True),
    Column("frame", "", _frame, left=True),
)
"""Columns that stay in place when the table scrolls sideways."""
COLUMNS = (
    Column("close", "close", _close),
    Column("rsi", "RSI", _rsi),
    Column("sma_50", "SMA 50", _sma(lambda r: r.sma_50)),
    Column("dist_50", "dist", _distance(lambda r: r.sma_50), alone=("sma_50", "vs SMA 50")),
    Column("sma_200", "SMA 200", _sma(lambda r: r.sma_200)),
    Column("dist_200", "dist", _distance(lambda r: r.sma_200), alone=("sma_200", "vs SMA 200")),
    Column("macd", "MACD", _macd_part(lambda r: r.macd)),
    Column("signal", "signal", _macd_part(lambda r: r.macd_signal)),
    Column("hist", "hist", _macd_part(lambda r: r.macd_hist)),
    Column("cross", "cross", _cross, left=True),
    Column("pct_b", "%B", _pct_b),
    Column("atr", "ATR", _atr),
    Column("atr_pct", "ATR %", _atr_pct),
)
SHRINK_STEPS: tuple[tuple[str, str], ...] = (
    ("drop", "close"),
    ("drop", "atr_pct"),
    ("short", "frame"),
    ("drop", "hist"),
    ("drop", "signal"),
    ("short", "cross"),
    ("drop", "atr"),
    ("drop", "sma_200"),
    ("drop", "sma_50"),
)
"""How the table narrows, in order, until it fits: the least telling columns go first."""


@dataclass(frozen=True, slots=True)
class Layout:
    columns: tuple[Column, ...]
    short: frozenset[str]
    widths: dict[str, int]

    def width_of(self, cols: Sequence[Column]) -> int:
        return sum(self.widths[c.key] for c in cols) + GAP * len(cols)


def _cells(rows: Sequence[FrameRow], short: bool) -> dict[str, list[Cell]]:
    return {c.key: [c.cell(r, short) for r in rows] for c in (*FIXED, *COLUMNS)}


def fit(rows: Sequence[FrameRow], width: int) -> Layout:
    """The columns (and short forms) to show `rows` in `width` cells, gutter included."""
    long, short = _cells(rows, False), _cells(rows, True)
    dropped: set[str] = set()
    shortened: set[str] = set()

    def layout() -> Layout:
        cols = tuple(c for c in COLUMNS if c.key not in dropped)
        widths = {}
        for c in (*FIXED, *cols):
            cells = short[c.key] if c.key in shortened else long[c.key]
            widths[c.key] = max([len(_header(c, dropped)), *(len(t) for t, _ in cells)])
        return Layout(cols, frozenset(shortened), widths)

    current = layout()
    for action, key in SHRINK_STEPS:
        if 1 + current.width_of((*FIXED, *current.columns)) <= width:
            break
        (dropped if action == "drop" else shortened).add(key)
        current = layout()
    return current


def _header(c: Column, dropped: set[str] | frozenset[str]) -> str:
    if c.alone is not None and c.alone[0] in dropped:
        return c.alone[1]
    return c.header


def _pad(text: str, width: int, left: bool) -> str:
    return f"{text:<{width}}" if left else f"{text:>{width}}"


@dataclass(frozen=True, slots=True)
class _Line:
    """One table row drawn as two pieces: the fixed columns and the part that scrolls sideways."""

    symbol: str
    fixed: Content
    rest: Content


class IndicatorMatrix(ScrollView, can_focus=False):
    """Symbols x frames with RSI, SMAs, MACD, %B and ATR, colour-coded by state.

    `show()` takes the data; `move_cursor()`, `cursor_to()`, `cursor_to_symbol()` and `scroll_columns()`
    are for the owning view's keys. Only lines on screen are rendered, and a data update that changes
    nothing repaints nothing.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "indicator-matrix--header",
        "indicator-matrix--cursor",
    }
    DEFAULT_CSS = """
    IndicatorMatrix {
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        & > .indicator-matrix--header {
            text-style: bold;
            color: $text-muted;
        }
        & > .indicator-matrix--cursor {
            background: $accent 30%;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._matrices: tuple[SymbolMatrix, ...] = ()
        self._focused = ""
        self._lines: list[_Line] = []
        self._header: _Line | None = None
        self._fixed_width = 0
        self._column_stops: list[int] = []
        self._laid_out_for = -1
        self._strips: dict[tuple[int, bool], Strip] = {}
        self.cursor = 0
        """Index of the highlighted row (the header not counted)."""

    # ------------------------------------------------------------------ data
    @property
    def row_symbols(self) -> list[str]:
        """The symbol of each row, top to bottom."""
        return [line.symbol for line in self._lines]

    def show(self, matrices: Sequence[SymbolMatrix], focused: str = "") -> None:
        """Show these symbols' rows; `focused` is the symbol whose name stands out. A no-op when the
        same data is shown again."""
        new = tuple(matrices)
        if focused == self._focused and new == self._matrices:
            return
        self._matrices, self._focused = new, focused
        self._layout()

    def on_resize(self, event: events.Resize) -> None:
        if self._available_width() != self._laid_out_for:
            self._layout()

    def _available_width(self) -> int:
        rows = sum(max(1, len(m.rows)) for m in self._matrices)
        bar = self.styles.scrollbar_size_vertical if rows + 1 > self.size.height else 0
        return max(0, self.size.width - bar)

    def _layout(self) -> None:
        """Choose the columns for the current width and build every line's content."""
        width = self._available_width()
        self._laid_out_for = width
        rows = [r for m in self._matrices for r in m.rows]
        lay = fit(rows, width)
        fixed_cols, cols = FIXED, lay.columns
        dropped = {c.key for c in COLUMNS} - {c.key for c in cols}

        def assemble(cells: Sequence[tuple[Column, Cell]]) -> Content:
            parts: list[tuple[str, str] | str] = []
            for c, (text, style) in cells:
                parts.append((_pad(text, lay.widths[c.key], c.left), style))
                parts.append(" " * GAP)
            return Content.assemble(*parts)

        header_cells = [(c, (_header(c, dropped), "")) for c in cols]
        self._header = _Line("", Content(" " * (1 + lay.width_of(fixed_cols))), assemble(header_cells))
        lines: list[_Line] = []
        for m in self._matrices:
            sym_style = "bold $accent" if m.symbol == self._focused else "bold"
            if not m.rows:
                fixed = assemble([(FIXED[0], (m.symbol, sym_style)), (FIXED[1], ("", ""))])
                lines.append(_Line(m.symbol, Content(" ") + fixed, Content.assemble((m.note or "", MUTED))))
                continue
            for r in m.rows:
                fixed_cells = [
                    (FIXED[0], (r.symbol, sym_style)),
                    (FIXED[1], FIXED[1].cell(r, "frame" in lay.short)),
                ]
                rest = [(c, c.cell(r, c.key in lay.short)) for c in cols]
                lines.append(_Line(r.symbol, Content(" ") + assemble(fixed_cells), assemble(rest)))
        self._lines = lines
        self._fixed_width = 1 + lay.width_of(fixed_cols)
        stops, x = [0], 0
        for c in cols:
            x += lay.widths[c.key] + GAP
            stops.append(x)
        self._column_stops = stops
        rest_width = max([0, *(line.rest.cell_length for line in lines)])
        self.cursor = min(self.cursor, max(0, len(lines) - 1))
        self._strips.clear()
        self.virtual_size = Size(self._fixed_width + rest_width, len(lines) + 1)
        self.refresh()

    # ------------------------------------------------------------------ cursor and scrolling
    def cursor_to(self, index: int) -> None:
        """Move the cursor to row `index` (clamped) and scroll it into view."""
        if not self._lines:
            return
        index = max(0, min(index, len(self._lines) - 1))
        if index != self.cursor:
            old, self.cursor = self.cursor, index
            self._strips.pop((old, True), None)
            self.refresh_lines(old + 1)
            self.refresh_lines(index + 1)
        self._scroll_to_cursor()

    def move_cursor(self, delta: int) -> None:
        self.cursor_to(self.cursor + delta)

    def cursor_to_symbol(self, symbol: str) -> None:
        """Put the cursor on the first row of `symbol` (nothing happens if it has none)."""
        if symbol in self.row_symbols:
            self.cursor_to(self.row_symbols.index(symbol))

    def scroll_columns(self, delta: int) -> None:
        """Scroll sideways by whole columns (negative: to the left)."""
        x = round(self.scroll_x)
        if delta > 0:
            later = [s for s in self._column_stops if s > x]
            target = later[min(delta, len(later)) - 1] if later else x
        else:
            earlier = [s for s in self._column_stops if s < x]
            target = earlier[max(delta, -len(earlier))] if earlier else 0
        self.scroll_to(x=min(target, self.max_scroll_x), animate=False)

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # the header row stays
        y = round(self.scroll_y)
        if self.cursor < y:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= y + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.cursor_to(round(self.scroll_y) + event.y - 1)

    # ------------------------------------------------------------------ rendering
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a new theme: the cached lines hold the old colours

    def _strip(self, content: Content, width: int, style: Style) -> Strip:
        strips = Visual.to_strips(self, content, width, 1, style, pad=True)
        return strips[0] if strips else Strip.blank(width, style.rich_style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.get_visual_style()
        scroll_x = round(self.scroll_x)
        if y == 0:
            line, style, key = self._header, self.get_visual_style("indicator-matrix--header"), (-1, False)
        else:
            index = round(self.scroll_y) + y - 1
            line = self._lines[index] if 0 <= index < len(self._lines) else None
            cursor = index == self.cursor
            style = self.get_visual_style("indicator-matrix--cursor") if cursor else base
            key = (index, cursor)
        if line is None:
            return Strip.blank(width, base.rich_style)
        full = self._strips.get(key)
        if full is None:
            fixed = line.fixed
            if key[1]:
                fixed = Content(CURSOR_MARK) + fixed[1:]
            rest_width = max(1, self.virtual_size.width - self._fixed_width)
            full = Strip.join(
                [self._strip(fixed, self._fixed_width, style), self._strip(line.rest, rest_width, style)]
            )
            self._strips[key] = full
        fixed_part = full.crop(0, self._fixed_width)
        rest_part = full.crop(self._fixed_width + scroll_x, self._fixed_width + scroll_x + width)
        return Strip.join([fixed_part, rest_part]).crop_extend(0, width, style.rich_style)
