"""Relative strength of small caps against large caps (view 4): a price ratio, its SMA 50 and trend.

A pair is a numerator (the small caps: IWM, ^RUT) over a denominator (the large caps: SPY, ^GSPC).
Everything is read on completed daily closes (a provisional bar of today is left out, so a live tick
changes nothing here) on the sessions both series have: a day one of them lacks is dropped for both,
as the engine's IWM/SPY check does. The SMA 50 of the ratio is computed by TA-Lib over the whole
common history and only then cut to the window shown, so its first values in a window are as valid as
its last.

A window is a time frame (1M ... 5Y, counted in sessions: 21 a month) ending `offset` sessions before
the latest common close. In it, both prices are rebased to 100 on its first session: the gap between
the two lines is the small caps' out- or under-performance, and the ratio's change over the window is
exactly (numerator rebased / denominator rebased - 1) in percent.

numpy and TA-Lib are imported inside the functions that need them, so importing this module (the view
does at start-up) costs nothing.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date

from services.models import BarSeries, ts_day
from services.snapshot import Snapshot, SymbolSnapshot

SMA_PERIOD = 50
"""The ratio's moving average, in sessions."""
TREND_SESSIONS = 10
"""The SMA counts as rising (falling) when it is above (below) its value this many sessions before."""
LARGE_CAP_INDEX = "^GSPC"
"""The S&P 500 index: the denominator of the index pair (no rule field names it)."""


