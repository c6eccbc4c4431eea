"""RSI 14, SMA 50/200 and MACD 12/26/9 on daily closes, computed by TA-Lib.

TA-Lib is the reference, so the values equal it by construction; what this module adds is the
discipline around it: only finite closes go in (a single NaN makes TA-Lib 0.8's RSI return 0.0 for
the rest of the series), a value without enough history comes out as None ("n/a"), never 0 or a
guess, and each value gets its state in words.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.models import BarSeries, ts_day

RSI_PERIOD = 14
SMA_FAST = 50
SMA_SLOW = 200
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9


class RsiZone(enum.StrEnum):
    OVERSOLD = "oversold"
    BEARISH = "bearish"
    BULLISH = "bullish"
    OVERBOUGHT = "overbought"

    @classmethod
    def of(cls, rsi: float) -> RsiZone:
        """The seed's reading: 50-70 is the bullish zone, above 70 overbought, below 30 oversold."""
        if rsi >= 70.0:
            return cls.OVERBOUGHT
        if rsi >= 50.0:
            return cls.BULLISH
        if rsi >= 30.0:
            return cls.BEARISH
        return cls.OVERSOLD


@dataclass(frozen=True, slots=True)
class MacdCross:
    bullish: bool
    """True when MACD crossed above its signal line, False when it crossed below."""
    day: date
    sessions_ago: int


@dataclass(frozen=True, slots=True)
class IndicatorReadout:
    """Indicator values of one symbol at its latest daily bar. None means "not enough history"."""

    as_of: date
    close: float
    rsi_14: float | None
    sma_50: float | None
    sma_200: float | None
    macd: float | None
    macd_signal: float | None
    macd_hist: float | None
    last_cross: MacdCross | None
    provisional: bool = False
    """True when the latest bar is today's, still in progress (values move until the close)."""

    @property
    def rsi_zone(self) -> RsiZone | None:
        return None if self.rsi_14 is None else RsiZone.of(self.rsi_14)

    def distance_pct(self, sma: float | None) -> float | None:
        """How far the close is above (+) or below (-) a moving average, in percent."""
        return None if sma is None else (self.close / sma - 1.0) * 100.0

    def as_json(self) -> dict[str, float | None]:
        return {
            "rsi_14": self.rsi_14,
            "sma_50": self.sma_50,
            "sma_200": self.sma_200,
            "macd": self.macd,
            "macd_signal": self.macd_signal,
            "macd_hist": self.macd_hist,
        }


def _last(values: Any) -> float | None:
    if len(values) == 0:
        return None
    v = float(values[-1])
    return v if math.isfinite(v) else None


def compute(daily: BarSeries, provisional: bool = False) -> IndicatorReadout | None:
    """Indicators at the last bar of `daily` (None for an empty series).

    Args:
        daily: daily bars, oldest first; a BarSeries only ever holds finite, positive prices.
        provisional: whether the last bar is today's bar still in progress.
    """
    if not daily:
        return None
    import numpy as np  # heavy imports stay off the start-up path
    import talib

    closes = np.frombuffer(daily.close, dtype=np.float64)
    if not np.isfinite(closes).all():  # BarSeries guarantees it; a NaN would poison TA-Lib's RSI
        raise ValueError(f"{daily.symbol}: non-finite close in a daily series")
    rsi = talib.RSI(closes, timeperiod=RSI_PERIOD)
    sma_fast = talib.SMA(closes, timeperiod=SMA_FAST)
    sma_slow = talib.SMA(closes, timeperiod=SMA_SLOW)
    macd, signal, hist = talib.MACD(
        closes, fastperiod=MACD_FAST, slowperiod=MACD_SLOW, signalperiod=MACD_SIGNAL
    )
    return IndicatorReadout(
        as_of=ts_day(daily.ts[-1]),
        close=float(closes[-1]),
        rsi_14=_last(rsi),
        sma_50=_last(sma_fast),
        sma_200=_last(sma_slow),
        macd=_last(macd),
        macd_signal=_last(signal),
        macd_hist=_last(hist),
        last_cross=_last_cross(daily, macd, signal),
        provisional=provisional,
    )


def _last_cross(daily: BarSeries, macd: Any, signal: Any) -> MacdCross | None:
    """The most recent session on which MACD changed side of its signal line."""
    import numpy as np

    diff = macd - signal
    idx = np.flatnonzero(np.isfinite(diff) & (diff != 0.0))
    if len(idx) < 2:
        return None
    above = diff[idx] > 0.0
    flips = np.flatnonzero(above[1:] != above[:-1])
    if len(flips) == 0:
        return None
    i = int(idx[flips[-1] + 1])
    return MacdCross(bool(diff[i] > 0.0), ts_day(daily.ts[i]), len(diff) - 1 - i)


# ---------------------------------------------------------------------- words
def rsi_shown(rsi: float, decimals: int = 0) -> str:
    """RSI truncated, not rounded, so the number shown always agrees with its zone (49.97 is shown as
    49, bearish, not as 50)."""
    scale = 10**decimals
    return f"{math.floor(rsi * scale) / scale:.{decimals}f}"


def rsi_words(r: IndicatorReadout) -> str:
    """E.g. "RSI 63 bullish"; "RSI n/a" without 15 closes."""
    if r.rsi_14 is None or r.rsi_zone is None:
        return "RSI n/a"
    return f"RSI {rsi_shown(r.rsi_14)} {r.rsi_zone.value}"


def sma_words(r: IndicatorReadout, period: int) -> str:
    """E.g. "above SMA50 by 2.1 %"; "SMA200 n/a" without 200 closes."""
    sma = r.sma_50 if period == SMA_FAST else r.sma_200
    pct = r.distance_pct(sma)
    if pct is None:
        return f"SMA{period} n/a"
    if abs(pct) < 0.05:
        return f"at SMA{period}"
    side = "above" if pct > 0 else "below"
    return f"{side} SMA{period} by {abs(pct):.1f} %"


def macd_words(r: IndicatorReadout) -> str:
    """E.g. "MACD bullish cross 3 days ago"; "MACD above signal" when the cross is older than a month."""
    if r.macd is None or r.macd_signal is None:
        return "MACD n/a"
    cross = r.last_cross
    side = "above" if r.macd > r.macd_signal else "below"
    if cross is None or cross.sessions_ago > 21:
        return f"MACD {side} signal"
    kind = "bullish" if cross.bullish else "bearish"
    if cross.sessions_ago == 0:
        when = "today"
    elif cross.sessions_ago == 1:
        when = "1 day ago"
    else:
        when = f"{cross.sessions_ago} days ago"
    return f"MACD {kind} cross {when}"
