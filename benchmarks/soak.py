"""Soak: the real app through simulated trading days, for memory growth and what is left behind on exit.

    python benchmarks/soak.py [--quick] [--days N] [--tick S] [--path {live,demo}] [--no-keys] [--trace]

Full: 7 simulated days (2,730 polls), about 1.5 minutes here; --quick: 4 days, about 1. run.py runs
it twice: `--no-keys` (the budget's soak: ticks, day rolls, alerts) and `--days 21` with the user's
daily round, whose growth it reports week by week (judged on the last week: the first ones fill
Textual's bounded style and strip caches, about 1.5 MB a day, then it flattens; a leak would not).

The app runs in-process under `App.run_test()` (120x40, notifications on, every frame rendered to a
byte counter as for a terminal) on the demo market: each poll plays one minute, 390 polls are a
session, and the 391st rolls the demo to the next weekday (the closed day joins the daily history, the
engine reruns over it). The polls come from the app's own refresh loop, every `--tick` seconds; the
app's clock is the demo's simulated minute (plus the real time since it began), so cooldowns, ages
and the "while you were away" digest run on simulated time. The breakout level is put where the
demo's ^RUT crosses it (2,590, targets 2,600 and 2,620): close events, intraday state changes and risk
flags raise alerts on every channel (toast, bell, desktop escapes, and an external command when
`true` is on PATH), and the sentinel journals them.

Every simulated day the user makes the same round (`DAY_ROUND`): the help screen and each of the six
views for 65 minutes, the dashboard last; a digest that comes up is read and closed. `--no-keys`
leaves the keyboard alone (ticks, rolls and alerts only). `--path live` (the default) sends the
demo's data down the live (Yahoo) path: the bar cache and the event journal are SQLite files in a
temporary directory, written every poll; `--path demo` is exactly `breakout-monitor --demo` (no
cache, an in-memory journal).

RSS is read at the end of every day, ten minutes into the next session (the roll's work done), after a
garbage collection. Day 1 is the warm-up; the figure is the growth per simulated day from the end of
day 1 to the end of day 7 (`--quick`: from day 2 to day 4, since the second day still carries a
warm-up step). Widgets still alive outside the DOM are counted too (a widget leak). Then the app is
quit with `q` and what is left is counted: asyncio tasks, running Textual timers, threads (the event
loop's idle executor workers aside, which asyncio.run then shuts down: threads are counted again after
it) and child processes (the alert command's). With `--trace`, or when the full run's growth is over
budget (in a second, 2-day run), tracemalloc names the allocations that grew over a day.

The last stdout line is the JSON object run.py reads; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import inprocess
from inprocess import (
    DEMO_FIRST_DAY,
    MB,
    SIZE,
    PaintTap,
    Row,
    bench_settings,
    driver_bytes,
    is_executor_worker,
    live_timers,
    other_tasks,
    other_threads,
    print_result,
    rendering_driver,
    row,
    rss_mb,
    say,
    send_key,
    wait_until,
)
from textual.widget import Widget

import services.engine
from services.alerts import Alert, AlertDispatcher, AlertSettings, Delivery
from services.breakout import BreakoutRules
from services.models import SourceKind
from services.refresh import RefreshLoop
from services.sources.demo import SESSION_MINUTES, DemoSource
from tui.app import BreakoutMonitorApp
from tui.logs import setup_logging
from tui.screens.digest import DigestScreen

FIRST_DAY = DEMO_FIRST_DAY
RULES = BreakoutRules(level=2590.0, targets=(2600.0, 2620.0))
"""Where the demo's ^RUT (2,560-2,625 over the first weeks) crosses the level most days: breakouts,
failures, target hits and intraday state changes keep coming."""
RSS_BUDGET_MB_PER_DAY = 1.0
SETTLE_MINUTES = 10
"""A day is read this many minutes (polls) into the next session, once the roll's work is done."""
DAY_ROUND: tuple[tuple[int, tuple[str, ...]], ...] = (
    (15, ("question_mark", "escape", "2")),
    (80, ("3",)),
    (145, ("4",)),
    (210, ("5",)),
    (275, ("6",)),
    (340, ("1",)),
)
"""The user's round of every session: (minute, keys). Each view is on screen for 65 minutes."""


