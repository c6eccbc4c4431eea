"""The fault matrix: every way Yahoo fails, through yfinance's real code path (an in-process fake answers
its HTTP requests), with the refresh loop running as in the app.

For every fault: the loop stays up, the last good values stay in the snapshot marked stale with the time
they were fetched, the status says what is wrong and when the next retry is (the banner's line), retries
back off with jitter up to a cap, and once the fault ends the next retry brings everything back.
"""

from __future__ import annotations

import asyncio
import math
import time as wall
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes.feed_harness import BACKOFF_CAP_S, SYMBOLS, Feed, healthy
from fakes.yahoo_http import offline_yfinance
from refcalc import ref_rsi

from widgets.feed_banner import banner_text
from widgets.quote_card import staleness


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with offline_yfinance(tmp_path / "yfinance-process", monkeypatch) as refused:
        yield refused


@pytest.fixture
async def feed(tmp_path: Path) -> AsyncIterator[Feed]:
    f = Feed(tmp_path)
    f.task = asyncio.create_task(f.loop.run())
    yield f
    await f.stop()


FAULTS = [
    pytest.param("429", {}, "rate-limited by Yahoo (HTTP 429)", id="http-429"),
    pytest.param("500", {}, "Yahoo server error (HTTP 500)", id="http-500"),
    pytest.param("502", {}, "Yahoo server error (HTTP 502)", id="http-502"),
    pytest.param("503", {}, "Yahoo server error (HTTP 503)", id="http-503"),
    pytest.param("timeout", {}, "Yahoo did not answer in time", id="timeout"),
    pytest.param("dns", {"all_hosts": True}, "cannot reach Yahoo (DNS lookup failed)", id="dns-outage"),
    pytest.param("garbage", {}, "malformed answer from Yahoo", id="malformed-json"),
]


@pytest.mark.parametrize(("kind", "options", "words"), FAULTS)
async def test_a_fault_keeps_the_last_good_values_says_when_it_retries_and_recovers(
    feed: Feed, kind: str, options: dict[str, bool], words: str
) -> None:
    good = await feed.until(healthy)
    good_iwm = good.symbols["IWM"]
    assert good_iwm.quote is not None

    feed.fake.fail(None, kind, **options)
    bad = await feed.until(lambda s: s.status.retrying and words in (s.status.error or ""))

    # The last good values stay, marked stale, with the time they were fetched.
    iwm = bad.symbols["IWM"]
    assert iwm.quote == good_iwm.quote and iwm.stale
    assert iwm.updated_at is not None and iwm.updated_at <= bad.as_of
    assert iwm.daily.close[-5:] == good_iwm.daily.close[-5:]
    assert iwm.indicators is not None and iwm.indicators.rsi_14 == good_iwm.indicators.rsi_14  # type: ignore[union-attr]
    assert "stale" in staleness(iwm, bad.as_of).plain and words in staleness(iwm, bad.as_of).plain
    # The banner: what is wrong and when the next try is.
    assert bad.status.next_refresh is not None and bad.status.next_refresh > bad.as_of
    line = banner_text(bad.status, bad.as_of)
    assert line is not None and words in line and "retry in" in line

    # Retries back off with jitter up to the cap: each delay at least the previous (until the cap), and
    # never above it.
    delays: list[float] = []
    for _ in range(4):
        snap = await feed.until(lambda s: s.status.retrying and s.status.next_refresh is not None)
        assert snap.status.next_refresh is not None
        delays.append((snap.status.next_refresh - snap.as_of).total_seconds())
    assert all(0 < d <= BACKOFF_CAP_S + 0.05 for d in delays), delays
    assert feed.loop.backoff.failures >= 4
    assert len(set(delays)) > 1  # jitter

    # The fault ends: the next retry brings fresh values back, and the banner goes.
    feed.fake.clear_faults()
    t0 = wall.monotonic()
    back = await feed.until(healthy)
    assert wall.monotonic() - t0 < 5.0  # generous: the retry is at most the cap (0.4 s) away
    assert banner_text(back.status, back.as_of) is None
    assert feed.loop.backoff.failures == 0


