"""A compact quote for the strip (^RUT, ^GSPC, ^TNX, ^VIX): name, last, change, sparkline."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content

from services import formatting as fmt
from services.snapshot import SymbolSnapshot
from widgets.price_flash import PriceFlash
from widgets.quote_card import change_style
from widgets.sparkline import TextSparkline
from widgets.text_line import TextLine


class MiniQuote(Vertical):
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
        self.flash = PriceFlash(self, self._paint_head)

    def compose(self) -> ComposeResult:
        yield TextLine(Content.assemble((self.symbol, "bold")), id="head")
        yield TextLine(Content.assemble(("waiting for data", "$text-muted")), id="change")
        yield TextSparkline()

    def show(self, s: SymbolSnapshot, now: datetime) -> None:
        self._last = s
        self.flash.update(s.quote.last if s.quote is not None else None)
        self._paint_head()
        self.query_one(TextSparkline).set_values(*s.sparkline())
        self.show_age(now)

    def _paint_head(self) -> None:
        s = self._last
        if s is None or s.quote is None:
            return
        price = fmt.price(s.symbol, s.quote.last)
        self.query_one("#head", TextLine).show(
            Content.assemble((s.symbol, "bold"), "  ", (price, self.flash.style))
        )

    def show_age(self, now: datetime) -> None:
        s = self._last
        if s is None:
            return
        q = s.quote
        line = self.query_one("#change", TextLine)
        if q is None:
            why = s.error.message if s.error else "waiting for data"
            line.show(Content.assemble((why, "$error" if s.error else "$text-muted")))
            return
        parts: list[tuple[str, str] | str] = [
            (fmt.change(s.symbol, q.change, q.change_pct), change_style(q.change))
        ]
        if s.stale:
            age = f" {fmt.age((now - s.updated_at).total_seconds())}" if s.updated_at else ""
            parts.append((f"  stale{age}", "$warning"))
        line.show(Content.assemble(*parts))
