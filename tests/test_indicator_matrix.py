"""The indicator matrix: daily and weekly values checked against textbook formulas computed here
(numpy/pandas), weekly bars against pandas' W-FRI resampling, the incomplete bar, and "n/a" where
history is short."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes.scripted_source import daily_series
from refcalc import random_walk, ref_macd, ref_rsi

from services import indicator_matrix as im
from services.models import Bar, BarSeries, ErrorKind, Interval, SymbolError, day_ts, ts_day
from services.snapshot import SymbolSnapshot

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "daily"
GOOD_FRIDAY = date(2026, 4, 3)


# ------------------------------------------------------------------ helpers
def weekdays_until(last: date, n: int, skip: frozenset[date] = frozenset()) -> list[date]:
    days: list[date] = []
    d = last
    while len(days) < n:
        if d.weekday() < 5 and d not in skip:
            days.append(d)
        d -= timedelta(days=1)
    return days[::-1]


def ohlc_series(
    symbol: str, n: int, last: date, seed: int = 11, skip: frozenset[date] = frozenset()
) -> BarSeries:
    """Random OHLC bars with real gaps between sessions, so the true range is not just high - low."""
    rng = random.Random(seed)
    bars, prev = [], 2000.0
    for d in weekdays_until(last, n, skip):
        o = prev * math.exp(rng.gauss(0, 0.006))
        c = o * math.exp(rng.gauss(0.0003, 0.01))
        h = max(o, c) * (1 + abs(rng.gauss(0, 0.004)))
        lo = min(o, c) * (1 - abs(rng.gauss(0, 0.004)))
        bars.append(Bar(day_ts(d), o, h, lo, c, rng.uniform(1e6, 2e6)))
        prev = c
    return BarSeries.from_bars(symbol, Interval.DAILY, bars)


def frame_of(series: BarSeries) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open": list(series.open),
            "high": list(series.high),
            "low": list(series.low),
            "close": list(series.close),
            "volume": list(series.volume),
        },
        index=pd.DatetimeIndex([pd.Timestamp(ts_day(t)) for t in series.ts]),
    )


def ref_weekly(series: BarSeries) -> pd.DataFrame:
    """pandas' weeks ending Friday, labelled by their last session (not by the Friday)."""
    df = frame_of(series).assign(day=lambda f: f.index)
    weekly = df.resample("W-FRI").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "day": "last"}
    )
    return weekly.dropna(subset=["close"]).set_index("day")


def ref_wilder_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> float:
    prev = close[:-1]
    tr = np.maximum.reduce([high[1:] - low[1:], np.abs(high[1:] - prev), np.abs(low[1:] - prev)])
    atr = tr[:n].mean()
    for x in tr[n:]:
        atr = (atr * (n - 1) + x) / n
    return float(atr)


def ref_pct_b(close: pd.Series, n: int = 20, k: float = 2.0, ddof: int = 0) -> float:
    mid = close.rolling(n).mean().iloc[-1]
    sd = close.rolling(n).std(ddof=ddof).iloc[-1]
    return float((close.iloc[-1] - (mid - k * sd)) / (2 * k * sd))


def ref_last_cross_index(closes: list[float]) -> int | None:
    """Index (into `closes`) of the last bar on which MACD changed side of its signal line."""
    _, _, diff = ref_macd(closes)
    offset = len(closes) - len(diff)
    flips = [i for i in range(1, len(diff)) if (diff[i] > 0) != (diff[i - 1] > 0)]
    return offset + flips[-1] if flips else None


def snap_of(series: BarSeries, provisional: bool = False, error: SymbolError | None = None) -> SymbolSnapshot:
    return SymbolSnapshot(series.symbol, None, series, None, None, provisional, False, None, error)


