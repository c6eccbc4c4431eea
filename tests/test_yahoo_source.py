"""YahooSource through yfinance's real code path, against an in-process Yahoo (tests/fakes/yahoo_http.py).

Every expectation is computed here from the bars fed to the fake, never from the code under test.
"""

from __future__ import annotations

import json
import math
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fakes.yahoo_http import (
    FakeBar,
    FakeYahoo,
    make_daily,
    make_intraday,
    null_pattern,
    offline_yfinance,
    weekdays_ending,
)

from services.market_hours import NEW_YORK, MarketHours
from services.models import BarSeries, ErrorKind, Interval, MarketSession
from services.sources.yahoo import YahooSource, classify_failure, tail_period

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RECORDED = SHARED / "fixtures" / "yahoo-chart"

TODAY = date(2026, 2, 11)  # a Wednesday, in winter (New York = UTC-5)
AFTER_CLOSE = datetime(2026, 2, 11, 22, 0, tzinfo=UTC)  # 17:00 New York
MID_SESSION = datetime(2026, 2, 11, 16, 2, tzinfo=UTC)  # 11:02 New York
SATURDAY = datetime(2026, 2, 14, 17, 0, tzinfo=UTC)  # 12:00 New York
FRIDAY = date(2026, 2, 13)


def ny(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), NEW_YORK).astimezone(UTC)


def utc_midnight(d: date) -> int:
    """How the project keys a daily bar: 00:00 UTC of the session date."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def daily_rows(bars: list[FakeBar]) -> dict[int, tuple[float, ...]]:
    return {
        utc_midnight(b.day): (b.open, b.high, b.low, b.close, b.volume)  # type: ignore[misc]
        for b in bars
        if b.complete()
    }


def intraday_rows(bars: list[FakeBar]) -> dict[int, tuple[float, ...]]:
    return {b.ts: (b.open, b.high, b.low, b.close, b.volume) for b in bars if b.complete()}  # type: ignore[misc]


def series_rows(series: BarSeries) -> dict[int, tuple[float, ...]]:
    return {b.ts: (b.open, b.high, b.low, b.close, b.volume) for b in series}


def assert_all_finite(series: BarSeries, *, adj: bool = False) -> None:
    cols = [series.open, series.high, series.low, series.close, series.volume]
    if adj:
        cols.append(series.adj_close)
    for col in cols:
        assert all(math.isfinite(x) for x in col), series


def exists(path: str | Path) -> bool:
    return Path(path).exists()


def recorded(name: str) -> Path:
    path = RECORDED / name
    if not path.is_file():
        pytest.skip(f"recorded Yahoo responses not available ({path})")
    return path


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """yfinance's process-wide state reset around each test; curl_cffi refused (yields what it refused)."""
    with offline_yfinance(tmp_path / "yfinance-process", monkeypatch) as refused:
        yield refused