class SimulatedClock:
    """The app's clock: the demo's simulated minute plus the real time since that minute began (at most
    59 s, so it never runs past the next minute). It moves forward between polls, as the refresh loop
    needs to find a poll due, and jumps a minute (or a night) at each poll."""

    def __init__(self, demo: DemoSource) -> None:
        self._demo = demo
        self._minute = demo.clock
        self._since = time.monotonic()
        self._stopped_at: datetime | None = None

    def stop(self) -> None:
        """From now on the time stands still (the soak is over: the polls no longer matter)."""
        self._stopped_at = self()

    def __call__(self) -> datetime:
        if self._stopped_at is not None:
            return self._stopped_at
        minute = self._demo.clock
        if minute != self._minute:
            self._minute, self._since = minute, time.monotonic()
        return minute + timedelta(seconds=min(59.0, time.monotonic() - self._since))


class Instruments:
    """Counters on the app's own calls, patched in for the run and restored after: the engine's runs
    over the completed closes (one at start, one per day roll), each alert's delivered channels, and
    the "while you were away" digests shown."""

    def __init__(self) -> None:
        self.engine_runs = 0
        self.channels: Counter[str] = Counter()
        self.deliveries = 0
        self.digests = 0
        self._saved: list[tuple[Any, str, Any]] = []

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def __enter__(self) -> Instruments:
        run_timeline = services.engine.run_timeline
        deliver = AlertDispatcher.deliver
        digest_init = DigestScreen.__init__

        def counted_run(*args: Any, **kwargs: Any) -> Any:
            self.engine_runs += 1
            return run_timeline(*args, **kwargs)

        async def counted_deliver(dispatcher: AlertDispatcher, alert: Alert) -> Delivery:
            delivery = await deliver(dispatcher, alert)
            self.deliveries += 1
            self.channels.update(delivery.sent or ("suppressed (cooldown)",))
            return delivery

        def counted_digest(screen: DigestScreen, *args: Any, **kwargs: Any) -> None:
            self.digests += 1
            digest_init(screen, *args, **kwargs)

        self._patch(services.engine, "run_timeline", counted_run)
        self._patch(AlertDispatcher, "deliver", counted_deliver)
        self._patch(DigestScreen, "__init__", counted_digest)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()


@dataclass
class Day:
    """The state at the end of one simulated day (right after the roll into the next)."""

    day: int
    trading_day: str
    """The session now running (the day after the one that closed)."""
    rss_mb: float
    wall_s: float
    polls: int
    snapshots: int
    paints: int
    daily_bars: int
    """^RUT's daily bars in the app (the closed day has joined them)."""
    engine_runs: int
    alerts: int
    journal_revisions: int
    bytes_rendered: int
    widgets: int
    """Widgets in the DOM of every screen on the stack."""
    pending_timers: int
    """Callbacks the event loop has scheduled for later (sleeps, Textual timers, toasts' timeouts)."""
    screens: list[str]
    """The screen stack, bottom first."""
    python_blocks: int = 0
    """Memory blocks Python's allocator has handed out (sys.getallocatedblocks): grows with objects."""
    heap_in_use_mb: float = 0.0
    """The C heap (glibc malloc, all arenas) in use and free but kept: what RSS is made of besides
    Python's own arenas. Zero where mallinfo2 is not available."""
    heap_free_mb: float = 0.0


@dataclass
class Soak:
    path: str
    tick_s: float
    user_keys: bool
    days: list[Day] = field(default_factory=list)
    start_rss_mb: float = 0.0
    alert_kinds: dict[str, int] = field(default_factory=dict)
    alert_channels: dict[str, int] = field(default_factory=dict)
    journal_entries: int = 0
    digests_shown: int = 0
    objects_growth: list[tuple[str, int]] = field(default_factory=list)
    widgets_growth: list[tuple[str, int]] = field(default_factory=list)
    """Widgets in the DOM at the end less at the end of day 1, by class."""
    detached_growth: list[tuple[str, int]] = field(default_factory=list)
    """Widgets alive outside the DOM at the end less at the end of day 1, by class (a widget leak)."""
    rss_samples: list[tuple[int, float]] = field(default_factory=list)
    """(polls, MB) twice a second of real time, without a garbage collection first: where RSS steps."""
    traced_growth: list[str] = field(default_factory=list)
    tasks_left: list[str] = field(default_factory=list)
    timers_left: list[str] = field(default_factory=list)
    threads_left_in_loop: list[str] = field(default_factory=list)
    children_left: int = 0
    exit_code: int | None = None


