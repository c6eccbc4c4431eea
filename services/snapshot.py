"""The app state: one immutable snapshot of everything the dashboard and `status` show."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.breakout import BreakoutAssessment
from services.engine import BreakoutReport
from services.indicators import IndicatorReadout
from services.market_hours import AFTER_HOURS_LENGTH, NEW_YORK, SessionEvent
from services.models import BarSeries, MarketSession, Quote, SourceKind, SymbolError

SPARKLINE_POINTS = 60
JSON_DECIMALS = 6


def _r(value: float | None) -> float | None:
    """Derived values rounded for JSON readers: -4.38, not -4.3799999999999955."""
    return None if value is None else round(value, JSON_DECIMALS)


def _extended_json(q: Quote | None) -> dict[str, Any] | None:
    if q is None or q.extended is None or (move := q.extended_change) is None:
        return None
    x = q.extended
    return {
        "price": x.price,
        "change": _r(move[0]),
        "change_pct": _r(move[1]),
        "time": x.time.isoformat(),
        "session": x.session.value,
    }


@dataclass(frozen=True, slots=True)
class SymbolSnapshot:
    """One symbol as shown: its quote, bars, indicators, and whether the values are stale."""

    symbol: str
    quote: Quote | None
    daily: BarSeries
    """Daily bars, oldest first; the last one is today's, in progress, when `provisional`."""
    intraday: BarSeries | None
    """Today's intraday bars (only while they belong to the quote's trading day)."""
    indicators: IndicatorReadout | None
    """None until computed; fields inside are None where history is too short."""
    provisional: bool
    stale: bool
    """True when the values shown are not what the source says now: the last attempt failed, or they
    were painted from the cache and not yet refreshed."""
    updated_at: datetime | None
    """When the shown quote was fetched (UTC)."""
    error: SymbolError | None

    @property
    def shows_intraday(self) -> bool:
        q = self.quote
        return q is not None and q.session.is_open and self.intraday is not None and len(self.intraday) >= 2

    def sparkline(self, points: int = SPARKLINE_POINTS) -> tuple[list[float], int | None]:
        """What the sparkline draws: (values, capacity).

        While the market is open, today's intraday path placed on the day's timeline (capacity: how many
        bars the day holds, from its first bar to the close, or to the end of after-hours once past the
        close), so the empty right-hand part is the day still to come. Otherwise the last daily closes
        stretched over the width (capacity None).
        """
        path = self.intraday
        if self.shows_intraday and path is not None:
            step = min(b - a for a, b in itertools.pairwise(path.ts)) or 60
            first = datetime.fromtimestamp(path.ts[0], UTC).astimezone(NEW_YORK)
            close = first.replace(hour=16, minute=0, second=0, microsecond=0)
            end = close if path.ts[-1] < close.timestamp() else close + AFTER_HOURS_LENGTH
            capacity = max(len(path), int((end.timestamp() - path.ts[0]) // step))
            return list(path.close), capacity
        return list(self.daily.close[-points:]), None

    def as_json(self) -> dict[str, Any]:
        q = self.quote
        return {
            "last": q.last if q else None,
            "prev_close": q.prev_close if q else None,
            "change": _r(q.change) if q else None,
            "change_pct": _r(q.change_pct) if q else None,
            "day_high": q.day_high if q else None,
            "day_low": q.day_low if q else None,
            "volume": q.volume if q else None,
            "time": q.time.isoformat() if q else None,
            "session": q.session.value if q else None,
            "extended": _extended_json(q),
            "stale": self.stale,
            "indicators": (
                {k: _r(v) for k, v in self.indicators.as_json().items()}
                if self.indicators is not None
                else dict.fromkeys(("rsi_14", "sma_50", "sma_200", "macd", "macd_signal", "macd_hist"))
            ),
        }


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """The status bar: where data comes from and how fresh it is."""

    source: SourceKind
    source_label: str
    session: MarketSession | None
    last_update: datetime | None
    """When the last refresh cycle finished successfully (UTC)."""
    next_refresh: datetime | None
    """When the next one is due (None: nothing scheduled, the data cannot change by itself)."""
    paused: bool
    error: str | None
    """What is wrong right now, in one line (None when all is well)."""
    retrying: bool = False
    """True when `next_refresh` is a retry after a failure (backoff), not the normal cadence."""
    notice: str | None = None
    requests_per_minute: int | None = None
    session_event: SessionEvent | None = None
    """The next regular open or close (the status bar counts down to it)."""
    stream: str | None = None
    """The streaming connection in a few words ("stream live", "stream down: ..."), None without one."""
    stream_live: bool = False
    """True while prices arrive by stream (then polling slows down)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    as_of: datetime
    """The moment the snapshot describes: now, or for a replay the close of the replayed day (UTC)."""
    status: FeedStatus
    symbols: dict[str, SymbolSnapshot]
    """Every watched symbol, in watchlist order."""
    breakout: BreakoutAssessment | None
    breakout_note: str | None = None
    """Why there is no assessment, or what it is based on."""
    proxy: tuple[str, float] | None = None
    """(ETF, ETF price per index point), to show the level and targets in the ETF's price."""
    report: BreakoutReport | None = None
    """The engine's checklist, risks, range and verdict (None until the engine has run)."""

    def has_any_data(self) -> bool:
        return any(s.quote is not None or len(s.daily) > 0 for s in self.symbols.values())

    def as_json(self) -> dict[str, Any]:
        """The `status --json` document (its shape is a stable interface)."""
        b = self.breakout
        return {
            "as_of": self.as_of.isoformat(),
            "source": self.status.source.value,
            "symbols": {sym: s.as_json() for sym, s in self.symbols.items()},
            "breakout": {
                "symbol": b.rules.symbol if b else None,
                "level": b.rules.level if b else None,
                "close": b.close if b else None,
                "state": b.state.value if b and b.state else None,
                "distance_pct": _r(b.close_distance_pct) if b else None,
                "targets": list(b.rules.targets) if b else [],
                **(self.report.as_json() if self.report is not None else {}),
            },
        }
