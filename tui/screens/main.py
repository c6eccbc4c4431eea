"""The main screen: owns the data feed (a worker) and shows each snapshot in the current view."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer
from textual.worker import Worker, WorkerState

from services.breakout import BreakoutRules
from services.cache import BarStore, CacheError
from services.models import SourceKind
from services.monitor import Monitor
from services.refresh import RefreshLoop
from services.snapshot import Snapshot
from services.sources.base import MarketDataSource
from tui.config import Settings
from tui.screens.dashboard import DashboardView
from widgets.status_bar import StatusBar
from widgets.text_line import TextLine

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def title_content(rules: BreakoutRules, wide: bool = True) -> Content:
    targets = " / ".join(f"{t:,.0f}" for t in rules.targets)
    return Content.assemble(
        (" breakout-monitor ", "bold $text on $primary"),
        "  Russell 2000 breakout watch  " if wide else "  ",
        (f"{rules.symbol} " if not wide else "", "bold"),
        ("level ", "$text-muted"),
        (f"{rules.level:,.0f}", "bold"),
        ("  targets ", "$text-muted"),
        (targets, "bold"),
    )


class MainScreen(Screen[None]):
    """Owns the refresh worker: it ends with the screen, so no task outlives the app."""

    def __init__(
        self,
        settings: Settings,
        source: MarketDataSource,
        *,
        clock: Clock,
        as_of: Callable[[], datetime | None] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.clock = clock
        self.as_of = as_of
        self.feed: RefreshLoop | None = None
        self.snapshot: Snapshot | None = None
        self._age_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(title_content(self.settings.breakout), id="title")
        with ContentSwitcher(initial="dashboard", id="views"):
            yield DashboardView(self.settings.symbols, id="dashboard")
        yield StatusBar(id="status")
        yield Footer()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100 or self.size.height < 32, "-compact")
        self.query_one("#title", TextLine).show(title_content(self.settings.breakout, self.size.width >= 100))

    def on_mount(self) -> None:
        self.on_resize()
        self.run_worker(self._run_feed(), name="feed", group="feed", exclusive=True, exit_on_error=False)

    async def _open_store(self) -> BarStore | None:
        s = self.settings
        if not s.use_cache or self.source.kind is not SourceKind.YAHOO:
            return None  # demo and replay generate or read their data: nothing worth caching
        try:
            return await asyncio.to_thread(BarStore.in_dir, s.cache_dir)
        except CacheError as exc:
            self.notify(f"running without a cache: {exc}", severity="warning", timeout=10)
            return None

    async def _run_feed(self) -> None:
        store = await self._open_store()
        monitor = Monitor(
            self.source,
            symbols=self.settings.symbols,
            rules=self.settings.breakout,
            store=store,
            clock=self.clock,
            as_of=self.as_of,
        )
        ledger = getattr(self.source, "ledger", None)
        self.feed = RefreshLoop(
            monitor,
            self.show_snapshot,
            clock=self.clock,
            requests_per_minute=ledger.per_minute if ledger is not None else None,
            painted=self._painted,
        )
        try:
            await self.feed.run()
        finally:
            await self.source.aclose()
            if store is not None:
                await asyncio.to_thread(store.close)

    async def _painted(self) -> None:
        """Wait until the screen has been refreshed with what was last shown."""
        done = asyncio.Event()
        self.call_after_refresh(done.set)
        await done.wait()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "feed" and event.state is WorkerState.ERROR:
            log.error("data feed stopped", exc_info=event.worker.error)
            self.notify(f"data feed stopped: {event.worker.error}", severity="error", timeout=30)

    # ------------------------------------------------------------------ data in
    def show_snapshot(self, snap: Snapshot) -> None:
        self.snapshot = snap
        now = self.clock()
        self.query_one(DashboardView).show(snap, now)
        self.query_one(StatusBar).show(snap.status)
        self._arm_age_timer(any(s.stale for s in snap.symbols.values()))

    def _arm_age_timer(self, anything_stale: bool) -> None:
        """A once-a-minute tick, only while something is stale, so its age stays true."""
        if anything_stale and self._age_timer is None:
            self._age_timer = self.set_interval(60.0, self._tick_age)
        elif not anything_stale and self._age_timer is not None:
            self._age_timer.stop()
            self._age_timer = None

    def _tick_age(self) -> None:
        self.query_one(DashboardView).show_age(self.clock())

    # ------------------------------------------------------------------ controls
    def refresh_feed(self) -> None:
        if self.feed is not None:
            self.feed.refresh_now()

    def set_paused(self, paused: bool) -> None:
        if self.feed is not None:
            self.feed.set_paused(paused)

    @property
    def paused(self) -> bool:
        return self.feed is not None and self.feed.paused
