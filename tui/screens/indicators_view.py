"""View 3, Indicators: every watched symbol on the daily and the weekly frame in one table.

A header says what date the values are as of and whether today's bar (or this week's) is still
moving, with a legend of the colours; a footnote says why a value is "n/a". Indicators are recomputed
for a symbol only when its daily series changed, so a quote tick on IWM recomputes IWM alone, and an
unchanged snapshot costs a few comparisons.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content

from services import indicator_matrix as im
from services.snapshot import Snapshot
from tui.screens.view import MonitorView
from widgets.indicator_matrix import IndicatorMatrix
from widgets.text_line import TextLine


def status_line(matrices: Sequence[im.SymbolMatrix], width: int) -> Content:
    """ "as of 2026-11-24  today's bar incomplete", naming the symbols whose data is older."""
    rows = [r for m in matrices for r in m.rows if r.frame is im.Frame.DAILY]
    if not rows:
        return Content.assemble(("waiting for data", "$text-muted"))
    newest = max(r.as_of for r in rows)
    behind = [f"{r.symbol} {r.as_of.isoformat()}" for r in rows if r.as_of < newest]
    live = any(r.incomplete for r in rows)
    parts: list[tuple[str, str] | str] = [("as of ", "$text-muted"), (newest.isoformat(), "bold")]
    if not live:
        parts.append((" close", "$text-muted"))
    if behind:
        parts.append((f" ({', '.join(behind)})", "$warning"))
    if live:
        parts += ["  ", (" today's bar incomplete ", "bold $text on $warning")]
    elif any(r.incomplete for m in matrices for r in m.rows):
        parts.append(("  week in progress", "$text-muted"))
    line = Content.assemble(*parts)
    if live and line.cell_length + 30 <= width:
        line += Content.assemble(("  values move until the close", "$text-muted"))
    return line


def legend_line(width: int) -> Content:
    """What the colours mean, in words when there is room."""
    for words in (
        ("above SMA, MACD over signal, RSI 50-70", "below, under, RSI 30-50", "RSI >70 <30, %B out of 0-1"),
        ("bull", "bear", "stretched"),
    ):
        line = Content.assemble(
            ("■ ", "$success"),
            (f"{words[0]}  ", "$text-muted"),
            ("■ ", "$error"),
            (f"{words[1]}  ", "$text-muted"),
            ("■ ", "$warning"),
            (f"{words[2]}  ", "$text-muted"),
            ("* incomplete bar", "$text-muted"),
        )
        if line.cell_length <= width:
            break
    return line


def footnote_line(matrices: Sequence[im.SymbolMatrix], width: int) -> Content:
    """Why values are "n/a", as many reasons as fit; empty when every value is there."""
    reasons: list[str] = []
    for m in matrices:
        for r in m.rows:
            for name, why in r.unavailable().items():
                reasons.append(f"{r.symbol} {r.frame.value} {im.LABELS[name]} {why}")
    if not reasons:
        return Content("")
    text = "n/a: " + reasons[0]
    shown = 1
    for reason in reasons[1:]:
        more = f"; +{len(reasons) - shown - 1} more" if shown + 1 < len(reasons) else ""
        if len(text) + 2 + len(reason) + len(more) > width:
            break
        text += "; " + reason
        shown += 1
    if shown < len(reasons):
        text += f"; +{len(reasons) - shown} more"
    return Content.assemble((text, "$text-muted"))


class IndicatorsView(MonitorView):
    """Symbols x (daily, weekly): RSI 14, SMA 50/200 and the distance, MACD, %B, ATR 14."""

    view_title = "Indicators"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor(1)", "Down", id="indicators.down", show=False),
        Binding("k", "cursor(-1)", "Up", id="indicators.up", show=False),
        Binding("g", "cursor_end(False)", "First row", id="indicators.top", show=False),
        Binding("G", "cursor_end(True)", "Last row", id="indicators.bottom", show=False),
        Binding("h", "scroll_columns(-1)", "Scroll left", id="indicators.left", show=False),
        Binding("l", "scroll_columns(1)", "Scroll right", id="indicators.right", show=False),
    ]
    DEFAULT_CSS = """
    IndicatorsView {
        height: 1fr;
        padding: 0 1;
    }
    IndicatorsView > #ind-footnote {
        height: 1;
    }
    """

    def __init__(
        self,
        symbols: tuple[str, ...] | list[str],
        *,
        id: str | None = None,
        is_session: im.SessionCheck | None = None,
    ) -> None:
        """`is_session`: the exchange calendar, if known, so a holiday-shortened week ends on time."""
        super().__init__(symbols, id=id)
        self.is_session = is_session
        self._computed: dict[str, tuple[Hashable, im.SymbolMatrix]] = {}
        self._shown: tuple[im.SymbolMatrix, ...] = ()
        self._cursor_symbol: str | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(id="ind-status")
        yield TextLine(id="ind-legend")
        yield IndicatorMatrix(id="ind-matrix")
        yield TextLine(id="ind-footnote")

    @property
    def matrix(self) -> IndicatorMatrix:
        return self.query_one(IndicatorMatrix)

    def update_view(self, snap: Snapshot, now: datetime) -> None:
        matrices: list[im.SymbolMatrix] = []
        for sym in self.symbols:
            s = snap.symbols.get(sym)
            if s is None:
                matrices.append(im.SymbolMatrix(sym, (), "not loaded yet"))
                continue
            key = im.matrix_key(s, snap.as_of)
            cached = self._computed.get(sym)
            if cached is None or cached[0] != key:
                cached = (key, im.symbol_matrix(s, snap.as_of, self.is_session))
                self._computed[sym] = cached
            matrices.append(cached[1])
        for gone in set(self._computed) - set(self.symbols):
            del self._computed[gone]
        shown = tuple(matrices)
        if shown == self._shown and self.symbol == self._cursor_symbol:
            return  # nothing drawn has changed (a resize redraws through on_resize)
        self._shown = shown
        self.matrix.show(self._shown, focused=self.symbol)
        if self.symbol != self._cursor_symbol:
            # tab / shift+tab moved the focus: the cursor follows; j/k stay free in between.
            self.matrix.cursor_to_symbol(self.symbol)
            self._cursor_symbol = self.symbol
        self._draw_text()

    def _draw_text(self) -> None:
        width = self.content_region.width or self.size.width
        self.query_one("#ind-status", TextLine).show(status_line(self._shown, width))
        self.query_one("#ind-legend", TextLine).show(legend_line(width))
        self.query_one("#ind-footnote", TextLine).show(footnote_line(self._shown, width))

    def on_resize(self) -> None:
        if self._shown:
            self._draw_text()

    # ------------------------------------------------------------------ keys
    def action_cursor(self, delta: int) -> None:
        self.matrix.move_cursor(delta)

    def action_cursor_end(self, bottom: bool) -> None:
        self.matrix.cursor_to(len(self.matrix.row_symbols) - 1 if bottom else 0)

    def action_scroll_columns(self, delta: int) -> None:
        self.matrix.scroll_columns(delta)
