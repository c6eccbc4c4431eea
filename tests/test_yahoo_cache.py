"""The SQLite cache through the Monitor, with the Yahoo source running yfinance against an in-process Yahoo.

A "restart" closes the source and the store, forgets yfinance's process-wide state and builds new ones on
the same cache directory, as a new process would.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from fakes.yahoo_http import (
    FakeBar,
    FakeYahoo,
    make_daily,
    make_intraday,
    offline_yfinance,
    reset_yfinance,
    weekdays_ending,
)

from services.breakout import BreakoutRules
from services.cache import BarStore
from services.market_hours import NEW_YORK, MarketHours
from services.models import Bar, BarSeries, ErrorKind, Interval, MarketSession
from services.monitor import Monitor
from services.snapshot import SPARKLINE_POINTS
from services.sources.yahoo import YahooSource

DAY1 = date(2026, 2, 11)  # Wednesday: the first run, after the close
DAY2 = date(2026, 2, 13)  # Friday: the restart, two sessions later
SPLIT_DAY = date(2026, 2, 12)  # Thursday, between the two runs


def ny(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), NEW_YORK).astimezone(UTC)


def utc_midnight(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def rows(bars: list[FakeBar]) -> list[tuple[int, float, float, float, float, float, float]]:
    """What a cached daily series must hold for these bars: key, OHLCV and the adjusted close."""
    return [
        (utc_midnight(b.day), b.open, b.high, b.low, b.close, b.volume, b.adj)  # type: ignore[misc]
        for b in bars
        if b.complete()
    ]


def series_rows(series: BarSeries) -> list[tuple[int, float, float, float, float, float, float]]:
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume, b.adj_close) for b in series]


def upto(bars: list[FakeBar], day: date) -> list[FakeBar]:
    return [b for b in bars if b.day <= day]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Market:
    """The data set behind the fake: 300 sessions of daily bars up to DAY2, intraday on both days."""

    daily: dict[str, list[FakeBar]]
    intraday: dict[str, list[FakeBar]]


def build_market(fake: FakeYahoo) -> Market:
    daily = {
        "IWM": make_daily([180.0 + 0.125 * i for i in range(300)], DAY2, adj_ratio=0.984375),
        "SPY": make_daily([520.0 + 0.25 * i for i in range(300)], DAY2, adj_ratio=0.9921875),
        "^RUT": make_daily([2200.0 + 1.25 * i for i in range(300)], DAY2, volume=0),
    }
    intraday: dict[str, list[FakeBar]] = {}
    for sym, bars in daily.items():
        path: list[FakeBar] = []
        for day in (DAY1, DAY2):
            close = next(b.close for b in bars if b.day == day)
            # 09:30-15:55 ending on the day's close, so the quote after the close equals the daily bar.
            steps = [close - 0.0625 * (77 - i) for i in range(78)]  # type: ignore[operator]
            path += make_intraday(day, time(9, 30), steps, volume=0 if sym.startswith("^") else 5_000)
        intraday[sym] = path
        fake.add_daily(sym, bars)
        fake.add_intraday(sym, path)
    return Market(daily, intraday)


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """yfinance's process-wide state reset around each test; curl_cffi refused (yields what it refused)."""
    with offline_yfinance(tmp_path / "yfinance-process", monkeypatch) as refused:
        yield refused


@pytest.fixture
def clock() -> Clock:
    return Clock(ny(DAY1, 17))


@pytest.fixture
def fake(clock: Clock) -> FakeYahoo:
    return FakeYahoo(clock=clock)


@pytest.fixture
def market(fake: FakeYahoo) -> Market:
    return build_market(fake)


class App:
    """Starts monitors the way the app does; `restart()` is a new process on the same cache dir."""

    def __init__(self, tmp_path: Path, fake: FakeYahoo, clock: Clock) -> None:
        self.cache_dir = tmp_path / "cache"
        self.process_dir = tmp_path / "yfinance-process"
        self.fake = fake
        self.clock = clock
        self.sources: list[YahooSource] = []
        self.stores: list[BarStore] = []

    def start(self, hours: MarketHours | None = None) -> Monitor:
        source = YahooSource(
            cache_dir=self.cache_dir,
            session=self.fake.session(),
            clock=self.clock,
            hours_loader=None if hours is None else (lambda: hours),
        )
        store = BarStore.in_dir(self.cache_dir)
        self.sources.append(source)
        self.stores.append(store)
        # The yield series is pointed at one already fetched, so the requests counted here are exactly
        # those of IWM, SPY and ^RUT.
        rules = BreakoutRules(yields="SPY")
        return Monitor(source, symbols=["IWM", "SPY"], rules=rules, store=store, clock=self.clock)

    async def stop(self) -> None:
        for source in self.sources:
            await source.aclose()
        for store in self.stores:
            store.close()
        self.sources.clear()
        self.stores.clear()

    async def restart(self, hours: MarketHours | None = None) -> Monitor:
        await self.stop()
        reset_yfinance(self.process_dir)
        self.fake.requests.clear()
        return self.start(hours)

    def peek(self) -> BarStore:
        """A separate connection to the cache file, as a second process would open it."""
        store = BarStore.in_dir(self.cache_dir)
        self.stores.append(store)
        return store


