"""Two monitors on one machine share the cache: only one asks Yahoo at a time, the other shows what it
stores, and when the first goes the second takes over."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.feed_harness import Feed, healthy
from fakes.yahoo_http import offline_yfinance

from services.monitor import FETCH_LEASE

LEASE_TTL_S = 1.0


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with offline_yfinance(tmp_path / "yfinance-process", monkeypatch) as refused:
        yield refused


def start(feed: Feed) -> Feed:
    feed.loop.lease_ttl_s = LEASE_TTL_S
    feed.task = asyncio.create_task(feed.loop.run())
    return feed


async def test_the_second_instance_reads_the_firsts_writes_and_takes_over_when_it_goes(
    tmp_path: Path,
) -> None:
    first = start(Feed(tmp_path))  # both on tmp_path/cache: one cache file, two connections
    second: Feed | None = None
    try:
        await first.until(healthy)
        second = start(Feed(tmp_path))
        snap = await second.until(lambda s: healthy(s) and len(s.symbols["IWM"].daily) > 200)

        # The second asked Yahoo nothing, yet shows the same quotes and history as the first.
        assert second.fake.requests == []
        lead = first.snaps[-1]
        for sym in ("IWM", "SPY"):
            mine, theirs = snap.symbols[sym], lead.symbols[sym]
            assert mine.quote is not None and theirs.quote is not None
            assert mine.quote.last == theirs.quote.last
            assert mine.daily.close[:-1] == theirs.daily.close[:-1]
        assert snap.status.notice is not None and "another monitor (pid" in snap.status.notice
        assert first.snaps[-1].status.notice is None

        # Polls of both for a while: only the first asks.
        n = len(first.fake.requests)
        await first.until(lambda s: len(first.fake.requests) > n + 6)
        assert second.fake.requests == []

        # The first quits (releasing the lease): the second asks Yahoo from its next poll on.
        await first.stop()
        await second.until(lambda s: len(second.fake.requests) > 0, within_s=5.0)
        after = await second.until(lambda s: healthy(s) and s.status.notice is None)
        assert after.symbols["IWM"].quote is not None
        assert second.store.lease_holder(FETCH_LEASE) == second.monitor.lease_holder
    finally:
        if second is not None:
            await second.stop()
        await first.stop()


async def test_a_holder_that_dies_without_releasing_is_replaced_when_its_lease_runs_out(
    tmp_path: Path,
) -> None:
    first = start(Feed(tmp_path))
    second: Feed | None = None
    try:
        await first.until(healthy)
        second = start(Feed(tmp_path))
        await second.until(healthy)
        assert second.fake.requests == []
        # Killed: the loop stops without a word to the cache (no release).
        assert first.task is not None
        first.task.cancel()
        await asyncio.gather(first.task, return_exceptions=True)
        first.task = None
        await second.until(lambda s: len(second.fake.requests) > 0, within_s=LEASE_TTL_S + 5.0)
        await second.until(lambda s: healthy(s) and s.status.notice is None)
    finally:
        if second is not None:
            await second.stop()
        await first.stop()
