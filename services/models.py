"""Core market-data types shared by every layer.

Light on purpose: only the standard library, so the start-up path (paint from the cache) never waits
for numpy or pandas. Prices are floats in the instrument's own unit (^TNX in percent, 4.13 = 4.13 %);
times are timezone-aware UTC datetimes or epoch seconds.
"""

from __future__ import annotations

import enum
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime


class Interval(enum.StrEnum):
    """Bar length, spelt as Yahoo spells it (it is also the cache key)."""

    DAILY = "1d"
    MINUTE_5 = "5m"
    MINUTE_1 = "1m"

    @property
    def is_intraday(self) -> bool:
        return self is not Interval.DAILY


class MarketSession(enum.StrEnum):
    """The US equity market's session at a moment: the badge on a quote card."""

    PRE = "PRE"
    REGULAR = "REG"
    POST = "POST"
    CLOSED = "CLOSED"

    @property
    def is_open(self) -> bool:
        """True while prices can move (pre-market, regular or after-hours)."""
        return self is not MarketSession.CLOSED


class SourceKind(enum.StrEnum):
    YAHOO = "yahoo"
    DEMO = "demo"
    REPLAY = "replay"


class ErrorKind(enum.StrEnum):
    """Why a symbol has no fresh data. Only UNKNOWN_SYMBOL is final; the rest are retried."""

    RATE_LIMITED = "rate_limited"
    UNKNOWN_SYMBOL = "unknown_symbol"
    NO_DATA = "no_data"
    TIMEOUT = "timeout"
    NETWORK = "network"
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"

    @property
    def retryable(self) -> bool:
        return self is not ErrorKind.UNKNOWN_SYMBOL


@dataclass(frozen=True, slots=True)
class SymbolError:
    """A per-symbol failure, reported instead of raised so one bad symbol never blanks the screen."""

    symbol: str
    kind: ErrorKind
    message: str
    """One human-readable line, e.g. "rate-limited by Yahoo (HTTP 429)"."""


def epoch_to_utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def day_ts(d: date) -> int:
    """Epoch seconds of 00:00 UTC on the session date: how daily bars are keyed, whatever the source."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def ts_day(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar. `ts` is the bar's start in epoch seconds (daily bars: 00:00 UTC of the session date)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    adj_close: float = math.nan
    """Dividend-adjusted close where the source has one (NaN otherwise); used only for total returns."""

    @property
    def day(self) -> date:
        return ts_day(self.ts)

    def is_valid(self) -> bool:
        """Finite, positive prices: the only bars allowed into a series (a NaN must never reach TA-Lib)."""
        return all(math.isfinite(x) and x > 0 for x in (self.open, self.high, self.low, self.close))


_COLUMNS = ("ts", "open", "high", "low", "close", "volume", "adj_close")


class BarSeries:
    """Bars of one symbol and interval: oldest first, unique timestamps, valid prices only.

    Column arrays (stdlib `array`) so that indicators can wrap them in numpy without a copy and the
    start-up path needs no numpy at all. Treat instances as immutable: every edit returns a new series.
    """

    __slots__ = ("adj_close", "close", "high", "interval", "low", "open", "symbol", "ts", "volume")

    def __init__(
        self,
        symbol: str,
        interval: Interval,
        ts: array[int] | None = None,
        open: array[float] | None = None,
        high: array[float] | None = None,
        low: array[float] | None = None,
        close: array[float] | None = None,
        volume: array[float] | None = None,
        adj_close: array[float] | None = None,
    ) -> None:
        self.symbol = symbol
        self.interval = interval
        self.ts: array[int] = ts if ts is not None else array("q")
        n = len(self.ts)
        self.open: array[float] = open if open is not None else array("d")
        self.high: array[float] = high if high is not None else array("d")
        self.low: array[float] = low if low is not None else array("d")
        self.close: array[float] = close if close is not None else array("d")
        self.volume: array[float] = volume if volume is not None else array("d", [0.0]) * n
        self.adj_close: array[float] = adj_close if adj_close is not None else array("d", [math.nan]) * n
        cols = (self.open, self.high, self.low, self.close, self.volume, self.adj_close)
        if any(len(c) != n for c in cols):
            raise ValueError(f"{symbol}: bar columns have different lengths")

    @classmethod
    def from_bars(cls, symbol: str, interval: Interval, bars: Iterable[Bar]) -> BarSeries:
        """Sorted by time, the last bar winning on a duplicate timestamp, invalid bars dropped."""
        by_ts: dict[int, Bar] = {}
        for bar in bars:
            if bar.is_valid():
                by_ts[bar.ts] = bar
        ordered = [by_ts[t] for t in sorted(by_ts)]
        return cls(
            symbol,
            interval,
            array("q", (b.ts for b in ordered)),
            array("d", (b.open for b in ordered)),
            array("d", (b.high for b in ordered)),
            array("d", (b.low for b in ordered)),
            array("d", (b.close for b in ordered)),
            array("d", (b.volume for b in ordered)),
            array("d", (b.adj_close for b in ordered)),
        )

    def __len__(self) -> int:
        return len(self.ts)

    def __bool__(self) -> bool:
        return len(self.ts) > 0

    def __getitem__(self, i: int) -> Bar:
        return Bar(
            self.ts[i],
            self.open[i],
            self.high[i],
            self.low[i],
            self.close[i],
            self.volume[i],
            self.adj_close[i],
        )

    def __iter__(self) -> Iterator[Bar]:
        for i in range(len(self.ts)):
            yield self[i]

    def __repr__(self) -> str:
        span = f"{self[0].day}..{self[-1].day}" if self else "empty"
        return f"BarSeries({self.symbol!r}, {self.interval.value}, {len(self)} bars, {span})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BarSeries):
            return NotImplemented
        return (
            self.symbol == other.symbol
            and self.interval == other.interval
            and self.ts == other.ts
            and self.close == other.close
            and self.open == other.open
            and self.high == other.high
            and self.low == other.low
            and self.volume == other.volume
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def last(self) -> Bar | None:
        return self[-1] if self.ts else None

    @property
    def revision(self) -> tuple[int, int, float]:
        """Cheap identity of the content's tail: (length, last ts, last close). Changes whenever a bar
        is appended or the last bar moves; widgets compare it to skip redundant repaints."""
        if not self.ts:
            return (0, 0, 0.0)
        return (len(self.ts), self.ts[-1], self.close[-1])

    def _slice(self, i: int, j: int) -> BarSeries:
        return BarSeries(
            self.symbol,
            self.interval,
            self.ts[i:j],
            self.open[i:j],
            self.high[i:j],
            self.low[i:j],
            self.close[i:j],
            self.volume[i:j],
            self.adj_close[i:j],
        )

    def tail(self, n: int) -> BarSeries:
        return self._slice(max(0, len(self) - n), len(self))

    def until(self, ts: int) -> BarSeries:
        """Bars with timestamp <= ts."""
        return self._slice(0, bisect_right(self.ts, ts))

    def since(self, ts: int) -> BarSeries:
        """Bars with timestamp >= ts."""
        return self._slice(bisect_left(self.ts, ts), len(self))

    def merge(self, newer: BarSeries) -> BarSeries:
        """Upsert `newer`'s bars into this series (newer wins on equal timestamps)."""
        if not newer:
            return self
        if not self:
            return newer
        cut = bisect_left(self.ts, newer.ts[0])
        if set(self.ts[cut:]) <= set(newer.ts):
            # The common cases, with no re-sort: an append, or today's live bar (or the tail of a
            # refetch) replacing the newest bars.
            out = self._slice(0, cut)
            for col in _COLUMNS:
                getattr(out, col).extend(getattr(newer, col))
            return out
        return BarSeries.from_bars(self.symbol, self.interval, [*self, *newer])

    def upsert(self, bar: Bar) -> BarSeries:
        """This series with `bar` added or replacing the bar at the same timestamp."""
        return self.merge(BarSeries.from_bars(self.symbol, self.interval, [bar]))


