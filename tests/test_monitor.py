"""The pipeline from a source to the snapshot: quotes, staleness, errors, breakout, JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fakes.scripted_source import ScriptedSource, daily_series

from services.breakout import BreakoutRules, BreakoutState
from services.models import ErrorKind, ExtendedQuote, Interval, MarketSession, Quote
from services.monitor import Monitor, TickEffect, reconcile_quote
from services.stream import StreamTick

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 11:00 in New York
TODAY = date(2026, 11, 24)


def source(**kw: object) -> ScriptedSource:
    daily = {
        "IWM": daily_series("IWM", [240.0 + i * 0.1 for i in range(260)], date(2026, 11, 23)),
        "SPY": daily_series("SPY", [600.0 + i * 0.2 for i in range(260)], date(2026, 11, 23)),
        "^RUT": daily_series("^RUT", [2400.0] * 250 + [2560.0, 2566.0, 2570.0, 2575.0], date(2026, 11, 23)),
    }
    return ScriptedSource(daily, now=NOW, **kw)  # type: ignore[arg-type]


async def refreshed(monitor: Monitor) -> None:
    await monitor.load_history()
    await monitor.refresh_quotes()
    await monitor.compute()


async def test_snapshot_has_quotes_indicators_and_breakout() -> None:
    src = source()
    m = Monitor(src, symbols=["IWM", "SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    snap = m.snapshot()
    assert list(snap.symbols) == ["IWM", "SPY"]  # ^RUT is fetched for the breakout, not shown as a card
    iwm = snap.symbols["IWM"]
    assert iwm.quote is not None and iwm.quote.last == pytest.approx(265.9)
    # The previous close comes from the history: the last session before today's.
    assert iwm.quote.prev_close == pytest.approx(265.9)
    assert iwm.provisional and iwm.daily.last is not None and iwm.daily.last.day == TODAY
    assert iwm.indicators is not None and iwm.indicators.sma_200 is not None and iwm.indicators.provisional
    assert not iwm.stale and iwm.error is None
    b = snap.breakout
    assert b is not None and b.state is BreakoutState.CONFIRMED and b.close == 2575.0
    assert b.live_price == 2575.0 and b.provisional_state is BreakoutState.CONFIRMED


async def test_a_failed_refresh_keeps_the_last_values_marked_stale() -> None:
    src = source()
    m = Monitor(src, symbols=["IWM", "SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    src.prices["IWM"] = 999.0
    src.quote_errors["IWM"] = ErrorKind.RATE_LIMITED
    outcome = await m.refresh_quotes()
    assert outcome.failed
    snap = m.snapshot()
    iwm = snap.symbols["IWM"]
    assert iwm.quote is not None and iwm.quote.last == pytest.approx(265.9)  # the last good value
    assert iwm.stale and iwm.error is not None and iwm.error.kind is ErrorKind.RATE_LIMITED
    assert not snap.symbols["SPY"].stale
    assert snap.status.error is not None and "IWM" in snap.status.error
    del src.quote_errors["IWM"]
    await m.refresh_quotes()
    assert not m.snapshot().symbols["IWM"].stale


async def test_unknown_symbols_are_reported_and_no_longer_asked_for() -> None:
    src = source()
    m = Monitor(src, symbols=["IWM", "NOPE"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    snap = m.snapshot()
    nope = snap.symbols["NOPE"]
    assert nope.quote is None and nope.error is not None and nope.error.kind is ErrorKind.UNKNOWN_SYMBOL
    assert not nope.stale  # nothing is shown, so nothing is stale
    await m.refresh_quotes()
    assert "NOPE" not in src.quote_calls[-1]


async def test_missing_index_runs_the_engine_on_the_etf_with_mapped_levels_and_says_so() -> None:
    src = source()
    src.history_errors["^RUT"] = ErrorKind.TIMEOUT
    del src.prices["^RUT"]
    m = Monitor(src, symbols=["IWM"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    snap = m.snapshot()
    b = snap.breakout
    assert b is not None and b.state is not None and b.rules.symbol == "IWM"
    # No common ^RUT/IWM close at all: the configured ratio maps the level and the targets.
    assert b.rules.level == pytest.approx(2565 * 0.0990)
    assert b.rules.targets == pytest.approx((2600 * 0.0990, 3000 * 0.0990))
    assert snap.breakout_note is not None
    assert snap.breakout_note.startswith("^RUT missing: engine on IWM")
    assert snap.report is not None and snap.report.watched.note == snap.breakout_note


async def test_no_data_for_index_or_etf_says_why() -> None:
    src = source()
    for sym in ("^RUT", "IWM"):
        src.history_errors[sym] = ErrorKind.TIMEOUT
        del src.prices[sym]
    m = Monitor(src, symbols=["SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    snap = m.snapshot()
    assert snap.breakout is None or snap.breakout.state is None
    assert snap.breakout_note is not None and "^RUT" in snap.breakout_note


async def test_status_json_shape() -> None:
    m = Monitor(source(), symbols=["IWM", "SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    doc = m.snapshot().as_json()
    assert set(doc) == {"as_of", "source", "symbols", "breakout"}
    assert set(doc["symbols"]["IWM"]) == {
        "last",
        "prev_close",
        "change",
        "change_pct",
        "day_high",
        "day_low",
        "volume",
        "time",
        "session",
        "extended",
        "stale",
        "indicators",
    }
    assert doc["symbols"]["IWM"]["extended"] is None  # mid-session: no extended-hours price
    assert set(doc["symbols"]["IWM"]["indicators"]) == {
        "rsi_14",
        "sma_50",
        "sma_200",
        "macd",
        "macd_signal",
        "macd_hist",
    }
    assert doc["breakout"]["targets"] == [2600.0, 3000.0] and doc["breakout"]["state"] == "confirmed"
    assert doc["breakout"]["distance_pct"] == round((2575 / 2565 - 1) * 100, 6)  # rounded to 6 decimals


def test_reconcile_quote_before_the_open_uses_the_completed_bar() -> None:
    daily = daily_series("IWM", [100.0, 101.0, 102.0], date(2026, 11, 23))
    # Before the open Yahoo reports yesterday's close with itself as the previous close.
    q = Quote("IWM", 102.0, 102.0, None, 102.0, 102.0, 0.0, NOW, MarketSession.PRE, date(2026, 11, 23))
    fixed = reconcile_quote(q, daily)
    bar = daily[-1]
    assert fixed.prev_close == 101.0 and fixed.change == pytest.approx(1.0)
    assert (fixed.day_high, fixed.day_low, fixed.volume) == (bar.high, bar.low, bar.volume)
    # A live quote for a day the history lacks takes the last close as its previous close...
    live = Quote("IWM", 103.0, 99.0, 102.5, 103.5, 102.0, 1e5, NOW, MarketSession.REGULAR, TODAY)
    assert reconcile_quote(live, daily).prev_close == 102.0
    # ...but not when the history stops too long before (a gap would give a wrong change).
    stale_history = daily_series("IWM", [100.0, 101.0], date(2026, 11, 2))
    assert reconcile_quote(live, stale_history).prev_close == 99.0


def test_latest_day_keeps_only_the_last_new_york_day_of_a_path() -> None:
    from services.models import Bar, BarSeries, Interval

    def at(day: int, hh: int, mm: int) -> int:  # New York time in November (UTC-5)
        return int(datetime(2026, 11, day, hh + 5, mm, tzinfo=UTC).timestamp())

    bars = [Bar(at(23, 15, 55), 1, 1, 1, 1), Bar(at(24, 4, 0), 2, 2, 2, 2), Bar(at(24, 4, 5), 3, 3, 3, 3)]
    from services.monitor import latest_day

    path = latest_day(BarSeries.from_bars("IWM", Interval.MINUTE_5, bars))
    assert list(path.close) == [2.0, 3.0]


async def test_breakout_state_follows_a_refetched_history_with_the_same_length() -> None:
    src = source()
    m = Monitor(src, symbols=["IWM"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    snap = m.snapshot()
    assert snap.breakout is not None and snap.breakout.state is BreakoutState.CONFIRMED
    # Same number of bars, same last close, but the closes before it changed (a re-adjusted history).
    src.daily["^RUT"] = daily_series(
        "^RUT", [2400.0] * 250 + [2560.0, 2566.0, 2500.0, 2575.0], date(2026, 11, 23)
    )
    await m.load_history()
    await m.compute()
    after = m.snapshot().breakout
    assert after is not None and after.state is BreakoutState.BREAKOUT and after.closes_above == 1


async def test_the_demo_day_rolls_over_into_the_daily_history() -> None:
    from services.sources.demo import DemoSource

    demo = DemoSource("breakout", today=TODAY)
    m = Monitor(demo, symbols=["IWM", "SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await m.load_history()
    before = len(m.snapshot().symbols["IWM"].daily)
    await m.refresh_quotes()  # 09:31 of the first live day: today's bar is added, provisional
    assert len(m.snapshot().symbols["IWM"].daily) == before + 1 and m.snapshot().symbols["IWM"].provisional
    demo.advance(389)  # to the 16:00 close
    await m.refresh_quotes()  # the next call opens the next weekday
    await m.compute()
    snap = m.snapshot()
    iwm = snap.symbols["IWM"]
    assert iwm.quote is not None and iwm.quote.trading_day == date(2026, 11, 25)
    assert len(iwm.daily) == before + 2
    # The closed day in the monitor is exactly the bar the demo now reports in its history.
    closed = (await demo.history(["IWM"], Interval.DAILY)).bars["IWM"][-1]
    assert closed.day == TODAY and iwm.daily[-2] == closed
    assert iwm.quote.prev_close == closed.close
    assert iwm.indicators is not None and iwm.indicators.as_of == date(2026, 11, 25)


async def test_a_symbol_added_to_the_watchlist_gets_its_history_on_the_next_refresh() -> None:
    last = date(2026, 11, 23)
    daily = {s: daily_series(s, [100.0 + i for i in range(30)], last) for s in ("IWM", "SPY", "QQQ")}
    source = ScriptedSource(daily)
    rules = BreakoutRules()
    m = Monitor(source, symbols=["IWM", "SPY"], rules=rules)
    await m.load_history()
    assert "QQQ" not in m.fetch_symbols
    added = m.set_watchlist(["IWM", "SPY", "QQQ"])
    assert added == ["QQQ"] and not m.history_ok
    await m.load_history()
    snap = m.snapshot()
    assert list(snap.symbols) == ["IWM", "SPY", "QQQ"]
    assert snap.symbols["QQQ"].daily.close[-1] == 129.0
    m.set_watchlist(["IWM", "QQQ"])
    assert list(m.snapshot().symbols) == ["IWM", "QQQ"]


def tick(symbol: str, price: float, when: datetime, session: MarketSession | None) -> StreamTick:
    return StreamTick(symbol, price, when, session, None, None, None, None, None, None, None)


async def test_streamed_ticks_regular_then_after_hours() -> None:
    m = Monitor(source(), symbols=["IWM", "SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    q0 = m.snapshot().symbols["IWM"].quote
    assert q0 is not None

    later = q0.time + timedelta(minutes=3)
    assert m.apply_tick(tick("IWM", 270.25, later, MarketSession.REGULAR)) is TickEffect.APPLIED
    q1 = m.snapshot().symbols["IWM"].quote
    assert q1 is not None and (q1.last, q1.time, q1.extended) == (270.25, later, None)
    assert q1.day_high == max(270.25, q0.day_high or 0) and q1.prev_close == q0.prev_close
    assert m.snapshot().symbols["IWM"].daily.close[-1] == 270.25  # today's bar moves with it

    # An older tick (a replay, a late frame) changes nothing.
    assert m.apply_tick(tick("IWM", 250.0, later - timedelta(minutes=1), MarketSession.REGULAR)) is (
        TickEffect.IGNORED
    )

    # After the close: the regular close stays `last`; the after-hours price goes beside it.
    post = later + timedelta(hours=5)
    assert m.apply_tick(tick("IWM", 271.0, post, MarketSession.POST)) is TickEffect.APPLIED
    q2 = m.snapshot().symbols["IWM"].quote
    assert q2 is not None and q2.last == 270.25 and q2.session is MarketSession.POST
    assert q2.extended == ExtendedQuote(271.0, post, MarketSession.POST)
    assert q2.extended_change == pytest.approx((0.75, 0.75 / 270.25 * 100))


async def test_a_tick_of_the_next_day_asks_for_a_poll_and_unknown_symbols_are_ignored() -> None:
    m = Monitor(source(), symbols=["IWM", "SPY"], rules=BreakoutRules(), clock=lambda: NOW)
    await refreshed(m)
    q0 = m.snapshot().symbols["IWM"].quote
    assert q0 is not None
    tomorrow = q0.time + timedelta(days=1)
    assert m.apply_tick(tick("IWM", 280.0, tomorrow, MarketSession.REGULAR)) is TickEffect.NEW_DAY
    assert m.snapshot().symbols["IWM"].quote == q0
    assert m.apply_tick(tick("QQQ", 500.0, q0.time, MarketSession.REGULAR)) is TickEffect.IGNORED
