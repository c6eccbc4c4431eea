"""View 5, History: calendar-year returns of small caps against large caps, the spread and the years
small caps led, as a table and a bar chart: the place to check the thesis' history (1991, 2003,
2020-21, 2024) on real data.

The pair is ^RUT vs ^GSPC (price returns) when both are in the snapshot with daily bars, else IWM vs
SPY (total returns); see `services.history` for how a year is measured. Table and chart sit side by
side, one year per line in both, so a year's bar is on its table line (compact columns below 100
cells); below 70 cells they are stacked. There is one scroll position, the table's: the keys and the
mouse wheel (over either) scroll the table, and the chart follows its `Scrolled` messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from services.history import PAIRS, YearHistory, history_from_snapshot
from services.snapshot import Snapshot
from tui.screens.view import MonitorView
from widgets.text_line import TextLine
from widgets.year_returns_chart import YearReturnsChart
from widgets.year_returns_table import YearReturnsTable

PAIR_SYMBOLS = tuple(dict.fromkeys(s for p in PAIRS for s in (p.small, p.large)))
COMPACT_BELOW = 100
"""View widths below this get the narrow table (marks without words, no dates of partial years)."""
STACKED_BELOW = 70
"""View widths below this stack the chart under the table."""

SymbolKey = tuple[str, bool, tuple[int, int, float], bool, str | None]
InputKey = tuple[SymbolKey, ...]


def head_line(history: YearHistory, width: int) -> Content:
    """ " ^RUT vs ^GSPC, price returns  small caps led in 18 of 33 full years  1990-2024", shortened
    (the span first, then the words) until it fits `width`."""
    pair = history.pair
    span = f"  {history.years[0].year}-{history.years[-1].year}" if history.years else ""
    full = len(history.full_years)
    short_summary = f"led {history.led_count} of {full} full years" if full else history.summary()
    for what, summary, tail in (
        (f" {history.describe_pair()}", history.summary(), span),
        (f" {history.describe_pair()}", history.summary(), ""),
        (f" {pair.small}/{pair.large} {pair.basis.value}", short_summary, ""),
    ):
        if len(what) + 2 + len(summary) + len(tail) <= width:
            break
    return Content.assemble((what, "bold"), "  ", (summary, "$accent"), (tail, "$text-muted"))


class HistoryView(MonitorView):
    view_title = "History"
    DEFAULT_CSS = """
    HistoryView > #history-head {
        height: 1;
        background: $boost;
    }
    HistoryView > #history-note {
        height: auto;
        padding: 1 2;
        color: $warning;
    }
    HistoryView > #history-body {
        height: 1fr;
    }
    HistoryView #history-table {
        width: 60;
    }
    HistoryView.-compact #history-table {
        width: 38;
    }
    HistoryView.-stacked #history-body {
        layout: vertical;
    }
    HistoryView.-stacked #history-table {
        width: 1fr;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_years('down')", "Down", show=False, id="history.down"),
        Binding("k", "scroll_years('up')", "Up", show=False, id="history.up"),
        Binding("g", "scroll_years('top')", "Oldest", show=False, id="history.top"),
        Binding("G", "scroll_years('bottom')", "Newest", show=False, id="history.bottom"),
    ]

    def __init__(self, symbols: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(list(symbols), id=id)
        self.history: YearHistory | None = None
        """What is shown (None until the first snapshot)."""
        self._input_key: InputKey | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(Content.styled(" History: waiting for data", "$text-muted"), id="history-head")
        yield Static(id="history-note")
        with Horizontal(id="history-body"):
            yield YearReturnsTable(id="history-table")
            yield YearReturnsChart(id="history-chart")

    def on_mount(self) -> None:
        self.query_one("#history-note").display = False
        self._fit(self.size.width)

    def on_resize(self) -> None:
        self._fit(self.size.width)
        self._show_head()

    def _fit(self, width: int) -> None:
        if width:
            self.set_class(width < COMPACT_BELOW, "-compact")
            self.set_class(width < STACKED_BELOW, "-stacked")

    @staticmethod
    def input_key(snap: Snapshot) -> InputKey:
        """What the view's content depends on: per pair symbol, whether it is watched, its series'
        revision, whether its last bar is live, and its error (named when there is no data)."""
        key: list[SymbolKey] = []
        for sym in PAIR_SYMBOLS:
            s = snap.symbols.get(sym)
            if s is None:
                key.append((sym, False, (0, 0, 0.0), False, None))
            else:
                err = s.error.message if s.error is not None else None
                key.append((sym, True, s.daily.revision, s.provisional, err))
        return tuple(key)

    def update_view(self, snap: Snapshot, now: datetime) -> None:
        key = self.input_key(snap)
        if key == self._input_key:
            return
        self._input_key = key
        history = history_from_snapshot(snap.symbols)
        self.history = history
        head = self.query_one("#history-head", TextLine)
        note = self.query_one("#history-note", Static)
        body = self.query_one("#history-body")
        if not history.years:
            head.show(Content.styled(" History: no pair to compare", "bold"))
            note.update(history.note or "no years to show")
            note.display, body.display = True, False
            return
        note.display, body.display = False, True
        self._show_head()
        table = self.query_one(YearReturnsTable)
        table.show(history)
        chart = self.query_one(YearReturnsChart)
        chart.show(history)
        chart.scroll_to_row(table.first_row)

    def _show_head(self) -> None:
        """The header line, worded to fit: the pair and basis, how often small caps led, the span."""
        history = self.history
        if history is None or not history.years or not self.is_mounted:
            return
        self.query_one("#history-head", TextLine).show(head_line(history, self.size.width))

    def action_scroll_years(self, where: str) -> None:
        self.query_one(YearReturnsTable).scroll_rows(where)

    def on_year_returns_table_scrolled(self, event: YearReturnsTable.Scrolled) -> None:
        self.query_one(YearReturnsChart).scroll_to_row(event.first_row)

    # The wheel over the chart (or the table at its ends) arrives here: it scrolls the table, which
    # the chart follows.
    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.query_one(YearReturnsTable).scroll_rows("down")

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.query_one(YearReturnsTable).scroll_rows("up")