class StrengthFrame(enum.StrEnum):
    """How much history a window spans, counted in sessions (a ratio needs daily closes)."""

    M1 = "1M"
    M3 = "3M"
    M6 = "6M"
    Y1 = "1Y"
    Y2 = "2Y"
    Y5 = "5Y"

    @property
    def sessions(self) -> int:
        """Sessions of change the frame spans (the window holds one more close: its base day)."""
        return _FRAME_SESSIONS[self]

    @property
    def pan_step(self) -> int:
        """Sessions one h / l press moves the window: a quarter of the frame."""
        return max(1, self.sessions // 4)

    def next(self) -> StrengthFrame:
        """The following frame, wrapping from 5Y back to 1M (what `t` does)."""
        frames = list(StrengthFrame)
        return frames[(frames.index(self) + 1) % len(frames)]


_FRAME_SESSIONS = {
    StrengthFrame.M1: 21,
    StrengthFrame.M3: 63,
    StrengthFrame.M6: 126,
    StrengthFrame.Y1: 252,
    StrengthFrame.Y2: 504,
    StrengthFrame.Y5: 1260,
}
DEFAULT_FRAME = StrengthFrame.M6


class RelativeTrend(enum.StrEnum):
    """The pair's trend at a session, in the trader's words (see `trend_at` for the exact rule)."""

    LEADING = "small caps leading"
    LAGGING = "small caps lagging"
    MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why a pair cannot be drawn, in one line, e.g. "^GSPC not in the watchlist"."""

    reason: str

    @property
    def key(self) -> tuple[object, ...]:
        return ("unavailable", self.reason)


@dataclass(frozen=True, slots=True)
class PairHistory:
    """A pair over every completed session both series have, oldest first."""

    numerator: str
    denominator: str
    ts: tuple[int, ...]
    """The common sessions (epoch seconds of 00:00 UTC of the session date)."""
    numerator_close: tuple[float, ...]
    denominator_close: tuple[float, ...]
    ratio: tuple[float, ...]
    """numerator close / denominator close on each common session."""
    sma: tuple[float | None, ...]
    """SMA 50 of the ratio; None on the first 49 common sessions."""
    key: tuple[object, ...]
    """Changes whenever the completed closes behind it may have changed (see `series_key`)."""

    def __len__(self) -> int:
        return len(self.ts)

    def max_offset(self, frame: StrengthFrame) -> int:
        """The oldest window's offset: how far back `frame` can pan before running out of history."""
        return max(0, len(self.ts) - (frame.sessions + 1))


@dataclass(frozen=True, slots=True)
class StrengthWindow:
    """What view 4 draws for one pair in one time frame."""

    numerator: str
    denominator: str
    frame: StrengthFrame
    offset: int
    """Sessions between the window's last close and the latest common close (0: up to date)."""
    max_offset: int
    days: tuple[date, ...]
    """Session dates of the window, oldest first (at least two)."""
    numerator_rebased: tuple[float, ...]
    """Numerator closes x 100 / its close on `days[0]`."""
    denominator_rebased: tuple[float, ...]
    ratio: tuple[float, ...]
    sma: tuple[float | None, ...]
    """SMA 50 of the ratio over the full history, cut to the window (None: not 50 sessions yet)."""
    trend: RelativeTrend | None
    """The trend at the window's last session; None without `SMA_PERIOD + TREND_SESSIONS` sessions."""
    key: tuple[object, ...]
    """Equal for two windows that draw the same."""

    @property
    def start_day(self) -> date:
        return self.days[0]

    @property
    def end_day(self) -> date:
        return self.days[-1]

    @property
    def sessions(self) -> int:
        """Sessions of change shown: `frame.sessions`, fewer when the history is shorter."""
        return len(self.days) - 1

    @property
    def ratio_now(self) -> float:
        """The ratio at the window's last session (the latest completed close when `offset` is 0)."""
        return self.ratio[-1]

    @property
    def sma_now(self) -> float | None:
        return self.sma[-1]

    @property
    def change_pct(self) -> float:
        """The ratio's change over the window, in percent."""
        return (self.ratio[-1] / self.ratio[0] - 1.0) * 100.0

    @property
    def numerator_change_pct(self) -> float:
        return self.numerator_rebased[-1] - 100.0

    @property
    def denominator_change_pct(self) -> float:
        return self.denominator_rebased[-1] - 100.0


# ---------------------------------------------------------------------- completed closes
def completed_length(s: SymbolSnapshot) -> int:
    """How many of the symbol's daily bars are completed closes (today's provisional bar excluded)."""
    n = len(s.daily)
    return n - 1 if s.provisional and n else n


def completed_closes(s: SymbolSnapshot) -> BarSeries:
    """The symbol's daily bars without today's provisional one."""
    d = s.daily
    return d.until(d.ts[-1] - 1) if completed_length(s) < len(d) else d


def series_key(series: BarSeries, n: int | None = None) -> tuple[object, ...]:
    """Cheap identity of the first `n` bars (all by default): their count, the last bar's time and
    close, and the first close (a split re-adjusting the whole history changes that one)."""
    n = len(series) if n is None else n
    if n <= 0:
        return (0,)
    return (n, series.ts[n - 1], series.close[n - 1], series.close[0])


def pair_key(snap: Snapshot, numerator: str, denominator: str) -> tuple[object, ...]:
    """What `read_pair` depends on in `snap`: equal keys give equal answers. Costs no copy."""
    parts: list[object] = [numerator, denominator]
    for sym in (numerator, denominator):
        s = snap.symbols.get(sym)
        if s is None:
            parts.append(None)
            continue
        n = completed_length(s)
        parts.append(series_key(s.daily, n))
        if n == 0:  # the reason shown quotes the error
            parts.append(s.error.message if s.error else None)
    return tuple(parts)


def read_pair(snap: Snapshot, numerator: str, denominator: str) -> PairHistory | Unavailable:
    """The pair's history from a snapshot's completed closes, or why there is none.

    Reasons: "^GSPC not in the watchlist", "no ^GSPC daily history" (with the source's error when it
    gave one), "no common dates for ^RUT and ^GSPC", "only 1 common session of ^RUT and ^GSPC".
    """
    series: list[BarSeries] = []
    for sym in (numerator, denominator):
        s = snap.symbols.get(sym)
        if s is None:
            return Unavailable(f"{sym} not in the watchlist")
        done = completed_closes(s)
        if not done:
            why = f": {s.error.message}" if s.error is not None else ""
            return Unavailable(f"no {sym} daily history{why}")
        series.append(done)
    found = pair_history(series[0], series[1])
    if isinstance(found, Unavailable):
        return found
    # The snapshot's key, so that the view can compare it without building the history again.
    return PairHistory(
        found.numerator,
        found.denominator,
        found.ts,
        found.numerator_close,
        found.denominator_close,
        found.ratio,
        found.sma,
        pair_key(snap, numerator, denominator),
    )


def pair_history(numerator: BarSeries, denominator: BarSeries) -> PairHistory | Unavailable:
    """The ratio and its SMA 50 on the sessions both (completed, daily) series have.

    Args:
        numerator: the small caps' completed daily bars (IWM, ^RUT).
        denominator: the large caps' completed daily bars (SPY, ^GSPC).

    Returns:
        The history, or `Unavailable` when the series share fewer than two sessions.
    """
    import numpy as np  # heavy imports stay off the start-up path
    import talib

    num_sym, den_sym = numerator.symbol, denominator.symbol
    if not numerator or not denominator:
        missing = num_sym if not numerator else den_sym
        return Unavailable(f"no {missing} daily history")
    nts = np.frombuffer(numerator.ts, dtype=np.int64)
    dts = np.frombuffer(denominator.ts, dtype=np.int64)
    # Timestamps are unique and sorted in a BarSeries, so the intersection keeps both in time order.
    common, ni, di = np.intersect1d(nts, dts, assume_unique=True, return_indices=True)
    if len(common) == 0:
        return Unavailable(f"no common dates for {num_sym} and {den_sym}")
    if len(common) < 2:
        return Unavailable(f"only 1 common session of {num_sym} and {den_sym}")
    ncl = np.frombuffer(numerator.close, dtype=np.float64)[ni]
    dcl = np.frombuffer(denominator.close, dtype=np.float64)[di]
    ratio = ncl / dcl
    sma = talib.SMA(ratio, timeperiod=SMA_PERIOD) if len(ratio) >= SMA_PERIOD else np.full(len(ratio), np.nan)
    return PairHistory(
        num_sym,
        den_sym,
        tuple(int(t) for t in common),
        tuple(float(x) for x in ncl),
        tuple(float(x) for x in dcl),
        tuple(float(x) for x in ratio),
        tuple(float(x) if math.isfinite(x) else None for x in sma),
        (series_key(numerator), series_key(denominator)),
    )


# ---------------------------------------------------------------------- the window
def clamp_offset(offset: int, max_offset: int) -> int:
    """`offset` kept within 0 (the latest close) and `max_offset` (the oldest window)."""
    return min(max(0, offset), max(0, max_offset))


def trend_at(
    ratio: tuple[float, ...], sma: tuple[float | None, ...], i: int, lookback: int = TREND_SESSIONS
) -> RelativeTrend | None:
    """The trend of the ratio at session `i`.

    - LEADING ("small caps leading"): ratio[i] > sma[i] and sma[i] > sma[i - lookback] (the SMA 50 is
      higher than `lookback` sessions before: rising).
    - LAGGING ("small caps lagging"): ratio[i] < sma[i] and sma[i] < sma[i - lookback] (falling).
    - MIXED: anything else (above a falling SMA, below a rising one, on it, or a flat SMA).

    Returns None when sma[i] or sma[i - lookback] does not exist yet (fewer than
    `SMA_PERIOD + lookback` common sessions up to `i`).
    """
    if i - lookback < 0:
        return None
    now, before = sma[i], sma[i - lookback]
    if now is None or before is None:
        return None
    r = ratio[i]
    if r > now and now > before:
        return RelativeTrend.LEADING
    if r < now and now < before:
        return RelativeTrend.LAGGING
    return RelativeTrend.MIXED


def window(history: PairHistory, frame: StrengthFrame, offset: int = 0) -> StrengthWindow:
    """The last `frame.sessions` sessions (plus the base day) ending `offset` sessions before the
    latest common close; `offset` is clamped to what the history allows. A history shorter than the
    frame gives all of it."""
    n = len(history.ts)
    top = history.max_offset(frame)
    off = clamp_offset(offset, top)
    end = n - off  # exclusive
    start = max(0, end - (frame.sessions + 1))
    num = history.numerator_close[start:end]
    den = history.denominator_close[start:end]
    n0, d0 = num[0], den[0]
    return StrengthWindow(
        history.numerator,
        history.denominator,
        frame,
        off,
        top,
        tuple(ts_day(t) for t in history.ts[start:end]),
        tuple(x * 100.0 / n0 for x in num),
        tuple(x * 100.0 / d0 for x in den),
        history.ratio[start:end],
        history.sma[start:end],
        trend_at(history.ratio, history.sma, end - 1),
        (history.key, frame, off),
    )
