"""Replay: real daily history from CSV files, played back as if live (`--replay PATH...`).

A cursor walks the union of the dates of all files. Everything the app sees stops at the cursor:
`history()` returns bars up to and including the cursor date, and `quotes()` quotes each symbol's last
bar on or before it, as a closed session (16:00 New York of that date). With `speed > 0` each
`quotes()` call after the first moves the cursor one date forward, so the app's normal polling loop
(`next_poll()` = 1 / speed seconds) plays the history bar by bar and stops at the last date.

Start position:
- `as_of` given: the last date on or before it (a weekend lands on the Friday);
- otherwise, `speed == 0`: the last date (stand still at the end of the data);
- otherwise (`speed > 0`): `PLAYBACK_SESSIONS` (252, about one year) dates before the last date, so a
  playback without `--as-of` shows the last year unfold.

The app learns a new bar through each quote (`Quote.session_bar()`): `history_due()` is always False,
the files being read once by `open()`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from services.csv_bars import CsvError, find_csv_files, read_bars_csv
from services.market_hours import SessionEvent
from services.models import (
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
    ts_day,
)

__all__ = ["PLAYBACK_SESSIONS", "ReplaySource"]

PLAYBACK_SESSIONS = 252
"""Without `as_of`, a playback (`speed > 0`) starts this many dates (about a year) before the last."""
NEW_YORK = ZoneInfo("America/New_York")
CLOSE_TIME = time(16, 0)
"""Quotes are stamped at the regular close, 16:00 New York, of the bar's date."""
_LABEL_SYMBOLS = 6


