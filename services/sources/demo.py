"""Demo: generated market data for the breakout thesis, offline (`--demo [breakout|bulltrap|range]`).

Six symbols (`DEMO_SYMBOLS`): the Russell 2000 (^RUT) and its ETF IWM, the S&P 500 (^GSPC) and SPY,
the 10-year yield (^TNX, in percent) and the VIX. Every number is a pure function of the scenario, the
seed and the day, so the same arguments always give the same bars, bit for bit.

The story. 1,600 sessions (about 6.1 years) of daily history are drawn around a hand-written
"skeleton" of the real 2020-2026 tape: the 2021 peak near 2,440, the 2022 bear market down to ~1,650,
the 2023/2024 chop, the spring-2025 dip and the late-2025 rally, all inside the five-year range below
the 2,565 breakout level (a soft ceiling near 2,495 keeps every close of the range well below it). The
skeleton is written against a reference calendar ending on Monday 2026-11-23 and is laid, session by
session, on the weekdays that end before the demo's first live day: the chart has the same shape
whatever day the demo runs, only the dates move. The last 46 sessions (the "final phase", from the
reference 2026-09-21) are what the scenario promises, checked when the history is generated:

- `breakout`: a rally that tests the level, breaks it and holds above it for 10 sessions, ending
  CONFIRMED with RSI-14 in the bullish zone, the close above its SMA-50, MACD above its signal, SPY
  above its SMA-50 and up over 20 sessions, IWM outperforming SPY and the 10-year yield calm.
- `bulltrap`: the same rally pokes above the level for 1 or 2 closes, then falls back a few percent:
  FAILED, with the 10-year yield up at least 25 bp in 20 sessions, the S&P rolling over and the VIX
  elevated (22-28).
- `range`: the index never gets within 1 % of the level: INSIDE.

The noise around the skeleton is two mean-reverting (Ornstein-Uhlenbeck) wanders per index, a fast
and a slow one, with the small caps and the S&P sharing a market factor; the VIX reacts inversely to
the S&P's moves and to its drawdown. For the final phase a few candidate paths are drawn in turn
from the seed and the first one that keeps every promise wins (all of them keep the breakout state by
construction; the search is for the indicator readings), so any seed gives a faithful demo.

Time. The demo market is always open. Each `quotes()` call is one minute of the regular session
(09:30-16:00 New York, 390 minutes): the first call returns 09:31 of the first live day (the first
weekday on or after `today`), the 390th the 16:00 close, and the next one 09:31 of the next weekday,
the closed day having joined the daily history. Live days continue the scenario (breakout: a gentle
grind higher above the level; bull trap: drifting lower below it; range: mean-reverting inside it).
A live day's daily bar is drawn first; its 390 one-minute bars are then a bridge through the day's
open, high, low and close drawn from (seed, scenario, symbol, day), so they aggregate to exactly that
bar. Weekdays are trading days (no holiday calendar: the demo must start in milliseconds).

Prices are rounded as quotes are (cents; ^TNX to 0.001 percentage point). `adj_close` equals `close`:
the demo pays no dividends. Index volumes are 0.0 (meaningless for an index); ETF volumes are whole
shares. Only the standard library is used (no numpy, pandas or TA-Lib): generating the history takes
tens of milliseconds.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from itertools import pairwise
from typing import TypeAlias
from zoneinfo import ZoneInfo

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
)

__all__ = [
    "DEMO_SCENARIOS",
    "DEMO_SYMBOLS",
    "HISTORY_SESSIONS",
    "SESSION_MINUTES",
    "DemoSource",
]

DEMO_SCENARIOS = ("breakout", "bulltrap", "range")
DEMO_SYMBOLS = ("IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX")
HISTORY_SESSIONS = 1600
"""Daily bars before the first live day: about 6.1 years of weekdays."""
SESSION_MINUTES = 390
"""One-minute bars in a regular session, 09:30-16:00 New York."""
NEW_YORK = ZoneInfo("America/New_York")
OPEN_TIME = time(9, 30)

BREAKOUT_LEVEL = 2565.0
"""The ^RUT level the scenarios are written around (BreakoutRules' default)."""
IWM_PER_RUT = 0.099
"""IWM's price per point of ^RUT (IWM tracks the index at about a tenth)."""
SPY_PER_GSPC = 0.0997
TNX_FLOOR, TNX_CEILING = 3.8, 4.8
"""^TNX, in percent, never leaves this band."""
VIX_FLOOR, VIX_CEILING = 12.0, 30.0

_REFERENCE_LAST_SESSION = date(2026, 11, 23)
"""The skeleton's dates are written as if the history ended on this Monday."""
_RANGE_UNTIL = date(2026, 9, 18)
"""The last reference session of the shared five-year range; the final phase follows it."""
_SEED_TAG = "breakout-monitor demo"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MAX_ATTEMPTS = 400
"""Candidate final phases tried before settling for the closest (about 1-7 are needed, 31 at worst seen)."""

_ETFS: dict[str, tuple[str, float]] = {"IWM": ("^RUT", IWM_PER_RUT), "SPY": ("^GSPC", SPY_PER_GSPC)}
"""ETF -> (the index it tracks, price per index point)."""
_INDICES = ("^RUT", "^GSPC", "^TNX", "^VIX")

# Per index: typical daily move (relative, sizes the open gap and the wicks), quote increment, hard band.
_DAILY_SIGMA = {"^RUT": 0.012, "^GSPC": 0.009, "^TNX": 0.011, "^VIX": 0.06}
_SCALE = {"^RUT": 100.0, "^GSPC": 100.0, "^TNX": 1000.0, "^VIX": 100.0}
"""Quote increments: cents, and 0.001 percentage point for the yield."""
_HARD_BAND = {
    "^RUT": (0.0, math.inf),
    "^GSPC": (0.0, math.inf),
    "^TNX": (TNX_FLOOR, TNX_CEILING),
    "^VIX": (VIX_FLOOR, VIX_CEILING),
}
# ETF volume: (typical shares per day, low, high); heavier on big-move days.
_ETF_VOLUME = {"IWM": (28e6, 20e6, 45e6), "SPY": (68e6, 50e6, 100e6)}

# Soft bands: closes are squeezed smoothly into them (tanh), so clamps never show as flat lines.
_RANGE_CEILING = math.log(2495.0)
"""Every ^RUT close of the five-year range stays below this (well below 2,565)."""
_SPX_CEILING = math.log(7050.0)
_TNX_SOFT = (3.83, 4.77, 0.08)
_VIX_SOFT = (math.log(12.4), math.log(29.6), 0.08)

# ------------------------------------------------------------------ the skeleton (reference dates)
# ^RUT: (reference session, close, volatility of the leg that ends there, 1.0 = normal).
_RUT_RANGE: tuple[tuple[date, float, float], ...] = (
    (date(2020, 9, 29), 1560.0, 1.2),
    (date(2020, 10, 30), 1590.0, 1.2),
    (date(2020, 12, 31), 1975.0, 1.0),  # the vaccine rally
    (date(2021, 3, 15), 2360.0, 1.3),
    (date(2021, 5, 12), 2150.0, 1.2),
    (date(2021, 6, 8), 2340.0, 1.0),
    (date(2021, 8, 19), 2130.0, 1.0),
    (date(2021, 11, 8), 2440.0, 1.0),  # the 2021 peak: the top of the five-year range
    (date(2021, 12, 1), 2200.0, 1.3),
    (date(2022, 1, 27), 1935.0, 1.4),
    (date(2022, 3, 29), 2110.0, 1.3),
    (date(2022, 6, 16), 1680.0, 1.5),  # the 2022 bear market
    (date(2022, 8, 16), 2015.0, 1.2),
    (date(2022, 9, 30), 1690.0, 1.4),
    (date(2022, 12, 1), 1885.0, 1.2),
    (date(2023, 2, 2), 2000.0, 1.0),
    (date(2023, 3, 23), 1740.0, 1.4),  # the regional-bank scare
    (date(2023, 7, 31), 2000.0, 0.9),
    (date(2023, 10, 27), 1670.0, 1.1),  # the bottom of the range
    (date(2023, 12, 27), 2065.0, 1.0),
    (date(2024, 4, 19), 1950.0, 0.9),
    (date(2024, 7, 16), 2265.0, 1.0),
    (date(2024, 8, 7), 2050.0, 1.4),
    (date(2024, 11, 25), 2435.0, 1.0),
    (date(2025, 1, 10), 2180.0, 1.0),
    (date(2025, 1, 23), 2310.0, 0.9),
    (date(2025, 4, 8), 1780.0, 1.8),  # the spring-2025 dip
    (date(2025, 6, 30), 2175.0, 1.1),
    (date(2025, 9, 18), 2420.0, 0.9),
    (date(2025, 10, 15), 2465.0, 1.0),  # the late-2025 rally
    (date(2025, 11, 20), 2330.0, 1.2),
    (date(2025, 12, 22), 2475.0, 0.9),
    (date(2026, 2, 13), 2370.0, 1.0),
    (date(2026, 4, 7), 2220.0, 1.2),
    (date(2026, 6, 12), 2440.0, 0.9),
    (date(2026, 8, 5), 2290.0, 1.1),
    (_RANGE_UNTIL, 2380.0, 0.9),
)
_SPX_RANGE: tuple[tuple[date, float], ...] = (
    (date(2020, 9, 29), 3600.0),
    (date(2020, 10, 30), 3620.0),
    (date(2020, 12, 31), 3756.0),
    (date(2021, 3, 4), 3770.0),
    (date(2021, 5, 7), 4230.0),
    (date(2021, 5, 12), 4060.0),
    (date(2021, 9, 2), 4537.0),
    (date(2021, 10, 4), 4300.0),
    (date(2022, 1, 3), 4796.0),
    (date(2022, 3, 8), 4170.0),
    (date(2022, 3, 29), 4630.0),
    (date(2022, 6, 16), 3700.0),
    (date(2022, 8, 16), 4305.0),
    (date(2022, 10, 12), 3640.0),
    (date(2022, 12, 1), 4076.0),
    (date(2023, 2, 2), 4179.0),
    (date(2023, 3, 13), 3855.0),
    (date(2023, 7, 31), 4589.0),
    (date(2023, 10, 27), 4117.0),
    (date(2023, 12, 28), 4783.0),
    (date(2024, 3, 28), 5254.0),
    (date(2024, 4, 19), 4967.0),
    (date(2024, 7, 16), 5667.0),
    (date(2024, 8, 5), 5186.0),
    (date(2024, 12, 6), 6090.0),
    (date(2025, 2, 19), 6144.0),
    (date(2025, 4, 8), 5000.0),
    (date(2025, 6, 30), 6205.0),
    (date(2025, 10, 28), 6850.0),
    (date(2025, 11, 20), 6540.0),
    (date(2025, 12, 24), 6880.0),
    (date(2026, 2, 13), 6760.0),
    (date(2026, 4, 7), 6450.0),
    (date(2026, 6, 12), 6850.0),
    (date(2026, 8, 5), 6620.0),
    (_RANGE_UNTIL, 6760.0),
)
_TNX_RANGE: tuple[tuple[date, float], ...] = (
    (date(2020, 9, 29), 4.05),
    (date(2021, 3, 19), 4.55),
    (date(2021, 8, 4), 3.95),
    (date(2021, 11, 8), 4.25),
    (date(2022, 6, 14), 4.70),
    (date(2022, 8, 1), 4.00),
    (date(2022, 10, 21), 4.72),
    (date(2023, 4, 6), 3.90),
    (date(2023, 10, 19), 4.74),
    (date(2023, 12, 27), 3.88),
    (date(2024, 4, 25), 4.68),
    (date(2024, 9, 16), 3.92),
    (date(2025, 1, 14), 4.72),
    (date(2025, 4, 4), 4.00),
    (date(2025, 5, 21), 4.60),
    (date(2025, 10, 22), 3.98),
    (date(2026, 1, 20), 4.30),
    (date(2026, 5, 15), 4.55),
    (date(2026, 8, 5), 4.10),
    (_RANGE_UNTIL, 4.20),
)


@dataclass(frozen=True, slots=True)
class _FinalPhase:
    """One scenario's last 46 sessions (reference dates) and where its life continues afterwards."""

    rut: tuple[tuple[date, float], ...]
    spx: tuple[tuple[date, float], ...]
    tnx: tuple[tuple[date, float], ...]
    rut_live_goal: float
    """Live days: ^RUT drifts toward this close..."""
    rut_live_pace: float
    """...closing this fraction of the remaining gap per session..."""
    rut_live_band: tuple[float, float]
    """...and every close stays inside this band (which keeps the scenario's breakout state)."""
    spx_live_goal: float
    spx_live_band: tuple[float, float]
    tnx_live_goal: float
    vix_live_base: float
    """The VIX's resting level on the first live days (before the S&P drawdown adds fear); it relaxes
    toward 17 over months."""


_BREAK_DAY = date(2026, 11, 10)
"""breakout: the first close above the level (10 sessions before the end of the history)."""
_POKE_DAY = date(2026, 11, 11)
"""bulltrap: the first of the 1-2 closes above the level (9 sessions before the end)."""
_VIX_FEAR_FROM = date(2026, 11, 4)
"""bulltrap: from here the VIX climbs on top of what the S&P drawdown explains (yields spiking)."""

_FINALS: dict[str, _FinalPhase] = {
    "breakout": _FinalPhase(
        rut=(
            (date(2026, 10, 9), 2480.0),
            (date(2026, 10, 21), 2546.0),  # the test of the level from below
            (date(2026, 10, 28), 2512.0),
            (date(2026, 11, 6), 2550.0),
            (date(2026, 11, 9), 2552.0),
            (_BREAK_DAY, 2586.0),
            (date(2026, 11, 12), 2604.0),
            (date(2026, 11, 17), 2582.0),  # the retest of the level holds
            (_REFERENCE_LAST_SESSION, 2622.0),
        ),
        spx=((date(2026, 10, 9), 6830.0), (date(2026, 10, 27), 6790.0), (_REFERENCE_LAST_SESSION, 6935.0)),
        tnx=((date(2026, 10, 15), 4.22), (_REFERENCE_LAST_SESSION, 4.08)),
        rut_live_goal=2720.0,
        rut_live_pace=0.015,
        rut_live_band=(2575.0, 2850.0),
        spx_live_goal=7250.0,
        spx_live_band=(6300.0, 7600.0),
        tnx_live_goal=4.10,
        vix_live_base=14.5,
    ),
    "bulltrap": _FinalPhase(
        rut=(
            (date(2026, 10, 9), 2470.0),
            (date(2026, 10, 23), 2540.0),
            (date(2026, 11, 3), 2515.0),
            (date(2026, 11, 10), 2550.0),
            (date(2026, 11, 13), 2532.0),
            (date(2026, 11, 17), 2518.0),
            (date(2026, 11, 19), 2522.0),
            (_REFERENCE_LAST_SESSION, 2486.0),
        ),
        spx=((date(2026, 10, 9), 6830.0), (date(2026, 11, 4), 6890.0), (_REFERENCE_LAST_SESSION, 6585.0)),
        tnx=((date(2026, 10, 23), 4.18), (_REFERENCE_LAST_SESSION, 4.62)),
        rut_live_goal=2380.0,
        rut_live_pace=0.04,
        rut_live_band=(2200.0, 2535.0),
        spx_live_goal=6350.0,
        spx_live_band=(5800.0, 6950.0),
        tnx_live_goal=4.58,
        vix_live_base=23.5,
    ),
    "range": _FinalPhase(
        rut=((date(2026, 10, 14), 2455.0), (date(2026, 10, 30), 2380.0), (_REFERENCE_LAST_SESSION, 2310.0)),
        spx=((date(2026, 10, 16), 6850.0), (_REFERENCE_LAST_SESSION, 6760.0)),
        tnx=((date(2026, 10, 20), 4.35), (_REFERENCE_LAST_SESSION, 4.28)),
        rut_live_goal=2150.0,
        rut_live_pace=0.03,
        rut_live_band=(1700.0, 2470.0),
        spx_live_goal=6800.0,
        spx_live_band=(6200.0, 7050.0),
        tnx_live_goal=4.30,
        vix_live_base=17.5,
    ),
}


# ------------------------------------------------------------------ calendar helpers
def first_weekday_on_or_after(day: date) -> date:
    """The first weekday (Monday-Friday) on or after `day`: the demo's trading days."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _weekdays_before(ordinal: int, n: int) -> list[int]:
    """The `n` weekday ordinals strictly before `ordinal`, oldest first."""
    out: list[int] = []
    weekday = (ordinal - 2) % 7  # date.weekday() of `ordinal` - 1 (ordinal 1, 0001-01-01, was a Monday)
    o = ordinal - 1
    while len(out) < n:
        if weekday < 5:
            out.append(o)
        o -= 1
        weekday = (weekday - 1) % 7
    out.reverse()
    return out


@cache
def _reference_sessions() -> tuple[int, ...]:
    return tuple(_weekdays_before(_REFERENCE_LAST_SESSION.toordinal() + 1, HISTORY_SESSIONS))


def _session_index(day: date) -> int:
    """Index in the history of a reference date (a weekend date maps to the next session)."""
    return bisect_left(_reference_sessions(), day.toordinal())


def _session_open_utc(day: date) -> datetime:
    return datetime.combine(day, OPEN_TIME, NEW_YORK).astimezone(UTC)


# ------------------------------------------------------------------ small numeric helpers
def _soft_band(x: float, lo: float, hi: float, width: float) -> float:
    """`x` squeezed smoothly into the open band (lo, hi): unchanged more than `width` inside it,
    bent with a tanh within `width` of an edge, never reaching it (use -inf/inf for no edge)."""
    top = hi - width
    if x > top:
        return top + width * math.tanh((x - top) / width)
    bottom = lo + width
    if x < bottom:
        return bottom - width * math.tanh((bottom - x) / width)
    return x


def _skeleton(points: Sequence[tuple[int, float]], start: int, stop: int) -> list[float]:
    """Piecewise-linear interpolation through (session index, value) points for indices start..stop-1;
    flat before the first point and after the last."""
    out: list[float] = []
    j = 0
    for i in range(start, stop):
        while j + 1 < len(points) and points[j + 1][0] <= i:
            j += 1
        i0, v0 = points[j]
        if i <= i0 or j + 1 == len(points):
            out.append(v0)
        else:
            i1, v1 = points[j + 1]
            out.append(v0 + (v1 - v0) * (i - i0) / (i1 - i0))
    return out


def _wilder_rsi(closes: Sequence[float], n: int = 14) -> float:
    gain = loss = 0.0
    for k in range(1, n + 1):
        change = closes[k] - closes[k - 1]
        gain += max(change, 0.0)
        loss += max(-change, 0.0)
    gain, loss = gain / n, loss / n
    for k in range(n + 1, len(closes)):
        change = closes[k] - closes[k - 1]
        gain = (gain * (n - 1) + max(change, 0.0)) / n
        loss = (loss * (n - 1) + max(-change, 0.0)) / n
    return 100.0 * gain / (gain + loss) if gain + loss > 0 else 50.0


def _ema(xs: Sequence[float], n: int) -> list[float]:
    k = 2.0 / (n + 1)
    out = [sum(xs[:n]) / n]
    for x in xs[n:]:
        out.append(out[-1] + k * (x - out[-1]))
    return out


def _macd_histogram(closes: Sequence[float]) -> float:
    """MACD(12, 26) minus its 9-session signal at the last close."""
    fast, slow = _ema(closes, 12), _ema(closes, 26)
    line = [f - s for f, s in zip(fast[14:], slow, strict=True)]
    return line[-1] - _ema(line, 9)[-1]


def _sma(xs: Sequence[float], n: int) -> float:
    return sum(xs[-n:]) / n


def _normals(rng: random.Random, n: int) -> list[float]:
    """`n` standard normal draws (Box-Muller in pairs): about 3x faster than `rng.gauss` one by one,
    which matters for the ~20,000 draws of a history."""
    rand, log, sqrt, cos, sin, tau = rng.random, math.log, math.sqrt, math.cos, math.sin, math.tau
    out: list[float] = []
    for _ in range((n + 1) // 2):
        r = sqrt(-2.0 * log(1.0 - rand()))
        a = tau * rand()
        out.append(r * cos(a))
        out.append(r * sin(a))
    del out[n:]
    return out


def _quantize(x: float, scale: float) -> float:
    """`x` rounded half up to a multiple of 1/`scale` (100: cents). Monotone, so rounding never breaks
    low <= open, close <= high, and idempotent."""
    return math.floor(x * scale + 0.5) / scale


# ------------------------------------------------------------------ the history
@dataclass(slots=True)
class _Market:
    """The generated closes (rounded) of the four indices, oldest first, plus what live days need."""

    closes: dict[str, list[float]]
    tracking: dict[str, list[float]]
    """ETF -> its price per index point, session by session (tiny tracking noise around the ratio)."""
    regime: list[float]
    """Volatility multiplier per session (1.0 normal): sizes the daily bars' gaps and wicks."""
    spx_peak: float
    """The S&P's slowly decaying high-water mark at the end: the VIX's sense of drawdown."""


@dataclass(slots=True)
class _Wander:
    """The state of the noise processes, carried from session to session."""

    rut_fast: float = 0.0
    rut_slow: float = 0.0
    spx_fast: float = 0.0
    spx_slow: float = 0.0
    tnx: float = 0.0
    vix_log: float = math.log(24.0)
    spx_peak: float = 0.0


def _vix_step(w: _Wander, spx: float, spx_return: float, base: float, shock: float) -> float:
    """One session of the VIX (log): pulled toward `base` plus the S&P's drawdown from its decaying
    high, up when the S&P falls (and down when it rises), with its own noise; soft-banded 12-30."""
    w.spx_peak = max(spx, w.spx_peak * 0.9975)
    drawdown = 1.0 - spx / w.spx_peak
    target = math.log(base + 75.0 * drawdown)
    x = w.vix_log + 0.1 * (target - w.vix_log) - 4.5 * spx_return + 0.055 * shock
    w.vix_log = _soft_band(x, *_VIX_SOFT)
    return w.vix_log


def _tracking_factor(ratio: float, shock: float) -> float:
    """An ETF's price per index point on one day: the ratio with tracking noise of at most 0.18 %."""
    return ratio * (1.0 + max(-0.0018, min(0.0018, 0.0006 * shock)))


def _range_history(seed: int) -> tuple[dict[str, list[float]], list[float], _Wander]:
    """The shared five-year range: log closes of ^RUT and ^GSPC, ^TNX and log ^VIX up to `_RANGE_UNTIL`,
    the same for every scenario of a seed."""
    end = _session_index(_RANGE_UNTIL) + 1
    z = _normals(random.Random(f"{_SEED_TAG}|{seed}|range"), 7 * end)
    rut_sk = _skeleton([(_session_index(d), math.log(v)) for d, v, _ in _RUT_RANGE], 0, end)
    spx_sk = _skeleton([(_session_index(d), math.log(v)) for d, v in _SPX_RANGE], 0, end)
    tnx_sk = _skeleton([(_session_index(d), v) for d, v in _TNX_RANGE], 0, end)
    # A leg's volatility applies from the session after its start to its end waypoint.
    regime = [0.9] * HISTORY_SESSIONS
    legs = [(_session_index(d), vol) for d, _, vol in _RUT_RANGE]
    regime[0] = legs[0][1]
    for (i0, _), (i1, vol) in pairwise(legs):
        regime[i0 + 1 : i1 + 1] = [vol] * (i1 - i0)

    rut, spx, tnx, vix = [0.0] * end, [0.0] * end, [0.0] * end, [0.0] * end
    w = _Wander(spx_peak=math.exp(spx_sk[0]))
    prev_spx = spx_sk[0]
    for i in range(end):
        v = regime[i]
        market, own, market_slow, own_slow, rate, fear = z[7 * i : 7 * i + 6]
        # Small caps load on the same market shocks as the S&P (correlation ~0.8), with more of their own.
        w.rut_fast = 0.85 * w.rut_fast + 0.0088 * v * (0.8 * market + 0.6 * own)
        w.rut_slow = 0.985 * w.rut_slow + 0.0032 * v * (0.7 * market_slow + 0.714 * own_slow)
        w.spx_fast = 0.85 * w.spx_fast + 0.0068 * v * market
        w.spx_slow = 0.985 * w.spx_slow + 0.0025 * v * market_slow
        w.tnx = 0.95 * w.tnx + 0.035 * rate
        rut[i] = _soft_band(rut_sk[i] + w.rut_fast + w.rut_slow, -math.inf, _RANGE_CEILING, 0.04)
        spx[i] = _soft_band(spx_sk[i] + w.spx_fast + w.spx_slow, -math.inf, _SPX_CEILING, 0.02)
        tnx[i] = _soft_band(tnx_sk[i] + w.tnx, *_TNX_SOFT)
        vix[i] = _vix_step(w, math.exp(spx[i]), spx[i] - prev_spx, 15.5, fear)
        prev_spx = spx[i]
    return {"^RUT": rut, "^GSPC": spx, "^TNX": tnx, "^VIX": vix}, regime, w


def _final_phase(
    scenario: str, rng: random.Random, base: Mapping[str, list[float]], wander: _Wander
) -> tuple[dict[str, list[float]], _Wander]:
    """One candidate for the scenario's last sessions: log ^RUT/^GSPC, ^TNX, log ^VIX from `_RANGE_UNTIL`
    (exclusive) to the end of the history, continuing `base` without a jump."""
    plan = _FINALS[scenario]
    start = _session_index(_RANGE_UNTIL) + 1
    n = HISTORY_SESSIONS - start
    z = _normals(rng, 4 * n)

    def skeleton(points: Sequence[tuple[date, float]], first: float, to_log: bool) -> list[float]:
        pts = [(start - 1, first)]
        pts += [(_session_index(d), math.log(v) if to_log else v) for d, v in points]
        return _skeleton(pts, start, HISTORY_SESSIONS)

    rut_sk = skeleton(plan.rut, base["^RUT"][-1], True)
    spx_sk = skeleton(plan.spx, base["^GSPC"][-1], True)
    tnx_sk = skeleton(plan.tnx, base["^TNX"][-1], False)
    break_i = _session_index(_BREAK_DAY)
    poke_i = _session_index(_POKE_DAY)
    pokes = 1 + int(rng.random() < 0.5)
    fear_i = _session_index(_VIX_FEAR_FROM)
    level = math.log(BREAKOUT_LEVEL)
    below_level = math.log(2558.0)
    above_level = math.log(2571.0)

    # The final phase wanders faster and tighter around its skeleton: the story must read clearly.
    w = _Wander(vix_log=wander.vix_log, spx_peak=wander.spx_peak)
    rut, spx, tnx, vix = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    prev_spx = base["^GSPC"][-1]
    for k in range(n):
        i = start + k
        market, own, rate, shock = z[4 * k : 4 * k + 4]
        w.rut_fast = 0.6 * w.rut_fast + 0.0085 * (0.8 * market + 0.6 * own)
        w.spx_fast = 0.6 * w.spx_fast + 0.006 * market
        w.tnx = 0.7 * w.tnx + 0.03 * rate
        x = rut_sk[k] + w.rut_fast
        if scenario == "breakout":
            # Below the level until the break day, then never back below it (the retest holds).
            if i < break_i:
                x = _soft_band(x, -math.inf, below_level, 0.012)
            else:
                x = _soft_band(x, above_level, math.inf, 0.008)
        elif scenario == "bulltrap":
            if poke_i <= i < poke_i + pokes:
                x = level + 0.002 + 0.008 * rng.random()  # the trap: closes just above the level
            else:
                x = _soft_band(x, -math.inf, below_level if i < poke_i else math.log(2553.0), 0.012)
        else:
            x = _soft_band(x, -math.inf, _RANGE_CEILING, 0.04)
        rut[k] = x
        spx[k] = _soft_band(spx_sk[k] + w.spx_fast, -math.inf, _SPX_CEILING, 0.02)
        tnx[k] = _soft_band(tnx_sk[k] + w.tnx, *_TNX_SOFT)
        fear = 0.0
        if scenario == "bulltrap" and i >= fear_i:
            # Yields spiking and the S&P rolling over: fear beyond what the drawdown alone explains.
            fear = 12.0 * (i - fear_i + 1) / (HISTORY_SESSIONS - fear_i)
        vix[k] = _vix_step(w, math.exp(spx[k]), spx[k] - prev_spx, 13.5 + fear, shock)
        prev_spx = spx[k]
    return {"^RUT": rut, "^GSPC": spx, "^TNX": tnx, "^VIX": vix}, w


def _to_closes(raw: Mapping[str, list[float]]) -> dict[str, list[float]]:
    """Log prices (the yield in percent as is) to closes quantized as quoted, inside the hard bands."""
    exp, q = math.exp, _quantize
    return {
        "^RUT": [q(exp(x), 100.0) for x in raw["^RUT"]],
        "^GSPC": [q(exp(x), 100.0) for x in raw["^GSPC"]],
        "^TNX": [q(min(TNX_CEILING, max(TNX_FLOOR, y)), 1000.0) for y in raw["^TNX"]],
        "^VIX": [q(min(VIX_CEILING, max(VIX_FLOOR, exp(x))), 100.0) for x in raw["^VIX"]],
    }


def _etf_closes(index_closes: Sequence[float], factors: Sequence[float]) -> list[float]:
    return [_quantize(c * f, 100.0) for c, f in zip(index_closes, factors, strict=True)]


_CHECK_TAIL = 300
"""Sessions the promise checks look at: RSI and MACD forget anything older (weight < 1e-9)."""


def _broken_promises(scenario: str, closes: Mapping[str, list[float]], etf: Mapping[str, list[float]]) -> int:
    """How many of the scenario's promised readings the candidate misses (0: keep it). `closes` and
    `etf` are the last sessions of the history (at least `_CHECK_TAIL`). Thresholds have a margin
    inside the promise so that any independent calculation agrees."""
    rut, tnx, vix, spy = closes["^RUT"], closes["^TNX"], closes["^VIX"], etf["SPY"]
    spy_20d = spy[-1] / spy[-21] - 1.0
    tnx_20d = tnx[-1] - tnx[-21]
    checks: list[bool]
    if scenario == "breakout":
        ratio = [i / s for i, s in zip(etf["IWM"][-60:], spy[-60:], strict=True)]
        checks = [
            2592.0 <= rut[-1] <= 2638.0,
            53.0 <= _wilder_rsi(rut) <= 67.0,
            rut[-1] > 1.01 * _sma(rut, 50),
            _macd_histogram(rut) > 0.5,
            spy[-1] > 1.005 * _sma(spy, 50) and spy_20d > 0.005,
            ratio[-1] > 1.005 * _sma(ratio, 50),
            tnx_20d < 0.15,
            vix[-1] < 19.0,
        ]
    elif scenario == "bulltrap":
        checks = [
            0.955 * BREAKOUT_LEVEL <= rut[-1] <= 0.985 * BREAKOUT_LEVEL,
            tnx_20d >= 0.30,
            spy_20d < -0.01 and spy[-1] < 0.995 * _sma(spy, 50),
            22.5 <= vix[-1] <= 27.5,
        ]
    else:
        checks = [2150.0 <= rut[-1] <= 2450.0, max(rut) < 0.985 * BREAKOUT_LEVEL]
    return sum(not ok for ok in checks)


@lru_cache(maxsize=16)
def _generate_market(scenario: str, seed: int) -> _Market:
    """The whole daily history's closes for a scenario and seed (cached: treat it as immutable)."""
    raw, regime, wander = _range_history(seed)
    base = _to_closes(raw)
    z = _normals(random.Random(f"{_SEED_TAG}|{seed}|tracking"), 2 * HISTORY_SESSIONS)
    tracking = {
        etf: [_tracking_factor(ratio, x) for x in z[k * HISTORY_SESSIONS : (k + 1) * HISTORY_SESSIONS]]
        for k, (etf, (_index, ratio)) in enumerate(_ETFS.items())
    }
    start = len(base["^RUT"])
    keep = _CHECK_TAIL - (HISTORY_SESSIONS - start)
    base_tail = {s: c[-keep:] for s, c in base.items()}
    etf_tail = {
        e: _etf_closes(base[i][-keep:], tracking[e][start - keep : start]) for e, (i, _) in _ETFS.items()
    }
    best: tuple[int, dict[str, list[float]], _Wander] | None = None
    for attempt in range(_MAX_ATTEMPTS):
        rng = random.Random(f"{_SEED_TAG}|{seed}|{scenario}|final|{attempt}")
        final_raw, end_state = _final_phase(scenario, rng, raw, wander)
        final = _to_closes(final_raw)
        tails = {s: base_tail[s] + final[s] for s in _INDICES}
        etfs = {e: etf_tail[e] + _etf_closes(final[i], tracking[e][start:]) for e, (i, _) in _ETFS.items()}
        missed = _broken_promises(scenario, tails, etfs)
        if best is None or missed < best[0]:
            best = (missed, final, end_state)
        if missed == 0:
            break
    # Every candidate keeps the breakout state by construction; should no candidate read perfectly
    # (never seen), the closest one is used rather than failing the demo.
    assert best is not None
    closes = {s: base[s] + best[1][s] for s in _INDICES}
    return _Market(closes, tracking, regime, best[2].spx_peak)


# ------------------------------------------------------------------ daily bars
_Ohlcv = tuple[float, float, float, float, float]
_Columns5: TypeAlias = "tuple[array[float], array[float], array[float], array[float], array[float]]"
"""open, high, low, close, volume."""


def _index_columns(
    symbol: str, prev_close: float, closes: Sequence[float], regime: Sequence[float], z: Sequence[float]
) -> _Columns5:
    """Open, high, low, close and volume (0.0) of index sessions whose closes are known: an overnight
    gap from the previous close (z[3i]) and wicks beyond the open and the close (z[3i+1], z[3i+2]).
    Column-wise in one loop with everything local: it runs 6,400 times per history."""
    exp, floor = math.exp, math.floor
    sigma0, scale = _DAILY_SIGMA[symbol], _SCALE[symbol]
    bottom, top = _HARD_BAND[symbol]
    opens, highs, lows = array("d"), array("d"), array("d")
    prev = prev_close
    for i, c in enumerate(closes):
        s = sigma0 * regime[i]
        # `_quantize` inlined (same arithmetic, so the same floats): this is the hot loop.
        o = floor(min(top, max(bottom, prev * exp(0.3 * s * z[3 * i]))) * scale + 0.5) / scale
        h = floor(min(top, (o if o > c else c) * exp(0.45 * s * abs(z[3 * i + 1]))) * scale + 0.5) / scale
        lo = (
            floor(max(bottom, (c if o > c else o) * exp(-0.45 * s * abs(z[3 * i + 2]))) * scale + 0.5) / scale
        )
        opens.append(o)
        highs.append(h)
        lows.append(lo)
        prev = c
    return opens, highs, lows, array("d", closes), array("d", [0.0]) * len(closes)


def _etf_columns(
    etf: str, index_prev: float, index: _Columns5, factors: Sequence[float], z: Sequence[float]
) -> _Columns5:
    """The ETF's sessions: the index's prices times each day's tracking factor, quantized to cents the
    way its minute bars are (`_quantize`), and whole-share volume, heavier when the index moves a lot."""
    q = _quantize
    typical, least, most = _ETF_VOLUME[etf]
    volumes = array("d")
    prev = index_prev
    for close, zi in zip(index[3], z, strict=True):
        move = abs(math.log(close / prev))
        volumes.append(float(round(min(most, max(least, typical * math.exp(0.22 * zi + 18.0 * move))))))
        prev = close
    o, h, lo, c = (
        array("d", [q(x * f, 100.0) for x, f in zip(col, factors, strict=True)]) for col in index[:4]
    )
    return o, h, lo, c, volumes


@lru_cache(maxsize=16)
def _history_columns(scenario: str, seed: int) -> dict[str, _Columns5]:
    """Every symbol's daily bars, oldest first, as column arrays (cached: copy before changing)."""
    market = _generate_market(scenario, seed)
    n = HISTORY_SESSIONS
    z = _normals(random.Random(f"{_SEED_TAG}|{seed}|{scenario}|bars"), 14 * n)
    out: dict[str, _Columns5] = {}
    for k, symbol in enumerate(_INDICES):
        closes = market.closes[symbol]
        out[symbol] = _index_columns(symbol, closes[0], closes, market.regime, z[3 * k * n : 3 * (k + 1) * n])
    for k, (etf, (index, _ratio)) in enumerate(_ETFS.items()):
        zs = z[(12 + k) * n : (13 + k) * n]
        out[etf] = _etf_columns(etf, market.closes[index][0], out[index], market.tracking[etf], zs)
    return out


# ------------------------------------------------------------------ live days
@dataclass(frozen=True, slots=True)
class _Session:
    """One live day's daily bars, drawn before its minutes."""

    bars: dict[str, _Ohlcv]
    tracking: dict[str, float]
    """ETF -> the day's price per index point (its minute bars are the index's times this)."""


class _LiveWalk:
    """Draws the live days one after another, continuing the scenario from the end of the history."""

    def __init__(self, scenario: str, seed: int, market: _Market) -> None:
        self._plan = _FINALS[scenario]
        self._rng = random.Random(f"{_SEED_TAG}|{seed}|{scenario}|live")
        self._start = {s: market.closes[s][-1] for s in _INDICES}
        self._prev = dict(self._start)
        self._t = 0
        self._w = _Wander(vix_log=math.log(market.closes["^VIX"][-1]), spx_peak=market.spx_peak)

    def next_session(self) -> _Session:
        plan, w, prev = self._plan, self._w, self._prev
        self._t += 1
        t = self._t
        z = _normals(self._rng, 22)

        def toward(start: float, goal: float, pace: float) -> float:
            """Log target: `start` approaching `goal`, closing `pace` of the remaining gap per session."""
            a, b = math.log(start), math.log(goal)
            return b + (a - b) * (1.0 - pace) ** t

        market, own, market_slow, own_slow, rate, fear = z[:6]
        w.rut_fast = 0.85 * w.rut_fast + 0.0085 * (0.8 * market + 0.6 * own)
        w.rut_slow = 0.985 * w.rut_slow + 0.003 * (0.7 * market_slow + 0.714 * own_slow)
        w.spx_fast = 0.85 * w.spx_fast + 0.0065 * market
        w.spx_slow = 0.985 * w.spx_slow + 0.0025 * market_slow
        w.tnx = 0.95 * w.tnx + 0.035 * rate
        rut_lo, rut_hi = plan.rut_live_band
        rut_x = toward(self._start["^RUT"], plan.rut_live_goal, plan.rut_live_pace) + w.rut_fast + w.rut_slow
        rut_x = _soft_band(rut_x, math.log(rut_lo), math.log(rut_hi), 0.015)
        spx_lo, spx_hi = plan.spx_live_band
        spx_x = toward(self._start["^GSPC"], plan.spx_live_goal, 0.01) + w.spx_fast + w.spx_slow
        spx_x = _soft_band(spx_x, math.log(spx_lo), math.log(spx_hi), 0.015)
        tnx_goal = plan.tnx_live_goal + (self._start["^TNX"] - plan.tnx_live_goal) * 0.97**t
        tnx_y = _soft_band(tnx_goal + w.tnx, *_TNX_SOFT)
        # Whatever the scenario's mood, fear (or complacency) fades toward a normal VIX over months.
        vix_base = 17.0 + (plan.vix_live_base - 17.0) * 0.99**t
        vix_x = _vix_step(w, math.exp(spx_x), spx_x - math.log(prev["^GSPC"]), vix_base, fear)
        closes = _to_closes({"^RUT": [rut_x], "^GSPC": [spx_x], "^TNX": [tnx_y], "^VIX": [vix_x]})

        bars: dict[str, _Ohlcv] = {}
        columns: dict[str, _Columns5] = {}
        for k, symbol in enumerate(_INDICES):
            columns[symbol] = _index_columns(
                symbol, prev[symbol], closes[symbol], (1.0,), z[6 + 3 * k : 9 + 3 * k]
            )
        tracking: dict[str, float] = {}
        for k, (etf, (index, ratio)) in enumerate(_ETFS.items()):
            tracking[etf] = _tracking_factor(ratio, z[18 + 2 * k])
            columns[etf] = _etf_columns(
                etf, prev[index], columns[index], (tracking[etf],), z[19 + 2 * k : 20 + 2 * k]
            )
        for symbol, (o, h, lo, c, v) in columns.items():
            bars[symbol] = (o[0], h[0], lo[0], c[0], v[0])
        for symbol in _INDICES:
            prev[symbol] = bars[symbol][3]
        return _Session(bars, tracking)


# ------------------------------------------------------------------ minute bars
@dataclass(frozen=True, slots=True)
class _MinutePath:
    """A session's 390 one-minute bars as columns (09:30 first; ts = the minute's start, epoch UTC)."""

    ts: array[int]
    open: array[float]
    high: array[float]
    low: array[float]
    close: array[float]
    volume: array[float]


def _extreme_minute(rng: random.Random) -> int:
    """When the day's high or low prints (0..388): often in the first or last hour, as on a real tape."""
    u = rng.random()
    if u < 0.35:
        return int(rng.random() * 45)
    if u < 0.55:
        return SESSION_MINUTES - 2 - int(rng.random() * 60)
    return int(rng.random() * (SESSION_MINUTES - 1))


def _minute_closes(bar: _Ohlcv, scale: float, rng: random.Random) -> tuple[list[float], int, int]:
    """Minute closes bridging open -> high and low (in a random order) -> close, inside [low, high],
    with the minutes at which the high and the low print."""
    o, h, lo, c, _ = bar
    n = SESSION_MINUTES
    if h <= lo:  # a session that never moved
        return [c] * n, 0, 1
    # An open at the high (or low) prints it in the first minute; otherwise a random minute before
    # the last (whose close is the day's close).
    at_high = 0 if o >= h else _extreme_minute(rng)
    at_low = 0 if o <= lo else _extreme_minute(rng)
    while at_low == at_high:
        if o <= lo:
            at_high = _extreme_minute(rng)
        else:
            at_low = _extreme_minute(rng)
    anchors = [(-1, o), *sorted([(at_high, h), (at_low, lo)]), (n - 1, c)]
    step = (h - lo) * 0.04
    z = _normals(rng, n + 2)
    closes = [0.0] * n
    for (j0, v0), (j1, v1) in pairwise(anchors):
        # A Brownian bridge: a random walk tilted to end exactly on the next anchor.
        span = j1 - j0
        walk = [0.0] * (span + 1)
        for q in range(1, span + 1):
            walk[q] = walk[q - 1] + step * z[j0 + q + 1]
        end_walk = walk[span]
        for q in range(1, span):
            frac = q / span
            x = v0 + (v1 - v0) * frac + walk[q] - frac * end_walk
            closes[j0 + q] = _quantize(min(h, max(lo, x)), scale)
        closes[j1] = v1
    return closes, at_high, at_low


def _index_minutes(bar: _Ohlcv, scale: float, rng: random.Random, open_ts: int) -> _MinutePath:
    """An index's 390 minute bars that aggregate exactly to `bar` (volume 0.0)."""
    o, h, lo, _c, _ = bar
    closes, at_high, at_low = _minute_closes(bar, scale, rng)
    wick = (h - lo) * 0.02
    z = _normals(rng, 2 * SESSION_MINUTES)
    opens, highs, lows = array("d"), array("d"), array("d")
    prev = o
    for m, cm in enumerate(closes):
        top, bottom = max(prev, cm), min(prev, cm)
        highs.append(h if m == at_high else min(h, _quantize(top + wick * abs(z[2 * m]), scale)))
        lows.append(lo if m == at_low else max(lo, _quantize(bottom - wick * abs(z[2 * m + 1]), scale)))
        opens.append(prev)
        prev = cm
    ts = array("q", range(open_ts, open_ts + 60 * SESSION_MINUTES, 60))
    return _MinutePath(ts, opens, highs, lows, array("d", closes), array("d", [0.0]) * SESSION_MINUTES)


def _volume_by_minute(volume: float, rng: random.Random) -> array[float]:
    """Whole shares per minute summing exactly to `volume`: the intraday U (busy open, quiet lunch,
    busy last half hour) with noise, and the closing cross in the last minute."""
    n = SESSION_MINUTES
    z = _normals(rng, n)
    weights = [(0.55 + 2.0 * ((m - 194.5) / 194.5) ** 2) * math.exp(0.35 * z[m]) for m in range(n)]
    weights[-1] *= 4.0
    total = sum(weights)
    shares = [math.floor(volume * wt / total) for wt in weights]
    shares[-1] += int(volume) - sum(shares)
    return array("d", [float(s) for s in shares])


# ------------------------------------------------------------------ the source
class _Daily:
    """One symbol's closed daily bars, growing as live days close."""

    __slots__ = ("close", "high", "low", "open", "ts", "volume")

    def __init__(self, ts: array[int], columns: _Columns5) -> None:
        self.ts = ts
        # Copies: the generated columns are cached and shared between sources.
        self.open, self.high, self.low, self.close, self.volume = (col[:] for col in columns)

    def append(self, ts: int, bar: _Ohlcv) -> None:
        self.ts.append(ts)
        self.open.append(bar[0])
        self.high.append(bar[1])
        self.low.append(bar[2])
        self.close.append(bar[3])
        self.volume.append(bar[4])

    def series(self, symbol: str, since_ts: int | None) -> BarSeries:
        i = 0 if since_ts is None else bisect_left(self.ts, since_ts)
        return BarSeries(
            symbol,
            Interval.DAILY,
            self.ts[i:],
            self.open[i:],
            self.high[i:],
            self.low[i:],
            self.close[i:],
            self.volume[i:],
            self.close[i:],  # adj_close = close: the demo pays no dividends
        )


class DemoSource:
    """A `MarketDataSource` of generated data that tells one scenario of the breakout thesis.

    The daily history is ready at construction; each `quotes()` call plays one more minute of the
    session (see the module documentation for the story and the clock).
    """

    def __init__(
        self,
        scenario: str = "breakout",
        *,
        today: date | None = None,
        seed: int = 2565,
        tick_seconds: float = 1.0,
    ) -> None:
        """Generate the history (tens of milliseconds) and set the clock to the first live day's open.

        Args:
            scenario: One of `DEMO_SCENARIOS`: "breakout", "bulltrap" or "range".
            today: The first live day is the first weekday on or after this date (default: today's
                local date); the daily history ends on the weekday before it.
            seed: Any integer; the same scenario, seed and today give the same numbers, bit for bit.
            tick_seconds: Real seconds between polls (`next_poll()`); each poll plays one minute.

        Raises:
            ValueError: Unknown scenario, or `tick_seconds` not a positive number.
        """
        if scenario not in DEMO_SCENARIOS:
            raise ValueError(f"unknown demo scenario {scenario!r}: choose one of {', '.join(DEMO_SCENARIOS)}")
        if not (math.isfinite(tick_seconds) and tick_seconds > 0):
            raise ValueError(f"tick_seconds must be a positive number of seconds, got {tick_seconds}")
        self.kind = SourceKind.DEMO
        self.label = f"demo: {scenario}"
        self._scenario = scenario
        self._seed = seed
        self._tick = float(tick_seconds)

        first_live = first_weekday_on_or_after(today if today is not None else date.today())
        days = _weekdays_before(first_live.toordinal(), HISTORY_SESSIONS)
        ts = array("q", [(o - _EPOCH_ORDINAL) * 86400 for o in days])  # = day_ts(date), 00:00 UTC
        columns = _history_columns(scenario, seed)
        self._daily = {s: _Daily(ts[:], columns[s]) for s in DEMO_SYMBOLS}
        self._walk = _LiveWalk(scenario, seed, _generate_market(scenario, seed))
        self._day = first_live
        self._minute = 0
        """Minutes of today's session played (0: before the first tick, 390: at the close)."""
        self._session = self._walk.next_session()
        self._paths: dict[str, _MinutePath] = {}

    # ------------------------------------------------------------------ the simulated clock
    @property
    def scenario(self) -> str:
        return self._scenario

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def trading_day(self) -> date:
        """The simulated session date (New York)."""
        return self._day

    @property
    def minute(self) -> int:
        """Minutes of the current session played: 0 before the first tick, 1 at 09:31, 390 at 16:00."""
        return self._minute

    @property
    def clock(self) -> datetime:
        """The simulated time (aware, UTC): the session date's 09:30 New York plus the minutes played."""
        return _session_open_utc(self._day) + timedelta(minutes=self._minute)

    def advance(self, minutes: int) -> None:
        """Move the simulation `minutes` minutes on, as that many `quotes()` calls would, without
        building quotes (a fast-forward: skipped days are drawn as daily bars only).

        After the 16:00 close (minute 390) the next minute is 09:31 of the next weekday, and the closed
        day joins the daily history.

        Raises:
            ValueError: `minutes` is negative.
        """
        if minutes < 0:
            raise ValueError(f"the demo clock only moves forward, got {minutes} minutes")
        while minutes > 0:
            if self._minute >= SESSION_MINUTES:
                self._close_session()
                self._minute = 1
                minutes -= 1
            else:
                step = min(minutes, SESSION_MINUTES - self._minute)
                self._minute += step
                minutes -= step

    def _close_session(self) -> None:
        """The day just closed joins the history; the next weekday's daily bars are drawn."""
        ts = day_ts(self._day)
        for symbol, daily in self._daily.items():
            daily.append(ts, self._session.bars[symbol])
        self._day = first_weekday_on_or_after(self._day + timedelta(days=1))
        self._session = self._walk.next_session()
        self._paths = {}

    def _path(self, symbol: str) -> _MinutePath:
        """Today's minute bars of `symbol`, drawn on first use from (seed, scenario, symbol, day)."""
        path = self._paths.get(symbol)
        if path is not None:
            return path
        rng = random.Random(f"{_SEED_TAG}|{self._seed}|{self._scenario}|{symbol}|{self._day.isoformat()}")
        if symbol in _ETFS:
            # An ETF moves with its index minute by minute (its daily bar's factor), with its own volume.
            index, _ratio = _ETFS[symbol]
            f = self._session.tracking[symbol]
            ip = self._path(index)

            def scaled(col: array[float]) -> array[float]:
                return array("d", [_quantize(x * f, 100.0) for x in col])

            volume = _volume_by_minute(self._session.bars[symbol][4], rng)
            path = _MinutePath(
                ip.ts, scaled(ip.open), scaled(ip.high), scaled(ip.low), scaled(ip.close), volume
            )
        else:
            open_ts = int(_session_open_utc(self._day).timestamp())
            path = _index_minutes(self._session.bars[symbol], _SCALE[symbol], rng, open_ts)
        self._paths[symbol] = path
        return path

    def _minutes_so_far(self, symbol: str) -> BarSeries:
        p, m = self._path(symbol), self._minute
        return BarSeries(
            symbol, Interval.MINUTE_1, p.ts[:m], p.open[:m], p.high[:m], p.low[:m], p.close[:m], p.volume[:m]
        )

    @staticmethod
    def _unknown(symbol: str) -> SymbolError:
        return SymbolError(symbol, ErrorKind.UNKNOWN_SYMBOL, f"the demo has no data for {symbol}")

    # ------------------------------------------------------------------ MarketDataSource
    async def history(
        self,
        symbols: Sequence[str],
        interval: Interval,
        since: Mapping[str, date | None] | None = None,
    ) -> HistoryResult:
        """Closed daily bars (today's live bar excluded), keyed by `day_ts` of the session date and
        from `since[symbol]` (inclusive) when given; or, for `Interval.MINUTE_1`, today's minute bars so
        far (ts = the minute's start, epoch seconds UTC). Other intervals: NO_DATA. Symbols outside
        `DEMO_SYMBOLS`: UNKNOWN_SYMBOL."""
        bars: dict[str, BarSeries] = {}
        errors: dict[str, SymbolError] = {}
        for symbol in symbols:
            daily = self._daily.get(symbol)
            if daily is None:
                errors[symbol] = self._unknown(symbol)
            elif interval is Interval.DAILY:
                start = since.get(symbol) if since else None
                bars[symbol] = daily.series(symbol, day_ts(start) if start is not None else None)
            elif interval is Interval.MINUTE_1:
                bars[symbol] = self._minutes_so_far(symbol)
            else:
                errors[symbol] = SymbolError(
                    symbol, ErrorKind.NO_DATA, f"the demo has daily and 1-minute bars, not {interval.value}"
                )
        return HistoryResult(bars, errors)

    async def quotes(self, symbols: Sequence[str]) -> QuoteResult:
        """Play one more minute, then quote each symbol at it: the last price, the previous session's
        close, today's open, high, low and volume so far, stamped with the simulated minute (UTC) in
        the regular session; `intraday` holds today's one-minute bars so far."""
        self.advance(1)
        now = self.clock
        m = self._minute
        quotes: dict[str, Quote] = {}
        intraday: dict[str, BarSeries] = {}
        errors: dict[str, SymbolError] = {}
        for symbol in symbols:
            daily = self._daily.get(symbol)
            if daily is None:
                errors[symbol] = self._unknown(symbol)
                continue
            p = self._path(symbol)
            quotes[symbol] = Quote(
                symbol=symbol,
                last=p.close[m - 1],
                prev_close=daily.close[-1],
                day_open=p.open[0],
                day_high=max(p.high[:m]),
                day_low=min(p.low[:m]),
                volume=sum(p.volume[:m]),
                time=now,
                session=MarketSession.REGULAR,
                trading_day=self._day,
            )
            intraday[symbol] = self._minutes_so_far(symbol)
        return QuoteResult(quotes, intraday, errors)

    def session_at(self, now: datetime) -> MarketSession | None:
        """Always REGULAR: the demo market never closes (it skips the nights)."""
        return MarketSession.REGULAR

    def session_event(self, now: datetime) -> SessionEvent | None:
        """None: the demo market never closes."""
        return None

    def next_poll(self, now: datetime) -> float | None:
        """The tick period in seconds: each poll plays one minute."""
        return self._tick

    def history_due(self, now: datetime, last_fetch: datetime | None) -> bool:
        """Always False: closed days reach the app through the quotes (their session bars)."""
        return False

    async def aclose(self) -> None:
        """Nothing to release."""