def malloc_heap_mb() -> tuple[float, float]:
    """(in use, free) in glibc's malloc heap, MB; (0, 0) where mallinfo2 is missing (musl, macOS)."""
    import ctypes
    import ctypes.util

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return 0.0, 0.0
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return round((info.uordblks + info.hblkhd) / MB, 2), round(info.fordblks / MB, 2)


def traced_line(stat: tracemalloc.StatisticDiff) -> str:
    """ "+561 KiB +42 blocks: innermost.py:10 <- caller.py:20 <- ..." (tracemalloc lists frames oldest
    first)."""
    frames = list(stat.traceback)[::-1][:5]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames)
    return f"{stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks: {where}"


async def sample_rss(feed: RefreshLoop, into: list[tuple[int, float]]) -> None:
    while True:
        into.append((feed.cycles, round(rss_mb(), 2)))
        await asyncio.sleep(0.5)


def detached_widgets() -> Counter[str]:
    """Widgets alive in memory but no longer in any screen's DOM, by class (after a collection):
    what a widget leak leaves behind."""
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, Widget) and not o.is_attached)


def widget_counts(app: BreakoutMonitorApp) -> Counter[str]:
    """Widgets by class, over every screen on the stack (the DOM a leak of widgets would grow)."""
    counts: Counter[str] = Counter()
    for screen in app.screen_stack:
        counts.update(type(w).__name__ for w in screen.walk_children(with_self=True))
    return counts


def pending_timers() -> int:
    loop = asyncio.get_running_loop()
    return len(getattr(loop, "_scheduled", ()))


def type_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def child_processes() -> int:
    try:
        import psutil
    except ImportError:
        return 0
    return len(psutil.Process().children(recursive=True))


def weekday_after(first: date, sessions: int) -> date:
    """The trading day `sessions` weekdays after `first`."""
    day = first
    for _ in range(sessions):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