class Clock:
    """A settable UTC clock shared by the fake and the source."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(AFTER_CLOSE)


@pytest.fixture
def fake(clock: Clock) -> FakeYahoo:
    return FakeYahoo(clock=clock)


@pytest.fixture
async def make_source(
    tmp_path: Path, fake: FakeYahoo, clock: Clock
) -> AsyncIterator[Callable[..., YahooSource]]:
    made: list[YahooSource] = []

    def make(**kwargs: Any) -> YahooSource:
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        kwargs.setdefault("session", fake.session())
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("hours_loader", None)
        source = YahooSource(**kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


def hours_for(days: list[date], early_close: date | None = None) -> MarketHours:
    """A MarketHours from a small dict: 09:30-16:00 New York (13:00 on the early close)."""
    return MarketHours({d: (ny(d, 9, 30), ny(d, 13) if d == early_close else ny(d, 16)) for d in days})


# Mon 9 .. Fri 13 Feb 2026, then Presidents' Day (Mon 16) closed, Tue 17 .. Fri 20 open.
FEB_SESSIONS = [date(2026, 2, d) for d in (9, 10, 11, 12, 13, 17, 18, 19, 20)]


# ---------------------------------------------------------------------- daily history
async def test_daily_history_values_dates_count_and_adjusted_close(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    bars = make_daily([200.0 + 0.25 * i for i in range(300)], TODAY, adj_ratio=0.96875)
    fake.add_daily("IWM", bars)
    source = make_source()

    result = await source.history(["IWM"], Interval.DAILY)

    assert result.errors == {} and result.adjusted == frozenset()
    series = result.bars["IWM"]
    assert series.interval is Interval.DAILY and len(series) == 300
    assert series_rows(series) == daily_rows(bars)
    assert series.ts[0] == utc_midnight(bars[0].day) and series.ts[-1] == utc_midnight(TODAY)
    # The adjusted close is carried next to the close, not instead of it.
    assert list(series.adj_close) == [b.close * 0.96875 for b in bars]  # type: ignore[operator]
    assert all(a != c for a, c in zip(series.adj_close, series.close, strict=True))
    assert_all_finite(series, adj=True)
    # History is asked for by range (never by start date or "max"), split-unadjusted, with events.
    (request,) = fake.chart_requests("IWM", history_only=True)
    assert request.query["range"] == "10y" and request.query["interval"] == "1d"
    assert "period1" not in request.query and "period2" not in request.query
    assert "div" in request.query["events"] and "split" in request.query["events"]


async def test_a_tail_request_asks_for_the_smallest_covering_range(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    bars = make_daily([100.0 + i for i in range(300)], TODAY)
    fake.add_daily("SPY", bars)
    source = make_source()
    newest_cached = TODAY - timedelta(days=12)

    result = await source.history(["SPY"], Interval.DAILY, since={"SPY": newest_cached})

    (request,) = fake.chart_requests("SPY", history_only=True)
    assert request.query["range"] == "1mo"
    series = result.bars["SPY"]
    # One calendar month back from today, which covers the newest cached bar and the overlap before it.
    month_ago = date(2026, 1, 11)
    assert series_rows(series) == daily_rows([b for b in bars if b.day > month_ago])
    assert series[0].day <= newest_cached - timedelta(days=7)


@pytest.mark.parametrize(
    ("days_since_newest", "expected"),
    [
        (0, "1mo"),
        (21, "1mo"),
        (22, "3mo"),
        (81, "3mo"),
        (82, "6mo"),
        (173, "6mo"),
        (174, "1y"),
        (353, "1y"),
        (354, "2y"),
        (718, "2y"),
        (719, "5y"),
        (1813, "5y"),
        (1814, "10y"),
        (9000, "10y"),
    ],
)
def test_tail_period_boundaries(days_since_newest: int, expected: str) -> None:
    assert tail_period(TODAY - timedelta(days=days_since_newest), TODAY) == expected


def test_tail_period_without_a_cache_is_the_full_history() -> None:
    assert tail_period(None, TODAY) == "10y"


def test_every_tail_range_reaches_a_week_before_the_newest_cached_bar() -> None:
    """Yahoo's "Nmo"/"Ny" ranges start N calendar months back: each choice must reach back past the
    newest cached bar by the 7-day overlap, whatever the gap (checked day by day for five years)."""
    months = {"1mo": 1, "3mo": 3, "6mo": 6, "1y": 12, "2y": 24, "5y": 60, "10y": 120}
    for gap in range(0, 5 * 366):
        newest = TODAY - timedelta(days=gap)
        n = months[tail_period(newest, TODAY)]
        y, m = divmod(TODAY.year * 12 + TODAY.month - 1 - n, 12)
        range_start = date(y, m + 1, min(TODAY.day, 28))
        assert range_start < newest - timedelta(days=7), (gap, tail_period(newest, TODAY))


# ---------------------------------------------------------------------- intraday and the quote
def session_day_bars(day: date) -> tuple[list[FakeBar], list[FakeBar], list[FakeBar]]:
    """Pre-market 08:00-08:55, regular 09:30-10:55 and after-hours 16:00-16:25 bars of 5 minutes."""
    pre = make_intraday(day, time(8, 0), [207.0 + 0.05 * i for i in range(12)], volume=1_500)
    regular = make_intraday(day, time(9, 30), [208.0 + ((-1) ** i) * 0.1 * i for i in range(18)])
    post = make_intraday(day, time(16, 0), [209.0, 209.2, 209.1, 209.4, 209.3, 209.5], volume=700)
    return pre, regular, post


async def test_intraday_history_is_five_days_of_five_minute_bars_with_extended_hours(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    days = weekdays_ending(TODAY, 7)
    bars = [b for d in days for part in session_day_bars(d) for b in part]
    fake.add_intraday("IWM", bars)
    source = make_source()

    result = await source.history(["IWM"], Interval.MINUTE_5)

    series = result.bars["IWM"]
    assert series.interval is Interval.MINUTE_5
    last_five = [b for b in bars if b.day in days[-5:]]
    assert len(series) == len(last_five) == 5 * (12 + 18 + 6)
    assert series_rows(series) == intraday_rows(last_five)
    assert_all_finite(series)
    (request,) = fake.chart_requests("IWM", history_only=True)
    assert (request.query["range"], request.query["interval"]) == ("5d", "5m")
    assert request.query["includePrePost"] == "True"


async def test_quote_mid_session_is_built_from_the_chart_meta(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    clock.now = MID_SESSION  # 11:02 New York: the last regular bar (10:55) is complete
    daily = make_daily([200.0 + i for i in range(40)], TODAY - timedelta(days=1))
    pre, regular, post = session_day_bars(TODAY)
    fake.add_daily("IWM", daily)
    fake.add_intraday("IWM", pre + regular + post)  # after-hours bars are in the future: not served
    # The close before the chart's first bar is not the previous session's close on a multi-day chart.
    fake.set_meta("IWM", chartPreviousClose=123.25)
    source = make_source()

    result = await source.quotes(["IWM"])

    assert result.errors == {}
    q = result.quotes["IWM"]
    assert q.last == regular[-1].close
    assert q.prev_close == daily[-1].close
    assert q.day_open == regular[0].open != pre[0].open  # the regular session's open, not the pre-market's
    assert q.day_high == max(b.high for b in regular)  # type: ignore[type-var]
    assert q.day_low == min(b.low for b in regular)  # type: ignore[type-var]
    assert q.volume == sum(b.volume for b in regular)  # type: ignore[misc]
    assert q.time == ny(TODAY, 11, 0)  # the end of the last regular 5-minute bar
    assert q.trading_day == TODAY
    assert q.session is MarketSession.REGULAR  # from Yahoo's currentTradingPeriod (no calendar loaded)
    path = result.intraday["IWM"]
    assert series_rows(path) == intraday_rows(pre + regular)
    (request,) = fake.chart_requests("IWM", history_only=True)
    assert request.query["range"] == "1d" and request.query["interval"] == "5m"
    assert request.query["includePrePost"] == "True"


async def test_quote_session_comes_from_the_market_calendar_when_loaded(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    daily = make_daily([200.0 + i for i in range(40)], TODAY)
    fake.add_daily("IWM", daily)
    source = make_source(hours_loader=lambda: hours_for(FEB_SESSIONS))

    clock.now = ny(TODAY, 17, 30)
    after = (await source.quotes(["IWM"])).quotes["IWM"]
    clock.now = SATURDAY
    weekend = (await source.quotes(["IWM"])).quotes["IWM"]

    assert after.session is MarketSession.POST and weekend.session is MarketSession.CLOSED
    for q in (after, weekend):
        # No intraday bars: the quote is the day's daily bar, struck at the close.
        assert (q.last, q.prev_close, q.trading_day) == (daily[-1].close, daily[-2].close, TODAY)
        assert (q.day_high, q.day_low, q.volume) == (daily[-1].high, daily[-1].low, daily[-1].volume)
        assert q.time == ny(TODAY, 16)


async def test_pre_market_quote_carries_the_extended_price_beside_the_last_regular_close(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    yesterday = TODAY - timedelta(days=1)
    daily = make_daily([200.0 + i for i in range(40)], yesterday)
    pre, regular, post = session_day_bars(TODAY)
    fake.add_daily("IWM", daily)
    fake.add_intraday("IWM", pre + regular + post)
    clock.now = ny(TODAY, 9, 2)  # pre-market: the 08:55 bar is the last one complete
    source = make_source(hours_loader=lambda: hours_for(FEB_SESSIONS))

    q = (await source.quotes(["IWM"])).quotes["IWM"]

    assert q.session is MarketSession.PRE
    assert (q.last, q.trading_day) == (daily[-1].close, yesterday)  # the regular close stays `last`
    assert q.extended is not None
    assert q.extended.session is MarketSession.PRE
    assert q.extended.price == pre[-1].close == pytest.approx(207.55)
    assert q.extended.time == ny(TODAY, 8, 55)
    points, pct = q.extended_change  # type: ignore[misc]
    assert points == pytest.approx(pre[-1].close - daily[-1].close)
    assert pct == pytest.approx((pre[-1].close / daily[-1].close - 1) * 100)


async def test_after_hours_quote_carries_the_post_market_price(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    daily = make_daily([200.0 + i for i in range(40)], TODAY - timedelta(days=1))
    pre, regular, post = session_day_bars(TODAY)
    fake.add_daily("IWM", daily)
    fake.add_intraday("IWM", pre + regular + post)
    source = make_source(hours_loader=lambda: hours_for(FEB_SESSIONS))

    clock.now = ny(TODAY, 16, 2)  # the first after-hours bar is forming: its last trade counts
    early = (await source.quotes(["IWM"])).quotes["IWM"]
    clock.now = ny(TODAY, 16, 31)  # the 16:25 after-hours bar is complete
    after = (await source.quotes(["IWM"])).quotes["IWM"]

    assert early.session is MarketSession.POST
    assert early.extended is not None and early.extended.price == post[0].close == 209.0
    assert after.session is MarketSession.POST
    assert after.last == regular[-1].close  # the regular close
    assert after.extended is not None and after.extended.price == post[-1].close == 209.5
    assert after.extended.time == ny(TODAY, 16, 25)


async def test_mid_session_quotes_have_no_extended_price(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    fake.add_daily("IWM", make_daily([200.0 + i for i in range(40)], TODAY - timedelta(days=1)))
    pre, regular, _post = session_day_bars(TODAY)
    fake.add_intraday("IWM", pre + regular)
    clock.now = MID_SESSION
    source = make_source(hours_loader=lambda: hours_for(FEB_SESSIONS))

    q = (await source.quotes(["IWM"])).quotes["IWM"]

    assert q.session is MarketSession.REGULAR and q.extended is None and q.extended_change is None


async def test_a_failing_calendar_loader_falls_back_to_yahoos_trading_periods(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    def broken() -> MarketHours:
        raise OSError("calendar data unavailable")

    clock.now = MID_SESSION
    fake.add_daily("IWM", make_daily([200.0 + i for i in range(40)], TODAY))
    source = make_source(hours_loader=broken)

    result = await source.quotes(["IWM"])

    # Without a calendar the session comes from the trading periods of Yahoo's last answer.
    assert source.hours is None and source.session_at(MID_SESSION) is MarketSession.REGULAR
    assert result.quotes["IWM"].session is MarketSession.REGULAR


# ---------------------------------------------------------------------- corporate actions
async def test_recorded_aapl_split_and_dividend(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    path = recorded("chart-AAPL-2020-08-31-to-2020-11-07.json")
    body = json.loads(path.read_text())["response"]["bodyJson"]["chart"]["result"][0]
    quote, adj = body["indicators"]["quote"][0], body["indicators"]["adjclose"][0]["adjclose"]
    expected = {
        utc_midnight(datetime.fromtimestamp(t, NEW_YORK).date()): (
            quote["open"][i],
            quote["high"][i],
            quote["low"][i],
            quote["close"][i],
            quote["volume"][i],
        )
        for i, t in enumerate(body["timestamp"])
        if None not in (quote["open"][i], quote["high"][i], quote["low"][i], quote["close"][i])
    }
    fake.add_recorded("AAPL", path)
    clock.now = datetime(2020, 11, 9, 22, 0, tzinfo=UTC)
    source = make_source()

    tail = await source.history(["AAPL"], Interval.DAILY, since={"AAPL": date(2020, 10, 30)})
    full = await source.history(["AAPL"], Interval.DAILY)

    # The 4:1 split (2020-08-31) and the dividend (2020-11-06) in a tail: the cache must refetch AAPL.
    assert tail.adjusted == frozenset({"AAPL"})
    # Without a cache (no `since`) there is nothing to re-adjust.
    assert full.adjusted == frozenset() and full.errors == {}
    series = full.bars["AAPL"]
    assert series_rows(series) == expected and len(series) == 49
    assert series[0].day == date(2020, 8, 31) and series[-1].day == date(2020, 11, 6)
    assert list(series.adj_close) == adj
    assert_all_finite(series, adj=True)


@pytest.mark.parametrize("action", ["split", "dividend"])
async def test_a_synthetic_corporate_action_in_the_tail_marks_the_symbol_adjusted(
    action: str, fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    ex_date = TODAY - timedelta(days=5)  # Fri 6 Feb
    long_ago = date(2025, 6, 2)
    events: dict[str, Any] = (
        {"splits": {ex_date: (2, 1), long_ago: (3, 1)}}
        if action == "split"
        else {"dividends": {ex_date: 0.42, long_ago: 0.4}}
    )
    fake.add_daily("IWM", make_daily([100.0 + 0.1 * i for i in range(400)], TODAY), **events)
    fake.add_daily("SPY", make_daily([500.0 + 0.1 * i for i in range(400)], TODAY))
    source = make_source()
    week_ago = TODAY - timedelta(days=8)

    tail = await source.history(["IWM", "SPY"], Interval.DAILY, since={"IWM": week_ago, "SPY": week_ago})
    full = await source.history(["IWM"], Interval.DAILY)

    assert tail.adjusted == frozenset({"IWM"})  # SPY had no action: only IWM needs a full refetch
    assert set(tail.bars) == {"IWM", "SPY"}
    assert full.adjusted == frozenset()
    # A cache whose newest bar is on or after the ex-date got it from an answer that had the action
    # already: it holds the re-adjusted history, and a full refetch would be a waste.
    for newest in (ex_date, TODAY - timedelta(days=1)):
        again = await source.history(["IWM"], Interval.DAILY, since={"IWM": newest})
        assert again.adjusted == frozenset() and "IWM" in again.bars

    # An action older than the tail's range is not in Yahoo's answer: nothing to re-adjust.
    fake.add_daily(
        "IWM",
        make_daily([100.0 + 0.1 * i for i in range(400)], TODAY),
        **{k: {long_ago: v[long_ago]} for k, v in events.items()},
    )
    quiet = await source.history(["IWM"], Interval.DAILY, since={"IWM": week_ago})
    assert quiet.adjusted == frozenset() and "IWM" in quiet.bars


# ---------------------------------------------------------------------- empty answers
async def test_recorded_empty_weekend_minute_answer_is_no_data_not_delisted(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    path = recorded("chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json")
    meta = json.loads(path.read_text())["response"]["bodyJson"]["chart"]["result"][0]["meta"]
    fake.add_recorded("AAPL", path)
    clock.now = datetime(2025, 2, 1, 17, 0, tzinfo=UTC)  # a Saturday
    source = make_source(intraday_interval=Interval.MINUTE_1)

    history = await source.history(["AAPL"], Interval.MINUTE_1)
    quotes = await source.quotes(["AAPL"])

    err = history.errors["AAPL"]
    assert err.kind is ErrorKind.NO_DATA and err.kind.retryable
    assert "delisted" not in err.message.lower() and history.bars == {}
    # The quote still comes from the meta of the empty answer; there is no intraday path.
    assert quotes.errors == {} and quotes.intraday == {}
    q = quotes.quotes["AAPL"]
    assert q.last == meta["regularMarketPrice"] and q.prev_close == meta["previousClose"]
    assert q.day_high == meta["regularMarketDayHigh"] and q.day_low == meta["regularMarketDayLow"]
    assert q.time == datetime.fromtimestamp(meta["regularMarketTime"], UTC)
    assert q.trading_day == datetime.fromtimestamp(meta["regularMarketTime"], NEW_YORK).date()
    assert q.day_open is None


async def test_an_empty_answer_is_no_data_and_the_quote_survives_on_its_meta(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    clock.now = SATURDAY
    daily = make_daily([200.0 + i for i in range(30)], FRIDAY)
    fake.add_daily("IWM", daily)
    fake.fail("IWM", "empty")
    source = make_source()

    history = await source.history(["IWM"], Interval.DAILY)
    quotes = await source.quotes(["IWM"])

    assert history.errors["IWM"].kind is ErrorKind.NO_DATA
    assert "delisted" not in history.errors["IWM"].message.lower()
    q = quotes.quotes["IWM"]
    assert (q.last, q.prev_close, q.trading_day) == (daily[-1].close, daily[-2].close, FRIDAY)
    assert quotes.intraday == {} and quotes.errors == {}


async def test_a_symbol_without_any_data_is_no_data_in_both_paths(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    fake.add_daily("IWM", [])  # Yahoo knows it (no 404) but has nothing, not even a price
    source = make_source()

    history = await source.history(["IWM"], Interval.DAILY)
    quotes = await source.quotes(["IWM"])

    assert history.errors["IWM"].kind is ErrorKind.NO_DATA
    assert quotes.errors["IWM"].kind is ErrorKind.NO_DATA and quotes.quotes == {}


# ---------------------------------------------------------------------- failures
async def test_an_unknown_symbol_is_final_and_never_sent_to_quote_summary(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    source = make_source()

    history = await source.history(["NOSUCH"], Interval.DAILY)
    quotes = await source.quotes(["NOSUCH"])

    for err in (history.errors["NOSUCH"], quotes.errors["NOSUCH"]):
        assert err.kind is ErrorKind.UNKNOWN_SYMBOL and not err.kind.retryable
        assert "404" in err.message
    assert history.bars == {} and quotes.quotes == {}
    assert all(r.status == 404 for r in fake.chart_requests("NOSUCH"))
    # yfinance's fallback to the rate-limited quoteSummary (.info) for a failed timezone lookup is off.
    assert fake.requests_to("/v10/") == [] and fake.requests_to("/v7/") == []
    assert {r.host for r in fake.requests} <= {
        "fc.yahoo.com",
        "query1.finance.yahoo.com",
        "query2.finance.yahoo.com",
        "guce.yahoo.com",
    }


async def test_a_failed_timezone_probe_neither_blocks_history_nor_asks_quote_summary(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    bars = make_daily([50.0 + i for i in range(20)], TODAY)
    fake.add_daily("IWM", bars)
    fake.fail("IWM", "500", range="1d", interval="1d")  # only yfinance's timezone probe fails
    source = make_source()

    result = await source.history(["IWM"], Interval.DAILY)

    assert result.errors == {} and series_rows(result.bars["IWM"]) == daily_rows(bars)
    assert [r.status for r in fake.chart_requests("IWM") if r.is_tz_lookup] == [500, 500]
    assert fake.requests_to("/v10/") == [] and fake.requests_to("/v7/") == []


FAULTS = [
    ("429", ErrorKind.RATE_LIMITED),
    ("500", ErrorKind.SERVER_ERROR),
    ("502", ErrorKind.SERVER_ERROR),
    ("503", ErrorKind.SERVER_ERROR),
    ("timeout", ErrorKind.TIMEOUT),
    ("dns", ErrorKind.NETWORK),
    ("garbage", ErrorKind.BAD_RESPONSE),
]


@pytest.mark.parametrize("scope", ["every request", "history request only"])
@pytest.mark.parametrize(("kind", "expected"), FAULTS)
async def test_history_failures_are_classified_and_do_not_stick(
    kind: str,
    expected: ErrorKind,
    scope: str,
    fake: FakeYahoo,
    make_source: Callable[..., YahooSource],
) -> None:
    iwm = make_daily([200.0 + i for i in range(30)], TODAY)
    spy = make_daily([600.0 + i for i in range(30)], TODAY)
    fake.add_daily("IWM", iwm)
    fake.add_daily("SPY", spy)
    if scope == "every request":
        fake.fail("IWM", kind)
    else:  # the timezone probe answers; the history request itself fails
        fake.fail("IWM", kind, range="10y")
    source = make_source()

    failed = await source.history(["IWM", "SPY"], Interval.DAILY)

    assert failed.errors["IWM"].kind is expected, failed.errors["IWM"]
    assert failed.errors["IWM"].kind.retryable
    assert "IWM" not in failed.bars
    assert series_rows(failed.bars["SPY"]) == daily_rows(spy)  # one failure never hides the others
    assert fake.requests_to("/v10/") == [] and fake.requests_to("/v7/") == []

    # Once Yahoo answers again, so does the source: a failure must not be remembered.
    fake.clear_faults()
    before = len(fake.requests)
    recovered = await source.history(["IWM"], Interval.DAILY)
    assert recovered.errors == {}
    assert series_rows(recovered.bars["IWM"]) == daily_rows(iwm)
    assert len(fake.requests) > before


async def test_a_single_server_error_is_absorbed_by_yfinances_one_retry(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    """yfinance asks once more after an HTTP error (with its other cookie strategy): one 502 costs a
    request, not the symbol's data. Two in a row are reported."""
    bars = make_daily([200.0 + i for i in range(30)], TODAY)
    fake.add_daily("IWM", bars)
    fake.fail("IWM", "502", times=1, range="10y")
    source = make_source()

    once = await source.history(["IWM"], Interval.DAILY)
    fake.fail("IWM", "502", times=2, range="10y")
    twice = await source.history(["IWM"], Interval.DAILY)

    assert once.errors == {} and series_rows(once.bars["IWM"]) == daily_rows(bars)
    assert twice.errors["IWM"].kind is ErrorKind.SERVER_ERROR and "502" in twice.errors["IWM"].message
    assert [r.status for r in fake.chart_requests("IWM", history_only=True)] == [502, 200, 502, 502]