def check_against_reference(row: im.FrameRow, bars: pd.DataFrame) -> None:
    closes = list(bars["close"])
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    assert row.close == closes[-1]
    assert row.rsi_14 == pytest.approx(ref_rsi(closes), rel=1e-9)
    assert row.sma_50 == pytest.approx(float(np.mean(close[-50:])), rel=1e-12)
    if len(closes) >= 200:
        assert row.sma_200 == pytest.approx(float(np.mean(close[-200:])), rel=1e-12)
    macd, signal, _ = ref_macd(closes)
    scale = float(np.mean(close[-50:]))
    assert row.macd == pytest.approx(macd, abs=1e-9 * scale)
    assert row.macd_signal == pytest.approx(signal, abs=1e-9 * scale)
    assert row.macd_hist == pytest.approx(macd - signal, abs=1e-9 * scale)
    assert row.bollinger_pct_b == pytest.approx(ref_pct_b(bars["close"]), rel=1e-6)
    assert row.atr_14 == pytest.approx(ref_wilder_atr(high, low, close), rel=1e-9)
    assert row.atr_pct == pytest.approx(row.atr_14 / closes[-1] * 100)  # type: ignore[operator]
    assert row.sma_50_pct == pytest.approx((closes[-1] / float(np.mean(close[-50:])) - 1) * 100, rel=1e-9)
    cross = ref_last_cross_index(closes)
    if cross is None:
        assert row.last_cross is None
    else:
        assert row.last_cross is not None
        assert row.last_cross.day == bars.index[cross].date()
        assert row.last_cross.sessions_ago == len(closes) - 1 - cross
        _, _, diff = ref_macd(closes[: cross + 1])
        assert row.last_cross.bullish is (diff[-1] > 0)


# ------------------------------------------------------------------ values
def test_daily_row_equals_the_textbook_formulas() -> None:
    series = ohlc_series("^RUT", 900, date(2026, 11, 24))
    row = im.frame_row(series, im.Frame.DAILY, incomplete=False)
    assert row is not None
    assert row.frame is im.Frame.DAILY and row.as_of == date(2026, 11, 24) and row.bars == 900
    assert not row.incomplete
    check_against_reference(row, frame_of(series))


def test_weekly_row_equals_the_textbook_formulas_on_pandas_weeks() -> None:
    series = ohlc_series("^RUT", 2500, date(2026, 11, 20), seed=5)
    weekly = ref_weekly(series)
    row = im.frame_row(im.weekly_bars(series), im.Frame.WEEKLY, incomplete=False)
    assert row is not None
    assert row.bars == len(weekly) and row.as_of == date(2026, 11, 20)
    check_against_reference(row, weekly)


def test_bollinger_uses_the_population_deviation_as_talib_does() -> None:
    series = ohlc_series("IWM", 60, date(2026, 11, 24), seed=2)
    row = im.frame_row(series, im.Frame.DAILY, incomplete=False)
    assert row is not None and row.bollinger_pct_b is not None
    closes = frame_of(series)["close"]
    assert row.bollinger_pct_b == pytest.approx(ref_pct_b(closes, ddof=0), rel=1e-9)
    assert row.bollinger_pct_b != pytest.approx(ref_pct_b(closes, ddof=1), rel=1e-6)


def test_pct_b_above_one_over_the_upper_band_and_below_zero_under_the_lower() -> None:
    flat_then_jump = [100.0 + (i % 2) * 0.5 for i in range(40)]
    up = im.frame_row(
        daily_series("IWM", [*flat_then_jump, 110.0], date(2026, 11, 24)), im.Frame.DAILY, False
    )
    down = im.frame_row(
        daily_series("IWM", [*flat_then_jump, 90.0], date(2026, 11, 24)), im.Frame.DAILY, False
    )
    assert up is not None and up.bollinger_pct_b is not None and up.bollinger_pct_b > 1
    assert down is not None and down.bollinger_pct_b is not None and down.bollinger_pct_b < 0


