"""What every numbered view has in common: it is told each snapshot, and works only when seen.

A view is a focusable container; its keys are its BINDINGS (each with an id, so `[keys]` can remap them
and the help lists them). `show()` is called with every snapshot whether or not the view is visible;
the base keeps the newest one and calls `update_view()` only while the view is displayed (and once more
when it is shown again), so hidden views cost nothing. Subclasses skip work when their own inputs
(series revision, symbol, frame, size) did not change: repaint only what changed.
"""

from __future__ import annotations

from datetime import datetime

from textual.containers import Vertical

from services.snapshot import Snapshot


class MonitorView(Vertical, can_focus=True):
    view_title = "view"
    """The name in the footer, the palette and the help."""

    def __init__(self, symbols: tuple[str, ...] | list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.symbols = list(symbols)
        self.symbol = self.symbols[0] if self.symbols else ""
        """The focused symbol (tab / shift+tab cycle it through the watchlist)."""
        self.snapshot: Snapshot | None = None
        self.now: datetime | None = None
        self._dirty = False

    def show(self, snap: Snapshot, now: datetime) -> None:
        self.snapshot, self.now = snap, now
        self._dirty = True
        if self.display and self.is_mounted:
            self._update()

    def set_symbol(self, symbol: str) -> None:
        self.symbol = symbol
        self._dirty = True
        if self.display and self.is_mounted:
            self._update()

    def set_symbols(self, symbols: list[str]) -> None:
        """The watchlist changed (a / d)."""
        self.symbols = list(symbols)
        if self.symbol not in self.symbols and self.symbols:
            self.symbol = self.symbols[0]
        self._dirty = True
        if self.display and self.is_mounted:
            self._update()

    def on_show(self) -> None:
        if self._dirty:
            self._update()

    def _update(self) -> None:
        if self.snapshot is None or self.now is None:
            return
        self._dirty = False
        self.update_view(self.snapshot, self.now)

    def update_view(self, snap: Snapshot, now: datetime) -> None:
        """Draw `snap`; called only while visible. Must be cheap when nothing it shows has changed."""
        raise NotImplementedError