class ReplaySource:
    """A `MarketDataSource` over daily bars read from CSV files, with a cursor that plays them back.

    Build it with `ReplaySource.open()`, which reads and checks every file before the UI starts.
    """

    def __init__(self, series: Mapping[str, BarSeries], files: Mapping[str, Path], start: date, speed: float):
        """Prefer `open()`; this takes already-read series (keyed by upper-case symbol, non-empty).

        Args:
            series: Daily bars per symbol.
            files: The file each symbol came from (for the label and messages).
            start: The cursor's first date; must be one of the series' dates.
            speed: Bars per second of playback; 0 stands still.
        """
        if not series:
            raise ValueError("replay needs at least one CSV file")
        if not (math.isfinite(speed) and speed >= 0):
            raise ValueError(f"--speed must be zero or a positive number of bars per second, got {speed}")
        self.kind = SourceKind.REPLAY
        self._series = dict(series)
        self._files = dict(files)
        self._speed = float(speed)
        self._days: list[int] = sorted({t for s in series.values() for t in s.ts})
        start_ts = day_ts(start)
        self._pos = bisect_right(self._days, start_ts) - 1
        if self._pos < 0 or self._days[self._pos] != start_ts:
            raise ValueError(f"start date {start} is not a date of the replay files")
        self._quoted = False
        names = list(self._series)
        shown = " ".join(names[:_LABEL_SYMBOLS])
        if len(names) > _LABEL_SYMBOLS:
            shown += f" +{len(names) - _LABEL_SYMBOLS}"
        n_files = len(set(self._files.values())) or len(names)
        self.label = f"replay: {n_files} file{'s' if n_files != 1 else ''}, {shown}"

    @classmethod
    def open(cls, paths: Sequence[Path], as_of: date | None = None, speed: float = 0.0) -> ReplaySource:
        """Read every CSV file named by `paths` (files or folders) and place the cursor.

        Args:
            paths: CSV files and/or folders of CSV files (see `find_csv_files`).
            as_of: Start at the last date on or before this session date (None: see the module doc).
            speed: Bars per second of playback, 0 (the default) to stand still.

        Returns:
            The source, ready to use (reading is synchronous: call this before the UI starts).

        Raises:
            CsvError: A path is missing or a file is bad (see `read_bars_csv`), or two files hold the
                same symbol; the message is one line naming the file(s).
            ValueError: `speed` is negative or not a number, or `as_of` is before the first bar of every
                file; the message is one line.
        """
        # Cheap argument checks first: a typo in --speed should not wait for eight files to parse.
        if not (math.isfinite(speed) and speed >= 0):
            raise ValueError(f"--speed must be zero or a positive number of bars per second, got {speed}")
        series: dict[str, BarSeries] = {}
        files: dict[str, Path] = {}
        for path in find_csv_files(paths):
            symbol, bars = read_bars_csv(path)
            key = symbol.upper()
            if key in files:
                raise CsvError(path, f"symbol {symbol} is also in {files[key]}; replay one file per symbol")
            series[key] = bars
            files[key] = path
        days = sorted({t for s in series.values() for t in s.ts})
        if as_of is not None:
            i = bisect_right(days, day_ts(as_of)) - 1
            if i < 0:
                raise ValueError(
                    f"--as-of {as_of} is before the first bar of every replay file (the earliest is "
                    f"{ts_day(days[0])})"
                )
        elif speed == 0:
            i = len(days) - 1
        else:
            i = max(0, len(days) - 1 - PLAYBACK_SESSIONS)
        return cls(series, files, ts_day(days[i]), speed)

    # ------------------------------------------------------------------ state
    @property
    def as_of(self) -> date:
        """The cursor's current session date."""
        return ts_day(self._days[self._pos])

    @property
    def at_end(self) -> bool:
        """True when the cursor is on the last date of the files (playback has nothing more to show)."""
        return self._pos >= len(self._days) - 1

    @property
    def speed(self) -> float:
        """Bars per second of playback (0: standing still)."""
        return self._speed

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols in the files, in the order the files were read."""
        return tuple(self._series)

    @property
    def first_day(self) -> date:
        """The earliest date in any file."""
        return ts_day(self._days[0])

    @property
    def last_day(self) -> date:
        """The latest date in any file (where playback stops)."""
        return ts_day(self._days[-1])

    def _lookup(self, symbol: str) -> BarSeries | None:
        return self._series.get(symbol.upper())

    # ------------------------------------------------------------------ MarketDataSource
    async def history(
        self,
        symbols: Sequence[str],
        interval: Interval,
        since: Mapping[str, date | None] | None = None,
    ) -> HistoryResult:
        """Daily bars up to and including the cursor date, from `since[symbol]` (inclusive) when given.

        A symbol whose bars all lie after the cursor gets a NO_DATA error; a `since` after the cursor
        gives an empty series (nothing new). Intraday intervals get NO_DATA for every symbol (the files
        are daily); symbols not in the files get UNKNOWN_SYMBOL.
        """
        bars: dict[str, BarSeries] = {}
        errors: dict[str, SymbolError] = {}
        cursor = self._days[self._pos]
        for symbol in symbols:
            series = self._lookup(symbol)
            if series is None:
                errors[symbol] = SymbolError(symbol, ErrorKind.UNKNOWN_SYMBOL, "not in the replay files")
                continue
            if interval is not Interval.DAILY:
                errors[symbol] = SymbolError(symbol, ErrorKind.NO_DATA, "replay has daily bars only")
                continue
            upto = series.until(cursor)
            if not upto:
                errors[symbol] = SymbolError(
                    symbol, ErrorKind.NO_DATA, f"no bar on or before {ts_day(cursor)} in the replay files"
                )
                continue
            start = since.get(symbol) if since else None
            bars[symbol] = upto.since(day_ts(start)) if start is not None else upto
        return HistoryResult(bars, errors)

    async def quotes(self, symbols: Sequence[str]) -> QuoteResult:
        """Each symbol's last bar on or before the cursor, as a closed-session quote.

        With `speed > 0` every call after the first moves the cursor one date on (never past the
        last date). `intraday` is always empty.
        """
        if self._speed > 0 and self._quoted and not self.at_end:
            self._pos += 1
        self._quoted = True
        cursor = self._days[self._pos]
        quotes: dict[str, Quote] = {}
        errors: dict[str, SymbolError] = {}
        for symbol in symbols:
            series = self._lookup(symbol)
            if series is None:
                errors[symbol] = SymbolError(symbol, ErrorKind.UNKNOWN_SYMBOL, "not in the replay files")
                continue
            i = bisect_right(series.ts, cursor) - 1
            if i < 0:
                errors[symbol] = SymbolError(
                    symbol, ErrorKind.NO_DATA, f"no bar on or before {ts_day(cursor)} in the replay files"
                )
                continue
            day = ts_day(series.ts[i])
            quotes[symbol] = Quote(
                symbol=symbol,
                last=series.close[i],
                prev_close=series.close[i - 1] if i > 0 else None,
                day_open=series.open[i],
                day_high=series.high[i],
                day_low=series.low[i],
                volume=series.volume[i],
                time=datetime.combine(day, CLOSE_TIME, NEW_YORK).astimezone(UTC),
                session=MarketSession.CLOSED,
                trading_day=day,
            )
        return QuoteResult(quotes, {}, errors)

    def session_at(self, now: datetime) -> MarketSession | None:
        """Always CLOSED: every replayed bar is a finished session."""
        return MarketSession.CLOSED

    def session_event(self, now: datetime) -> SessionEvent | None:
        """None: a replay has no market clock of its own."""
        return None

    def next_poll(self, now: datetime) -> float | None:
        """1 / speed seconds while playing and not at the end; None otherwise (nothing will change)."""
        if self._speed > 0 and not self.at_end:
            return 1.0 / self._speed
        return None

    def history_due(self, now: datetime, last_fetch: datetime | None) -> bool:
        """Always False: the files were read once; new bars arrive through `quotes()`."""
        return False

    async def aclose(self) -> None:
        """Nothing to release (files are read and closed in `open()`)."""
