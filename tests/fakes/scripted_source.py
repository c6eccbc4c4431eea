"""A MarketDataSource whose answers the test scripts: for the monitor and the refresh loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from services.market_hours import SessionEvent
from services.models import (
    Bar,
    BarSeries,
    ErrorKind,
    HistoryResult,
    Interval,
    MarketSession,
    Quote,
    QuoteResult,
    SourceKind,
    SymbolError,
    day_ts,
)


def daily_series(symbol: str, closes: Sequence[float], last_day: date) -> BarSeries:
    """Weekday daily bars ending on `last_day` with the given closes (open = previous close)."""
    days: list[date] = []
    d = last_day
    while len(days) < len(closes):
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    days.reverse()
    bars = []
    prev = closes[0]
    for day, c in zip(days, closes, strict=True):
        bars.append(Bar(day_ts(day), prev, max(prev, c) * 1.001, min(prev, c) * 0.999, c, 1_000_000.0, c))
        prev = c
    return BarSeries.from_bars(symbol, Interval.DAILY, bars)


class ScriptedSource:
    kind = SourceKind.DEMO
    label = "scripted"

    def __init__(
        self,
        daily: Mapping[str, BarSeries],
        *,
        session: MarketSession = MarketSession.REGULAR,
        poll: float | None = None,
        now: datetime | None = None,
    ) -> None:
        self.daily = dict(daily)
        self.session = session
        self.poll = poll
        self.now = now or datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
        self.prices = {s: b.close[-1] for s, b in daily.items() if b}
        self.quote_errors: dict[str, ErrorKind] = {}
        self.history_errors: dict[str, ErrorKind] = {}
        self.history_calls: list[tuple[list[str], dict[str, date | None]]] = []
        self.quote_calls: list[list[str]] = []
        self.closed = False

    def _err(self, sym: str, kind: ErrorKind) -> SymbolError:
        return SymbolError(sym, kind, f"scripted {kind.value}")

    async def history(
        self, symbols: Sequence[str], interval: Interval, since: Mapping[str, date | None] | None = None
    ) -> HistoryResult:
        self.history_calls.append((list(symbols), dict(since or {})))
        bars, errors = {}, {}
        for s in symbols:
            if s in self.history_errors:
                errors[s] = self._err(s, self.history_errors[s])
            elif s in self.daily:
                bars[s] = self.daily[s]
            else:
                errors[s] = self._err(s, ErrorKind.UNKNOWN_SYMBOL)
        return HistoryResult(bars, errors)

    async def quotes(self, symbols: Sequence[str]) -> QuoteResult:
        self.quote_calls.append(list(symbols))
        quotes, errors = {}, {}
        for s in symbols:
            if s in self.quote_errors:
                errors[s] = self._err(s, self.quote_errors[s])
            elif s in self.prices:
                last = self.prices[s]
                today = self.now.date()
                quotes[s] = Quote(
                    s, last, None, last, last * 1.01, last * 0.99, 5e5, self.now, self.session, today
                )
            else:
                errors[s] = self._err(s, ErrorKind.UNKNOWN_SYMBOL)
        return QuoteResult(quotes, {}, errors)

    def session_at(self, now: datetime) -> MarketSession | None:
        return self.session

    def session_event(self, now: datetime) -> SessionEvent | None:
        return None

    def next_poll(self, now: datetime) -> float | None:
        return self.poll

    def history_due(self, now: datetime, last_fetch: datetime | None) -> bool:
        return False

    async def aclose(self) -> None:
        self.closed = True


def thesis_source(
    last_day: date = date(2026, 11, 23), now: datetime | None = None, poll: float | None = None
) -> ScriptedSource:
    """The default watchlist with a year of gently rising bars and ^RUT just above its level."""
    n = 260
    return ScriptedSource(
        {
            "IWM": daily_series("IWM", [230.0 + i * 0.1 for i in range(n)], last_day),
            "SPY": daily_series("SPY", [600.0 + i * 0.2 for i in range(n)], last_day),
            "^RUT": daily_series("^RUT", [2400.0] * (n - 3) + [2566.0, 2570.0, 2575.0], last_day),
            "^GSPC": daily_series("^GSPC", [6000.0 + i for i in range(n)], last_day),
            "^TNX": daily_series("^TNX", [4.0 + i * 0.001 for i in range(n)], last_day),
            "^VIX": daily_series("^VIX", [18.0] * n, last_day),
            "QQQ": daily_series("QQQ", [500.0 + i * 0.3 for i in range(n)], last_day),
        },
        poll=poll,
        now=now or datetime(2026, 11, 24, 16, 0, tzinfo=UTC),
    )