@pytest.fixture
async def app(tmp_path: Path, fake: FakeYahoo, clock: Clock) -> AsyncIterator[App]:
    a = App(tmp_path, fake, clock)
    yield a
    await a.stop()


async def first_run(app: App, market: Market) -> Monitor:
    """Wednesday after the close: full history, then quotes."""
    monitor = app.start()
    outcome = await monitor.load_history()
    assert outcome.errors == {} and outcome.updated == {"IWM", "SPY", "^RUT"}
    quotes = await monitor.refresh_quotes()
    assert quotes.errors == {}
    return monitor


# ---------------------------------------------------------------------- round trip
async def test_history_fetched_through_yahoo_reads_back_identical_from_the_cache(
    app: App, market: Market
) -> None:
    monitor = await first_run(app, market)
    snap = monitor.snapshot()

    store = app.peek()
    for sym in ("IWM", "SPY", "^RUT"):
        cached = store.load_bars(sym, Interval.DAILY)
        expected = rows(upto(market.daily[sym], DAY1))
        assert series_rows(cached) == expected, sym
        assert len(cached) == 298  # 300 sessions up to Friday, so 298 up to Wednesday
        assert all(math.isfinite(x) for x in cached.adj_close)
        assert all(c != a for c, a in zip(cached.close, cached.adj_close, strict=True)) or sym == "^RUT"
    for sym in ("IWM", "SPY"):
        shown = snap.symbols[sym]
        assert series_rows(shown.daily) == series_rows(store.load_bars(sym, Interval.DAILY))
        # The quote and today's 5-minute path are cached too, exactly as shown.
        cached_quote = store.load_quotes([sym])[sym]
        assert cached_quote.quote == shown.quote and cached_quote.fetched_at == ny(DAY1, 17)
        assert shown.quote is not None and shown.quote.last == upto(market.daily[sym], DAY1)[-1].close
        day1_path = [b for b in market.intraday[sym] if b.day == DAY1]
        cached_path = store.load_bars(sym, Interval.MINUTE_5)
        assert [(b.ts, b.close) for b in cached_path] == [(b.ts, b.close) for b in day1_path]
        assert not shown.stale and shown.error is None


async def test_mid_session_the_days_provisional_bar_is_shown_but_not_cached(
    app: App, fake: FakeYahoo, clock: Clock, market: Market
) -> None:
    clock.now = ny(DAY1, 11, 2)
    sessions = weekdays_ending(DAY2, 10)
    hours = MarketHours({d: (ny(d, 9, 30), ny(d, 16)) for d in sessions})
    monitor = app.start(hours)

    await monitor.load_history()

    shown = monitor.snapshot().symbols["IWM"].daily
    assert shown.last is not None and shown.last.day == DAY1  # Yahoo's in-progress daily bar
    cached = app.peek().load_bars("IWM", Interval.DAILY)
    assert series_rows(cached) == rows(upto(market.daily["IWM"], DAY1 - timedelta(days=1)))


async def test_without_a_calendar_the_provisional_bar_is_still_not_cached(
    app: App, clock: Clock, market: Market
) -> None:
    clock.now = ny(DAY1, 11, 2)
    monitor = app.start()  # no exchange calendar: the session comes from Yahoo's trading periods

    await monitor.load_history()

    assert monitor.source.session_at(clock.now) is MarketSession.REGULAR
    shown = monitor.snapshot().symbols["IWM"].daily
    assert shown.last is not None and shown.last.day == DAY1
    cached = app.peek().load_bars("IWM", Interval.DAILY)
    assert series_rows(cached) == rows(upto(market.daily["IWM"], DAY1 - timedelta(days=1)))


