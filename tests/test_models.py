"""BarSeries: ordering, de-duplication, invalid bars dropped, merges."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from services.models import Bar, BarSeries, Interval, MarketSession, Quote, day_ts


def bar(d: int, close: float, **kw: float) -> Bar:
    return Bar(day_ts(date(2026, 3, d)), close, close + 1, close - 1, close, **kw)


def test_from_bars_sorts_dedups_and_drops_invalid() -> None:
    s = BarSeries.from_bars(
        "IWM",
        Interval.DAILY,
        [
            bar(5, 105),
            bar(2, 102),
            bar(3, 103),
            bar(3, 133),
            Bar(day_ts(date(2026, 3, 4)), math.nan, 1, 1, 1),
            bar(6, -1),
        ],
    )
    assert [b.day.day for b in s] == [2, 3, 5]
    assert list(s.close) == [102, 133, 105]  # the later duplicate wins


def test_merge_appends_or_upserts() -> None:
    a = BarSeries.from_bars("IWM", Interval.DAILY, [bar(2, 10), bar(3, 20)])
    appended = a.merge(BarSeries.from_bars("IWM", Interval.DAILY, [bar(4, 30)]))
    assert list(appended.close) == [10, 20, 30] and list(a.close) == [10, 20]  # the original is untouched
    revised = appended.merge(BarSeries.from_bars("IWM", Interval.DAILY, [bar(3, 200), bar(5, 40)]))
    assert list(revised.close) == [10, 200, 30, 40]
    assert revised.upsert(bar(5, 400)).close[-1] == 400
    assert list(revised.upsert(bar(5, 400)).close) == [10, 200, 30, 400]  # today's bar replaced in place
    tail = revised.merge(BarSeries.from_bars("IWM", Interval.DAILY, [bar(4, 300), bar(5, 401), bar(6, 50)]))
    assert list(tail.close) == [10, 200, 300, 401, 50] and list(revised.close) == [10, 200, 30, 40]


def test_slices_and_revision() -> None:
    s = BarSeries.from_bars("IWM", Interval.DAILY, [bar(d, 10 + d) for d in range(2, 10)])
    assert [b.day.day for b in s.since(day_ts(date(2026, 3, 7)))] == [7, 8, 9]
    assert [b.day.day for b in s.until(day_ts(date(2026, 3, 3)))] == [2, 3]
    assert len(s.tail(3)) == 3 and s.tail(3)[0].day.day == 7
    assert s.revision != s.upsert(bar(9, 99)).revision


def test_quote_change_and_session_bar() -> None:
    q = Quote(
        "IWM",
        110.0,
        100.0,
        101.0,
        111.0,
        99.0,
        1e6,
        datetime(2026, 3, 2, 15, tzinfo=UTC),
        MarketSession.REGULAR,
        date(2026, 3, 2),
    )
    assert q.change == 10.0 and q.change_pct == pytest.approx(10.0)
    b = q.session_bar()
    assert b is not None and (b.open, b.high, b.low, b.close, b.day) == (
        101.0,
        111.0,
        99.0,
        110.0,
        date(2026, 3, 2),
    )
    no_prev = Quote("IWM", 1.0, None, None, None, None, None, q.time, MarketSession.CLOSED, q.trading_day)
    assert no_prev.change is None and no_prev.change_pct is None and no_prev.session_bar() is None
