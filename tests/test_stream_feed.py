"""The stream and the polls together: streamed ticks move the quotes between polls, a live stream slows
the polls down, and when the stream fails polling takes over at once (in-process Yahoo for the polls,
an in-process streamer on a Unix socket for the stream)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fakes.feed_harness import REFRESH_S, Feed, healthy
from fakes.yahoo_http import offline_yfinance
from fakes.yahoo_stream import FakeYahooStream

from services.backoff import Backoff
from services.refresh import STREAM_POLL_S
from services.snapshot import Snapshot
from services.stream import QuoteStream
from widgets.feed_banner import banner_text


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with offline_yfinance(tmp_path / "yfinance-process", monkeypatch) as refused:
        yield refused


@dataclass
class Live:
    feed: Feed
    streamer: FakeYahooStream

    def ms(self, seconds_from_now: float = 0.0) -> int:
        return int((self.feed.clock() + timedelta(seconds=seconds_from_now)).timestamp() * 1000)

    async def tick(self, symbol: str, price: float, **fields: object) -> None:
        fields.setdefault("time_ms", self.ms())
        await self.streamer.tick(symbol, price, **fields)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with FakeYahooStream() as streamer:
        feed = Feed(tmp_path)
        stream = QuoteStream(
            feed.monitor.fetch_symbols,
            feed.loop.on_tick,
            connect=streamer.connect,
            clock=feed.clock,
            on_status=feed.loop.on_stream_status,
            heartbeat_s=5.0,
            silence_s=30.0,
            backoff=Backoff(base_s=0.05, cap_s=0.2, rng=random.Random(3)),
        )
        feed.loop.attach_stream(stream)
        feed.task = asyncio.create_task(feed.loop.run())
        try:
            await feed.until(healthy)
            await streamer.wait_until(lambda: bool(streamer.subscribes))
            yield Live(feed, streamer)
        finally:
            await feed.stop()


def iwm_at(price: float):  # type: ignore[no-untyped-def]
    def pred(s: Snapshot) -> bool:
        q = s.symbols["IWM"].quote
        return q is not None and q.last == pytest.approx(price, abs=1e-3)

    return pred


async def test_a_streamed_tick_moves_the_quote_the_days_bar_and_the_path(live: Live) -> None:
    before = live.feed.snaps[-1].symbols["IWM"]
    assert before.quote is not None and before.intraday is not None
    price = round(before.quote.last + 1.25, 2)

    await live.tick("IWM", price, day_volume=2_500_000)
    snap = await live.feed.until(iwm_at(price))

    iwm = snap.symbols["IWM"]
    assert iwm.quote is not None and not iwm.stale
    assert iwm.quote.day_high is not None and iwm.quote.day_high >= price
    assert iwm.quote.volume == 2_500_000
    assert iwm.daily.close[-1] == pytest.approx(price, abs=1e-3) and iwm.provisional
    assert iwm.intraday is not None and iwm.intraday.close[-1] == pytest.approx(price, abs=1e-3)
    assert snap.status.stream == "stream live" and snap.status.stream_live


async def test_a_burst_of_ticks_is_one_snapshot(live: Live) -> None:
    n = len(live.feed.snaps)
    for i, sym in enumerate(["IWM", "SPY", "^RUT"] * 3):
        await live.tick(sym, 100.0 + i)
    await live.feed.until(iwm_at(106.0))
    await asyncio.sleep(0.7)
    assert len(live.feed.snaps) - n <= 3  # coalesced: nine ticks, not nine repaints


async def test_while_the_stream_is_live_polls_slow_down_and_resume_when_it_fails(live: Live) -> None:
    await live.tick("IWM", 181.0)
    polled = await live.feed.until(
        lambda s: (
            s.status.stream_live
            and s.status.next_refresh is not None
            and s.status.last_update is not None
            and (s.status.next_refresh - s.status.last_update).total_seconds() >= STREAM_POLL_S - 1
        )
    )
    assert polled.status.stream == "stream live"

    # The stream goes away: polling is back at its own cadence (0.2 s here), not in a minute.
    live.streamer.refuse(503)
    live.streamer.drop_all()
    down = await live.feed.until(lambda s: not s.status.stream_live and "polling" in (s.status.stream or ""))
    assert down.status.stream in ("stream down, polling", "stream connecting, polling")
    n = len(live.feed.fake.requests)
    await live.feed.until(lambda s: len(live.feed.fake.requests) > n, within_s=5.0)
    back = await live.feed.until(
        lambda s: (
            s.status.next_refresh is not None
            and s.status.last_update is not None
            and (s.status.next_refresh - s.status.last_update).total_seconds() <= REFRESH_S + 0.05
        )
    )
    assert not back.status.stream_live

    # It comes back: ticks flow again.
    live.streamer.accept()
    await live.streamer.wait_until(lambda: len(live.streamer.subscribes) >= 2, limit=5.0)
    await live.tick("IWM", 182.5)
    await live.feed.until(lambda s: s.status.stream_live and iwm_at(182.5)(s))


async def test_failed_polls_do_not_make_streamed_prices_stale(live: Live) -> None:
    live.feed.fake.fail(None, "429")
    live.feed.loop.refresh_now()
    await live.tick("IWM", 183.0)
    snap = await live.feed.until(lambda s: s.status.retrying and iwm_at(183.0)(s))
    # Keep ticking while the poll is rate-limited.
    await live.tick("IWM", 183.5)
    snap = await live.feed.until(iwm_at(183.5))
    assert not snap.symbols["IWM"].stale
    line = banner_text(snap.status, snap.as_of)
    assert line is not None and "rate-limited by Yahoo" in line and "prices still streaming" in line
    live.feed.fake.clear_faults()
    await live.feed.until(lambda s: not s.status.retrying and s.status.error is None)


async def test_a_tick_of_the_next_trading_day_makes_the_poll_roll_the_day(live: Live) -> None:
    n = len(live.feed.fake.requests)
    await live.tick("IWM", 190.0, time_ms=live.ms(86400))
    await live.feed.until(lambda s: len(live.feed.fake.requests) > n, within_s=5.0)
    snap = live.feed.snaps[-1]
    assert snap.symbols["IWM"].quote is not None and snap.symbols["IWM"].quote.last != 190.0


async def test_ticks_while_paused_leave_the_screen_still(live: Live) -> None:
    live.feed.loop.set_paused(True)
    n = len(live.feed.snaps)
    await live.tick("IWM", 177.0)
    await asyncio.sleep(0.8)
    assert all(s.symbols["IWM"].quote.last != 177.0 for s in live.feed.snaps[n:])  # type: ignore[union-attr]
    live.feed.loop.set_paused(False)
