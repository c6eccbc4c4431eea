"""The indicator matrix (view 3): every watched symbol on the daily and the weekly frame.

Per frame: RSI 14, SMA 50/200 and the close's distance to each, MACD 12/26/9 with its last cross,
Bollinger %B (20, 2) and ATR 14, all by TA-Lib. RSI, SMAs and MACD come from `services.indicators`
(same code, same NaN discipline as the dashboard); Bollinger and ATR are added here. A value without
enough history is None, never 0 or a guess, and `FrameRow.unavailable()` says why.

Weekly bars are resampled from the daily ones: weeks end on Friday, a holiday week has fewer sessions,
and each weekly bar is dated by its last session. The newest week is incomplete until its last session
has closed.
"""

from __future__ import annotations

import enum
import math
from array import array
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services import indicators as ind
from services.market_hours import NEW_YORK
from services.models import BarSeries, ts_day
from services.snapshot import SymbolSnapshot

BB_PERIOD = 20
BB_DEVIATIONS = 2.0
ATR_PERIOD = 14
FLAT_BAND = 1e-9
"""Bands narrower than this fraction of the price are flat closes: %B is undefined there, not a
rounding artefact of 0/0."""

SessionCheck = Callable[[date], bool]
"""Whether the exchange trades on a date (holidays say False); None: every weekday is a session."""


