"""A compact quote for the strip (^RUT, ^GSPC, ^TNX, ^VIX): name, last, change, sparkline."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from services import formatting as fmt
from services.snapshot import SymbolSnapshot
from widgets.price_flash import PriceFlash
from widgets.quote_card import change_style
from widgets.sparkline import draw
from widgets.text_block import TextBlock


class MiniQuote(TextBlock):
    """Three lines in one widget (symbol and last, change, sparkline): a tick repaints the lines that
    moved, and the strip costs Textual four widgets per frame instead of sixteen."""

    DEFAULT_CSS = """
    MiniQuote.-focused {
        background: $boost;
    }
    MiniQuote {
        height: 3;
        width: 1fr;
        padding: 0 1;
    }
    """

    def __init__(self, symbol: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.symbol = symbol
        self._last: SymbolSnapshot | None = None
        self._now: datetime | None = None
        self.flash = PriceFlash(self, self.update_lines)

    def on_unmount(self) -> None:
        self.flash.cancel()

    def show(self, s: SymbolSnapshot, now: datetime) -> None:
        self._last, self._now = s, now
        self.flash.update(s.quote.last if s.quote is not None else None)
        self.update_lines()

    def show_age(self, now: datetime) -> None:
        self._now = now
        self.update_lines()

    def lines(self, width: int) -> list[Content]:
        s = self._last
        if s is None:
            return [
                Content.assemble((self.symbol, "bold")),
                Content.assemble(("waiting for data", "$text-muted")),
                Content(""),
            ]
        head = Content.assemble((s.symbol, "bold"))
        if s.quote is not None:
            price = fmt.price(s.symbol, s.quote.last)
            head = Content.assemble((s.symbol, "bold"), "  ", (price, self.flash.style))
        values, capacity = s.sparkline()
        spark = Content.assemble((draw(values, width, 1, capacity)[0], "$accent"))
        return [head, self._change_line(s), spark]

    def _change_line(self, s: SymbolSnapshot) -> Content:
        q = s.quote
        if q is None:
            why = s.error.message if s.error else "waiting for data"
            return Content.assemble((why, "$error" if s.error else "$text-muted"))
        parts: list[tuple[str, str] | str] = [
            (fmt.change(s.symbol, q.change, q.change_pct), change_style(q.change))
        ]
        if s.stale and self._now is not None:
            age = f" {fmt.age((self._now - s.updated_at).total_seconds())}" if s.updated_at else ""
            parts.append((f"  stale{age}", "$warning"))
        return Content.assemble(*parts)
