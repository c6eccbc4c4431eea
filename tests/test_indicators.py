"""Indicators: TA-Lib's values checked against independent textbook implementations, "n/a" where
history is short, and the state in words."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from fakes.scripted_source import daily_series
from refcalc import random_walk, ref_macd, ref_rsi, ref_sma

from services import indicators as ind
from services.models import Bar, BarSeries, Interval, day_ts

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def series_of(closes: list[float]) -> BarSeries:
    return daily_series("IWM", closes, date(2026, 11, 24))


def test_values_equal_the_textbook_definitions_on_a_long_series() -> None:
    closes = random_walk(900)
    r = ind.compute(series_of(closes))
    assert r is not None
    assert r.sma_50 == pytest.approx(ref_sma(closes, 50), rel=1e-12)
    assert r.sma_200 == pytest.approx(ref_sma(closes, 200), rel=1e-12)
    # Seeding differences of the smoothed averages have decayed to nothing after 900 closes.
    assert r.rsi_14 == pytest.approx(ref_rsi(closes), rel=1e-9)
    macd, signal, _ = ref_macd(closes)
    assert r.macd == pytest.approx(macd, rel=1e-9, abs=1e-9)
    assert r.macd_signal == pytest.approx(signal, rel=1e-9, abs=1e-9)
    assert r.macd_hist == pytest.approx(macd - signal, rel=1e-7, abs=1e-9)
    assert r.close == closes[-1] and r.as_of == date(2026, 11, 24)


def test_last_macd_cross_matches_the_reference() -> None:
    closes = random_walk(400, seed=3)
    r = ind.compute(series_of(closes))
    assert r is not None and r.last_cross is not None
    _, _, diff = ref_macd(closes)
    flips = [i for i in range(1, len(diff)) if (diff[i] > 0) != (diff[i - 1] > 0)]
    last = flips[-1]
    assert r.last_cross.sessions_ago == len(diff) - 1 - last
    assert r.last_cross.bullish is (diff[last] > 0)


@pytest.mark.parametrize(
    ("n", "field", "available"),
    [
        (14, "rsi_14", False),
        (15, "rsi_14", True),
        (49, "sma_50", False),
        (50, "sma_50", True),
        (199, "sma_200", False),
        (200, "sma_200", True),
        (33, "macd_signal", False),
        (34, "macd_signal", True),
    ],
)
def test_short_history_gives_none_never_zero(n: int, field: str, available: bool) -> None:
    r = ind.compute(series_of(random_walk(n)))
    assert r is not None
    value = getattr(r, field)
    assert (value is not None) is available
    if value is not None:
        assert math.isfinite(value)


def test_words_for_short_history_say_na() -> None:
    r = ind.compute(series_of(random_walk(20)))
    assert r is not None
    assert ind.sma_words(r, 50) == "SMA50 n/a"
    assert ind.macd_words(r) == "MACD n/a"
    assert ind.rsi_words(r).startswith("RSI ")


def test_a_nan_bar_never_reaches_talib() -> None:
    # A NaN close would make TA-Lib 0.8's RSI return 0.0 for the rest of the series; the series drops it.
    closes = random_walk(300)
    bars = [Bar(day_ts(date(2020, 1, 1) + timedelta(days=i)), c, c, c, c) for i, c in enumerate(closes)]
    bars[150] = Bar(bars[150].ts, math.nan, math.nan, math.nan, math.nan)
    s = BarSeries.from_bars("IWM", Interval.DAILY, bars)
    assert len(s) == 299
    r = ind.compute(s)
    assert r is not None and r.rsi_14 is not None and 0.0 < r.rsi_14 < 100.0
    without = [c for i, c in enumerate(closes) if i != 150]
    assert r.rsi_14 == pytest.approx(ref_rsi(without), rel=1e-6)


@pytest.mark.parametrize(
    ("rsi", "words"),
    [
        (63.4, "RSI 63 bullish"),
        (72.0, "RSI 72 overbought"),
        (45.0, "RSI 45 bearish"),
        (25.0, "RSI 25 oversold"),
        (49.97, "RSI 49 bearish"),  # truncated: the number shown agrees with the zone
        (69.99, "RSI 69 bullish"),
        (70.0, "RSI 70 overbought"),
    ],
)
def test_rsi_words(rsi: float, words: str) -> None:
    r = ind.IndicatorReadout(date(2026, 1, 2), 100.0, rsi, None, None, None, None, None, None)
    assert ind.rsi_words(r) == words


def test_sma_and_macd_words() -> None:
    r = ind.IndicatorReadout(
        date(2026, 1, 2), 102.1, 60.0, 100.0, 110.0, 1.2, 0.9, 0.3, ind.MacdCross(True, date(2025, 12, 29), 3)
    )
    assert ind.sma_words(r, 50) == "above SMA50 by 2.1 %"
    assert ind.sma_words(r, 200) == "below SMA200 by 7.2 %"
    assert ind.macd_words(r) == "MACD bullish cross 3 days ago"
    old = ind.IndicatorReadout(
        date(2026, 1, 2),
        100.0,
        50.0,
        100.0,
        100.0,
        -1.0,
        -0.5,
        -0.5,
        ind.MacdCross(False, date(2025, 1, 2), 250),
    )
    assert ind.macd_words(old) == "MACD below signal"


def test_real_russell_history_if_available() -> None:
    path = SHARED / "data" / "daily" / "johnvb21-market-simulator" / "^RUT.csv"
    if not path.exists():
        pytest.skip("../shared/data is not available")
    import csv

    with path.open() as f:
        rows = list(csv.DictReader(f))
    closes = [float(r["Close"]) for r in rows]
    bars = [
        Bar(
            day_ts(date.fromisoformat(r["Date"])),
            float(r["Open"]),
            float(r["High"]),
            float(r["Low"]),
            float(r["Close"]),
        )
        for r in rows
    ]
    r = ind.compute(BarSeries.from_bars("^RUT", Interval.DAILY, bars))
    assert r is not None and r.as_of == date(2024, 9, 12)
    assert r.sma_200 == pytest.approx(ref_sma(closes, 200), rel=1e-12)
    assert r.rsi_14 == pytest.approx(ref_rsi(closes), rel=1e-9)
    assert r.macd == pytest.approx(ref_macd(closes)[0], rel=1e-9)
