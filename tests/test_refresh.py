"""Refresh scheduling: backoff, the loop's cadence, pause/resume, refresh-now, and rest without timers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from fakes.scripted_source import ScriptedSource, daily_series

from services.backoff import Backoff
from services.breakout import BreakoutRules
from services.models import ErrorKind
from services.monitor import Monitor, utc_now
from services.refresh import RefreshLoop
from services.snapshot import Snapshot

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def test_backoff_grows_with_jitter_up_to_a_cap_and_resets() -> None:
    b = Backoff(base_s=5, cap_s=60, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(8)]
    ceilings = [5, 10, 20, 40, 60, 60, 60, 60]
    for d, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= d <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, never in lockstep
    b.reset()
    assert b.next_delay() <= 5


def make(poll: float | None) -> tuple[ScriptedSource, RefreshLoop, list[Snapshot]]:
    src = ScriptedSource(
        {"IWM": daily_series("IWM", [200.0 + i for i in range(60)], date(2026, 11, 23))}, poll=poll, now=NOW
    )
    rules = BreakoutRules(symbol="IWM", level=300.0, targets=(310.0,))
    # The loop compares due times with its clock, so these tests run on the real one (short cadences).
    monitor = Monitor(src, symbols=["IWM"], rules=rules, clock=utc_now)
    seen: list[Snapshot] = []
    loop = RefreshLoop(monitor, seen.append, clock=utc_now, backoff=Backoff(base_s=0.01, cap_s=0.02))
    return src, loop, seen


async def until(cond: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait until `cond()` holds (polling: the loop under test owns the events)."""
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_at_rest_nothing_is_scheduled() -> None:
    src, loop, seen = make(poll=None)
    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: loop.cycles == 1)
        await asyncio.sleep(0.05)
        assert loop.cycles == 1 and loop.due_at is None
        assert seen[-1].status.next_refresh is None and seen[-1].symbols["IWM"].quote is not None
        assert len(src.quote_calls) == 1
        loop.refresh_now()  # an explicit refresh still works
        await until(lambda: loop.cycles == 2)
    finally:
        task.cancel()


async def test_cadence_and_failure_backoff_then_recovery() -> None:
    src, loop, seen = make(poll=0.01)
    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: loop.cycles >= 3)
        src.quote_errors["IWM"] = ErrorKind.RATE_LIMITED
        await until(lambda: loop.retrying and seen[-1].symbols["IWM"].stale)
        snap = seen[-1]
        assert snap.status.retrying and snap.status.error and "rate_limited" in snap.status.error
        assert snap.symbols["IWM"].quote is not None  # the last good quote stays on screen
        assert loop.backoff.failures >= 1
        del src.quote_errors["IWM"]
        await until(lambda: not loop.retrying and not seen[-1].symbols["IWM"].stale)
        assert loop.backoff.failures == 0
    finally:
        task.cancel()


async def test_pause_stops_polling_and_resume_refreshes_at_once() -> None:
    src, loop, seen = make(poll=0.01)
    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: loop.cycles >= 2)
        loop.set_paused(True)
        assert seen[-1].status.paused and seen[-1].status.next_refresh is None
        calls = len(src.quote_calls)
        await asyncio.sleep(0.1)
        assert len(src.quote_calls) == calls
        loop.set_paused(False)
        await until(lambda: len(src.quote_calls) > calls)
        assert not seen[-1].status.paused
    finally:
        task.cancel()


async def test_a_crashing_source_does_not_end_the_loop() -> None:
    src, loop, seen = make(poll=0.01)

    async def boom(symbols: object) -> object:
        raise RuntimeError("kaboom")

    src.quotes = boom  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: loop.cycles >= 2)
        assert loop.retrying and seen[-1].status.error is not None and "kaboom" in seen[-1].status.error
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_quotes_are_polled_whenever_the_source_says_so_even_when_closed() -> None:
    # A replay plays its bars although the market it replays is closed.
    from services.models import MarketSession

    src, loop, _seen = make(poll=0.01)
    src.session = MarketSession.CLOSED
    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: len(src.quote_calls) >= 4)
    finally:
        task.cancel()


async def test_a_retry_asks_again_only_for_the_symbols_that_failed() -> None:
    daily = {
        s: daily_series(s, [200.0 + i for i in range(60)], date(2026, 11, 23)) for s in ("IWM", "SPY", "^TNX")
    }
    src = ScriptedSource(daily, poll=30.0, now=NOW)
    rules = BreakoutRules(symbol="IWM", level=300.0, targets=(310.0,))
    monitor = Monitor(src, symbols=["IWM", "SPY"], rules=rules, clock=utc_now)
    loop = RefreshLoop(
        monitor, lambda s: None, clock=utc_now, backoff=Backoff(0.02, 0.05, rng=random.Random(1))
    )
    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: loop.cycles >= 1)
        src.quote_errors["IWM"] = ErrorKind.RATE_LIMITED
        loop.refresh_now()
        await until(lambda: loop.retrying)
        asked = len(src.quote_calls)
        await until(lambda: len(src.quote_calls) > asked)
        assert src.quote_calls[asked] == ["IWM"]  # the retry: IWM only, the others were fine
        del src.quote_errors["IWM"]
        await until(lambda: not loop.retrying)
        assert loop.due_at is not None  # back on the 30 s cadence, for everyone
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
