"""View 1, the dashboard: quote cards, the index strip, indicator readouts and the breakout panel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from services.snapshot import Snapshot
from widgets.breakout_panel import BreakoutPanel
from widgets.indicator_table import IndicatorTable
from widgets.mini_quote import MiniQuote
from widgets.quote_card import QuoteCard

CARD_COUNT = 2
"""The first two watchlist symbols (IWM, SPY: the thesis pair) get cards and indicator panels."""


def _wid(symbol: str) -> str:
    """A widget id for a symbol ("^RUT" -> "sym-RUT")."""
    return "sym-" + "".join(c if c.isalnum() else "_" for c in symbol.lstrip("^"))


class DashboardView(Vertical):
    view_title = "Dashboard"

    def __init__(self, symbols: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.card_symbols = list(symbols[:CARD_COUNT])
        self.strip_symbols = list(symbols[CARD_COUNT:])
        self.focused = ""
        self._last: tuple[Snapshot, datetime] | None = None

    async def set_symbols(self, symbols: Sequence[str]) -> None:
        """The watchlist changed: rebuild the cards and the strip, then show the last data again."""
        self.card_symbols = list(symbols[:CARD_COUNT])
        self.strip_symbols = list(symbols[CARD_COUNT:])
        await self.recompose()
        self.set_focused(self.focused)
        if self._last is not None:
            self.show(*self._last)

    def set_focused(self, symbol: str) -> None:
        """Mark the focused symbol's card (tab / shift+tab)."""
        self.focused = symbol
        for card in self.query(QuoteCard):
            card.set_class(card.symbol == symbol, "-focused")
        for mini in self.query(MiniQuote):
            mini.set_class(mini.symbol == symbol, "-focused")

    def compose(self) -> ComposeResult:
        with Horizontal(id="cards"):
            for sym in self.card_symbols:
                yield QuoteCard(sym, id=f"card-{_wid(sym)}")
        if self.strip_symbols:
            with Horizontal(id="strip"):
                for sym in self.strip_symbols:
                    yield MiniQuote(sym, id=f"mini-{_wid(sym)}")
        with Horizontal(id="panels"):
            yield IndicatorTable(self.card_symbols, id="readouts")
            yield BreakoutPanel(id="breakout")

    def show(self, snap: Snapshot, now: datetime) -> None:
        self._last = (snap, now)
        for sym in self.card_symbols:
            s = snap.symbols.get(sym)
            if s is not None:
                self.query_one(f"#card-{_wid(sym)}", QuoteCard).show(s, now)
        self.query_one(IndicatorTable).show([snap.symbols[s] for s in self.card_symbols if s in snap.symbols])
        for sym in self.strip_symbols:
            s = snap.symbols.get(sym)
            if s is not None:
                self.query_one(f"#mini-{_wid(sym)}", MiniQuote).show(s, now)
        self.query_one(BreakoutPanel).show(snap)

    def show_age(self, now: datetime) -> None:
        for card in self.query(QuoteCard):
            card.show_age(now)
        for mini in self.query(MiniQuote):
            mini.show_age(now)
