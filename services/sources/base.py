"""The one interface every market-data source implements (Yahoo, demo, replay)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from services.market_hours import SessionEvent
from services.models import HistoryResult, Interval, MarketSession, QuoteResult, SourceKind


class MarketDataSource(Protocol):
    """History bars and latest quotes for a set of symbols, with per-symbol errors.

    Methods never raise for a symbol's failure: they return it in the result's `errors`. Blocking work
    (HTTP, file reads) runs off the event loop inside the source.
    """

    kind: SourceKind
    label: str
    """How the status bar names the source, e.g. "Yahoo Finance" or "demo: breakout"."""

    async def history(
        self,
        symbols: Sequence[str],
        interval: Interval,
        since: Mapping[str, date | None] | None = None,
    ) -> HistoryResult:
        """Bars of `interval` for each symbol; from `since[symbol]` (inclusive) when given, else all."""
        ...

    async def quotes(self, symbols: Sequence[str]) -> QuoteResult:
        """The latest quote of each symbol and today's intraday bars where the source has them."""
        ...

    def session_at(self, now: datetime) -> MarketSession | None:
        """The market session this source is in at `now` (None while not yet known)."""
        ...

    def session_event(self, now: datetime) -> SessionEvent | None:
        """The next regular open or close, for the status bar's countdown (None: no real market)."""
        ...

    def next_poll(self, now: datetime) -> float | None:
        """Seconds until quotes are worth polling again; None when nothing will change by itself."""
        ...

    def history_due(self, now: datetime, last_fetch: datetime | None) -> bool:
        """True when the daily history should be refetched (e.g. a session closed since `last_fetch`)."""
        ...

    async def aclose(self) -> None:
        """Release threads and connections."""
        ...
