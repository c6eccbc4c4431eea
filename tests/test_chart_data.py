"""The chart's data (view 2), without Textual or plotext: which bars each time frame shows, the weekly
resampling and the SMA overlay checked against pandas, the breakout lines in index points and in the
ETF's price, volume only for ETFs, panning, and the fitting to a plot's size."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fakes.scripted_source import daily_series

from services.breakout import BreakoutRules
from services.chart_data import (
    VOLUME_MIN_ROWS,
    WINDOW_BARS,
    BarPeriod,
    ChartFrame,
    ChartStyle,
    LevelKind,
    LevelSpec,
    TimeFrame,
    build_frame,
    chart_key,
    layout,
    level_spec,
    nice_ticks,
    pan_step,
)
from services.csv_bars import read_bars_csv
from services.engine import EngineInputs, build_report, choose_watched, run_timeline
from services.models import Bar, BarSeries, Interval, SourceKind, day_ts, ts_day
from services.snapshot import FeedStatus, Snapshot, SymbolSnapshot

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "daily"
LAST_DAY = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
RULES = BreakoutRules()


@dataclass
class Source:
    """What the chart reads of a symbol (SymbolSnapshot has the same fields)."""

    symbol: str
    daily: BarSeries
    intraday: BarSeries | None = None
    provisional: bool = False


def sessions(n: int, last: date = LAST_DAY, seed: int = 3) -> list[date]:
    """`n` weekdays ending on `last`, about one in 25 left out (holidays), so some weeks are short."""
    rng = random.Random(seed)
    out: list[date] = []
    d = last
    while len(out) < n:
        if d.weekday() < 5 and (d == last or rng.random() > 0.04):
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def random_bars(symbol: str, n: int, start: float = 200.0, seed: int = 3) -> BarSeries:
    rng = random.Random(seed)
    bars, prev = [], start
    for d in sessions(n, seed=seed):
        close = prev * math.exp(rng.gauss(0.0003, 0.013))
        high = max(prev, close) * (1 + rng.random() * 0.01)
        low = min(prev, close) * (1 - rng.random() * 0.01)
        bars.append(Bar(day_ts(d), prev, high, low, close, rng.uniform(1e6, 5e6)))
        prev = close
    return BarSeries.from_bars(symbol, Interval.DAILY, bars)


def frame_of(series: BarSeries, tf: TimeFrame, pan: int = 0, spec: LevelSpec | None = None) -> ChartFrame:
    return build_frame(Source(series.symbol, series), tf, pan, spec)


def as_frame(series: BarSeries) -> pd.DataFrame:
    """The series as pandas sees it: a row per session, indexed by date."""
    idx = pd.DatetimeIndex([pd.Timestamp(ts_day(t)) for t in series.ts])
    return pd.DataFrame(
        {
            "open": list(series.open),
            "high": list(series.high),
            "low": list(series.low),
            "close": list(series.close),
            "volume": list(series.volume),
        },
        index=idx,
    )


# ---------------------------------------------------------------------- frames
@pytest.mark.parametrize("tf", [TimeFrame.D5, TimeFrame.M1, TimeFrame.M6, TimeFrame.Y1])
def test_daily_frames_show_the_last_sessions(tf: TimeFrame) -> None:
    s = random_bars("IWM", 1500)
    f = frame_of(s, tf)
    n = {TimeFrame.D5: 5, TimeFrame.M1: 21, TimeFrame.M6: 126, TimeFrame.Y1: 252}[tf]
    assert f.period is BarPeriod.DAY and len(f) == n
    assert f.ts == tuple(s.ts[-n:]) and f.close == tuple(s.close[-n:]) and f.high == tuple(s.high[-n:])
    assert f.reason is None and f.pan == 0 and f.max_pan == 1500 - n


def test_frames_cycle_in_order_with_their_labels() -> None:
    seen, tf = [], TimeFrame.D1
    for _ in range(7):
        seen.append(tf.label)
        tf = tf.next()
    assert seen == ["1D", "5D", "1M", "6M", "1Y", "5Y", "1D"]
    assert ChartStyle.CANDLES.toggled() is ChartStyle.LINE and ChartStyle.LINE.toggled() is ChartStyle.CANDLES


def weekly_by_pandas(series: BarSeries) -> pd.DataFrame:
    df = as_frame(series)
    df["first_day"] = df.index
    weeks = df.resample("W-FRI").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "first_day": "first"}
    )
    return weeks.dropna(subset=["close"])


def assert_weekly_matches(f: ChartFrame, expected: pd.DataFrame) -> None:
    assert len(f) == len(expected)
    assert [ts_day(t) for t in f.ts] == [d.date() for d in expected["first_day"]]
    for col, got in (("open", f.open), ("high", f.high), ("low", f.low), ("close", f.close)):
        assert got == pytest.approx(list(expected[col]), rel=1e-12), col
    if f.volume is not None:
        assert f.volume == pytest.approx(list(expected["volume"]), rel=1e-12)


def test_five_years_are_weekly_bars_as_pandas_resamples_them() -> None:
    s = random_bars("IWM", 1500)  # with holiday-short weeks
    f = frame_of(s, TimeFrame.Y5)
    assert f.period is BarPeriod.WEEK and len(f) == WINDOW_BARS[TimeFrame.Y5] == 260
    assert_weekly_matches(f, weekly_by_pandas(s).tail(260))
    # The last week holds the latest session's close.
    assert f.close[-1] == s.close[-1]


@pytest.mark.skipif(not (DATA / "johnvb21-market-simulator").is_dir(), reason="shared data not present")
def test_weekly_bars_of_real_iwm_match_pandas() -> None:
    _, iwm = read_bars_csv(DATA / "johnvb21-market-simulator" / "IWM.csv")
    f = frame_of(iwm, TimeFrame.Y5)
    assert_weekly_matches(f, weekly_by_pandas(iwm).tail(260))
    older = frame_of(iwm, TimeFrame.Y5, pan=300)
    assert_weekly_matches(older, weekly_by_pandas(iwm).iloc[-560:-300])


def test_sma_overlay_is_right_at_the_left_edge() -> None:
    s = random_bars("IWM", 700)
    closes = pd.Series(list(s.close))
    sma50, sma200 = closes.rolling(50).mean(), closes.rolling(200).mean()
    f = frame_of(s, TimeFrame.Y1)
    first = len(s) - 252
    assert f.sma_fast is not None and f.sma_slow is not None
    assert f.sma_fast[0] == pytest.approx(sma50[first], rel=1e-9)
    assert f.sma_slow[0] == pytest.approx(sma200[first], rel=1e-9)
    assert f.sma_fast[-1] == pytest.approx(sma50.iloc[-1], rel=1e-9)
    assert f.sma_slow[-1] == pytest.approx(sma200.iloc[-1], rel=1e-9)
    # Panned back, the overlay is still the full history's.
    back = frame_of(s, TimeFrame.M1, pan=100)
    assert back.sma_slow is not None
    assert back.sma_slow[0] == pytest.approx(sma200[len(s) - 121], rel=1e-9)


def test_weekly_sma_is_the_daily_sma_at_each_weeks_last_session() -> None:
    s = random_bars("IWM", 1500)
    df = as_frame(s)
    df["sma50"] = df["close"].rolling(50).mean()
    expected = df["sma50"].resample("W-FRI").last().dropna().tail(260)
    f = frame_of(s, TimeFrame.Y5)
    assert f.sma_fast is not None
    assert [v for v in f.sma_fast] == pytest.approx(list(expected), rel=1e-9)


def test_short_history_has_no_sma_where_it_cannot_be_computed() -> None:
    s = random_bars("IWM", 120)
    f = frame_of(s, TimeFrame.Y1)  # the whole history: 120 sessions
    assert len(f) == 120 and f.max_pan == 0
    assert f.sma_slow == (None,) * 120
    assert f.sma_fast is not None
    assert f.sma_fast[:49] == (None,) * 49
    assert f.sma_fast[49] == pytest.approx(sum(s.close[:50]) / 50, rel=1e-12)


def test_one_day_is_todays_intraday_bars_or_a_reason() -> None:
    s = random_bars("IWM", 300)
    f = build_frame(Source("IWM", s, None), TimeFrame.D1)
    assert not f.ts and f.reason is not None and "no intraday bars for IWM" in f.reason
    start = int(datetime(2026, 11, 20, 14, 30, tzinfo=UTC).timestamp())
    intraday = BarSeries.from_bars(
        "IWM",
        Interval.MINUTE_5,
        [Bar(start + 300 * i, 240.0, 241.0, 239.0, 240.0 + i / 10, 1e4) for i in range(30)],
    )
    f = build_frame(Source("IWM", s, intraday), TimeFrame.D1)
    assert f.period is BarPeriod.MIN5 and f.ts == tuple(intraday.ts) and f.close == tuple(intraday.close)
    assert f.sma_fast is None and f.sma_slow is None  # a 50-day average is not a 5-minute series
    assert f.max_pan == 0 and build_frame(Source("IWM", s, intraday), TimeFrame.D1, pan=5).pan == 0
    # With only today's intraday bars, 5D is the last five daily bars.
    five = build_frame(Source("IWM", s, intraday), TimeFrame.D5)
    assert five.period is BarPeriod.DAY and five.ts == tuple(s.ts[-5:])


def test_five_days_from_intraday_bars_when_they_span_several_sessions() -> None:
    s = random_bars("IWM", 300)
    bars = []
    for day in range(7):  # 7 sessions of 5-minute bars, 14:30-20:55 UTC (09:30-15:55 in New York)
        start = int(datetime(2026, 11, 10 + day, 14, 30, tzinfo=UTC).timestamp())
        bars += [Bar(start + 300 * i, 240.0, 241.0, 239.0, 240.0, 1e4) for i in range(78)]
    intraday = BarSeries.from_bars("IWM", Interval.MINUTE_5, bars)
    f = build_frame(Source("IWM", s, intraday), TimeFrame.D5)
    days = sorted({datetime.fromtimestamp(t, UTC).date() for t in f.ts})
    assert days == [date(2026, 11, d) for d in range(12, 17)] and len(f) == 5 * 78
    assert f.period is BarPeriod.MIN5


# ---------------------------------------------------------------------- levels, range band, volume
def snapshot_with_report(rut: BarSeries, iwm: BarSeries) -> Snapshot:
    watched = choose_watched(RULES, rut, iwm, False)
    timeline = run_timeline(rut, watched.rules, etf=iwm, index=rut)
    inputs = EngineInputs(watched=rut, watched_readout=None, etf=iwm, index=rut)
    report = build_report(inputs, watched, timeline.assessment, timeline)
    status = FeedStatus(SourceKind.DEMO, "scripted", None, None, None, False, None)
    symbols = {
        s.symbol: SymbolSnapshot(s.symbol, None, s, None, None, False, False, None, None) for s in (rut, iwm)
    }
    return Snapshot(
        NOW, status, symbols, timeline.assessment, proxy=("IWM", watched.etf_ratio), report=report
    )


def kinds(f: ChartFrame, *which: LevelKind) -> list[float]:
    return [lv.value for lv in f.levels if lv.kind in which]


def test_levels_in_index_points_and_in_the_etf_price_by_the_snapshots_ratio() -> None:
    rut = daily_series("^RUT", [2400.0 + i for i in range(300)], LAST_DAY)
    iwm = daily_series("IWM", [250.0 + i * 0.05 for i in range(300)], LAST_DAY)
    spy = daily_series("SPY", [600.0 + i for i in range(300)], LAST_DAY)
    snap = snapshot_with_report(rut, iwm)
    spec = level_spec(RULES, snap)
    ratio = iwm.close[-1] / rut.close[-1]  # the latest common close
    assert spec.ratio == pytest.approx(ratio, rel=1e-12)
    on_rut = frame_of(rut, TimeFrame.Y1, spec=spec)
    assert kinds(on_rut, LevelKind.LEVEL) == [2565.0]
    assert kinds(on_rut, LevelKind.TARGET) == [2600.0, 3000.0]
    assert "level 2,565" in [lv.label for lv in on_rut.levels] and on_rut.levels_note is None
    on_iwm = frame_of(iwm, TimeFrame.Y1, spec=spec)
    assert kinds(on_iwm, LevelKind.LEVEL) == pytest.approx([2565.0 * ratio], rel=1e-12)
    assert kinds(on_iwm, LevelKind.TARGET) == pytest.approx([2600.0 * ratio, 3000.0 * ratio], rel=1e-12)
    assert f"level {2565.0 * ratio:,.2f}" in [lv.label for lv in on_iwm.levels]
    assert on_iwm.levels_note == f"^RUT levels x {ratio:.4f}"
    # Not on SPY: the breakout is the Russell's.
    on_spy = frame_of(spy, TimeFrame.Y1, spec=spec)
    assert kinds(on_spy, LevelKind.LEVEL, LevelKind.TARGET) == []


def test_ratio_falls_back_to_the_panel_proxy_then_the_configured_one() -> None:
    status = FeedStatus(SourceKind.DEMO, "scripted", None, None, None, False, None)
    with_proxy = Snapshot(NOW, status, {}, None, proxy=("IWM", 0.1))
    assert level_spec(RULES, with_proxy).ratio == 0.1
    assert level_spec(RULES, Snapshot(NOW, status, {}, None)).ratio == RULES.iwm_per_rut
    assert level_spec(RULES).ratio == RULES.iwm_per_rut
    custom = replace(RULES, level=2700.0, targets=(2800.0,))
    assert level_spec(custom).level == 2700.0 and level_spec(custom).targets == (2800.0,)


def test_range_band_is_the_high_and_low_of_completed_closes_over_five_years() -> None:
    s = random_bars("IWM", 1500)
    df = as_frame(s)
    start = pd.Timestamp(ts_day(s.ts[-1]).replace(year=ts_day(s.ts[-1]).year - 5))
    window = df[df.index >= start]["close"]
    f = frame_of(s, TimeFrame.M1, spec=level_spec(RULES))
    assert kinds(f, LevelKind.RANGE_HIGH) == [window.max()]
    assert kinds(f, LevelKind.RANGE_LOW) == [window.min()]
    # Today's bar, still in progress, is not a close yet.
    spiked = s.upsert(Bar(s.ts[-1] + 86400 * 3, 1.0, 9999.0, 1.0, 9999.0, 1e6))
    live = build_frame(Source("IWM", spiked, None, provisional=True), TimeFrame.M1)
    assert kinds(live, LevelKind.RANGE_HIGH) == [window.max()]


def test_volume_only_for_etfs() -> None:
    rut = random_bars("^RUT", 300, start=2400.0)
    iwm = random_bars("IWM", 300)
    assert frame_of(rut, TimeFrame.Y1).volume is None  # index volume is meaningless
    f = frame_of(iwm, TimeFrame.Y1)
    assert f.volume == tuple(iwm.volume[-252:])
    no_volume = BarSeries("SPY", Interval.DAILY, iwm.ts, iwm.open, iwm.high, iwm.low, iwm.close)
    assert frame_of(no_volume, TimeFrame.Y1).volume is None


# ---------------------------------------------------------------------- panning and the key
def test_pan_is_clamped_to_the_history() -> None:
    s = random_bars("IWM", 300)
    assert frame_of(s, TimeFrame.M1, pan=-7).pan == 0
    oldest = frame_of(s, TimeFrame.M1, pan=10_000)
    assert oldest.pan == oldest.max_pan == 300 - 21
    assert oldest.ts == tuple(s.ts[:21])
    some = frame_of(s, TimeFrame.M1, pan=pan_step(TimeFrame.M1))
    assert some.ts == tuple(s.ts[-21 - 5 : -5])
    assert pan_step(TimeFrame.M1) == 5 and pan_step(TimeFrame.Y1) == 63 and pan_step(TimeFrame.D5) == 1
    short = frame_of(random_bars("IWM", 100), TimeFrame.Y1, pan=3)
    assert short.pan == short.max_pan == 0 and len(short) == 100


def test_key_changes_with_what_is_drawn_only() -> None:
    s = random_bars("IWM", 300)
    src = Source("IWM", s)
    spec = level_spec(RULES)
    key = chart_key(src, TimeFrame.Y1, 0, spec)
    assert key == chart_key(Source("IWM", random_bars("IWM", 300)), TimeFrame.Y1, 0, level_spec(RULES))
    assert frame_of(s, TimeFrame.Y1, spec=spec).key == key
    assert chart_key(src, TimeFrame.M6, 0, spec) != key
    assert chart_key(src, TimeFrame.Y1, 1, spec) != key
    moved = s.upsert(replace(s[-1], close=s[-1].close + 0.01))
    assert chart_key(Source("IWM", moved), TimeFrame.Y1, 0, spec) != key
    assert chart_key(src, TimeFrame.Y1, 0, replace(spec, ratio=0.2)) != key


# ---------------------------------------------------------------------- fitting to a plot
@pytest.mark.parametrize("size", [(118, 32), (78, 16)])
def test_candles_are_coarsened_to_fit_one_per_column(size: tuple[int, int]) -> None:
    s = random_bars("IWM", 1500)
    f = frame_of(s, TimeFrame.Y1)
    lay = layout(f, ChartStyle.CANDLES, *size)
    assert lay is not None
    assert lay.period is BarPeriod.WEEK and len(lay.ts) <= lay.canvas[0] - 1
    expected = weekly_by_pandas(s.tail(252))
    assert lay.close == pytest.approx(list(expected["close"]), rel=1e-12)
    assert lay.high == pytest.approx(list(expected["high"]), rel=1e-12)
    # A line keeps every session.
    line = layout(f, ChartStyle.LINE, *size)
    assert line is not None and line.period is BarPeriod.DAY and line.close == f.close
    # Volume only where its strip is legible.
    assert (lay.volume is not None) is (size[1] - 3 >= VOLUME_MIN_ROWS)


def test_date_labels_are_months_with_the_year_at_january_and_never_crowd() -> None:
    s = random_bars("IWM", 600)
    lay = layout(frame_of(s, TimeFrame.Y1), ChartStyle.LINE, 118, 32)
    assert lay is not None
    days = [ts_day(lay.ts[i]) for i in lay.xticks]
    for d, label in zip(days, lay.xlabels, strict=True):
        prev = ts_day(lay.ts[lay.ts.index(day_ts(d)) - 1])
        assert prev.month != d.month  # the first session of its month
        assert label == (str(d.year) if d.month == 1 else d.strftime("%b"))
    assert "2026" in lay.xlabels
    cols = lay.canvas[0]
    positions = [(i + 0.5) / len(lay.ts) * cols for i in lay.xticks]
    for (a, la), (b, lb) in zip(
        zip(positions, lay.xlabels, strict=True),
        list(zip(positions, lay.xlabels, strict=True))[1:],
        strict=False,
    ):
        assert b - a >= (len(la) + len(lb)) / 2 + 1


def test_levels_far_from_the_bars_are_named_instead_of_squashing_them() -> None:
    iwm = daily_series("IWM", [200.0 + i * 0.01 for i in range(300)], LAST_DAY)  # 202.99 at the end
    spec = replace(level_spec(RULES), ratio=0.08)  # level 205.20, targets 208.00 and 240.00
    lay = layout(frame_of(iwm, TimeFrame.M1, spec=spec), ChartStyle.CANDLES, 118, 32)
    assert lay is not None
    drawn = {lv.label for lv in lay.lines if lv.kind in (LevelKind.LEVEL, LevelKind.TARGET)}
    assert drawn == set()  # the month spans 0.2: the rule's lines are all far
    texts = " ".join(label.text for label in lay.labels)
    assert "▲ level 205.20 +1.1 %" in texts and "target 240.00 +18.2 %" in texts
    # A year of candles spans about 200.3-203.2: a level 0.7 above it is brought on the chart.
    near = replace(spec, ratio=203.9 / 2565.0)
    year = layout(frame_of(iwm, TimeFrame.Y1, spec=near), ChartStyle.CANDLES, 118, 32)
    assert year is not None
    assert "level 203.90" in {lv.label for lv in year.lines}
    assert year.ylim[1] > 203.9
    assert "level 203.90" in " ".join(label.text for label in year.labels)


def test_price_ticks_are_round_numbers_with_the_decimals_they_need() -> None:
    assert nice_ticks(2412.0, 2588.0, 4) == ((2450.0, 2500.0, 2550.0), ("2,450", "2,500", "2,550"))
    assert nice_ticks(4.01, 4.37, 4) == ((4.1, 4.2, 4.3), ("4.1", "4.2", "4.3"))
    assert nice_ticks(250.2, 259.9, 4) == ((252.5, 255.0, 257.5), ("252.5", "255.0", "257.5"))
    assert nice_ticks(1.0, 1.0, 4) == ((), ())


def test_layout_is_deterministic_and_none_when_too_small_or_empty() -> None:
    s = random_bars("IWM", 600)
    f = frame_of(s, TimeFrame.Y1, spec=level_spec(RULES))
    assert layout(f, ChartStyle.CANDLES, 118, 32) == layout(f, ChartStyle.CANDLES, 118, 32)
    assert layout(f, ChartStyle.CANDLES, 12, 5) is None
    empty = build_frame(Source("IWM", s, None), TimeFrame.D1)
    assert layout(empty, ChartStyle.CANDLES, 118, 32) is None


def test_candle_points_fill_each_candle_from_low_to_high() -> None:
    s = random_bars("IWM", 600)
    lay = layout(frame_of(s, TimeFrame.M1), ChartStyle.CANDLES, 118, 32)
    assert lay is not None
    parts = lay.candle_points()
    lo, hi = lay.ylim
    step = (hi - lo) / (lay.canvas[1] - 1)
    for i in range(len(lay.ts)):
        up = lay.close[i] >= lay.open[i]
        xs, ys = parts["up_wick" if up else "down_wick"]
        rows = [round((y - lo) / step) for x, y in zip(xs, ys, strict=True) if x == i]
        assert rows == list(range(rows[0], rows[-1] + 1))  # no gaps
        assert rows[0] == math.floor(0.5 + (lay.low[i] - lo) / step)
        assert rows[-1] == math.floor(0.5 + (lay.high[i] - lo) / step)
        other = parts["down_wick" if up else "up_wick"]
        assert i not in other[0]
