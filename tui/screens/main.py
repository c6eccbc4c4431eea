"""The main screen: owns the data feed (a worker) and shows each snapshot in the current view."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial

from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static
from textual.worker import Worker, WorkerState

from services.alerts import Alert, AlertDispatcher
from services.breakout import BreakoutRules
from services.cache import BarStore, CacheError
from services.engine import BreakoutReport
from services.journal import Journal, JournalEntry
from services.models import SourceKind
from services.monitor import Monitor
from services.refresh import RefreshLoop
from services.sentinel import Sentinel
from services.snapshot import Snapshot
from services.sources.base import MarketDataSource
from services.sources.yahoo import YahooSource
from services.stream import Connector, QuoteStream
from tui.config import Settings
from tui.screens.chart_view import ChartView
from tui.screens.dashboard import DashboardView
from tui.screens.digest import DigestScreen
from tui.screens.history_view import HistoryView
from tui.screens.indicators_view import IndicatorsView
from tui.screens.journal_view import JournalView
from tui.screens.strength_view import StrengthView
from tui.screens.view import MonitorView
from widgets.feed_banner import FeedBanner
from widgets.key_footer import KeyFooter
from widgets.quote_card import QuoteCard
from widgets.status_bar import StatusBar
from widgets.text_line import TextLine

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

MIN_WIDTH, MIN_HEIGHT = 80, 24
"""Below this the layout cannot be legible: the screen says so instead of drawing a broken one."""

JOURNAL_SHOWN = 500
"""The journal view lists this many of the newest entries."""


def freeze_start_up_objects() -> None:
    """Move what start-up made (modules, widgets, the history) out of the garbage collector's reach: a
    full collection then scans only what came later, a few ms instead of ~100 ms over ~170k objects,
    which blocked the event loop. No collection first: that would be the very pause this avoids."""
    gc.freeze()


def view_classes() -> dict[str, tuple[str, type[DashboardView | MonitorView]]]:
    """view id -> (number key, class), in key order."""
    return {
        "dashboard": ("1", DashboardView),
        "chart": ("2", ChartView),
        "indicators": ("3", IndicatorsView),
        "strength": ("4", StrengthView),
        "history": ("5", HistoryView),
        "journal": ("6", JournalView),
    }


SHORT_NAMES = {
    "dashboard": "Dash",
    "chart": "Chart",
    "indicators": "Ind",
    "strength": "RS",
    "history": "Hist",
    "journal": "Jrnl",
}
"""The view strip in the title line: every view's number key and a short name, the current one lit."""


def title_content(rules: BreakoutRules, wide: bool = True, view_id: str = "", symbol: str = "") -> Content:
    targets = " / ".join(f"{t:,.0f}" for t in rules.targets)
    parts: list[tuple[str, str] | str] = [(" breakout-monitor ", "bold $text on $primary"), " "]
    if wide:
        parts += [
            (f" {rules.symbol} ", "bold"),
            ("level ", "$text-muted"),
            (f"{rules.level:,.0f}", "bold"),
            ("  targets ", "$text-muted"),
            (targets, "bold"),
            "   ",
        ]
    if view_id:
        for vid, (key, _cls) in view_classes().items():
            name = f"{key} {SHORT_NAMES.get(vid, vid)}"
            parts += [(f" {name} ", "bold $text on $accent" if vid == view_id else "$text-muted")]
        if symbol and view_id != "dashboard":
            parts += [("  · ", "$text-muted"), (symbol, "bold")]
    return Content.assemble(*parts)


async def _finish_on_a_thread(cleanup: Callable[[], None], name: str) -> None:
    """Run blocking clean-up on exit to its end, on a thread of its own, and wait for it.

    Textual cancels a screen's workers more than once as the app exits: a second cancellation would cut a
    chain of awaits short, and withdraws a `to_thread` call whose thread has not started yet (seen under
    load). A started thread always finishes; the interpreter waits for it before the process ends.
    """
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def run() -> None:
        try:
            cleanup()
        finally:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
                loop.call_soon_threadsafe(done.set)

    threading.Thread(target=run, name=name).start()
    await done.wait()


