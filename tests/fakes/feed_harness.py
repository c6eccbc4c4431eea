"""A monitor and its refresh loop on the in-process Yahoo, running as in the app: the harness of the
fault matrix and of the stream tests. The loop's sleeps are real; the market's date is fixed."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time as wall
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from fakes.yahoo_http import FakeBar, FakeYahoo, make_daily, make_intraday
from services.backoff import Backoff
from services.breakout import BreakoutRules
from services.cache import BarStore
from services.market_hours import NEW_YORK
from services.monitor import Monitor
from services.refresh import RefreshLoop
from services.snapshot import Snapshot
from services.sources.yahoo import YahooSource

DAY = date(2026, 2, 11)  # a Wednesday
START = datetime.combine(DAY, time(11, 2), NEW_YORK).astimezone(UTC)
REFRESH_S = 0.2
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.1, 0.4
SYMBOLS = ["IWM", "SPY"]
RULES = BreakoutRules(yields="SPY")  # engine inputs: ^RUT, IWM, SPY (no ^TNX to serve)


class RunningClock:
    """Real elapsed time from a fixed start: the loop's sleeps are real, the market's date is fixed."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = wall.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=wall.monotonic() - self.t0)


def market(fake: FakeYahoo) -> dict[str, list[FakeBar]]:
    daily = {
        "IWM": make_daily(
            [180.0 + 3.0 * math.sin(i / 5.0) + 0.1 * i for i in range(260)], DAY - timedelta(1)
        ),
        "SPY": make_daily(
            [520.0 + 5.0 * math.cos(i / 7.0) + 0.2 * i for i in range(260)], DAY - timedelta(1)
        ),
        "^RUT": make_daily([2200.0 + 30.0 * math.sin(i / 6.0) + i for i in range(260)], DAY - timedelta(1)),
    }
    for sym, bars in daily.items():
        fake.add_daily(sym, bars)
        last = bars[-1].close
        fake.add_intraday(sym, make_intraday(DAY, time(9, 30), [last + 0.05 * i for i in range(18)]))
    return daily


class Feed:
    """A monitor and its refresh loop on the fake, as the app runs them; collects every snapshot."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = RunningClock(START)
        self.fake = FakeYahoo(clock=self.clock)
        self.daily = market(self.fake)
        self.source = YahooSource(
            cache_dir=tmp_path / "cache",
            session=self.fake.session(),
            clock=self.clock,
            hours_loader=None,
            refresh_s=REFRESH_S,
        )
        self.store = BarStore.in_dir(tmp_path / "cache")
        self.monitor = Monitor(self.source, symbols=SYMBOLS, rules=RULES, store=self.store, clock=self.clock)
        self.loop = RefreshLoop(
            self.monitor,
            self._on_snapshot,
            clock=self.clock,
            backoff=Backoff(base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, rng=random.Random(5)),
            requests_per_minute=self.source.ledger.per_minute,
        )
        self.snaps: list[Snapshot] = []
        self._new = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def _on_snapshot(self, snap: Snapshot) -> None:
        self.snaps.append(snap)
        self._new.set()

    async def until(self, pred: Callable[[Snapshot], bool], within_s: float = 15.0) -> Snapshot:
        """The first snapshot from now on for which `pred` holds."""
        seen = len(self.snaps)
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            for snap in self.snaps[seen:]:
                if pred(snap):
                    return snap
            seen = len(self.snaps)
            assert self.task is not None and not self.task.done(), "the refresh loop ended"
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"no such snapshot in {within_s} s; last: {self.snaps[-1].status}"
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.source.aclose()
        self.store.close()


def healthy(snap: Snapshot) -> bool:
    return (
        snap.status.error is None
        and not snap.status.retrying
        and all(s.quote is not None and not s.stale for s in snap.symbols.values())
        and snap.symbols["IWM"].indicators is not None
    )
