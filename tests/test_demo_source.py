"""The demo source: generated history that tells each scenario's story, and a live session played one
minute per poll (services/sources/demo.py)."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from refcalc import ref_macd, ref_rsi, ref_sma

from services import indicators
from services.breakout import BreakoutRules, BreakoutState, run_machine
from services.indicators import RsiZone
from services.models import BarSeries, ErrorKind, Interval, MarketSession, SourceKind, day_ts
from services.sources.base import MarketDataSource
from services.sources.demo import DEMO_SCENARIOS, DEMO_SYMBOLS, DemoSource

ROOT = Path(__file__).resolve().parents[1]
NEW_YORK = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 24)  # a Tuesday: the history ends on Monday 2026-11-23
LEVEL = 2565.0
FIVE_YEARS = 5 * 252
FINAL_PHASE = 63
INDICES = ("^RUT", "^GSPC", "^TNX", "^VIX")


# ------------------------------------------------------------------------- independent calculations
def macd_and_signal(closes: list[float]) -> tuple[float, float]:
    line, signal, _ = ref_macd(closes)
    return line, signal


def ret(xs: list[float], sessions: int) -> float:
    return xs[-1] / xs[-1 - sessions] - 1.0


# ------------------------------------------------------------------------- helpers
async def daily_bars(source: DemoSource, symbols: tuple[str, ...] = DEMO_SYMBOLS) -> dict[str, BarSeries]:
    result = await source.history(list(symbols), Interval.DAILY)
    assert not result.errors
    return result.bars


async def closes_of(source: DemoSource, symbol: str) -> list[float]:
    return list((await daily_bars(source, (symbol,)))[symbol].close)


def ny(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), NEW_YORK)


def machine_over(series: BarSeries) -> tuple[BreakoutState | None, int]:
    machine, _changes = run_machine([b.day for b in series], list(series.close), BreakoutRules())
    return machine.state, machine.closes_above


# ------------------------------------------------------------------------- construction
def test_implements_the_protocol() -> None:
    source: MarketDataSource = DemoSource("bulltrap", today=TODAY)
    assert source.kind is SourceKind.DEMO
    assert source.label == "demo: bulltrap"
    now = datetime(2026, 11, 24, 3, 0, tzinfo=NEW_YORK)
    assert source.session_at(now) is MarketSession.REGULAR
    assert source.next_poll(now) == 1.0
    assert source.history_due(now, None) is False
    assert DemoSource(today=TODAY, tick_seconds=0.25).next_poll(now) == 0.25


async def test_aclose_releases_nothing_and_the_source_still_answers() -> None:
    source = DemoSource(today=TODAY)
    await source.aclose()
    assert (await source.quotes(["IWM"])).quotes["IWM"].last > 0


def test_the_scenarios_and_symbols_are_the_promised_ones() -> None:
    assert DEMO_SCENARIOS == ("breakout", "bulltrap", "range")
    assert set(DEMO_SYMBOLS) == {"IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX"}


def test_an_unknown_scenario_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown demo scenario 'moon'.*breakout, bulltrap, range"):
        DemoSource("moon")


@pytest.mark.parametrize("tick", [0.0, -1.0, math.nan, math.inf])
def test_a_tick_period_must_be_a_positive_number(tick: float) -> None:
    with pytest.raises(ValueError, match="tick_seconds"):
        DemoSource(today=TODAY, tick_seconds=tick)


def test_without_today_the_demo_starts_on_the_local_date_or_the_next_monday() -> None:
    source = DemoSource()
    start = date.today()
    while start.weekday() >= 5:
        start += timedelta(days=1)
    assert source.trading_day == start


# ------------------------------------------------------------------------- determinism
DIGEST_SCRIPT = """
import asyncio, hashlib, sys
from datetime import date
from services.models import Interval
from services.sources.demo import DEMO_SYMBOLS, DemoSource