class Frame(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def bar_word(self) -> str:
        """What one bar of the frame is called, plural: "sessions", "weeks"."""
        return "sessions" if self is Frame.DAILY else "weeks"


# Bars each value needs (TA-Lib's lookback + 1), for the "n/a" reasons.
BARS_NEEDED = {
    "rsi_14": ind.RSI_PERIOD + 1,
    "sma_50": ind.SMA_FAST,
    "sma_200": ind.SMA_SLOW,
    "macd": ind.MACD_SLOW + ind.MACD_SIGNAL - 1,
    "bollinger_pct_b": BB_PERIOD,
    "atr_14": ATR_PERIOD + 1,
}
LABELS = {
    "rsi_14": "RSI 14",
    "sma_50": "SMA 50",
    "sma_200": "SMA 200",
    "macd": "MACD",
    "bollinger_pct_b": "%B",
    "atr_14": "ATR 14",
}


@dataclass(frozen=True, slots=True)
class FrameRow:
    """One symbol on one frame, at the frame's latest bar. None means "not enough history"."""

    symbol: str
    frame: Frame
    as_of: date
    """The session date of the latest daily bar the row includes (for a week: its last session so far)."""
    close: float
    rsi_14: float | None
    sma_50: float | None
    sma_200: float | None
    macd: float | None
    macd_signal: float | None
    macd_hist: float | None
    last_cross: ind.MacdCross | None
    """The last MACD/signal cross; its `day` is the crossing bar's date (a week's last session on the
    weekly frame) and `sessions_ago` counts bars of the frame (weeks on the weekly one)."""
    bollinger_pct_b: float | None
    """(close - lower) / (upper - lower) of the 20-bar, 2-sigma bands: above 1 is over the upper band,
    below 0 under the lower one. None without 20 bars or when the bands are flat."""
    atr_14: float | None
    """Wilder's average true range in the instrument's unit (percentage points for a yield)."""
    incomplete: bool
    """True while the latest bar can still change: today's session in progress, or the current week."""
    bars: int
    """How many bars of the frame the values were computed from."""

    @property
    def rsi_zone(self) -> ind.RsiZone | None:
        return None if self.rsi_14 is None else ind.RsiZone.of(self.rsi_14)

    @property
    def sma_50_pct(self) -> float | None:
        """How far the close is above (+) or below (-) SMA 50, in percent."""
        return _distance_pct(self.close, self.sma_50)

    @property
    def sma_200_pct(self) -> float | None:
        return _distance_pct(self.close, self.sma_200)

    @property
    def atr_pct(self) -> float | None:
        """ATR as a percentage of the close: the bar's typical range in relative terms."""
        return None if self.atr_14 is None else self.atr_14 / self.close * 100.0

    @property
    def macd_above_signal(self) -> bool | None:
        if self.macd is None or self.macd_signal is None:
            return None
        return self.macd > self.macd_signal

    def unavailable(self) -> dict[str, str]:
        """Why each missing value is missing, by field name, e.g. {"sma_200": "needs 200 weeks, has 53"}."""
        values = {
            "rsi_14": self.rsi_14,
            "sma_50": self.sma_50,
            "sma_200": self.sma_200,
            "macd": self.macd,
            "bollinger_pct_b": self.bollinger_pct_b,
            "atr_14": self.atr_14,
        }
        out: dict[str, str] = {}
        for name, value in values.items():
            if value is not None:
                continue
            needed = BARS_NEEDED[name]
            if self.bars < needed:
                out[name] = f"needs {needed} {self.frame.bar_word}, has {self.bars}"
            elif name == "bollinger_pct_b":
                out[name] = f"flat closes over {BB_PERIOD} {self.frame.bar_word}"
            elif name == "rsi_14":
                out[name] = "flat closes: no gains or losses"
            else:
                out[name] = "not computable"
        return out


@dataclass(frozen=True, slots=True)
class SymbolMatrix:
    """The rows of one symbol: daily then weekly, or none with the reason."""

    symbol: str
    rows: tuple[FrameRow, ...]
    note: str | None = None
    """Why there are no rows (no daily history, the fetch error); None when there are."""


def _distance_pct(close: float, sma: float | None) -> float | None:
    return None if sma is None else (close / sma - 1.0) * 100.0


def _last(values: Any) -> float | None:
    if len(values) == 0:
        return None
    v = float(values[-1])
    return v if math.isfinite(v) else None


# ------------------------------------------------------------------ weekly bars
def week_end(d: date) -> date:
    """The Friday that ends `d`'s week (a weekend date belongs to the following week, as pandas' W-FRI)."""
    return d + timedelta(days=(4 - d.weekday()) % 7)


def weekly_bars(daily: BarSeries) -> BarSeries:
    """Weekly bars from daily ones: weeks end on Friday; each bar is dated by its last session.

    Open is the week's first open, close its last close, high/low the extremes, volume the sum.
    The result keeps the daily series' `interval` tag (there is no weekly Interval): only the bars and
    their dates matter to the indicator code it is fed to.
    """
    if not daily:
        return daily
    import numpy as np  # heavy import kept off the start-up path

    days = np.frombuffer(daily.ts, dtype=np.int64) // 86_400
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    friday = days + (4 - weekday) % 7
    starts = np.flatnonzero(np.r_[True, friday[1:] != friday[:-1]])
    ends = np.r_[starts[1:] - 1, len(days) - 1]

    def col(values: array[float]) -> Any:
        return np.frombuffer(values, dtype=np.float64)

    def to_array(code: str, values: Any) -> Any:
        out = array(code)
        out.frombytes(np.ascontiguousarray(values).tobytes())
        return out

    return BarSeries(
        daily.symbol,
        daily.interval,
        to_array("q", np.frombuffer(daily.ts, dtype=np.int64)[ends]),
        to_array("d", col(daily.open)[starts]),
        to_array("d", np.maximum.reduceat(col(daily.high), starts)),
        to_array("d", np.minimum.reduceat(col(daily.low), starts)),
        to_array("d", col(daily.close)[ends]),
        to_array("d", np.add.reduceat(col(daily.volume), starts)),
        to_array("d", col(daily.adj_close)[ends]),
    )


def week_in_progress(
    last_day: date, last_provisional: bool, today: date, is_session: SessionCheck | None = None
) -> bool:
    """Whether the week of the latest daily bar can still change.

    It can while that bar is provisional, or while a session of the same week is still to come: a week
    whose data stops on Wednesday is incomplete until Friday's close. Without a calendar every weekday
    counts as a session, so a week cut short by a Friday holiday reads as complete only once `today`
    (New York) is past that Friday.
    """
    if last_provisional:
        return True
    friday = week_end(last_day)
    if today > friday:
        return False
    d = last_day + timedelta(days=1)
    while d <= friday:
        if is_session is None or is_session(d):
            return True
        d += timedelta(days=1)
    return False


# ------------------------------------------------------------------ one frame
def frame_row(bars: BarSeries, frame: Frame, incomplete: bool) -> FrameRow | None:
    """The row of one frame at the last bar of `bars` (None for an empty series)."""
    readout = ind.compute(bars, provisional=incomplete)
    if readout is None:
        return None
    import numpy as np
    import talib

    close = np.frombuffer(bars.close, dtype=np.float64)
    high = np.frombuffer(bars.high, dtype=np.float64)
    low = np.frombuffer(bars.low, dtype=np.float64)
    # ind.compute has checked the closes; highs and lows come from the same valid bars.
    # TA-Lib's default middle band is the simple average; its deviation is the population one.
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=BB_PERIOD, nbdevup=BB_DEVIATIONS, nbdevdn=BB_DEVIATIONS
    )
    pct_b: float | None = None
    up, mid, lo = _last(upper), _last(middle), _last(lower)
    if up is not None and mid is not None and lo is not None and up - lo > FLAT_BAND * abs(mid):
        pct_b = (float(close[-1]) - lo) / (up - lo)
    atr = talib.ATR(high, low, close, timeperiod=ATR_PERIOD)
    rsi = readout.rsi_14
    if rsi is not None and float(close.max()) == float(close.min()):
        rsi = None  # no gain and no loss ever: RSI is 0/0, which TA-Lib reports as 0 ("oversold")
    return FrameRow(
        symbol=bars.symbol,
        frame=frame,
        as_of=readout.as_of,
        close=readout.close,
        rsi_14=rsi,
        sma_50=readout.sma_50,
        sma_200=readout.sma_200,
        macd=readout.macd,
        macd_signal=readout.macd_signal,
        macd_hist=readout.macd_hist,
        last_cross=readout.last_cross,
        bollinger_pct_b=pct_b,
        atr_14=_last(atr),
        incomplete=incomplete,
        bars=len(bars),
    )


