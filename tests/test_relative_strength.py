"""Relative strength: the ratio, its SMA 50, the rebased prices, the trend and the window, checked
against plain pandas or numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from fakes.scripted_source import daily_series
from refcalc import random_walk

from services.models import Bar, BarSeries, ErrorKind, SourceKind, SymbolError, ts_day
from services.relative_strength import (
    PairHistory,
    RelativeTrend,
    StrengthFrame,
    Unavailable,
    pair_history,
    pair_key,
    read_pair,
    trend_at,
    window,
)
from services.snapshot import FeedStatus, Snapshot, SymbolSnapshot

LAST = date(2026, 3, 6)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "daily"


def snapshot(series: dict[str, BarSeries], provisional: tuple[str, ...] = ()) -> Snapshot:
    symbols = {
        sym: SymbolSnapshot(sym, None, bars, None, None, sym in provisional, False, None, None)
        for sym, bars in series.items()
    }
    status = FeedStatus(SourceKind.DEMO, "scripted", None, None, None, False, None)
    return Snapshot(datetime(2026, 3, 6, 21, tzinfo=UTC), status, symbols, None)


def frame_of(series: BarSeries) -> pd.Series:
    """A pandas Series of closes indexed by session date (the reference side of every check)."""
    return pd.Series(list(series.close), index=[ts_day(t) for t in series.ts], dtype=float)


def history(num: BarSeries, den: BarSeries) -> PairHistory:
    h = pair_history(num, den)
    assert isinstance(h, PairHistory), h
    return h


def drop_day(series: BarSeries, day: date) -> BarSeries:
    return BarSeries.from_bars(series.symbol, series.interval, [b for b in series if b.day != day])


# ---------------------------------------------------------------------- ratio, SMA, rebasing
def test_ratio_sma_and_rebased_prices_match_pandas() -> None:
    num = daily_series("IWM", random_walk(180, seed=3, start=220.0), LAST)
    den = daily_series("SPY", random_walk(180, seed=9, start=640.0), LAST)
    w = window(history(num, den), StrengthFrame.M3)

    n, d = frame_of(num), frame_of(den)
    ratio = n / d
    sma = ratio.rolling(50).mean()
    cut = ratio.index[-64:]  # 3M is 63 sessions of change: 64 closes, the first one the base
    assert list(w.days) == list(cut)
    assert w.start_day == cut[0] and w.end_day == LAST == cut[-1]
    assert w.sessions == 63
    assert w.ratio == pytest.approx(list(ratio[cut]), rel=1e-12)
    assert [v for v in w.sma] == pytest.approx(list(sma[cut]), rel=1e-10)
    assert w.ratio_now == pytest.approx(n.iloc[-1] / d.iloc[-1], rel=1e-12)
    assert w.sma_now == pytest.approx(sum(ratio.iloc[-50:]) / 50, rel=1e-10)
    # Both prices are 100 on the frame's first session, and follow their own closes from there.
    assert w.numerator_rebased[0] == w.denominator_rebased[0] == 100.0
    assert w.numerator_rebased == pytest.approx(list(n[cut] / n[cut[0]] * 100), rel=1e-12)
    assert w.denominator_rebased == pytest.approx(list(d[cut] / d[cut[0]] * 100), rel=1e-12)
    assert w.change_pct == pytest.approx((ratio[cut[-1]] / ratio[cut[0]] - 1) * 100, rel=1e-10)
    assert w.numerator_change_pct == pytest.approx((n.iloc[-1] / n[cut[0]] - 1) * 100, rel=1e-10)
    # The gap between the rebased lines is the ratio's change.
    assert w.numerator_rebased[-1] / w.denominator_rebased[-1] == pytest.approx(1 + w.change_pct / 100)


def test_sma_is_computed_over_the_full_history_before_the_cut() -> None:
    num = daily_series("IWM", random_walk(100, seed=5), LAST)
    den = daily_series("SPY", [500.0] * 100, LAST)
    w = window(history(num, den), StrengthFrame.M1)
    # A 1M window has 22 closes, fewer than 50: its SMA values still exist (they reach back before it).
    assert len(w.days) == 22 and all(v is not None for v in w.sma)
    ratio = [c / 500.0 for c in num.close]
    assert w.sma[0] == pytest.approx(sum(ratio[100 - 22 - 49 : 100 - 22 + 1]) / 50, rel=1e-12)


def test_sma_is_none_without_fifty_common_sessions() -> None:
    num = daily_series("IWM", [100.0 + i for i in range(55)], LAST)
    den = daily_series("SPY", [200.0] * 55, LAST)
    w = window(history(num, den), StrengthFrame.Y1)
    assert w.sessions == 54  # shorter than the frame: the whole history
    assert w.sma[:49] == (None,) * 49
    assert w.sma[49] == pytest.approx(sum((100.0 + i) / 200.0 for i in range(50)) / 50)
    assert w.trend is None  # an SMA 10 sessions back does not exist yet


def test_days_one_series_misses_are_dropped_from_both() -> None:
    num = daily_series("^RUT", random_walk(120, seed=1), LAST)
    den = daily_series("^GSPC", random_walk(120, seed=2, start=6000.0), LAST)
    gap_den, gap_num = ts_day(den.ts[-5]), ts_day(num.ts[-30])
    den2, num2 = drop_day(den, gap_den), drop_day(num, gap_num)
    w = window(history(num2, den2), StrengthFrame.M3)

    joined = pd.concat([frame_of(num2), frame_of(den2)], axis=1, join="inner")
    ratio = joined[0] / joined[1]
    assert len(joined) == 118
    assert gap_den not in w.days and gap_num not in w.days
    assert list(w.days) == list(ratio.index[-64:])
    assert w.ratio == pytest.approx(list(ratio.iloc[-64:]), rel=1e-12)
    assert w.sma_now == pytest.approx(ratio.iloc[-50:].mean(), rel=1e-10)
    # Rebased on the first common session, which the denominator's gap does not move.
    assert w.numerator_rebased == pytest.approx(list(joined[0].iloc[-64:] / joined[0].iloc[-64] * 100))


def test_series_ending_on_different_days_end_on_their_last_common_day() -> None:
    num = daily_series("IWM", [100.0 + i for i in range(80)], date(2026, 3, 4))
    den = daily_series("SPY", [300.0] * 80, LAST)
    w = window(history(num, den), StrengthFrame.M1)
    assert w.end_day == date(2026, 3, 4)


# ---------------------------------------------------------------------- trend
def test_trend_states_on_hand_built_ratios() -> None:
    sma_of = lambda xs, i: sum(xs[i - 49 : i + 1]) / 50 if i >= 49 else None  # noqa: E731
    rising = [1.0 + 0.01 * i for i in range(70)]
    falling = [2.0 - 0.01 * i for i in range(70)]
    # Rising for 69 sessions then a drop to 0.5: below an SMA that is still rising.
    dropped = [*rising[:-1], 0.5]
    # Falling, then a jump to 3.0: above an SMA that is still falling.
    jumped = [*falling[:-1], 3.0]
    for ratio, want in (
        (rising, RelativeTrend.LEADING),  # ratio 1.69 > SMA 1.445; SMA 1.445 > 1.345 ten sessions back
        (falling, RelativeTrend.LAGGING),  # ratio 1.31 < SMA 1.555; SMA 1.555 < 1.655
        (dropped, RelativeTrend.MIXED),
        (jumped, RelativeTrend.MIXED),
        ([1.0] * 70, RelativeTrend.MIXED),  # on a flat SMA
    ):
        sma = tuple(sma_of(ratio, i) for i in range(70))
        assert trend_at(tuple(ratio), sma, 69) is want, (ratio[-1], want)
    assert sma_of(rising, 69) == pytest.approx(1.445) and sma_of(rising, 59) == pytest.approx(1.345)
    assert trend_at(tuple(rising), tuple(sma_of(rising, i) for i in range(70)), 58) is None


def test_trend_of_a_pair_through_the_window() -> None:
    num = daily_series("IWM", [200.0 * 1.002**i for i in range(120)], LAST)
    den = daily_series("SPY", [600.0] * 120, LAST)
    assert window(history(num, den), StrengthFrame.M3).trend is RelativeTrend.LEADING
    lag = daily_series("^RUT", [2500.0 * 0.998**i for i in range(120)], LAST)
    flat = daily_series("^GSPC", [6000.0] * 120, LAST)
    assert window(history(lag, flat), StrengthFrame.M3).trend is RelativeTrend.LAGGING


# ---------------------------------------------------------------------- frames and panning
def test_frames_cycle_in_order_and_count_sessions() -> None:
    order = [f.value for f in StrengthFrame]
    assert order == ["1M", "3M", "6M", "1Y", "2Y", "5Y"]
    assert [f.sessions for f in StrengthFrame] == [21, 63, 126, 252, 504, 1260]
    assert StrengthFrame.M1.next() is StrengthFrame.M3
    assert StrengthFrame.Y5.next() is StrengthFrame.M1


def test_offset_pans_in_sessions_and_is_clamped() -> None:
    num = daily_series("IWM", [100.0 + i for i in range(200)], LAST)
    den = daily_series("SPY", [400.0] * 200, LAST)
    h = history(num, den)
    days = [ts_day(t) for t in num.ts]
    assert h.max_offset(StrengthFrame.M3) == 200 - 64

    back = window(h, StrengthFrame.M3, 10)
    assert back.offset == 10 and back.end_day == days[-11] and back.start_day == days[-11 - 63]
    assert back.numerator_rebased[0] == 100.0 and back.ratio[0] == pytest.approx((100.0 + 126) / 400)

    oldest = window(h, StrengthFrame.M3, 10_000)
    assert oldest.offset == 136 and oldest.start_day == days[0] and len(oldest.days) == 64
    assert window(h, StrengthFrame.M3, -5).offset == 0
    # A frame longer than the history cannot pan at all.
    assert window(h, StrengthFrame.Y1, 50).offset == 0 and window(h, StrengthFrame.Y1).start_day == days[0]


# ---------------------------------------------------------------------- from a snapshot
def test_missing_series_give_a_reason() -> None:
    iwm = daily_series("IWM", [100.0] * 60, LAST)
    spy = daily_series("SPY", [400.0] * 60, LAST)
    assert read_pair(snapshot({"IWM": iwm, "SPY": spy}), "^RUT", "^GSPC") == Unavailable(
        "^RUT not in the watchlist"
    )
    assert read_pair(snapshot({"IWM": iwm}), "IWM", "SPY") == Unavailable("SPY not in the watchlist")
    empty = BarSeries("SPY", iwm.interval)
    snap = snapshot({"IWM": iwm, "SPY": empty})
    err = SymbolError("SPY", ErrorKind.RATE_LIMITED, "rate-limited by Yahoo (HTTP 429)")
    snap.symbols["SPY"] = SymbolSnapshot("SPY", None, empty, None, None, False, True, None, err)
    assert read_pair(snap, "IWM", "SPY") == Unavailable(
        "no SPY daily history: rate-limited by Yahoo (HTTP 429)"
    )
    old = daily_series("SPY", [400.0] * 60, date(2020, 1, 31))
    assert read_pair(snapshot({"IWM": iwm, "SPY": old}), "IWM", "SPY") == Unavailable(
        "no common dates for IWM and SPY"
    )


def test_todays_provisional_bar_is_left_out_and_a_live_tick_changes_no_key() -> None:
    iwm = daily_series("IWM", [100.0 + i for i in range(80)], LAST)
    spy = daily_series("SPY", [400.0] * 80, LAST)
    today = date(2026, 3, 9)
    live = iwm.upsert(Bar(int(datetime(2026, 3, 9, tzinfo=UTC).timestamp()), 180, 181, 179, 180.5))
    spy_live = spy.upsert(Bar(int(datetime(2026, 3, 9, tzinfo=UTC).timestamp()), 400, 401, 399, 400.5))
    snap = snapshot({"IWM": live, "SPY": spy_live}, provisional=("IWM", "SPY"))
    h = read_pair(snap, "IWM", "SPY")
    assert isinstance(h, PairHistory)
    w = window(h, StrengthFrame.M1)
    assert today not in w.days and w.end_day == LAST and w.ratio_now == pytest.approx(179.0 / 400.0)

    ticked = snapshot(
        {"IWM": live.upsert(Bar(live.ts[-1], 180, 183, 179, 182.9)), "SPY": spy_live},
        provisional=("IWM", "SPY"),
    )
    assert pair_key(ticked, "IWM", "SPY") == pair_key(snap, "IWM", "SPY") == h.key
    closed = snapshot({"IWM": live, "SPY": spy_live})  # the session closed: today's bar now counts
    assert pair_key(closed, "IWM", "SPY") != h.key
    h2 = read_pair(closed, "IWM", "SPY")
    assert isinstance(h2, PairHistory) and window(h2, StrengthFrame.M1).end_day == today


# ---------------------------------------------------------------------- real data
@pytest.mark.skipif(not (SHARED / "flippe2-blank-app" / "^RUT.csv").exists(), reason="../shared/data absent")
def test_real_russell_against_the_sp500() -> None:
    from services.csv_bars import read_bars_csv

    folder = SHARED / "flippe2-blank-app"
    _s, rut = read_bars_csv(folder / "^RUT.csv")
    _s, spx = read_bars_csv(folder / "^GSPC.csv")
    h = history(rut, spx)

    # The reference: the same CSVs read by pandas (yfinance layout: three header rows).
    def closes(name: str) -> pd.Series:
        df = pd.read_csv(folder / name, skiprows=3, header=None, index_col=0, parse_dates=True)
        return df[1].rename(index=lambda t: t.date())

    r, s = closes("^RUT.csv"), closes("^GSPC.csv")
    ratio = (r / s).dropna()
    sma = ratio.rolling(50).mean()
    assert len(h) == len(ratio) == 125
    for frame in (StrengthFrame.M1, StrengthFrame.M3):
        w = window(h, frame)
        k = frame.sessions + 1
        assert w.end_day == date(2026, 3, 6) == ratio.index[-1]
        assert list(w.days) == list(ratio.index[-k:])
        assert w.ratio_now == pytest.approx(ratio.iloc[-1], rel=1e-12)
        assert w.sma_now == pytest.approx(sma.iloc[-1], rel=1e-10)
        assert w.change_pct == pytest.approx((ratio.iloc[-1] / ratio.iloc[-k] - 1) * 100, rel=1e-9)
        assert w.numerator_rebased[-1] == pytest.approx(r.iloc[-1] / r.iloc[-k] * 100, rel=1e-12)
        assert w.denominator_rebased[-1] == pytest.approx(s.iloc[-1] / s.iloc[-k] * 100, rel=1e-12)
        above = ratio.iloc[-1] > sma.iloc[-1]
        rising = sma.iloc[-1] > sma.iloc[-11]
        want = (
            RelativeTrend.LEADING
            if above and rising
            else RelativeTrend.LAGGING
            if not above and not rising
            else RelativeTrend.MIXED
        )
        assert w.trend is want
    # 6M needs 127 closes: the history's 125 are all shown.
    assert window(h, StrengthFrame.M6).sessions == 124