def _close_journal(journal: Journal, now: datetime) -> None:
    """On exit (blocking): what was on screen counts as seen, then the journal file is closed."""
    try:
        journal.mark_seen(now)
    except Exception:
        log.exception("journal: cannot mark the entries seen")
    finally:
        journal.close()
        log.info("closed the journal %s", journal.path or "(in memory)")


def _close_store(monitor: Monitor, store: BarStore) -> None:
    """On exit (blocking): give the fetch lease up to another instance, then close the cache file."""
    try:
        monitor.release_fetch()
    finally:
        store.close()
        log.info("closed the cache %s", store.path)


class MainScreen(Screen[None]):
    """Owns the refresh worker: it ends with the screen, so no task outlives the app."""

    AUTO_FOCUS = ""  # the current view takes focus (show_view), never a hidden one

    def __init__(
        self,
        settings: Settings,
        source: MarketDataSource,
        *,
        clock: Clock,
        as_of: Callable[[], datetime | None] | None = None,
        stream_connect: Connector | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.clock = clock
        self.as_of = as_of
        self.stream_connect = stream_connect
        self.feed: RefreshLoop | None = None
        self.snapshot: Snapshot | None = None
        self._age_timer: Timer | None = None
        self.sentinel: Sentinel | None = None
        self.alerts: list[Alert] = []
        """Every alert raised in this run, oldest first (tests and the journal view read it)."""
        self._reports: asyncio.Queue[BreakoutReport] = asyncio.Queue()
        self._last_report: BreakoutReport | None = None
        self._last_look = clock()
        self.monitor: Monitor | None = None
        self.symbols = list(settings.symbols)
        self.symbol = self.symbols[0]
        """The focused symbol: tab / shift+tab cycle it; the chart and the tables follow it."""
        self.journal_away: list[JournalEntry] = []
        self._held = False
        """A snapshot arrived while another screen was on top and is not drawn yet."""

    def compose(self) -> ComposeResult:
        yield TextLine(title_content(self.settings.breakout), id="title")
        with ContentSwitcher(initial="dashboard", id="views"):
            for view_id, (_key, cls) in view_classes().items():
                if cls is StrengthView or cls is ChartView:
                    yield cls(self.symbols, rules=self.settings.breakout, id=view_id)
                else:
                    yield cls(self.symbols, id=view_id)
        yield Static(id="too-small")
        yield FeedBanner(id="banner", clock=self.clock)
        yield StatusBar(id="status", clock=self.clock)
        yield KeyFooter()

    # ------------------------------------------------------------------ layout
    @property
    def current_view(self) -> Widget:
        switcher = self.query_one("#views", ContentSwitcher)
        return switcher.query_one(f"#{switcher.current}")

    def view_title(self) -> str:
        return str(getattr(self.current_view, "view_title", "Dashboard"))

    def _show_title(self) -> None:
        wide = self.size.width >= 100
        view_id = self.query_one("#views", ContentSwitcher).current or ""
        self.query_one("#title", TextLine).show(
            title_content(self.settings.breakout, wide, view_id, self.symbol)
        )

    def on_resize(self) -> None:
        w, h = self.size
        too_small = w < MIN_WIDTH or h < MIN_HEIGHT
        self.set_class(too_small, "-too-small")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"terminal too small (need {MIN_WIDTH}×{MIN_HEIGHT})\n"  # noqa: RUF001
                f"now {w}×{h}: enlarge it, or q quits"  # noqa: RUF001
            )
        compact = w < 100 or h < 32
        self.set_class(compact, "-compact")
        for card in self.query(QuoteCard):
            card.set_compact(compact)
        self._show_title()

    def show_view(self, view_id: str) -> None:
        switcher = self.query_one("#views", ContentSwitcher)
        switcher.current = view_id
        view = self.current_view
        if view.can_focus:
            view.focus()
        else:
            self.set_focus(None)
        self._show_title()
        self.app.refresh_bindings()

    def cycle_symbol(self, step: int) -> str:
        i = self.symbols.index(self.symbol) if self.symbol in self.symbols else 0
        self.symbol = self.symbols[(i + step) % len(self.symbols)]
        self._focus_symbol()
        return self.symbol

    def focus_symbol(self, symbol: str) -> None:
        if symbol in self.symbols:
            self.symbol = symbol
            self._focus_symbol()

    def _focus_symbol(self) -> None:
        for view in self.query_one("#views", ContentSwitcher).query_children(MonitorView):
            view.set_symbol(self.symbol)
        self.query_one(DashboardView).set_focused(self.symbol)
        self._show_title()

    async def set_watchlist(self, symbols: list[str]) -> None:
        """The user added or removed a symbol: every view follows; new symbols are fetched at once."""
        self.symbols = list(symbols)
        if self.symbol not in self.symbols:
            self.symbol = self.symbols[0]
        dashboard = self.query_one(DashboardView)
        await dashboard.set_symbols(self.symbols)
        for view in self.query_one("#views", ContentSwitcher).query_children(MonitorView):
            view.set_symbols(self.symbols)
            view.set_symbol(self.symbol)
        dashboard.set_focused(self.symbol)
        if self.monitor is not None:
            self.monitor.set_watchlist(self.symbols)
            if self.feed is not None:
                if self.feed.stream is not None:
                    self.feed.stream.set_symbols(self.monitor.fetch_symbols)
                self.feed.refresh_now()  # the dashboard shows the last data meanwhile
        self._show_title()

    def on_mount(self) -> None:
        self.on_resize()
        self.query_one(DashboardView).set_focused(self.symbol)
        self.show_view("dashboard")
        self.run_worker(self._run_feed(), name="feed", group="feed", exclusive=True, exit_on_error=False)
        self.run_worker(
            self._run_alerts(), name="alerts", group="alerts", exclusive=True, exit_on_error=False
        )

    async def _open_store(self) -> BarStore | None:
        s = self.settings
        if not s.use_cache or self.source.kind is not SourceKind.YAHOO:
            return None  # demo and replay generate or read their data: nothing worth caching
        try:
            return await asyncio.to_thread(BarStore.in_dir, s.cache_dir)
        except CacheError as exc:
            self.notify(f"running without a cache: {exc}", severity="warning", timeout=10)
            return None

    async def _open_journal(self) -> Journal:
        """The live journal persists in the data dir; demo and replay runs keep theirs in memory."""
        s = self.settings
        if s.use_cache and self.source.kind is SourceKind.YAHOO:
            try:
                journal = await asyncio.to_thread(Journal.in_dir, s.data_dir)
                if journal.notice:
                    self.notify(journal.notice, severity="warning", timeout=15)
                return journal
            except Exception as exc:  # an unwritable data dir must not stop the monitor
                log.exception("cannot open the journal")
                self.notify(f"events are not journaled: {exc}", severity="warning", timeout=15)
        return Journal(None)

    def _write_terminal(self, text: str) -> None:
        driver = self.app._driver  # Textual has no public raw write; its own bell() does the same
        if driver is not None and not self.app.is_headless:
            driver.write(text)

    def _toast(self, alert: Alert) -> None:
        severity = alert.severity if alert.severity in ("information", "warning", "error") else "information"
        self.notify(alert.message, title=alert.title, severity=severity, timeout=12)  # type: ignore[arg-type]

    async def _run_alerts(self) -> None:
        """Journal every event; alert on the new ones. Sequential, so the first report is the baseline."""
        journal = await self._open_journal()
        self.sentinel = sentinel = Sentinel(journal, self.clock)
        dispatcher = AlertDispatcher(
            self.settings.alerts,
            toast=self._toast,
            bell=self.app.bell,
            write=self._write_terminal,
            clock=self.clock,
        )
        first = True
        shown_revision = -1
        try:
            while True:
                report = await self._reports.get()
                while not self._reports.empty():  # only the newest matters: the sentinel diffs
                    report = self._reports.get_nowait()
                for alert in await sentinel.observe(report):
                    self.alerts.append(alert)
                    delivery = await dispatcher.deliver(alert)
                    if delivery.command_error:
                        self.notify(
                            delivery.command_error, title="alert command", severity="error", timeout=15
                        )
                if first:
                    first = False
                    self.journal_away = list(sentinel.digest)
                    if sentinel.digest:
                        self.app.push_screen(DigestScreen(sentinel.digest))
                if sentinel.journal_revision != shown_revision:  # most reports add nothing
                    shown_revision = sentinel.journal_revision
                    await self._show_journal(journal)
        finally:
            await _finish_on_a_thread(partial(_close_journal, journal, self.clock()), "close-journal")

    async def _show_journal(self, journal: Journal) -> None:
        entries = await asyncio.to_thread(journal.entries, limit=JOURNAL_SHOWN)
        self.query_one(JournalView).show_entries(entries, self.journal_away)

    async def come_back(self) -> None:
        """The user is back (a key, focus): after a long idle, show what happened meanwhile."""
        now = self.clock()
        idle = (now - self._last_look).total_seconds()
        self._last_look = now
        if self.sentinel is None:
            return
        if idle >= self.settings.digest_idle_minutes * 60:
            entries = await self.sentinel.catch_up()
            if entries and not isinstance(self.app.screen, DigestScreen):
                self.app.push_screen(DigestScreen(entries))
        elif idle >= 60:
            await self.sentinel.mark_seen()

    async def _run_feed(self) -> None:
        store = await self._open_store()
        self.monitor = monitor = Monitor(
            self.source,
            symbols=self.symbols,
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
        if isinstance(self.source, YahooSource) and self.settings.stream:
            self.feed.attach_stream(self._make_stream(monitor, self.feed))
        try:
            await self.feed.run()
        finally:
            try:
                await self.source.aclose()
            finally:
                if store is not None:
                    await _finish_on_a_thread(partial(_close_store, monitor, store), "close-cache")

    def _make_stream(self, monitor: Monitor, feed: RefreshLoop) -> QuoteStream:
        """Yahoo's quote streamer for every fetched symbol; polling stays the fallback."""
        source = self.source
        clock = self.clock

        def market_open() -> bool:
            session = source.session_at(clock())
            return session is None or session.is_open

        return QuoteStream(
            monitor.fetch_symbols,
            feed.on_tick,
            market_open=market_open,
            clock=clock,
            on_status=feed.on_stream_status,
            connect=self.stream_connect,
        )

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
        first_paint = self.snapshot is None
        self.snapshot = snap
        if snap.report is not None and snap.report is not self._last_report:
            if self._last_report is None:
                self.call_after_refresh(freeze_start_up_objects)  # the history and the engine are in
            self._last_report = snap.report
            self._reports.put_nowait(snap.report)
        if first_paint:
            self.call_after_refresh(freeze_start_up_objects)
        elif not self.is_active:
            # Help, a digest or a prompt is on top. A modal shows this screen dimmed behind it, so any
            # change here repaints the whole terminal (~17 KB a tick); the latest data is drawn when
            # it closes instead.
            self._held = True
            return
        self._paint(snap)

    def on_screen_resume(self) -> None:
        if self._held and self.snapshot is not None:
            self._held = False
            self._paint(self.snapshot)

    def _paint(self, snap: Snapshot) -> None:
        now = self.clock()
        self.query_one(DashboardView).show(snap, now)
        for view in self.query_one("#views", ContentSwitcher).query_children(MonitorView):
            view.show(snap, now)
        self.query_one(StatusBar).show(snap.status)
        self.query_one(FeedBanner).show(snap.status)
        self._arm_age_timer(any(s.stale for s in snap.symbols.values()))

    def _arm_age_timer(self, anything_stale: bool) -> None:
        """A once-a-minute tick, only while something is stale, so its age stays true."""
        if anything_stale and self._age_timer is None:
            self._age_timer = self.set_interval(60.0, self._tick_age)
        elif not anything_stale and self._age_timer is not None:
            self._age_timer.stop()
            self._age_timer = None

    def _tick_age(self) -> None:
        if self.is_active:
            self.query_one(DashboardView).show_age(self.clock())
        else:
            self._held = True  # redrawn, ages included, when the screen on top closes

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
