"""A quote card: last, change, day range, volume, time, session badge, sparkline, staleness."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from services import formatting as fmt
from services.models import MarketSession
from services.snapshot import SymbolSnapshot
from widgets.price_flash import PriceFlash
from widgets.sparkline import draw
from widgets.text_block import TextBlock

BADGE_STYLE = {
    MarketSession.REGULAR: "bold $text on $success",
    MarketSession.PRE: "bold $text on $warning",
    MarketSession.POST: "bold $text on $warning",
    MarketSession.CLOSED: "bold $text on $panel",
}


def change_style(points: float | None) -> str:
    if points is None or points == 0:
        return ""
    return "$success" if points > 0 else "$error"


def staleness(s: SymbolSnapshot, now: datetime) -> Content:
    """ "stale · 3 min old · <why>" in the warning colour; empty when the values are fresh."""
    if s.quote is None and not s.daily:
        why = s.error.message if s.error else "waiting for data"
        return Content.assemble((why, "$error" if s.error else "$text-muted"))
    if not s.stale:
        return Content("")
    parts = ["stale"]
    if s.updated_at is not None:
        parts.append(f"{fmt.age((now - s.updated_at).total_seconds())} old")
    if s.error is not None:
        parts.append(s.error.message)
    elif s.stale:
        parts.append("from cache, refreshing")
    return Content.assemble((" · ".join(parts), "$warning"))


class QuoteCard(TextBlock):
    """The full card of one of the thesis ETFs (IWM, SPY): price line with the session badge, day range,
    sparkline rows and the staleness note, all lines of one widget (a tick repaints the lines that
    moved; Textual's cost per frame grows with the widgets in the repainted area)."""

    DEFAULT_CSS = """
    QuoteCard {
        height: auto;
        border: round $primary;
        padding: 0 1;
    }
    QuoteCard.-stale { border: round $warning; }
    QuoteCard.-focused { border-title-color: $accent; border-title-style: bold reverse; }
    """

    SPARKLINE_ROWS = 3
    """Rows of the sparkline, below a blank line; one row, right under the day range, when compact."""

    def __init__(self, symbol: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.symbol = symbol
        name = fmt.display_name(symbol)
        self.border_title = f"{symbol} · {name}" if name else symbol
        self._last: SymbolSnapshot | None = None
        self._now: datetime | None = None
        self.compact = False
        self.flash = PriceFlash(self, self.update_lines)

    def on_mount(self) -> None:
        self.compact = self.screen.has_class("-compact")
        super().on_mount()

    def on_unmount(self) -> None:
        self.flash.cancel()

    def set_compact(self, compact: bool) -> None:
        """Small terminal: one sparkline row and no blank line (the screen says when)."""
        if compact != self.compact:
            self.compact = compact
            self.update_lines()

    def show(self, s: SymbolSnapshot, now: datetime) -> None:
        self._last = s
        self._now = now
        self.flash.update(s.quote.last if s.quote is not None else None)
        subtitle = (
            "today" if s.shows_intraday else (f"last {min(len(s.daily), 60)} sessions" if s.daily else "")
        )
        if subtitle != self.border_subtitle:  # Textual repaints the whole card on every assignment
            self.border_subtitle = subtitle
        self.show_age(now)

    def show_age(self, now: datetime) -> None:
        """Refresh the staleness note (called once a minute while anything is stale)."""
        self._now = now
        s = self._last
        if s is not None:
            self.set_class(s.stale, "-stale")
        self.update_lines()

    def lines(self, width: int) -> list[Content]:
        s = self._last
        if s is None:
            return [Content.assemble(("waiting for data", "$text-muted")), Content(""), *self._spark(width)]
        price, detail = self._price_lines(s, width)
        lines = [price, detail, *self._spark(width)]
        if self._now is not None:
            note = staleness(s, self._now)
            if note.plain:
                lines.append(note)
        return lines

    def _spark(self, width: int) -> list[Content]:
        rows = 1 if self.compact else self.SPARKLINE_ROWS
        drawn = [" " * width] * rows
        if self._last is not None:
            values, capacity = self._last.sparkline()
            drawn = draw(values, width, rows, capacity)
        spark = [Content.assemble((row, "$accent")) for row in drawn]
        return spark if self.compact else [Content(""), *spark]

    def _price_lines(self, s: SymbolSnapshot, width: int) -> tuple[Content, Content]:
        """Price and detail lines, worded for the card's width."""
        if s.quote is None:  # the note below says why (an error, or still waiting)
            return Content(""), Content("")
        q, sym, now = s.quote, s.symbol, self._now
        wide = width >= 52
        when = fmt.clock_et(q.time, now)
        price_parts: list[tuple[str, str] | str] = [
            (fmt.price(sym, q.last), self.flash.style),
            "   " if wide else "  ",
            (fmt.change(sym, q.change, q.change_pct), change_style(q.change)),
        ]
        move = q.extended_change
        x = q.extended
        if x is not None and move is not None:
            # Outside the regular session: the regular close on the left, the extended-hours price and
            # its change from that close in the badge.
            if not wide:
                price_parts[2] = (fmt.percent(q.change_pct), change_style(q.change))
            price_parts += ["  ", ("close", "$text-muted")]
            ext = f" {x.session.value} {fmt.price(sym, x.price)} "
            ext_change = f"{fmt.signed(move[0], 2)} {fmt.percent(move[1])} " if wide else ""
            badge = Content.assemble((ext + ext_change, BADGE_STYLE[x.session]))
        else:
            if wide:
                price_parts += ["   ", (when, "$text-muted")]
            badge = Content.assemble((f" {q.session.value} ", BADGE_STYLE[q.session]))
        # The badge sits at the right end of the price line: one widget, not a row of two (Textual's
        # cost per frame grows with the widgets in the repainted area).
        price = Content.assemble(*price_parts)
        room = max(0, width - badge.cell_length - 1)
        if price.cell_length > room and x is not None and wide:
            # The extended-hours badge is long: the regular change in percent only, as when narrow.
            price_parts[2] = (fmt.percent(q.change_pct), change_style(q.change))
            price = Content.assemble(*price_parts)
        if price.cell_length > room:
            price = price.truncate(room)
        gap = " " * max(1, width - price.cell_length - badge.cell_length)
        price_line = Content.assemble(price, gap, badge)
        sep = "  " if wide else " "
        detail: list[tuple[str, str] | str] = [
            ("H ", "$text-muted"),
            fmt.price(sym, q.day_high),
            (f"{sep}L ", "$text-muted"),
            fmt.price(sym, q.day_low),
        ]
        if wide:
            detail += [(f"{sep}prev ", "$text-muted"), fmt.price(sym, q.prev_close)]
        detail += [(f"{sep}vol ", "$text-muted"), fmt.volume(q.volume)]
        if not wide:
            detail += [(f"{sep}{when.removesuffix(' ET')}", "$text-muted")]
        return price_line, Content.assemble(*detail)