async def run_soak(
    days: int, tick_s: float, live_path: bool, home: Path, trace: bool, user_keys: bool = True
) -> Soak:
    demo = DemoSource("breakout", today=FIRST_DAY, tick_seconds=tick_s)
    if live_path:
        demo.kind = SourceKind.YAHOO  # the live path: bar cache and journal files
    true = shutil.which("true")
    settings = bench_settings(
        home,
        breakout=RULES,
        alerts=AlertSettings(
            toast=True, bell=True, desktop="both", cooldown_s=300.0, command=(true,) if true else ()
        ),
    )
    clock = SimulatedClock(demo)
    app = BreakoutMonitorApp(settings, demo, clock=clock)
    result = Soak(path="live" if live_path else "demo", tick_s=tick_s, user_keys=user_keys)
    with rendering_driver(), Instruments() as counts:
        async with app.run_test(size=SIZE, notifications=True):
            main = app.main
            await wait_until(lambda: main.feed is not None and main.sentinel is not None)
            assert main.feed is not None
            tap = PaintTap(main)
            sampler = asyncio.get_running_loop().create_task(sample_rss(main.feed, result.rss_samples))
            t0 = time.perf_counter()
            result.start_rss_mb = round(rss_mb(), 1)
            warm_objects: Counter[str] = Counter()
            warm_widgets: Counter[str] = Counter()
            warm_detached: Counter[str] = Counter()
            trace_base: tracemalloc.Snapshot | None = None
            for day in range(1, days + 1):
                # Every day alike: the help screen, then each view on screen for a sixth of the
                # session while it ticks, the dashboard last, through the close and the roll.
                session = weekday_after(FIRST_DAY, day - 1)
                for minute, keys in DAY_ROUND if user_keys else ():
                    await wait_until(lambda m=minute: demo.minute >= m, timeout_s=600)  # type: ignore[misc]
                    for key in keys:
                        await press_as_user(app, key)
                    if keys[0] == "question_mark":
                        await wait_until(lambda: app.screen is app.main, timeout_s=10)
                    assert demo.trading_day == session, "the soak fell behind the ticks"
                # The roll's work goes on after its first snapshot (the engine's new events reach the
                # sentinel, the journal and its view): every day is read at the same point, ten
                # minutes into the next session.
                rolled_to = weekday_after(FIRST_DAY, day)
                await wait_until(lambda d=rolled_to: demo.trading_day >= d, timeout_s=600)  # type: ignore[misc]
                await wait_until(lambda: demo.minute >= SETTLE_MINUTES, timeout_s=600)
                await tap.painted_after(tap.snapshots)
                gc.collect()
                heap = malloc_heap_mb()
                snap = main.snapshot
                record = Day(
                    day=day,
                    trading_day=demo.trading_day.isoformat(),
                    rss_mb=round(rss_mb(), 2),
                    wall_s=round(time.perf_counter() - t0, 1),
                    polls=main.feed.cycles,
                    snapshots=tap.snapshots,
                    paints=tap.painted,
                    daily_bars=len(snap.symbols["^RUT"].daily) if snap is not None else 0,
                    engine_runs=counts.engine_runs,
                    alerts=len(main.alerts),
                    journal_revisions=main.sentinel.journal_revision if main.sentinel else 0,
                    bytes_rendered=driver_bytes(app),
                    widgets=sum(widget_counts(app).values()),
                    pending_timers=pending_timers(),
                    screens=[type(s).__name__ for s in app.screen_stack],
                    python_blocks=sys.getallocatedblocks(),
                    heap_in_use_mb=heap[0],
                    heap_free_mb=heap[1],
                )
                result.days.append(record)
                say(f"soak: {asdict(record)}")
                if day == 1:
                    warm_objects = type_counts()
                    warm_widgets = widget_counts(app)
                    warm_detached = detached_widgets()
                    if trace:
                        tracemalloc.start(6)
                        trace_base = tracemalloc.take_snapshot()
            growth = type_counts()
            growth.subtract(warm_objects)
            result.objects_growth = [(k, v) for k, v in growth.most_common(12) if v > 0]
            widgets = widget_counts(app)
            widgets.subtract(warm_widgets)
            result.widgets_growth = sorted(
                ((k, v) for k, v in widgets.items() if v), key=lambda kv: -abs(kv[1])
            )[:8]
            detached = detached_widgets()
            detached.subtract(warm_detached)
            result.detached_growth = [(k, v) for k, v in detached.most_common(6) if v > 0]
            if trace_base is not None:
                stats = tracemalloc.take_snapshot().compare_to(trace_base, "traceback")
                result.traced_growth = [traced_line(s) for s in stats[:12]]
                tracemalloc.stop()
            result.alert_kinds = dict(Counter(a.kind for a in main.alerts))
            result.alert_channels = dict(counts.channels)
            result.digests_shown = counts.digests
            if main.sentinel is not None:
                result.journal_entries = len(await asyncio.to_thread(main.sentinel.journal.entries))
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await quit_with_q(app, clock)
        result.exit_code = app.return_code
    await asyncio.sleep(0.1)  # cancelled tasks take their last step; a timer's task ends
    result.tasks_left = other_tasks()
    result.timers_left = live_timers()
    result.threads_left_in_loop = other_threads(is_executor_worker)
    result.children_left = child_processes()
    return result


async def press_as_user(app: BreakoutMonitorApp, key: str) -> None:
    """A key from someone coming back: it does its job, and after an hour without a key the app then
    shows what happened meanwhile (the "while you were away" digest, a modal screen over whatever
    the key opened); they read it and close it."""
    on_top = app.screen
    send_key(app, key)
    with contextlib.suppress(TimeoutError):
        await wait_until(lambda: isinstance(app.screen, DigestScreen), timeout_s=0.3)
    if isinstance(app.screen, DigestScreen):
        digest = app.screen
        send_key(app, "escape")
        await wait_until(lambda: app.screen is not digest, timeout_s=10)
    if app.screen is on_top:
        await asyncio.sleep(0.1)