@dataclass(frozen=True, slots=True)
class ExtendedQuote:
    """The last pre-market or after-hours trade, shown beside the regular close it moves from."""

    price: float
    time: datetime
    """When it traded (UTC)."""
    session: MarketSession
    """PRE or POST."""


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest price of a symbol, with the day it belongs to."""

    symbol: str
    last: float
    prev_close: float | None
    day_open: float | None
    day_high: float | None
    day_low: float | None
    volume: float | None
    time: datetime
    """When the price was struck (UTC)."""
    session: MarketSession
    """The market's session at `time`."""
    trading_day: date
    """The session date the price belongs to (the date of today's daily bar)."""
    extended: ExtendedQuote | None = None
    """Outside the regular session: the extended-hours price (`last` stays the regular close)."""

    @property
    def extended_change(self) -> tuple[float, float] | None:
        """(points, percent) of the extended-hours price against the regular close."""
        x = self.extended
        if x is None or self.last == 0:
            return None
        return x.price - self.last, (x.price / self.last - 1.0) * 100.0

    @property
    def change(self) -> float | None:
        return None if self.prev_close is None else self.last - self.prev_close

    @property
    def change_pct(self) -> float | None:
        if self.prev_close is None or self.prev_close == 0:
            return None
        return (self.last / self.prev_close - 1.0) * 100.0

    def session_bar(self) -> Bar | None:
        """Today's daily bar as far as this quote knows it (provisional until the close)."""
        if self.day_open is None or self.day_high is None or self.day_low is None:
            return None
        high = max(self.day_high, self.last)
        low = min(self.day_low, self.last)
        return Bar(day_ts(self.trading_day), self.day_open, high, low, self.last, self.volume or 0.0)


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """What a history request returned: bars for the symbols that answered, an error for the others."""

    bars: dict[str, BarSeries]
    errors: dict[str, SymbolError]
    adjusted: frozenset[str] = frozenset()
    """Symbols with a split or dividend dated after the `since` they were asked from: their older bars
    were re-adjusted, so a cache holding them must refetch the symbol in full."""


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """Latest quotes, today's intraday path per symbol, and per-symbol errors."""

    quotes: dict[str, Quote]
    intraday: dict[str, BarSeries]
    errors: dict[str, SymbolError]