async def test_an_empty_chart_keeps_the_quote_from_its_metadata_and_the_days_path(feed: Feed) -> None:
    """Yahoo's empty result (meta, no bars: as on a weekend) is not a failure of the quote: its metadata
    still carries the price. The day's path drawn so far is kept rather than blanked."""
    good = await feed.until(healthy)
    path = good.symbols["IWM"].intraday
    assert path is not None and len(path) >= 2
    feed.fake.fail(None, "empty")
    n = len(feed.fake.requests)
    snap = await feed.until(lambda s: len(feed.fake.requests) > n + 3 and s.status.last_update is not None)
    iwm = snap.symbols["IWM"]
    assert iwm.quote is not None and iwm.quote.last == good.symbols["IWM"].quote.last  # type: ignore[union-attr]
    assert not iwm.stale and snap.status.error is None
    assert iwm.intraday is not None and list(iwm.intraday.close) == list(path.close)


async def test_an_empty_history_at_start_is_no_data_and_retried(tmp_path: Path) -> None:
    f = Feed(tmp_path)
    f.fake.fail(None, "empty", range="10y")
    f.task = asyncio.create_task(f.loop.run())
    try:
        snap = await f.until(lambda s: s.symbols["IWM"].quote is not None)
        assert len(snap.symbols["IWM"].daily) <= 1  # at most today's bar, from the quote
        asked = len(f.fake.chart_requests("IWM", history_only=True))
        await f.until(lambda s: len(f.fake.chart_requests("IWM", history_only=True)) > asked + 1)
        f.fake.clear_faults()
        # Retried on its own backoff, not only at tomorrow's refetch or on a key press.
        back = await f.until(lambda s: healthy(s) and len(s.symbols["IWM"].daily) >= 250)
        assert back.symbols["IWM"].daily.close[-2] == f.daily["IWM"][-1].close
    finally:
        await f.stop()


async def test_an_outage_of_many_retries_is_capped_and_survived(feed: Feed) -> None:
    """Minutes of outage in miniature: twenty failed retries in a row, every delay capped, then back."""
    await feed.until(healthy)
    feed.fake.fail(None, "dns", all_hosts=True)
    for _ in range(20):
        snap = await feed.until(lambda s: s.status.retrying)
        assert snap.status.next_refresh is not None
        assert (snap.status.next_refresh - snap.as_of).total_seconds() <= BACKOFF_CAP_S + 0.05
    assert feed.loop.backoff.failures >= 20
    feed.fake.clear_faults()
    await feed.until(healthy)


async def test_an_unknown_symbol_is_said_once_and_not_asked_again(tmp_path: Path) -> None:
    f = Feed(tmp_path)
    f.monitor.set_watchlist([*SYMBOLS, "NOPE"])
    f.task = asyncio.create_task(f.loop.run())
    try:
        snap = await f.until(lambda s: "NOPE" in s.symbols and s.symbols["NOPE"].error is not None)
        nope = snap.symbols["NOPE"]
        assert nope.error is not None and nope.error.message == "Yahoo does not know NOPE (HTTP 404)"
        assert nope.quote is None and not nope.stale  # nothing to show, nothing stale
        asked = len(f.fake.chart_requests("NOPE"))
        # The others are fine, and the loop does not retry for a final answer.
        await f.until(lambda s: all(s.symbols[x].quote is not None for x in SYMBOLS))
        for _ in range(3):
            later = await f.until(lambda s: True)
            assert not later.status.retrying
        assert len(f.fake.chart_requests("NOPE")) == asked
    finally:
        await f.stop()


async def test_null_rows_never_reach_ta_lib(tmp_path: Path) -> None:
    """Yahoo's nulls inside the arrays (whole rows, or only the close) are dropped before TA-Lib: with
    TA-Lib 0.8 a single NaN would make RSI read 0.0 for the rest of the series."""
    f = Feed(tmp_path)
    f.fake.fail(None, "nan")
    f.task = asyncio.create_task(f.loop.run())
    try:
        snap = await f.until(lambda s: s.symbols["IWM"].indicators is not None)
        iwm = snap.symbols["IWM"]
        assert all(math.isfinite(x) for x in iwm.daily.close)
        served = [b.close for b in f.daily["IWM"]]
        kept = list(iwm.daily.close)
        assert 0 < len(kept) < len(served)  # rows were blanked and dropped, not zero-filled
        assert set(kept) <= set(served) | {kept[-1]}
        rsi = iwm.indicators.rsi_14  # type: ignore[union-attr]
        assert rsi is not None and 0.0 < rsi < 100.0
        completed = kept[:-1] if iwm.provisional else kept
        assert rsi == pytest.approx(ref_rsi(completed if not iwm.provisional else kept), abs=1e-6)
    finally:
        await f.stop()