async def quit_with_q(app: BreakoutMonitorApp, clock: SimulatedClock) -> None:
    """Quit as the user does, once the clock has stopped: close whatever is on top (with the soak's fast
    clock a few real seconds without a key are hours, so a digest may have come up), then `q`."""
    clock.stop()
    for _ in range(6):
        if app.screen is not app.main:
            send_key(app, "escape")
            await asyncio.sleep(0.2)
            continue
        send_key(app, "q")
        with contextlib.suppress(TimeoutError):
            await wait_until(lambda: app.return_code is not None, timeout_s=1)
        if app.return_code is not None:
            return


def growth_per_day(days: Sequence[Day], warm_days: int) -> float:
    """MB per simulated day from the end of the warm-up (day `warm_days`) to the end of the last day."""
    base = days[warm_days - 1]
    return (days[-1].rss_mb - base.rss_mb) / (days[-1].day - base.day)


def fitted_growth(days: Sequence[Day]) -> float:
    """The least-squares slope of RSS over the days after the first (MB/day): less sensitive to one
    noisy reading, and clear of the second day's step (see the module documentation)."""
    days = days[1:] if len(days) > 2 else days
    xs = [d.day for d in days]
    ys = [d.rss_mb for d in days]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def logged_errors(log_dir: Path) -> list[str]:
    """ERROR lines and tracebacks the app logged during the soak."""
    found = []
    for f in sorted(log_dir.glob("*.log*")):
        for line in f.read_text(errors="replace").splitlines():
            if " ERROR " in line or line.startswith("Traceback"):
                found.append(line[:200])
    return found


def weekly_growth(days: Sequence[Day]) -> list[tuple[int, int, float]]:
    """(from day, to day, MB/day) for each simulated week: days 1-7, 7-14, 14-21 ... (a run of at least
    two weeks; the last part may be shorter)."""
    by_day = {d.day: d for d in days}
    marks = [1, *range(7, days[-1].day + 1, 7)]
    if marks[-1] != days[-1].day:
        marks.append(days[-1].day)
    return [
        (a, b, (by_day[b].rss_mb - by_day[a].rss_mb) / (b - a))
        for a, b in itertools.pairwise(marks)
        if a in by_day and b in by_day
    ]