# ---------------------------------------------------------------------- restart
async def test_a_restart_paints_from_the_cache_without_asking_yahoo(app: App, market: Market) -> None:
    first = await first_run(app, market)
    before = first.snapshot()

    monitor = await app.restart()
    painted = await monitor.paint_from_cache()

    assert painted
    assert app.fake.requests == []  # nothing was fetched: yfinance was not even started
    snap = monitor.snapshot()
    for sym in ("IWM", "SPY"):
        s, old = snap.symbols[sym], before.symbols[sym]
        assert s.quote == old.quote and s.quote is not None
        assert s.quote.last == upto(market.daily[sym], DAY1)[-1].close
        assert s.stale and s.error is None and s.updated_at == ny(DAY1, 17)
        # Enough of the daily closes for the sparkline, the newest ones.
        assert series_rows(s.daily) == series_rows(old.daily)[-(SPARKLINE_POINTS + 1) :]


async def test_a_restart_fetches_only_the_tail_and_merges_it(app: App, clock: Clock, market: Market) -> None:
    await first_run(app, market)

    clock.now = ny(DAY2, 17)
    monitor = await app.restart()
    assert await monitor.paint_from_cache()
    outcome = await monitor.load_history()

    assert outcome.errors == {} and outcome.updated == {"IWM", "SPY", "^RUT"}
    history = app.fake.chart_requests(history_only=True)
    assert sorted((r.symbol, r.query["range"], r.query["interval"]) for r in history) == [
        ("IWM", "1mo", "1d"),
        ("SPY", "1mo", "1d"),
        ("^RUT", "1mo", "1d"),
    ]
    # yfinance's timezone cache lives in the app's cache dir: a restart does not probe again.
    assert [r for r in app.fake.chart_requests() if r.is_tz_lookup] == []
    snap = monitor.snapshot()
    store = app.peek()
    for sym in ("IWM", "SPY", "^RUT"):
        full = rows(upto(market.daily[sym], DAY2))
        assert series_rows(store.load_bars(sym, Interval.DAILY)) == full, sym
        if sym in snap.symbols:
            assert series_rows(snap.symbols[sym].daily) == full


# ---------------------------------------------------------------------- corporate actions
def adjusted_for(action: str, bars: list[FakeBar]) -> tuple[list[FakeBar], dict[str, object]]:
    """Yahoo's history after a 2:1 split, or a 1.5 dividend, on SPLIT_DAY: older bars re-adjusted."""
    out = []
    for b in bars:
        if b.day >= SPLIT_DAY:
            out.append(b)
        elif action == "split":
            out.append(
                FakeBar(b.when, b.open / 2, b.high / 2, b.low / 2, b.close / 2, b.volume * 2, b.adj / 2)  # type: ignore[operator]
            )
        else:
            out.append(FakeBar(b.when, b.open, b.high, b.low, b.close, b.volume, b.adj * 0.99))  # type: ignore[operator]
    events: dict[str, object] = (
        {"splits": {SPLIT_DAY: (2, 1)}} if action == "split" else {"dividends": {SPLIT_DAY: 1.5}}
    )
    return out, events


@pytest.mark.parametrize("action", ["split", "dividend"])
async def test_an_action_in_the_tail_refetches_that_symbol_in_full_and_replaces_it(
    action: str, app: App, fake: FakeYahoo, clock: Clock, market: Market
) -> None:
    await first_run(app, market)
    # A bar from long ago, older than any range Yahoo will send again, is in the cache too.
    ancient = Bar(utc_midnight(date(2015, 1, 2)), 60.0, 61.0, 59.0, 60.5, 1e6, 52.0)
    app.peek().save_bars(BarSeries.from_bars("IWM", Interval.DAILY, [ancient]))
    spy_before = app.peek().load_bars("SPY", Interval.DAILY)
    adjusted, events = adjusted_for(action, market.daily["IWM"])
    fake.add_daily("IWM", adjusted, **events)  # type: ignore[arg-type]

    clock.now = ny(DAY2, 17)
    monitor = await app.restart()
    outcome = await monitor.load_history()

    assert outcome.errors == {} and "IWM" in outcome.updated
    history = [(r.symbol, r.query["range"]) for r in app.fake.chart_requests(history_only=True)]
    assert sorted(history) == [("IWM", "10y"), ("IWM", "1mo"), ("SPY", "1mo"), ("^RUT", "1mo")]
    assert history.index(("IWM", "1mo")) < history.index(("IWM", "10y"))
    store = app.peek()
    cached = store.load_bars("IWM", Interval.DAILY)
    # Replaced, not upserted: nothing of the old adjustment is left, not even what Yahoo no longer sends.
    assert series_rows(cached) == rows(upto(adjusted, DAY2))
    assert series_rows(monitor.snapshot().symbols["IWM"].daily) == rows(upto(adjusted, DAY2))
    # The others only got their tail appended; what was cached is untouched.
    spy_after = store.load_bars("SPY", Interval.DAILY)
    assert series_rows(spy_after)[: len(spy_before)] == series_rows(spy_before)
    assert series_rows(spy_after) == rows(upto(market.daily["SPY"], DAY2))