@pytest.mark.parametrize(
    ("n", "field", "available"),
    [
        (14, "rsi_14", False),
        (15, "rsi_14", True),
        (19, "bollinger_pct_b", False),
        (20, "bollinger_pct_b", True),
        (14, "atr_14", False),
        (15, "atr_14", True),
        (33, "macd", False),
        (34, "macd", True),
        (49, "sma_50", False),
        (50, "sma_50", True),
        (199, "sma_200", False),
        (200, "sma_200", True),
    ],
)
def test_short_history_gives_none_with_the_reason(n: int, field: str, available: bool) -> None:
    row = im.frame_row(ohlc_series("SPY", n, date(2026, 11, 24)), im.Frame.DAILY, incomplete=False)
    assert row is not None
    value = getattr(row, field)
    assert (value is not None) is available
    if value is None:
        assert row.unavailable()[field] == f"needs {im.BARS_NEEDED[field]} sessions, has {n}"
    else:
        assert math.isfinite(value) and field not in row.unavailable()


def test_weekly_reasons_count_weeks() -> None:
    series = ohlc_series("IWM", 260, date(2026, 11, 20))  # Friday: 52 whole weeks
    m = im.symbol_matrix(snap_of(series), datetime(2026, 11, 21, tzinfo=UTC))
    daily, weekly = m.rows
    assert weekly.bars == 52 and weekly.sma_50 is not None and weekly.sma_200 is None
    assert weekly.unavailable() == {"sma_200": "needs 200 weeks, has 52"}
    assert daily.unavailable() == {}


def test_flat_closes_have_no_rsi_nor_pct_b_rather_than_zero() -> None:
    row = im.frame_row(daily_series("^VIX", [18.0] * 40, date(2026, 11, 24)), im.Frame.DAILY, False)
    assert row is not None
    assert row.rsi_14 is None and row.bollinger_pct_b is None
    assert row.unavailable()["rsi_14"].startswith("flat")
    assert row.unavailable()["bollinger_pct_b"].startswith("flat")
    assert row.macd == pytest.approx(0.0) and row.last_cross is None


# ------------------------------------------------------------------ weekly bars
def test_a_holiday_week_ends_on_its_last_session() -> None:
    series = ohlc_series("^RUT", 15, date(2026, 4, 10), skip=frozenset({GOOD_FRIDAY}))
    weekly = im.weekly_bars(series)
    ref = ref_weekly(series)
    assert [ts_day(t) for t in weekly.ts] == [d.date() for d in ref.index]
    assert [ts_day(t) for t in weekly.ts][-2:] == [date(2026, 4, 2), date(2026, 4, 10)]  # Good Friday week
    for col in ("open", "high", "low", "close", "volume"):
        assert list(getattr(weekly, col)) == pytest.approx(list(ref[col]), rel=1e-12), col
    holiday_week = [b for b in series if date(2026, 3, 30) <= b.day <= date(2026, 4, 2)]
    week = weekly[-2]
    assert len(holiday_week) == 4
    assert week.open == holiday_week[0].open and week.close == holiday_week[-1].close
    assert week.high == max(b.high for b in holiday_week)
    assert week.low == min(b.low for b in holiday_week)
    assert week.volume == pytest.approx(sum(b.volume for b in holiday_week))


def test_week_ends_on_friday() -> None:
    assert im.week_end(date(2026, 11, 23)) == date(2026, 11, 27)  # Monday
    assert im.week_end(date(2026, 11, 27)) == date(2026, 11, 27)  # Friday
    assert im.week_end(date(2026, 11, 28)) == date(2026, 12, 4)  # Saturday: the next week


def test_the_current_week_is_incomplete_until_its_last_session_closes() -> None:
    wednesday = date(2026, 11, 18)
    series = ohlc_series("IWM", 300, wednesday)
    evening = datetime(2026, 11, 18, 23, 0, tzinfo=UTC)  # 18:00 in New York
    daily, weekly = im.symbol_matrix(snap_of(series), evening).rows
    assert not daily.incomplete and weekly.incomplete
    assert weekly.as_of == wednesday and weekly.close == daily.close
    weekly_ref = ref_weekly(series)
    assert weekly.bars == len(weekly_ref)

    # Today's bar in progress: both frames move.
    daily, weekly = im.symbol_matrix(snap_of(series, provisional=True), evening).rows
    assert daily.incomplete and weekly.incomplete

    # Friday's close in: the week is done.
    friday = ohlc_series("IWM", 300, date(2026, 11, 20))
    _, weekly = im.symbol_matrix(snap_of(friday), datetime(2026, 11, 20, 22, 0, tzinfo=UTC)).rows
    assert not weekly.incomplete

    # Data that stops on Wednesday, seen on Saturday: nothing more can come for that week.
    _, weekly = im.symbol_matrix(snap_of(series), datetime(2026, 11, 21, 15, 0, tzinfo=UTC)).rows
    assert not weekly.incomplete