def rows_of(r: Soak, warm_days: int, threads_after: list[str], errors: list[str], wall_s: float) -> list[Row]:
    days = r.days
    first, last = days[0], days[-1]
    base = days[warm_days - 1]
    per_day = growth_per_day(days, warm_days)
    polls_expected = (len(days)) * SESSION_MINUTES
    worked = {
        "polls": last.polls >= polls_expected,
        "rolls": last.daily_bars - first.daily_bars == len(days) - 1,
        "engine": last.engine_runs >= len(days) + 1,
        "alerts": last.alerts > 0,
        "journal": r.journal_entries > 0,
        "painted": last.paints > 0.9 * last.snapshots,
        "no errors logged": not errors,
    }
    broken = [k for k, ok in worked.items() if not ok]
    fidelity = (
        f"{last.polls:,} polls, {len(days)} rolls, {last.engine_runs} engine runs, "
        f"{last.paints:,}/{last.snapshots:,} snapshots painted, {last.alerts} alerts, "
        f"{r.journal_entries} journal entries, {len(errors)} errors logged"
    )
    left_threads = sorted(set(threads_after) | set(r.threads_left_in_loop))
    label = (
        f"soak, {len(days)} days, the user's daily round of views"
        if r.user_keys
        else f"soak, {len(days)} days, ticks, rolls and alerts"
    )
    weeks = weekly_growth(days) if last.day >= 14 else []
    # Over two weeks or more, the budget is judged on the last week: the first weeks fill Textual's
    # bounded style and strip caches (their growth is shown beside it), a leak would keep growing.
    judged = weeks[-1][2] if weeks else per_day
    growth = (
        f"{per_day:+.2f} MB/day ({last.day - base.day} days after day {base.day}: "
        f"{base.rss_mb:.1f} -> {last.rss_mb:.1f} MB; {r.path} path, "
        f"{'8 keys a day' if r.user_keys else 'no keys'}, {wall_s:.0f} s)"
    )
    if weeks:
        growth = (
            f"{judged:+.2f} MB/day over days {weeks[-1][0]}-{weeks[-1][1]} (earlier weeks: "
            + ", ".join(f"days {a}-{b} {g:+.2f}" for a, b, g in weeks[:-1])
            + f"; {first.rss_mb:.1f} -> {last.rss_mb:.1f} MB; {r.path} path, "
            f"{'8 keys a day' if r.user_keys else 'no keys'}, {wall_s:.0f} s)"
        )
    return [
        row(
            f"{label}: RSS growth per simulated day",
            growth
            + (f"; INVALID: {', '.join(broken)}" if broken else "")
            + (
                "; widgets left alive outside the DOM since day 1: "
                + ", ".join(f"{n} {cls}" for cls, n in r.detached_growth[:3])
                if r.detached_growth
                else ""
            ),
            f"<= {RSS_BUDGET_MB_PER_DAY:g} MB/day" + (" (last week)" if weeks else ""),
            judged <= RSS_BUDGET_MB_PER_DAY and not broken,
        ),
        row(
            f"{label}: the app really ticked, rolled and alerted", fidelity, "all > 0, no errors", not broken
        ),
        row(
            f"{label}: asyncio tasks / Textual timers left after exit",
            f"{len(r.tasks_left)} / {len(r.timers_left)} (quit with q: exit code {r.exit_code})",
            "0 / 0",
            not r.tasks_left and not r.timers_left and r.exit_code == 0,
        ),
        row(
            f"{label}: threads / child processes left after exit",
            f"{len(left_threads)} / {r.children_left}",
            "0 / 0",
            not left_threads and r.children_left == 0,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="4 simulated days, growth counted from day 2 (see above)"
    )
    ap.add_argument("--days", type=int, help="simulated days (default 7; 4 with --quick)")
    ap.add_argument("--tick", type=float, default=0.02, help="real seconds between polls (default 0.02)")
    ap.add_argument("--path", choices=("live", "demo"), default="live", help="see above (default live)")
    ap.add_argument(
        "--no-keys", action="store_true", help="no user at the keyboard: ticks, rolls and alerts only"
    )
    ap.add_argument("--trace", action="store_true", help="tracemalloc from the end of day 1 (slower)")
    args = ap.parse_args(argv)
    days = args.days if args.days is not None else (4 if args.quick else 7)
    warm_days = 2 if args.quick else 1
    if days < warm_days + 1 or not 0 < args.tick <= 1.0:
        print(
            f"soak.py: error: --days must be at least {warm_days + 1} and --tick between 0 and 1 s",
            file=sys.stderr,
        )
        return 2
    inprocess.prepare_process()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="breakout-soak-") as tmp:
        home = Path(tmp)
        setup_logging(home / "logs", "INFO")  # as the app does: to a file, never the screen
        result = asyncio.run(
            run_soak(days, args.tick, args.path == "live", home, args.trace, not args.no_keys)
        )
        threads_after = other_threads()
        errors = logged_errors(home / "logs")
    wall = time.perf_counter() - t0
    per_day = growth_per_day(result.days, warm_days)
    if per_day > RSS_BUDGET_MB_PER_DAY and not args.trace and not args.quick:
        say(f"soak: {per_day:+.2f} MB/day is over budget: a shorter run with tracemalloc names the growth")
        with tempfile.TemporaryDirectory(prefix="breakout-soak-trace-") as tmp:
            traced = asyncio.run(
                run_soak(2, args.tick, args.path == "live", Path(tmp), True, not args.no_keys)
            )
        result.traced_growth = traced.traced_growth
    print_result(
        "soak",
        rows_of(result, warm_days, threads_after, errors, wall),
        wall_s=round(wall, 1),
        mb_per_day=round(per_day, 3),
        mb_per_day_fitted=round(fitted_growth(result.days), 3),
        threads_after_loop=threads_after,
        errors_logged=errors[:10],
        **asdict(result),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
