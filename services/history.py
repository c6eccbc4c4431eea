"""Calendar-year returns of small caps against large caps: view 5 and `breakout-monitor history`.

The pair is the Russell 2000 against the S&P 500: the indices (^RUT, ^GSPC: price returns, the
indices pay nothing out) when both have data, otherwise their ETFs (IWM, SPY: total returns, dividends
reinvested through Yahoo's adjusted close).

How a year is measured (`year_returns`):

- Both series are aligned on the dates they have in common; a day one of them lacks is left out of both.
- A year's return is its last close over the last close of the year before, minus one, in percent
  (45.37 means +45.37 %).
- A year is *partial* when it does not span a whole calendar year of sessions:
  - at its start, when there is no close of the previous year in the data (the first year), or that
    close is not on the previous year's last session; it is then measured from its own first close;
  - at its end, when its last close is before the year's last session, or is today's unfinished bar.
- "The last session of a year" is the last weekday on or before 31 December: the NYSE has traded on
  that day every year since 1990 (a simple rule instead of an exchange calendar; a file missing that
  day makes the year partial, which is what a user should be told).
- A year with a single common close and no previous one has nothing to measure and is left out.

Total basis (`Basis.TOTAL`): the level of each series is its adjusted close, chained by the plain close
change over bars without one (today's live bar built from a quote, or files without an `Adj Close`
column: yfinance's default `auto_adjust=True` CSVs, whose closes are already dividend-adjusted).
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services import formatting as fmt
from services.models import BarSeries, day_ts, ts_day
from services.snapshot import SymbolSnapshot

__all__ = [
    "PAIRS",
    "Basis",
    "Pair",
    "YearHistory",
    "YearReturn",
    "compare_years",
    "history_from_snapshot",
    "last_session_of_year",
    "partial_note",
    "render_text",
    "year_returns",
]

JSON_DECIMALS = 2
"""Returns in the JSON are percent rounded to cents of a percent: 45.37, not 45.3699981."""


class Basis(enum.StrEnum):
    PRICE = "price"
    """Close to close: what an index quotes."""
    TOTAL = "total"
    """Dividends reinvested (adjusted closes): what an ETF holder earned."""


@dataclass(frozen=True, slots=True)
class Pair:
    small: str
    large: str
    basis: Basis


PAIRS = (Pair("^RUT", "^GSPC", Basis.PRICE), Pair("IWM", "SPY", Basis.TOTAL))
"""In order of preference: the indices when both have data, else the ETFs."""


def _rounded(pct: float) -> float:
    # + 0.0 turns a rounded -0.0 (^GSPC in 2011: -0.003 %) into 0.0.
    return round(pct, JSON_DECIMALS) + 0.0


@dataclass(frozen=True, slots=True)
class YearReturn:
    """One calendar year of the pair, returns in percent (45.37 means +45.37 %)."""

    year: int
    small: float
    large: float
    small_symbol: str
    large_symbol: str
    basis: Basis
    partial: bool
    """True when the year is not measured from the previous year's last session to its own last
    session (see the module doc): the first year of the data, or the year in progress."""
    start: date
    """The date of the close the year is measured from (the previous year's last close when not partial)."""
    end: date
    """The date of the year's last close in the data."""

    @property
    def spread(self) -> float:
        """Small minus large, in percentage points."""
        return self.small - self.large

    @property
    def small_led(self) -> bool:
        """Small caps did better than large caps over the year (a tie is not a lead)."""
        return self.spread > 0

    def as_json(self) -> dict[str, Any]:
        """The `history --json` record (its shape is a stable interface)."""
        return {
            "year": self.year,
            "small": _rounded(self.small),
            "large": _rounded(self.large),
            "spread": _rounded(self.spread),
            "small_symbol": self.small_symbol,
            "large_symbol": self.large_symbol,
            "basis": self.basis.value,
            "partial": self.partial,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class YearHistory:
    """What view 5 and `history` show: the pair used and its years, oldest first."""

    pair: Pair
    """The pair measured (the preferred one when neither had data)."""
    years: tuple[YearReturn, ...]
    note: str | None = None
    """Why there are no years (which symbol is missing), or None."""

    @property
    def full_years(self) -> list[YearReturn]:
        return [y for y in self.years if not y.partial]

    @property
    def led_count(self) -> int:
        """Full years in which small caps led (partial years are not counted)."""
        return sum(1 for y in self.full_years if y.small_led)

    def summary(self) -> str:
        """E.g. "small caps led in 18 of 33 full years"."""
        n = len(self.full_years)
        if n == 0:
            return "no full calendar year in the data"
        return f"small caps led in {self.led_count} of {n} full year{'s' if n != 1 else ''}"

    def describe_pair(self) -> str:
        """E.g. "^RUT vs ^GSPC, price returns"."""
        p = self.pair
        return f"{p.small} vs {p.large}, {p.basis.value} returns"


def last_session_of_year(year: int) -> date:
    """The last weekday on or before 31 December (the NYSE's last session of every year since 1990)."""
    d = date(year, 12, 31)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def _levels(series: BarSeries, basis: Basis) -> list[float]:
    """One level per bar whose ratios are the returns: closes, or adjusted closes chained (see module doc)."""
    close = series.close
    if basis is Basis.PRICE:
        return list(close)
    adj = series.adj_close
    if all(math.isfinite(a) for a in adj):
        return list(adj)
    out: list[float] = []
    for i in range(len(close)):
        if i == 0:
            out.append(adj[0] if math.isfinite(adj[0]) else close[0])
        elif math.isfinite(adj[i]) and math.isfinite(adj[i - 1]):
            out.append(out[-1] * adj[i] / adj[i - 1])
        else:
            out.append(out[-1] * close[i] / close[i - 1])
    return out


def year_returns(
    small: BarSeries, large: BarSeries, basis: Basis, *, in_progress: bool = False
) -> list[YearReturn]:
    """Calendar-year returns of `small` and `large` on their common dates, oldest first.

    Args:
        small: Daily bars of the small-cap series (oldest first, as BarSeries keeps them).
        large: Daily bars of the large-cap series.
        basis: PRICE uses closes; TOTAL uses adjusted closes (see the module doc).
        in_progress: The newest bar is today's unfinished session: its year is partial whatever its date.

    Returns:
        One `YearReturn` per calendar year with something to measure (see the module doc for the
        definition of a year's return and of a partial year). Empty when the series share no date.
    """
    small_at = dict(zip(small.ts, _levels(small, basis), strict=True))
    large_at = dict(zip(large.ts, _levels(large, basis), strict=True))
    common = sorted(small_at.keys() & large_at.keys())
    if not common:
        return []
    out: list[YearReturn] = []
    last = len(common) - 1
    # Year boundaries by bisection: a few dozen lookups instead of a date per bar (~9,000 since 1990).
    for year in range(ts_day(common[0]).year, ts_day(common[-1]).year + 1):
        i = bisect_left(common, day_ts(date(year, 1, 1)))
        j = bisect_left(common, day_ts(date(year + 1, 1, 1))) - 1
        if j < i:
            continue  # no common date in this year
        end_ts = common[j]
        end_day = ts_day(end_ts)
        prev_day = ts_day(common[i - 1]) if i > 0 else None
        if prev_day is not None and prev_day.year == year - 1:
            base_ts = common[i - 1]
            full_start = prev_day >= last_session_of_year(year - 1)
        else:
            base_ts, full_start = common[i], False
        if base_ts == end_ts:
            continue  # a lone first close: nothing to measure
        full_end = end_day >= last_session_of_year(year) and not (in_progress and j == last)
        out.append(
            YearReturn(
                year=year,
                small=(small_at[end_ts] / small_at[base_ts] - 1.0) * 100.0,
                large=(large_at[end_ts] / large_at[base_ts] - 1.0) * 100.0,
                small_symbol=small.symbol,
                large_symbol=large.symbol,
                basis=basis,
                partial=not (full_start and full_end),
                start=ts_day(base_ts),
                end=end_day,
            )
        )
    return out


def compare_years(
    daily: Mapping[str, BarSeries],
    *,
    in_progress: frozenset[str] = frozenset(),
    reasons: Mapping[str, str] | None = None,
) -> YearHistory:
    """The years of the first pair of `PAIRS` with a full calendar year in common (else the first
    pair with any dates in common): ^RUT/^GSPC with only months of data gives way to IWM/SPY's years.

    Args:
        daily: Daily bars by symbol; symbols absent or empty count as missing.
        in_progress: Symbols whose newest bar is today's unfinished session.
        reasons: Why a symbol has no bars (the source's error message), for the note.

    Returns:
        The history; when no pair can be measured its `years` is empty and `note` names what is
        missing, e.g. "needs ^RUT/^GSPC or IWM/SPY; missing: ^GSPC (not watched), SPY (no daily data)".
    """
    missing: list[str] = []
    partial_only: YearHistory | None = None
    for pair in PAIRS:
        small, large = daily.get(pair.small), daily.get(pair.large)
        if small is None or large is None or not small or not large:
            for sym, series in ((pair.small, small), (pair.large, large)):
                if series is None:
                    missing.append(f"{sym} (not watched)")
                elif not series:
                    why = (reasons or {}).get(sym)
                    missing.append(f"{sym} (no daily data{': ' + why if why else ''})")
            continue
        live = pair.small in in_progress or pair.large in in_progress
        years = year_returns(small, large, pair.basis, in_progress=live)
        if any(not y.partial for y in years):
            return YearHistory(pair, tuple(years))
        if years:
            partial_only = partial_only or YearHistory(pair, tuple(years))
            continue
        missing.append(f"{pair.small} and {pair.large} (no dates in common)")
    if partial_only is not None:
        return partial_only
    names = " or ".join(f"{p.small}/{p.large}" for p in PAIRS)
    note = f"needs {names}; missing: " + ", ".join(missing)
    return YearHistory(PAIRS[0], (), note)


def history_from_snapshot(symbols: Mapping[str, SymbolSnapshot], *, include_live: bool = True) -> YearHistory:
    """The history of a snapshot's symbols (`Snapshot.symbols`).

    Args:
        symbols: The snapshot's symbols; the pairs' symbols absent from it count as missing.
        include_live: Keep today's in-progress bar (the year to date moves with the live price; its
            year is partial). False leaves it out: completed sessions only.
    """
    daily: dict[str, BarSeries] = {}
    live: set[str] = set()
    reasons: dict[str, str] = {}
    wanted = {s for p in PAIRS for s in (p.small, p.large)}
    for sym, snap in symbols.items():
        if sym not in wanted:
            continue
        series = snap.daily
        if snap.error is not None:
            reasons[sym] = snap.error.message
        if snap.provisional and series:
            if include_live:
                live.add(sym)
            else:
                series = series.until(series.ts[-1] - 1)
        daily[sym] = series
    return compare_years(daily, in_progress=frozenset(live), reasons=reasons)


def partial_note(y: YearReturn) -> str:
    """Where a partial year is measured, e.g. "from 1990-01-02" or "to 2024-09-12" ("" for a full year)."""
    if not y.partial:
        return ""
    parts = []
    if y.start.year == y.year or y.start < last_session_of_year(y.year - 1):
        parts.append(f"from {y.start.isoformat()}")
    if y.end < last_session_of_year(y.year):
        parts.append(f"to {y.end.isoformat()}")
    # Neither: the year ends on its last session, which is today's unfinished bar.
    return " ".join(parts) or f"to {y.end.isoformat()} (live)"


def render_text(history: YearHistory) -> str:
    """The `history` table as plain text: one line per year, oldest first, a header naming the pair."""
    if not history.years:
        return f"breakout-monitor history\n{history.note or 'no years to show'}"
    out = [f"breakout-monitor history | {history.describe_pair()} | {history.summary()}"]
    p = history.pair
    out.append(f"{'year':<6}{p.small:>9}{p.large:>9}{'spread':>9}  led")
    for y in history.years:
        year = f"{y.year}{'*' if y.partial else ''}"
        led = "small" if y.small_led else ""
        line = f"{year:<6}{fmt.signed(y.small):>9}{fmt.signed(y.large):>9}{fmt.signed(y.spread):>9}  {led:<5}"
        note = partial_note(y)
        out.append(f"{line}  {note}".rstrip())
    out.append(
        f"returns in percent ({p.basis.value}), each year from the last close of the year before; "
        "* partial year; led: small caps beat large caps"
    )
    return "\n".join(out)