@pytest.mark.parametrize(("kind", "expected"), FAULTS)
async def test_quote_failures_are_classified_per_symbol(
    kind: str,
    expected: ErrorKind,
    fake: FakeYahoo,
    clock: Clock,
    make_source: Callable[..., YahooSource],
) -> None:
    clock.now = MID_SESSION
    for sym, base in (("IWM", 200.0), ("SPY", 600.0)):
        fake.add_daily(sym, make_daily([base + i for i in range(30)], TODAY - timedelta(days=1)))
        fake.add_intraday(sym, make_intraday(TODAY, time(9, 30), [base + 30 + 0.5 * i for i in range(12)]))
    fake.fail("IWM", kind)
    source = make_source()

    result = await source.quotes(["IWM", "SPY"])

    assert result.errors["IWM"].kind is expected, result.errors["IWM"]
    assert "IWM" not in result.quotes and "IWM" not in result.intraday
    assert result.quotes["SPY"].last == 600.0 + 30 + 0.5 * 11
    assert len(result.intraday["SPY"]) == 12

    fake.clear_faults()
    recovered = await source.quotes(["IWM"])
    assert recovered.errors == {} and recovered.quotes["IWM"].last == 200.0 + 30 + 0.5 * 11


@pytest.mark.parametrize(("kind", "expected"), [("dns", ErrorKind.NETWORK), ("timeout", ErrorKind.TIMEOUT)])
async def test_a_network_outage_fails_every_symbol_with_its_cause(
    kind: str, expected: ErrorKind, fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    for sym in ("IWM", "SPY"):
        fake.add_daily(sym, make_daily([100.0 + i for i in range(30)], TODAY))
    fake.fail(None, kind, all_hosts=True)  # cookie, crumb and chart: nothing answers
    source = make_source()

    history = await source.history(["IWM", "SPY"], Interval.DAILY)
    quotes = await source.quotes(["IWM", "SPY"])

    assert {s: e.kind for s, e in history.errors.items()} == {"IWM": expected, "SPY": expected}
    assert {s: e.kind for s, e in quotes.errors.items()} == {"IWM": expected, "SPY": expected}
    assert all(r.status is None for r in fake.requests)

    fake.clear_faults()
    assert set((await source.history(["IWM", "SPY"], Interval.DAILY)).bars) == {"IWM", "SPY"}


# ---------------------------------------------------------------------- nulls inside the arrays
async def test_null_fields_sent_by_yahoo_are_dropped_not_passed_on_as_nan(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    bars = make_daily([300.0 + i for i in range(12)], TODAY)
    holes = {
        2: dict(open=None, high=None, low=None, close=None, volume=None, adjclose=None),  # a gap row
        5: dict(close=None),
        7: dict(high=math.nan),
        9: dict(open=None, volume=None),
    }
    fed = [replace(b, **holes.get(i, {})) for i, b in enumerate(bars)]
    fake.add_daily("IWM", fed)
    source = make_source()

    series = (await source.history(["IWM"], Interval.DAILY)).bars["IWM"]

    complete = [b for i, b in enumerate(bars) if i not in holes]
    assert series_rows(series) == daily_rows(complete) and len(series) == 8
    assert_all_finite(series, adj=True)


async def test_the_nan_fault_rows_are_dropped_in_history_and_intraday(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    clock.now = MID_SESSION
    daily = make_daily([300.0 + i for i in range(20)], TODAY - timedelta(days=1))
    intraday = make_intraday(TODAY, time(9, 30), [310.0 + 0.25 * i for i in range(18)])
    fake.add_daily("IWM", daily)
    fake.add_intraday("IWM", intraday)
    fake.fail("IWM", "nan")
    source = make_source()

    history = await source.history(["IWM"], Interval.DAILY)
    quotes = await source.quotes(["IWM"])

    kept_daily = [b for i, b in enumerate(daily) if null_pattern(i) == ""]
    kept_intraday = [b for i, b in enumerate(intraday) if null_pattern(i) == ""]
    assert series_rows(history.bars["IWM"]) == daily_rows(kept_daily)
    assert series_rows(quotes.intraday["IWM"]) == intraday_rows(kept_intraday)
    assert_all_finite(history.bars["IWM"], adj=True)
    assert_all_finite(quotes.intraday["IWM"])
    q = quotes.quotes["IWM"]
    assert all(
        v is None or math.isfinite(v)
        for v in (q.last, q.prev_close, q.day_open, q.day_high, q.day_low, q.volume)
    )


# ---------------------------------------------------------------------- several symbols at once
async def test_mixed_results_in_one_call(
    fake: FakeYahoo, clock: Clock, make_source: Callable[..., YahooSource]
) -> None:
    clock.now = MID_SESSION
    yesterday = TODAY - timedelta(days=1)
    iwm = make_daily([250.0 + i for i in range(30)], yesterday)
    spy = make_daily([650.0 + i for i in range(30)], yesterday)
    tnx = make_daily([4.0 + 0.01 * i for i in range(30)], yesterday, volume=0)
    fake.add_daily("IWM", iwm)
    fake.add_daily("SPY", spy)
    fake.add_daily("^TNX", tnx)
    fake.add_daily("^RUT", make_daily([2500.0 + i for i in range(30)], yesterday, volume=0))
    fake.add_intraday("IWM", make_intraday(TODAY, time(9, 30), [280.0, 280.5, 281.0]))
    fake.fail("^RUT", "429")
    source = make_source()
    symbols = ["IWM", "^RUT", "NOSUCH", "SPY", "^TNX"]

    history = await source.history(symbols, Interval.DAILY)
    quotes = await source.quotes(symbols)

    for result in (history, quotes):
        assert {s: e.kind for s, e in result.errors.items()} == {
            "^RUT": ErrorKind.RATE_LIMITED,
            "NOSUCH": ErrorKind.UNKNOWN_SYMBOL,
        }
    assert series_rows(history.bars["IWM"]) == daily_rows(iwm)
    assert series_rows(history.bars["SPY"]) == daily_rows(spy)
    assert series_rows(history.bars["^TNX"]) == daily_rows(tnx)
    assert set(history.bars["^TNX"].volume) == {0.0}  # an index has no volume
    assert quotes.quotes["IWM"].last == 281.0 and quotes.quotes["IWM"].prev_close == iwm[-1].close
    assert quotes.quotes["SPY"].last == spy[-1].close and quotes.quotes["SPY"].trading_day == yesterday
    assert quotes.quotes["^TNX"].last == tnx[-1].close
    assert set(quotes.intraday) == {"IWM"}


# ---------------------------------------------------------------------- plumbing
async def test_the_ledger_records_every_request_with_its_status(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    fake.add_daily("IWM", make_daily([200.0 + i for i in range(10)], TODAY))
    fake.fail("SPY", "timeout")
    source = make_source()

    await source.history(["IWM"], Interval.DAILY)
    first = len(fake.requests)
    mark = source.ledger.mark()
    await source.history(["IWM", "SPY", "NOSUCH"], Interval.DAILY)

    assert source.ledger.total == len(fake.requests)
    new = source.ledger.since(mark)
    assert [r.status for r in new] == [r.status for r in fake.requests[first:]]
    assert [r.url.split("?")[0].rsplit("/", 1)[-1] for r in new if "/chart/" in r.url] == [
        r.symbol for r in fake.requests[first:] if r.is_chart
    ]
    assert [r.error for r in new if r.status is None] == ["ReadTimeout"]
    everything = source.ledger.since(0)
    assert len(everything) == source.ledger.total
    # Requests per minute: those answered in the 60 s before `now` (deterministic bounds, no timing).
    assert source.ledger.per_minute(now=everything[0].at + 60.0) == source.ledger.total
    assert source.ledger.per_minute(now=everything[-1].at + 61.0) == 0


async def test_yfinance_caches_live_in_the_apps_cache_dir(
    tmp_path: Path, fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    fake.add_daily("IWM", make_daily([200.0 + i for i in range(10)], TODAY))
    source = make_source(cache_dir=tmp_path / "app-cache")
    temp = make_source(cache_dir=None)

    await source.history(["IWM"], Interval.DAILY)
    assert (tmp_path / "app-cache" / "yfinance" / "tkr-tz.db").is_file()
    await temp.history(["IWM"], Interval.DAILY)
    assert temp._tmp_dir is not None and exists(temp._tmp_dir)  # a private folder, removed on close
    await temp.aclose()
    assert not exists(temp._tmp_dir)


async def test_cadence_without_a_calendar(make_source: Callable[..., YahooSource]) -> None:
    source = make_source(refresh_s=15.0)
    await source.quotes([])  # loads what it can (no calendar here) without a request

    now = AFTER_CLOSE
    assert source.session_at(now) is None
    assert source.next_poll(now) == 15.0
    assert source.history_due(now, None)
    assert not source.history_due(now, now - timedelta(hours=11))
    assert source.history_due(now, now - timedelta(hours=13))


async def test_cadence_with_a_market_calendar(
    fake: FakeYahoo, make_source: Callable[..., YahooSource]
) -> None:
    source = make_source(refresh_s=15.0, hours_loader=lambda: hours_for(FEB_SESSIONS, early_close=FRIDAY))
    assert source.session_at(MID_SESSION) is None  # not loaded before the first fetch
    await source.quotes([])
    assert fake.requests == []

    assert source.session_at(ny(TODAY, 3, 59)) is MarketSession.CLOSED
    assert source.session_at(ny(TODAY, 4)) is MarketSession.PRE
    assert source.session_at(ny(TODAY, 9, 30)) is MarketSession.REGULAR
    assert source.session_at(ny(TODAY, 16)) is MarketSession.POST
    assert source.session_at(ny(TODAY, 20)) is MarketSession.CLOSED
    assert source.session_at(ny(FRIDAY, 13, 30)) is MarketSession.POST  # early close at 13:00
    assert source.session_at(ny(date(2026, 2, 16), 11)) is MarketSession.CLOSED  # the holiday

    # Regular session: the refresh rate; pre-market and after-hours: the slower extended rate (60 s by
    # default). Closed: sleep until the next session change (+1 s).
    assert source.next_poll(MID_SESSION) == 15.0
    assert source.next_poll(ny(TODAY, 8)) == 60.0
    assert source.next_poll(ny(TODAY, 17)) == 60.0
    assert source.next_poll(ny(FRIDAY, 14)) == 60.0  # after-hours following the early close
    assert (
        source.next_poll(ny(TODAY, 21))
        == (ny(TODAY + timedelta(days=1), 4) - ny(TODAY, 21)).total_seconds() + 1
    )
    weekend = ny(FRIDAY, 17, 30)  # after-hours end at 17:00 after the early close
    assert source.next_poll(weekend) == (ny(date(2026, 2, 17), 4) - weekend).total_seconds() + 1
    assert source.next_poll(ny(TODAY, 3, 59) + timedelta(seconds=55)) == 15.0  # never sooner than the rate
    assert source.next_poll(ny(date(2026, 2, 20), 21)) is None  # past the calendar's end

    # History is due once a session has closed (and settled 20 minutes) since the last fetch.
    close = ny(TODAY, 16)
    assert source.history_due(close + timedelta(minutes=30), None)
    assert source.history_due(close + timedelta(minutes=30), close - timedelta(hours=1))
    assert not source.history_due(close + timedelta(minutes=10), close - timedelta(hours=1))
    assert not source.history_due(close + timedelta(minutes=30), close + timedelta(minutes=25))
    assert not source.history_due(ny(TODAY + timedelta(days=1), 11), close + timedelta(minutes=25))


# ---------------------------------------------------------------------- the test harness itself
def test_the_fake_records_what_it_does_not_serve() -> None:
    """The "never asked for quoteSummary" assertions above mean something only if the fake records such
    requests (with a 404) rather than failing in some other way."""
    fake = FakeYahoo(clock=AFTER_CLOSE)
    session = fake.session()
    summary = session.get(
        "https://query2.finance.yahoo.com/v10/finance/quoteSummary/IWM", params={"modules": "price"}
    )
    quote = session.get("https://query1.finance.yahoo.com/v7/finance/quote", params={"symbols": "IWM"})
    unknown = session.get("https://query2.finance.yahoo.com/v8/finance/chart/NOSUCH", params={"range": "1d"})

    assert (summary.status_code, quote.status_code, unknown.status_code) == (404, 404, 404)
    assert unknown.json()["chart"]["error"]["description"] == "No data found, symbol may be delisted"
    assert [r.path for r in fake.requests_to("/v10/")] == ["/v10/finance/quoteSummary/IWM"]
    assert fake.requests_to("/v7/")[0].query == {"symbols": "IWM"}
    assert [r.symbol for r in fake.chart_requests()] == ["NOSUCH"]


async def test_a_source_left_on_its_default_curl_cffi_session_is_caught(
    tmp_path: Path, offline: list[str]
) -> None:
    source = YahooSource(cache_dir=tmp_path / "cache", clock=lambda: AFTER_CLOSE, hours_loader=None)
    try:
        result = await source.history(["IWM"], Interval.DAILY)
    finally:
        await source.aclose()

    assert "IWM" in result.errors
    assert offline and all("finance.yahoo.com" in r or "fc.yahoo.com" in r for r in offline)
    offline.clear()  # provoked on purpose


def test_real_network_access_is_refused(no_real_network: list[str]) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("https://query2.finance.yahoo.com/v8/finance/chart/IWM", timeout=1)
    with pytest.raises(OSError, match="not allowed"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    assert any("query2.finance.yahoo.com" in a for a in no_real_network)
    no_real_network.clear()  # provoked on purpose


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            requests.exceptions.ConnectionError("Failed to resolve 'query2.finance.yahoo.com'"),
            "DNS lookup failed",
        ),
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), "connection refused"),
        (requests.exceptions.SSLError("certificate verify failed"), "TLS error"),
        (
            requests.exceptions.ConnectionError("Failed to perform, curl: (7) Failed to connect"),
            "connection failed",
        ),
    ],
)
def test_network_failures_are_worded_for_a_user(error: Exception, reason: str) -> None:
    err = classify_failure("IWM", error, [])
    assert err.kind is ErrorKind.NETWORK and err.message == f"cannot reach Yahoo ({reason})"