def test_a_holiday_friday_ends_the_week_on_thursday_with_a_calendar() -> None:
    thursday = date(2026, 4, 2)
    series = ohlc_series("IWM", 100, thursday)
    evening = datetime(2026, 4, 2, 22, 0, tzinfo=UTC)
    _, without = im.symbol_matrix(snap_of(series), evening).rows
    _, with_calendar = im.symbol_matrix(snap_of(series), evening, lambda d: d != GOOD_FRIDAY).rows
    assert without.incomplete  # no calendar: Friday might still trade
    assert not with_calendar.incomplete


# ------------------------------------------------------------------ symbols and the cache key
def test_symbol_without_history_says_why() -> None:
    empty = BarSeries("^TNX", Interval.DAILY)
    as_of = datetime(2026, 11, 24, tzinfo=UTC)
    assert im.symbol_matrix(snap_of(empty), as_of) == im.SymbolMatrix("^TNX", (), "no daily history")
    err = SymbolError("^TNX", ErrorKind.TIMEOUT, "Yahoo did not answer in 10 s")
    assert im.symbol_matrix(snap_of(empty, error=err), as_of).note == "Yahoo did not answer in 10 s"


def test_key_changes_only_with_the_series_the_flag_or_the_day() -> None:
    series = daily_series("IWM", random_walk(300), date(2026, 11, 24))
    t = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    key = im.matrix_key(snap_of(series), t)
    assert im.matrix_key(snap_of(series), t + timedelta(hours=1)) == key
    moved = series.upsert(Bar(series.ts[-1], 250.0, 252.0, 249.0, 251.0))
    assert im.matrix_key(snap_of(moved), t) != key
    assert im.matrix_key(snap_of(series, provisional=True), t) != key
    assert im.matrix_key(snap_of(series), t + timedelta(days=1)) != key


# ------------------------------------------------------------------ real data
def real(dataset: str, symbol: str) -> BarSeries:
    from services.csv_bars import read_bars_csv

    path = SHARED_DATA / dataset / f"{symbol}.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent (real data lives outside the repository)")
    return read_bars_csv(path)[1]


def test_real_russell_daily_and_weekly_match_the_formulas() -> None:
    series = real("johnvb21-market-simulator", "^RUT")
    m = im.symbol_matrix(snap_of(series), datetime(2024, 9, 14, 16, 0, tzinfo=UTC))  # a Saturday
    daily, weekly = m.rows
    assert daily.as_of == weekly.as_of == ts_day(series.ts[-1])
    assert not weekly.incomplete  # the file ends on a Thursday, but Saturday has come
    check_against_reference(daily, frame_of(series))
    ref = ref_weekly(series)
    w = im.weekly_bars(series)
    assert [ts_day(t) for t in w.ts] == [d.date() for d in ref.index]
    assert list(w.close) == list(ref["close"]) and list(w.high) == pytest.approx(list(ref["high"]))
    check_against_reference(weekly, ref)


def test_real_ten_year_yield_with_half_a_year_of_history() -> None:
    series = real("flippe2-blank-app", "^TNX")
    daily, weekly = im.symbol_matrix(snap_of(series), datetime(2026, 3, 8, tzinfo=UTC)).rows
    assert daily.bars == len(series) < 200
    assert (
        daily.sma_200 is None and daily.unavailable()["sma_200"] == f"needs 200 sessions, has {len(series)}"
    )
    assert daily.sma_50 == pytest.approx(float(np.mean(list(series.close)[-50:])), rel=1e-12)
    assert daily.atr_14 is not None and 0 < daily.atr_14 < 0.5  # percentage points of yield
    assert weekly.sma_50 is None and weekly.rsi_14 is not None
