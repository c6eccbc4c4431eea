"""Calendar-year returns of the small-cap and large-cap series, one line per year, oldest first (as the
chart beside it and `history` list them); it opens scrolled to the newest years.

The table's scroll position is the view's one scroll position: whatever moves it (the view's keys,
the mouse wheel, a resize clamping it) posts `YearReturnsTable.Scrolled`, and the chart follows.

Each line is its own `TextLine`, so a live price moving this year's returns repaints that one line.
The wording fits the width: the partial years' date range is shown when there is room.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message

from services import formatting as fmt
from services.history import YearHistory, YearReturn, partial_note
from widgets.text_line import TextLine

LED_MARK = "▲"
"""Marks a year small caps led: a character, not only a colour, so NO_COLOR still shows it."""
PARTIAL_MARK = "*"
YEAR_W, NUM_W = 6, 8
BASE_W = YEAR_W + 3 * NUM_W
"""year, small, large, spread: the columns that always show."""
LED_WORDY_W = BASE_W + len(f"  {LED_MARK} small")
"""From this width the lead mark reads "▲ small"; below, just "▲"."""


def _signed_style(value: float) -> str:
    return "$success" if value > 0 else "$error" if value < 0 else ""


def header_line(small: str, large: str, width: int) -> Content:
    led = "led" if width >= BASE_W + 3 else ""
    return Content.styled(
        f"{'year':<{YEAR_W}}{small:>{NUM_W}}{large:>{NUM_W}}{'spread':>{NUM_W}}  {led}".rstrip(), "bold"
    )


def year_line(y: YearReturn, width: int) -> Content:
    """One year: returns in percent, the spread coloured by sign, ▲ when small caps led, * when partial;
    a partial year's dates when they fit in `width`."""
    year = f"{y.year}{PARTIAL_MARK if y.partial else ''}"
    parts: list[tuple[str, str] | str] = [
        (f"{year:<{YEAR_W}}", "$text-muted" if y.partial else ""),
        f"{fmt.signed(y.small):>{NUM_W}}",
        f"{fmt.signed(y.large):>{NUM_W}}",
        (f"{fmt.signed(y.spread):>{NUM_W}}", _signed_style(y.spread)),
    ]
    mark = f"  {LED_MARK} small" if width >= LED_WORDY_W else f"  {LED_MARK}"
    parts.append((mark if y.small_led else " " * len(mark), "$success"))
    note = partial_note(y)
    if note and BASE_W + len(mark) + 2 + len(note) <= width:
        parts.append((f"  {note}", "$text-muted"))
    return Content.assemble(*parts)


class YearRows(VerticalScroll, can_focus=False):
    """The scrolling list of year lines; tells the table when its first visible year changed."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(YearReturnsTable.Scrolled(round(new_value)))


class YearReturnsTable(Vertical):
    """The years of a `YearHistory`: a fixed column header over a scrolling list."""

    class Scrolled(Message):
        """The first year on screen changed (every year line is one cell high)."""

        def __init__(self, first_row: int) -> None:
            super().__init__()
            self.first_row = first_row
            """Index into `YearHistory.years` of the year on the first line."""

    DEFAULT_CSS = """
    YearReturnsTable {
        height: 1fr;
        border: round $primary;
        padding: 0 1;
    }
    YearReturnsTable > #year-returns-head {
        height: 1;
    }
    YearReturnsTable > YearRows {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    YearReturnsTable > YearRows > TextLine {
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Calendar years, %"
        self.border_subtitle = f"{LED_MARK} small led  {PARTIAL_MARK} partial"
        self.history: YearHistory | None = None
        self._shown_width = -1
        self._opened = False

    def compose(self) -> ComposeResult:
        yield TextLine(id="year-returns-head")
        yield YearRows(id="year-returns-rows")

    @property
    def rows(self) -> YearRows:
        return self.query_one("#year-returns-rows", YearRows)

    @property
    def first_row(self) -> int:
        """Index into the years of the year on the first line."""
        return round(self.rows.scroll_y)

    @property
    def text(self) -> str:
        """The table as plain text (header, then the years)."""
        head = self.query_one("#year-returns-head", TextLine).text
        return "\n".join([head, *(line.text for line in self.rows.query_children(TextLine))])

    def show(self, history: YearHistory) -> None:
        """Show `history`'s years; only the lines whose text changed repaint."""
        self.history = history
        self._draw()

    def on_resize(self) -> None:
        if max(0, self.content_region.width - 1) != self._shown_width:
            self._draw()

    def _draw(self) -> None:
        history = self.history
        if history is None or not self.is_mounted:
            return
        # One cell less than the box: the rows' scrollbar takes it once the years overflow.
        width = max(0, (self.content_region.width or self.size.width) - 1)
        self._shown_width = width
        self.query_one("#year-returns-head", TextLine).show(
            header_line(history.pair.small, history.pair.large, width)
        )
        lines = [year_line(y, width) for y in history.years]
        rows = self.rows
        current = list(rows.query_children(TextLine))
        for line, content in zip(current, lines, strict=False):
            line.show(content)
        if len(lines) > len(current):
            rows.mount_all(TextLine(c) for c in lines[len(current) :])
        for line in current[len(lines) :]:
            line.remove()
        if lines and not self._opened:
            # The newest years are what a user checks first; later updates keep their scroll position.
            self._opened = True
            self.call_after_refresh(rows.scroll_end, animate=False)

    # Scrolling, for the view's keys.
    def scroll_rows(self, where: str) -> None:
        """`where`: "down" / "up" one line, "top" (oldest year) or "bottom" (newest)."""
        rows = self.rows
        if where == "down":
            rows.scroll_down(animate=False)
        elif where == "up":
            rows.scroll_up(animate=False)
        elif where == "top":
            rows.scroll_home(animate=False)
        elif where == "bottom":
            rows.scroll_end(animate=False)