# ------------------------------------------------------------------ one symbol
def new_york_day(when: datetime) -> date:
    return when.astimezone(NEW_YORK).date()


def matrix_key(s: SymbolSnapshot, as_of: datetime) -> Hashable:
    """What `symbol_matrix` depends on, cheap to compare: unchanged key, unchanged rows.

    The New York date is part of it because a week turns complete when the calendar passes its Friday,
    with no new bar.
    """
    return (s.symbol, s.daily.revision, s.provisional, new_york_day(as_of), s.error)


def symbol_matrix(s: SymbolSnapshot, as_of: datetime, is_session: SessionCheck | None = None) -> SymbolMatrix:
    """The daily and weekly rows of one symbol.

    Args:
        s: the symbol's snapshot; its last daily bar is today's, in progress, when `s.provisional`.
        as_of: the moment the snapshot describes (`Snapshot.as_of`, UTC): decides whether the latest
            week is over.
        is_session: the exchange calendar, when known (holidays); see `week_in_progress`.
    """
    daily = s.daily
    if not daily:
        note = s.error.message if s.error is not None else "no daily history"
        return SymbolMatrix(s.symbol, (), note)
    rows: list[FrameRow] = []
    day_row = frame_row(daily, Frame.DAILY, s.provisional)
    if day_row is not None:
        rows.append(day_row)
    week_open = week_in_progress(ts_day(daily.ts[-1]), s.provisional, new_york_day(as_of), is_session)
    week_row = frame_row(weekly_bars(daily), Frame.WEEKLY, week_open)
    if week_row is not None:
        rows.append(week_row)
    return SymbolMatrix(s.symbol, tuple(rows))