# ---------------------------------------------------------------------- failures keep the cache
@pytest.mark.parametrize("failing", ["the tail", "the full refetch after a split"])
async def test_a_failed_refetch_keeps_the_cached_history_on_screen_and_on_disk(
    failing: str, app: App, fake: FakeYahoo, clock: Clock, market: Market
) -> None:
    await first_run(app, market)
    iwm_before = app.peek().load_bars("IWM", Interval.DAILY)
    if failing == "the tail":
        fake.fail("IWM", "503")
    else:
        adjusted, events = adjusted_for("split", market.daily["IWM"])
        fake.add_daily("IWM", adjusted, **events)  # type: ignore[arg-type]
        fake.fail("IWM", "503", range="10y")

    clock.now = ny(DAY2, 17)
    monitor = await app.restart()
    assert await monitor.paint_from_cache()
    outcome = await monitor.load_history()

    assert outcome.failed and outcome.errors["IWM"].kind is ErrorKind.SERVER_ERROR
    assert not monitor.history_ok
    iwm = monitor.snapshot().symbols["IWM"]
    assert series_rows(iwm.daily) == series_rows(
        iwm_before
    )  # the whole cached history, not the sparkline tail
    assert iwm.stale and iwm.error is not None and iwm.error.kind is ErrorKind.SERVER_ERROR
    assert iwm.quote is not None and iwm.quote.last == upto(market.daily["IWM"], DAY1)[-1].close
    store = app.peek()
    assert series_rows(store.load_bars("IWM", Interval.DAILY)) == series_rows(iwm_before)
    # The others are brought up to date as usual.
    assert series_rows(store.load_bars("SPY", Interval.DAILY)) == rows(upto(market.daily["SPY"], DAY2))
    spy = monitor.snapshot().symbols["SPY"]
    assert spy.error is None and spy.daily.last is not None and spy.daily.last.day == DAY2


async def test_a_failed_quote_refresh_keeps_the_cached_quote_marked_stale(
    app: App, fake: FakeYahoo, clock: Clock, market: Market
) -> None:
    await first_run(app, market)
    clock.now = ny(DAY2, 17)
    monitor = await app.restart()
    await monitor.paint_from_cache()
    fake.fail("IWM", "429")

    outcome = await monitor.refresh_quotes()

    assert outcome.failed and outcome.errors["IWM"].kind is ErrorKind.RATE_LIMITED
    snap = monitor.snapshot()
    iwm, spy = snap.symbols["IWM"], snap.symbols["SPY"]
    assert iwm.quote is not None and iwm.quote.last == upto(market.daily["IWM"], DAY1)[-1].close
    assert iwm.stale and iwm.error is not None
    assert spy.quote is not None and spy.quote.last == upto(market.daily["SPY"], DAY2)[-1].close
    assert not spy.stale and spy.quote.session is MarketSession.POST
    cached = app.peek().load_quotes(["IWM", "SPY"])
    assert cached["IWM"].quote.last == iwm.quote.last and cached["IWM"].fetched_at == ny(DAY1, 17)
    assert cached["SPY"].quote == spy.quote and cached["SPY"].fetched_at == ny(DAY2, 17)


async def test_an_action_the_cache_already_reflects_does_not_refetch_again(
    app: App, fake: FakeYahoo, clock: Clock, market: Market
) -> None:
    """A dividend on Monday, cached in full on Wednesday: Friday's tail still contains it (1mo range),
    but nothing cached predates it unadjusted, so one tail request per symbol is enough."""
    monday = DAY1 - timedelta(days=2)
    fake.add_daily("IWM", market.daily["IWM"], dividends={monday: 0.75})
    await first_run(app, market)

    clock.now = ny(DAY2, 17)
    monitor = await app.restart()
    outcome = await monitor.load_history()

    assert outcome.errors == {}
    assert sorted((r.symbol, r.query["range"]) for r in app.fake.chart_requests(history_only=True)) == [
        ("IWM", "1mo"),
        ("SPY", "1mo"),
        ("^RUT", "1mo"),
    ]
    assert series_rows(app.peek().load_bars("IWM", Interval.DAILY)) == rows(upto(market.daily["IWM"], DAY2))