async def main() -> None:
    source = DemoSource(sys.argv[1], today=date(2026, 11, 24), seed=int(sys.argv[2]))
    h = hashlib.sha256()
    bars = (await source.history(list(DEMO_SYMBOLS), Interval.DAILY)).bars
    for s in DEMO_SYMBOLS:
        b = bars[s]
        for col in (b.ts, b.open, b.high, b.low, b.close, b.volume):
            h.update(col.tobytes())
    for _ in range(7):
        result = await source.quotes(list(DEMO_SYMBOLS))
    for s in DEMO_SYMBOLS:
        h.update(repr(result.quotes[s]).encode())
        h.update(result.intraday[s].close.tobytes())
    print(h.hexdigest())

asyncio.run(main())
"""


def digest_in_a_fresh_process(scenario: str, seed: int, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT, scenario, str(seed)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_same_scenario_seed_and_day_give_the_same_numbers_bit_for_bit() -> None:
    # Fresh processes with different hash seeds: nothing may depend on a cache, dict order or hash().
    first = digest_in_a_fresh_process("breakout", 2565, "1")
    assert digest_in_a_fresh_process("breakout", 2565, "12345") == first
    assert digest_in_a_fresh_process("breakout", 2566, "1") != first
    assert digest_in_a_fresh_process("bulltrap", 2565, "1") != first


async def test_two_sources_with_the_same_arguments_agree_and_another_seed_differs() -> None:
    a, b = DemoSource("range", today=TODAY, seed=7), DemoSource("range", today=TODAY, seed=7)
    bars_a, bars_b = await daily_bars(a), await daily_bars(b)
    for s in DEMO_SYMBOLS:
        assert bars_a[s] == bars_b[s]
    other = await daily_bars(DemoSource("range", today=TODAY, seed=8))
    assert list(other["^RUT"].close) != list(bars_a["^RUT"].close)
    quotes_a = [await a.quotes(["IWM", "^VIX"]) for _ in range(5)][-1]
    quotes_b = [await b.quotes(["IWM", "^VIX"]) for _ in range(5)][-1]
    assert quotes_a.quotes == quotes_b.quotes
    assert quotes_a.intraday == quotes_b.intraday


# ------------------------------------------------------------------------- the daily history
@pytest.mark.parametrize("scenario", DEMO_SCENARIOS)
async def test_history_is_six_years_of_weekdays_ending_the_day_before_today(scenario: str) -> None:
    bars = await daily_bars(DemoSource(scenario, today=TODAY))
    days = [b.day for b in bars["^RUT"]]
    assert len(days) >= 6 * 252
    assert days[0] <= date(2020, 11, 24)
    assert days[-1] == date(2026, 11, 23)
    assert all(d.weekday() < 5 for d in days)
    assert all(a < b for a, b in itertools.pairwise(days))
    assert list(bars["^RUT"].ts) == [day_ts(d) for d in days]
    for s in DEMO_SYMBOLS:
        assert list(bars[s].ts) == list(bars["^RUT"].ts), s


async def test_a_saturday_start_opens_on_monday_after_fridays_history() -> None:
    source = DemoSource(today=date(2026, 11, 28))
    assert (await daily_bars(source, ("SPY",)))["SPY"][-1].day == date(2026, 11, 27)
    quote = (await source.quotes(["SPY"])).quotes["SPY"]
    assert quote.trading_day == date(2026, 11, 30)
    assert quote.time == ny(date(2026, 11, 30), 9, 31)


@pytest.mark.parametrize("scenario", DEMO_SCENARIOS)
async def test_daily_bars_are_well_formed(scenario: str) -> None:
    bars = await daily_bars(DemoSource(scenario, today=TODAY))
    for s, series in bars.items():
        for b in series:
            prices = (b.open, b.high, b.low, b.close)
            assert all(math.isfinite(p) and p > 0 for p in prices), (s, b)
            assert b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close), (s, b)
            assert b.adj_close == b.close  # documented: no dividends in the demo
    for index in INDICES:
        assert set(bars[index].volume) == {0.0}, index
    assert 20e6 <= min(bars["IWM"].volume) <= max(bars["IWM"].volume) <= 45e6
    assert 50e6 <= min(bars["SPY"].volume) <= max(bars["SPY"].volume) <= 100e6
    assert all(v == int(v) for v in bars["IWM"].volume)
    tnx, vix = bars["^TNX"], bars["^VIX"]
    assert 3.8 <= min(tnx.low) <= max(tnx.high) <= 4.8
    assert 12.0 <= min(vix.low) <= max(vix.high) <= 30.0
    assert 3300.0 <= min(bars["^GSPC"].close) <= max(bars["^GSPC"].close) <= 7200.0


@pytest.mark.parametrize("scenario", DEMO_SCENARIOS)
async def test_the_etfs_track_their_indices(scenario: str) -> None:
    bars = await daily_bars(DemoSource(scenario, today=TODAY))
    for etf, index, ratio in (("IWM", "^RUT", 0.099), ("SPY", "^GSPC", 0.0997)):
        for col in ("open", "high", "low", "close"):
            for e, i in zip(getattr(bars[etf], col), getattr(bars[index], col), strict=True):
                assert abs(e / i / ratio - 1.0) <= 0.005, (etf, col, e, i)


async def test_the_vix_moves_against_the_sp500() -> None:
    bars = await daily_bars(DemoSource("range", today=TODAY), ("^GSPC", "^VIX"))
    spx, vix = list(bars["^GSPC"].close), list(bars["^VIX"].close)
    spx_moves = [b / a - 1.0 for a, b in itertools.pairwise(spx)]
    vix_moves = [b / a - 1.0 for a, b in itertools.pairwise(vix)]
    mean_s, mean_v = sum(spx_moves) / len(spx_moves), sum(vix_moves) / len(vix_moves)
    cov = sum((s - mean_s) * (v - mean_v) for s, v in zip(spx_moves, vix_moves, strict=True))
    var_s = sum((s - mean_s) ** 2 for s in spx_moves)
    var_v = sum((v - mean_v) ** 2 for v in vix_moves)
    assert cov / math.sqrt(var_s * var_v) < -0.3


@pytest.mark.parametrize("scenario", DEMO_SCENARIOS)
async def test_five_years_of_consolidation_below_the_level(scenario: str) -> None:
    closes = await closes_of(DemoSource(scenario, today=TODAY), "^RUT")
    above = [i for i, c in enumerate(closes) if c >= LEVEL]
    if scenario == "range":
        assert not above
    else:
        assert len(closes) - above[0] <= 12  # nothing at or above the level before the last weeks
    # The five years before the final phase (the last ~3 months: the run-up and its outcome) sit well
    # below the level, in a realistic range: tops near 2,450 (2021, 2024, 2025), lows near 1,650.
    window = closes[-FINAL_PHASE - FIVE_YEARS : -FINAL_PHASE]
    assert 2350.0 <= max(window) <= 2500.0
    assert 1500.0 <= min(window) <= 1800.0


# ------------------------------------------------------------------------- the scenarios' endings
async def test_breakout_ends_confirmed_with_bullish_readings() -> None:
    bars = await daily_bars(DemoSource("breakout", today=TODAY))
    rut = list(bars["^RUT"].close)
    state, closes_above = machine_over(bars["^RUT"])
    assert state is BreakoutState.CONFIRMED
    trailing = next(i for i, c in enumerate(reversed(rut)) if c < LEVEL)
    assert closes_above == trailing and 5 <= trailing <= 12
    assert 2590.0 <= rut[-1] <= 2640.0
    assert 50.0 <= ref_rsi(rut) <= 70.0
    assert rut[-1] > ref_sma(rut, 50)
    macd, signal = macd_and_signal(rut)
    assert macd > signal
    spy = list(bars["SPY"].close)
    assert spy[-1] > ref_sma(spy, 50) and ret(spy, 20) > 0  # the S&P confirms
    ratio = [i / s for i, s in zip(bars["IWM"].close, spy, strict=True)]
    assert ratio[-1] > ref_sma(ratio, 50)  # small caps lead
    tnx = list(bars["^TNX"].close)
    assert tnx[-1] - tnx[-21] < 0.25  # yields calm


async def test_breakout_reads_bullish_on_the_dashboards_own_indicators() -> None:
    readout = indicators.compute((await daily_bars(DemoSource("breakout", today=TODAY), ("^RUT",)))["^RUT"])
    assert readout is not None and readout.rsi_14 is not None and readout.sma_50 is not None
    assert readout.rsi_zone is RsiZone.BULLISH
    assert readout.close > readout.sma_50
    assert readout.macd_hist is not None and readout.macd_hist > 0


async def test_bulltrap_pokes_above_the_level_then_fails() -> None:
    bars = await daily_bars(DemoSource("bulltrap", today=TODAY))
    rut = list(bars["^RUT"].close)
    assert machine_over(bars["^RUT"])[0] is BreakoutState.FAILED
    above = [i - len(rut) for i, c in enumerate(rut) if c >= LEVEL]
    assert 1 <= len(above) <= 2 and above[0] >= -10  # 1-2 closes above, within the last 10 sessions
    assert above == list(range(above[0], above[0] + len(above)))
    assert rut[-1] < LEVEL and 0.01 <= 1.0 - rut[-1] / LEVEL <= 0.06  # back a few percent below
    tnx = list(bars["^TNX"].close)
    assert tnx[-1] - tnx[-21] >= 0.25  # the 10-year yield spikes
    spy = list(bars["SPY"].close)
    assert ret(spy, 20) < 0 or spy[-1] < ref_sma(spy, 50)  # the S&P does not confirm
    assert 22.0 <= bars["^VIX"].close[-1] <= 28.0


async def test_range_never_tests_the_level() -> None:
    bars = await daily_bars(DemoSource("range", today=TODAY), ("^RUT",))
    assert machine_over(bars["^RUT"])[0] is BreakoutState.INSIDE
    assert max(bars["^RUT"].close) < LEVEL * 0.99


@pytest.mark.parametrize("seed", [0, 1, 42, 99991])
@pytest.mark.parametrize(
    ("scenario", "state"),
    [
        ("breakout", BreakoutState.CONFIRMED),
        ("bulltrap", BreakoutState.FAILED),
        ("range", BreakoutState.INSIDE),
    ],
)
async def test_every_seed_keeps_the_scenarios_promise(scenario: str, state: BreakoutState, seed: int) -> None:
    bars = await daily_bars(DemoSource(scenario, today=TODAY, seed=seed), ("^RUT", "^TNX", "SPY"))
    rut = list(bars["^RUT"].close)
    assert machine_over(bars["^RUT"])[0] is state
    tnx_20 = bars["^TNX"].close[-1] - bars["^TNX"].close[-21]
    if scenario == "breakout":
        assert 50.0 <= ref_rsi(rut) <= 70.0 and tnx_20 < 0.25 and ret(list(bars["SPY"].close), 20) > 0
    elif scenario == "bulltrap":
        assert tnx_20 >= 0.25 and 1 <= sum(c >= LEVEL for c in rut[-10:]) <= 2
    else:
        assert max(rut) < LEVEL * 0.99


# ------------------------------------------------------------------------- the live session
async def test_a_session_plays_one_minute_per_poll_and_rolls_into_the_history() -> None:
    source = DemoSource("breakout", today=TODAY)
    symbols = list(DEMO_SYMBOLS)
    day = date(2026, 11, 24)
    assert source.clock == ny(day, 9, 30)
    before = await daily_bars(source)
    prev_close = {s: before[s].close[-1] for s in symbols}
    result = None
    for minute in range(1, 391):
        result = await source.quotes(symbols)
        assert not result.errors
        for s in symbols:
            q, path = result.quotes[s], result.intraday[s]
            assert q.time == ny(day, 9, 30) + timedelta(minutes=minute) == source.clock
            assert q.time.utcoffset() == timedelta(0)  # stamped in UTC
            assert q.session is MarketSession.REGULAR and q.trading_day == day
            assert q.prev_close == prev_close[s]
            assert path.interval is Interval.MINUTE_1 and len(path) == minute
            assert path.ts[-1] == int((q.time - timedelta(minutes=1)).timestamp())  # the minute's start
            assert q.last == path.close[-1] and q.day_open == path.open[0]
            assert q.day_high == max(path.high) and q.day_low == min(path.low)
            assert q.volume == sum(path.volume)
    assert result is not None
    assert source.clock == ny(day, 16, 0)
    closing = result.intraday
    for s in symbols:
        for b in closing[s]:
            assert b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close), (s, b)
        assert closing[s].ts[0] == int(ny(day, 9, 30).timestamp())
    # At 16:00 the day is still today's: not yet in the daily history.
    assert (await daily_bars(source))["^RUT"][-1].day == date(2026, 11, 23)
    minute_history = await source.history(symbols, Interval.MINUTE_1)
    assert minute_history.bars == closing

    rolled = await source.quotes(symbols)
    next_day = date(2026, 11, 25)
    after = await daily_bars(source)
    for s in symbols:
        q = rolled.quotes[s]
        assert q.trading_day == next_day and q.time == ny(next_day, 9, 31)
        assert len(rolled.intraday[s]) == 1
        closed = after[s][-1]
        path = closing[s]
        assert closed.day == day and len(after[s]) == len(before[s]) + 1
        assert closed.open == path.open[0] and closed.close == path.close[-1]
        assert closed.high == max(path.high) and closed.low == min(path.low)
        assert closed.volume == sum(path.volume)
        assert q.prev_close == closed.close
        bar = result.quotes[s].session_bar()  # what the app put on its chart at 16:00
        assert bar is not None
        assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            closed.ts,
            closed.open,
            closed.high,
            closed.low,
            closed.close,
            closed.volume,
        )


async def test_etf_minutes_track_the_index_minutes() -> None:
    source = DemoSource("bulltrap", today=TODAY)
    source.advance(389)
    paths = (await source.quotes(["IWM", "^RUT", "SPY", "^GSPC"])).intraday
    for etf, index, ratio in (("IWM", "^RUT", 0.099), ("SPY", "^GSPC", 0.0997)):
        for e, i in zip(paths[etf], paths[index], strict=True):
            assert e.ts == i.ts
            assert abs(e.close / i.close / ratio - 1.0) <= 0.005
    assert sum(paths["IWM"].volume) > 0 and sum(paths["^RUT"].volume) == 0.0


async def test_fast_forward_lands_where_the_same_number_of_polls_would() -> None:
    polled, skipped = DemoSource("range", today=TODAY), DemoSource("range", today=TODAY)
    for _ in range(400):
        last = await polled.quotes(["IWM", "^TNX"])
    skipped.advance(399)
    assert skipped.clock == polled.clock - timedelta(minutes=1)
    again = await skipped.quotes(["IWM", "^TNX"])
    assert again.quotes == last.quotes and again.intraday == last.intraday
    assert again.quotes["IWM"].time == ny(date(2026, 11, 25), 9, 40)


async def test_friday_close_rolls_over_the_weekend_to_monday() -> None:
    source = DemoSource(today=date(2026, 11, 27))
    source.advance(390)
    assert source.clock == ny(date(2026, 11, 27), 16, 0)
    quote = (await source.quotes(["^RUT"])).quotes["^RUT"]
    assert quote.trading_day == date(2026, 11, 30) and quote.time == ny(date(2026, 11, 30), 9, 31)
    assert (await daily_bars(source, ("^RUT",)))["^RUT"][-1].day == date(2026, 11, 27)


def test_advance_moves_forward_only() -> None:
    source = DemoSource(today=TODAY)
    source.advance(0)
    assert source.clock == ny(TODAY, 9, 30)
    with pytest.raises(ValueError, match="forward"):
        source.advance(-1)
    source.advance(5 * 390)  # Tuesday's session, then Wednesday ... Monday, each to its close
    assert source.clock == ny(date(2026, 11, 30), 16, 0)


@pytest.mark.parametrize(
    ("scenario", "low", "high"),
    [("breakout", LEVEL, 2900.0), ("bulltrap", 2100.0, LEVEL), ("range", 1650.0, LEVEL * 0.99)],
)
async def test_live_days_carry_the_scenario_on(scenario: str, low: float, high: float) -> None:
    source = DemoSource(scenario, today=TODAY)
    sessions = 130  # half a year of live days, then the history holds them
    source.advance(390 * sessions + 1)
    bars = await daily_bars(source)
    assert len(bars["^RUT"]) == 1600 + sessions
    live = bars["^RUT"].close[-sessions:]
    assert low <= min(live) and max(live) < high
    expected = {"breakout": "confirmed", "bulltrap": "failed", "range": "inside"}[scenario]
    assert machine_over(bars["^RUT"])[0] == expected
    assert all(b.day.weekday() < 5 for b in bars["^RUT"])
    assert 3.8 <= min(bars["^TNX"].low) <= max(bars["^TNX"].high) <= 4.8
    assert 12.0 <= min(bars["^VIX"].low) <= max(bars["^VIX"].high) <= 30.0
    for b in bars["IWM"].tail(sessions):
        assert b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close)


# ------------------------------------------------------------------------- requests and errors
async def test_history_honours_since_per_symbol() -> None:
    source = DemoSource(today=TODAY)
    result = await source.history(
        ["IWM", "SPY", "^VIX"], Interval.DAILY, {"IWM": date(2026, 11, 21), "SPY": None}
    )
    assert [b.day for b in result.bars["IWM"]] == [date(2026, 11, 23)]  # the 21st is a Saturday
    assert len(result.bars["SPY"]) == len(result.bars["^VIX"]) >= 1512


async def test_minute_history_is_todays_minutes_so_far_and_other_intervals_have_no_data() -> None:
    source = DemoSource(today=TODAY)
    assert len((await source.history(["IWM"], Interval.MINUTE_1)).bars["IWM"]) == 0
    source.advance(30)
    minutes = (await source.history(["IWM"], Interval.MINUTE_1)).bars["IWM"]
    assert len(minutes) == 30 and minutes[0].ts == int(ny(TODAY, 9, 30).timestamp())
    result = await source.history(["IWM", "^RUT"], Interval.MINUTE_5)
    assert not result.bars
    assert {s: e.kind for s, e in result.errors.items()} == {
        "IWM": ErrorKind.NO_DATA,
        "^RUT": ErrorKind.NO_DATA,
    }


async def test_unknown_symbols_get_a_final_error_and_the_rest_still_answer() -> None:
    source = DemoSource(today=TODAY)
    quotes = await source.quotes(["IWM", "XYZ"])
    assert set(quotes.quotes) == {"IWM"} and set(quotes.intraday) == {"IWM"}
    error = quotes.errors["XYZ"]
    assert error.kind is ErrorKind.UNKNOWN_SYMBOL and not error.kind.retryable
    assert error.message == "the demo has no data for XYZ"
    history = await source.history(["XYZ", "^TNX"], Interval.DAILY)
    assert set(history.bars) == {"^TNX"} and history.errors["XYZ"].kind is ErrorKind.UNKNOWN_SYMBOL
