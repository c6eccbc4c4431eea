"""Refresh cost: CPU on the event loop for one full refresh, and how long the loop is ever held.

    python benchmarks/refresh_cost.py [--quick] [--repeats N] [--path {live,demo}] [--no-sample] [--profile]

The real app runs in-process under `App.run_test()` (120x40, notifications on, every frame rendered
to a byte counter as for a terminal) on the demo market: 6 symbols with 1,600 daily bars each (6.1
years) and today's one-minute path (the polls are measured from 12:50, with 200 minute bars in it;
a day roll starts a new one). The demo's own polls are an hour apart, so nothing refreshes but
what the benchmark asks for. `--path live` (the default) sends the data down the live (Yahoo) path:
the app starts from a bar cache already holding the history and last quotes (filled before the app
starts, in a temporary directory) and writes to it on every refresh; `--path demo` is exactly
`breakout-monitor --demo` (no cache).

Measured, in this order, with a loop-lag probe running throughout (a task sleeping 5 ms in a loop that
records how late it wakes):

1. start-up: from `run_test()` until every symbol's indicators and the breakout panel are on screen;
2. view switches: keys 1..6, twice (each key posted as a terminal sends it, until the view is painted);
3. refresh, a poll: the refresh loop woken as when a poll comes due. Quotes for 6 symbols, today's bar
   merged into each 6-year series, indicators recomputed for all 6 (in a thread), the breakout report
   with the live price, every view updated and the screen repainted;
4. refresh, the `r` key: the same plus the key's handling;
5. refresh with a day roll: the demo fast-forwarded to the close, then a poll: the next session
   opens, the closed day's bars come from the history (through the cache on the live path), the
   engine reruns over the completed closes (in a thread), indicators, repaint.

For 3-5: the event-loop thread's CPU clock (`time.thread_time()`) from the trigger until the snapshot
is painted (the `call_after_refresh` the app's own `painted` hook uses), and over a 0.6 s window from
the trigger ("with the work after the paint": the alert sentinel, the journal view); both
less what the loop burns idle in the same time (mostly the probe itself), and the demo source's own
CPU beside them (in live use that work is Yahoo's answer arriving). The other threads' CPU
(indicators, engine, cache) is shown too. Budget: 20 ms of the app's loop CPU, median refresh.

Every event-loop callback is timed (as asyncio's debug mode does, without its other costs); one over
50 ms is named (the task it stepped), with the garbage collections that ran meanwhile and the code the
loop was in (a thread samples the loop's stack while a callback runs long; `--no-sample` turns it
off). `--profile` then profiles a few more of each (cProfile on the loop thread) and lists where the
time goes.

The last stdout line is the JSON object run.py reads; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import inprocess
from demo_cache import fill_demo_cache
from inprocess import (
    DEMO_FIRST_DAY,
    SIZE,
    GcWatch,
    LagProbe,
    PaintTap,
    Row,
    SlowCallbackWatch,
    bench_settings,
    driver_bytes,
    print_result,
    rendering_driver,
    row,
    say,
    send_key,
    wait_until,
)
from textual.widgets import ContentSwitcher

from services.models import SourceKind
from services.sources.demo import SESSION_MINUTES, DemoSource
from tui.app import BreakoutMonitorApp
from tui.logs import setup_logging
from tui.screens.main import view_classes

T = TypeVar("T")

CPU_BUDGET_MS = 20.0
LAG_BUDGET_MS = 50.0
WINDOW_S = 0.6
"""The window after a key over which a refresh's whole loop CPU is counted."""
SETTLE_S = 0.3
POLL_APART_S = 3600.0
"""The demo's own poll interval here: only the benchmark's keys refresh."""
VIEW_KEYS = ("2", "3", "4", "5", "6", "1")
MIDDAY_MINUTE = 200
"""The polls and `r` are measured from here on (12:50 New York): today's path holds 200 minute bars."""


@dataclass
class Refresh:
    """One measured refresh (milliseconds)."""

    loop_cpu_to_paint_ms: float
    loop_cpu_all_ms: float
    source_cpu_ms: float
    """Of the loop CPU to paint, the demo source's own work (making the quotes; on a day roll, drawing
    the new session's minute bars). In live use that is Yahoo's answer arriving, not the app's work."""
    other_threads_cpu_ms: float
    wall_to_paint_ms: float


@dataclass
class Result:
    path: str
    startup_s: float = 0.0
    startup_loop_cpu_ms: float = 0.0
    idle_loop_cpu_ms_per_s: float = 0.0
    poll: list[Refresh] = field(default_factory=list)
    key_r: list[Refresh] = field(default_factory=list)
    roll: list[Refresh] = field(default_factory=list)
    view_switch_loop_cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    lag: dict[str, Any] = field(default_factory=dict)
    slow_callbacks: list[dict[str, Any]] = field(default_factory=list)
    longest_callback_ms: float = 0.0
    callbacks_timed: int = 0
    gc: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, list[str]] = field(default_factory=dict)
    """With --profile: where the loop thread's time goes, per refresh / roll / view switch."""
    bytes_rendered: int = 0
    daily_bars: dict[str, int] = field(default_factory=dict)
    """Daily bars per symbol during the polls (today's live bar included)."""
    intraday_bars: int = 0
    """IWM's intraday path at the end of the polls (one-minute bars of today)."""
    exit_code: int | None = None


def fully_shown(app: BreakoutMonitorApp) -> bool:
    snap = app.main.snapshot
    return (
        snap is not None
        and snap.breakout is not None
        and all(s.indicators is not None and s.quote is not None for s in snap.symbols.values())
    )


async def switch_view(app: BreakoutMonitorApp, key: str, idle_per_s: float) -> float:
    """Post the view's key as the terminal sends it and wait until the view is on screen; the loop
    thread's CPU meanwhile, in ms, less what the loop spends idle in the same time."""
    view_id = next(v for v, (k, _cls) in view_classes().items() if k == key)
    switcher = app.main.query_one("#views", ContentSwitcher)
    await asyncio.sleep(SETTLE_S)
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    send_key(app, key)
    await wait_until(lambda: switcher.current == view_id, step_s=0.001)
    painted = asyncio.Event()
    app.screen.call_after_refresh(painted.set)
    await painted.wait()
    return (time.thread_time() - cpu0 - idle_per_s * (time.perf_counter() - wall0)) * 1000


def press_r(app: BreakoutMonitorApp) -> None:
    """`r` as the terminal sends it: a key event posted to the app, no pilot in between. The app then
    refreshes."""
    send_key(app, "r")


def poll_now(app: BreakoutMonitorApp) -> None:
    """What a poll coming due does: wake the refresh loop (no key)."""
    app.main.refresh_feed()


class SourceMeter:
    """The loop thread's CPU inside the demo source's calls (they run on the loop: no awaits inside)."""

    def __init__(self, demo: DemoSource) -> None:
        self.cpu_s = 0.0
        for name in ("quotes", "history"):
            setattr(demo, name, self._metered(getattr(demo, name)))

    def _metered(self, call: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        async def metered(*args: Any, **kwargs: Any) -> T:
            start = time.thread_time()
            try:
                return await call(*args, **kwargs)
            finally:
                self.cpu_s += time.thread_time() - start

        return metered


async def measure_refresh(
    app: BreakoutMonitorApp,
    tap: PaintTap,
    meter: SourceMeter,
    idle_per_s: float,
    trigger: Callable[[BreakoutMonitorApp], None],
) -> Refresh:
    """Trigger a refresh and wait until its snapshot is painted, then for the rest of the window."""
    await asyncio.sleep(SETTLE_S)
    seq = tap.snapshots
    wall0, cpu0, all0 = time.perf_counter(), time.thread_time(), time.process_time()
    source0 = meter.cpu_s
    trigger(app)
    paint = await tap.painted_after(seq)
    source = meter.cpu_s - source0
    await asyncio.sleep(max(0.0, wall0 + WINDOW_S - time.perf_counter()))
    cpu1, all1 = time.thread_time(), time.process_time()
    window = time.perf_counter() - wall0
    loop_all = (cpu1 - cpu0) - idle_per_s * window
    to_paint = (paint.thread_cpu_s - cpu0) - idle_per_s * (paint.wall_s - wall0)
    return Refresh(
        loop_cpu_to_paint_ms=round(to_paint * 1000, 2),
        loop_cpu_all_ms=round(loop_all * 1000, 2),
        source_cpu_ms=round(source * 1000, 2),
        other_threads_cpu_ms=round(((all1 - all0) - (cpu1 - cpu0)) * 1000, 2),
        wall_to_paint_ms=round((paint.wall_s - wall0) * 1000, 1),
    )


async def idle_loop_cpu(seconds: float) -> float:
    """The loop thread's CPU per second while nothing happens (the probe, the app's own timers)."""
    samples = []
    for _ in range(3):
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        samples.append((time.thread_time() - cpu0) / (time.perf_counter() - wall0))
    return statistics.median(samples)


_APP_DIRS = tuple(str(inprocess.REPO / d) + "/" for d in ("tui", "widgets", "services"))
_LIB_DIRS = ("site-packages/textual/", "site-packages/rich/", "site-packages/plotext/")
_PLUMBING = ("message_pump.py", "_callback.py", "timer.py", "app.py:", "worker.py", "pilot.py")


def profile_top(prof: cProfile.Profile, runs: int, n: int = 12) -> list[str]:
    """Where the loop thread's CPU goes, in ms per run (cProfile's own overhead included, so compare
    the lines with each other): the app's functions by cumulative time, then Textual's, Rich's and
    plotext's (their message plumbing aside), then the hottest functions of all by own time."""
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        short = path.removeprefix(str(inprocess.REPO) + "/").split("site-packages/")[-1]
        return f"{short}:{line} {func}"

    def top(keys: list[tuple[str, int, str]], cumulative: bool, count: int, label: str) -> list[str]:
        def seconds(k: tuple[str, int, str]) -> float:
            return stats[k][3] if cumulative else stats[k][2]

        ranked = sorted(keys, key=seconds, reverse=True)[:count]
        return [f"{label} {seconds(k) * 1000 / runs:6.1f} ms  {name(k)}" for k in ranked]

    app = [k for k in stats if k[0].startswith(_APP_DIRS)]
    lib = [k for k in stats if any(d in k[0] for d in _LIB_DIRS) and not any(p in name(k) for p in _PLUMBING)]
    return (
        top(app, True, n, "app cum")
        + top(lib, True, n // 2, "lib cum")
        + top([k for k in stats if "poll" not in k[2]], False, n // 2, "own    ")
    )


async def profile_passes(
    app: BreakoutMonitorApp, tap: PaintTap, meter: SourceMeter, idle: float, runs: int
) -> dict[str, list[str]]:
    """cProfile on the loop thread (only the thread that enables it) over `runs` refreshes, then
    day rolls, then a round of view switches; after the measured passes, which it would slow down."""
    out: dict[str, list[str]] = {}
    demo = app.source
    assert isinstance(demo, DemoSource)
    for what in ("refresh (poll)", "refresh (r key)", "refresh with a day roll", "view switch"):
        # The default wall timer: a CPU-time timer is a system call per function call, which would
        # swamp the figures; the idle poll is left out of the listing instead.
        prof = cProfile.Profile()
        prof.enable()
        if what == "view switch":
            for key in VIEW_KEYS:
                await switch_view(app, key, idle)
            count = len(VIEW_KEYS)
        else:
            for _ in range(runs):
                if what == "refresh with a day roll":
                    demo.advance(SESSION_MINUTES - demo.minute)
                await measure_refresh(
                    app, tap, meter, idle, press_r if what == "refresh (r key)" else poll_now
                )
            count = runs
        prof.disable()
        out[what] = profile_top(prof, count)
        say(f"refresh_cost: profile of {what}, per run:\n  " + "\n  ".join(out[what]))
    return out


async def run(
    repeats: int, rolls: int, live_path: bool, home: Path, sample: bool, profile: bool = False
) -> Result:
    result = Result(path="live" if live_path else "demo")
    if live_path:
        await fill_demo_cache(home / "cache", DEMO_FIRST_DAY)
    demo = DemoSource("breakout", today=DEMO_FIRST_DAY, tick_seconds=POLL_APART_S)
    if live_path:
        demo.kind = SourceKind.YAHOO  # the live path: cache and journal files
    meter = SourceMeter(demo)
    app = BreakoutMonitorApp(bench_settings(home), demo)
    probe = LagProbe()
    gcw = GcWatch()
    watch = SlowCallbackWatch(
        lambda: probe.phase, threshold_s=LAG_BUDGET_MS / 1000, sample=sample, gc_watch=gcw
    )
    probe.phase = "start-up"
    watch.start()
    gcw.start()
    probe.start()
    try:
        with rendering_driver():
            t0, cpu0 = time.perf_counter(), time.thread_time()
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await wait_until(lambda: fully_shown(app), timeout_s=60, step_s=0.005)
                await wait_until(lambda: app.main.feed is not None)
                tap = PaintTap(app.main)
                done = asyncio.Event()
                app.screen.call_after_refresh(done.set)
                await done.wait()
                result.startup_s = round(time.perf_counter() - t0, 3)
                result.startup_loop_cpu_ms = round((time.thread_time() - cpu0) * 1000, 1)
                say(f"refresh_cost: on screen in {result.startup_s:.2f} s")
                probe.phase = "idle"
                await asyncio.sleep(1.0)
                idle = await idle_loop_cpu(WINDOW_S)
                result.idle_loop_cpu_ms_per_s = round(idle * 1000, 2)

                # Into the session: today's intraday path holds a few hours of minute bars.
                demo.advance(max(0, MIDDAY_MINUTE - demo.minute))
                seq = tap.snapshots
                poll_now(app)
                await tap.painted_after(seq)

                probe.phase = "view switches"
                for _ in range(2):
                    for key in VIEW_KEYS:
                        ms = await switch_view(app, key, idle)
                        result.view_switch_loop_cpu_ms.setdefault(key, []).append(round(ms, 1))

                probe.phase = "refresh (poll)"
                for i in range(repeats):
                    result.poll.append(await measure_refresh(app, tap, meter, idle, poll_now))
                    say(f"refresh_cost: poll #{i + 1}: {asdict(result.poll[-1])}")

                probe.phase = "refresh (r key)"
                for i in range(repeats):
                    result.key_r.append(await measure_refresh(app, tap, meter, idle, press_r))
                    say(f"refresh_cost: r #{i + 1}: {asdict(result.key_r[-1])}")

                snap = app.main.snapshot
                if snap is not None:
                    result.daily_bars = {s: len(v.daily) for s, v in snap.symbols.items()}
                    path = snap.symbols["IWM"].intraday
                    result.intraday_bars = len(path) if path is not None else 0

                probe.phase = "refresh with a day roll"
                for i in range(rolls):
                    demo.advance(SESSION_MINUTES - demo.minute)  # to the close; the next poll rolls
                    result.roll.append(await measure_refresh(app, tap, meter, idle, poll_now))
                    say(f"refresh_cost: roll #{i + 1}: {asdict(result.roll[-1])}")

                if profile:
                    probe.phase = "profiled (not counted)"
                    result.profile = await profile_passes(app, tap, meter, idle, max(3, repeats // 2))

                result.bytes_rendered = driver_bytes(app)
                probe.phase = "quit"
                await pilot.press("q")
            result.exit_code = app.return_code
    finally:
        await probe.stop()
        gcw.stop()
        watch.stop()
    result.lag = asdict(probe.stats())
    result.slow_callbacks = watch.worst(8)
    result.longest_callback_ms = round(watch.longest_ms, 1)
    result.callbacks_timed = watch.callbacks
    result.gc = gcw.summary()
    return result


def cpu_figure(items: Sequence[Refresh], pick: Callable[[Refresh], float]) -> tuple[float, float]:
    values = [pick(r) for r in items]
    return statistics.median(values), max(values)


def rows_of(r: Result) -> list[Row]:
    """The budget is judged on the median refresh (a full garbage collection may land in any one of
    them: the lag row reports those) and on the app's own work: the demo source's share, which in live
    use is Yahoo's answer arriving, is shown and left out."""
    rows: list[Row] = []
    for label, items in (
        ("refresh (a poll)", r.poll),
        ("refresh (r key)", r.key_r),
        ("refresh with a day roll (a poll)", r.roll),
    ):
        med, mx = cpu_figure(items, lambda x: x.loop_cpu_to_paint_ms)
        all_med, all_mx = cpu_figure(items, lambda x: x.loop_cpu_all_ms)
        src_med, _ = cpu_figure(items, lambda x: x.source_cpu_ms)
        other_med, _ = cpu_figure(items, lambda x: x.other_threads_cpu_ms)
        wall_med, _ = cpu_figure(items, lambda x: x.wall_to_paint_ms)
        app_med = max(med, all_med) - src_med
        rows.append(
            row(
                f"full {label}: event-loop CPU",
                f"{app_med:.1f} ms median (to paint {med:.1f} ms, max {mx:.1f}; with the work after the "
                f"paint {all_med:.1f}, max {all_mx:.1f}; demo source {src_med:.1f} of it; n={len(items)}; "
                f"other threads {other_med:.0f} ms; on screen in {wall_med:.0f} ms)",
                f"<= {CPU_BUDGET_MS:g} ms",
                app_med <= CPU_BUDGET_MS,
            )
        )
    lag = r.lag
    over = [s for s in r.slow_callbacks if s["ms"] > LAG_BUDGET_MS]
    in_gc = [s for s in over if s["gc_ms"] >= s["ms"] / 2]
    other = [s for s in over if s["gc_ms"] < s["ms"] / 2]
    causes = []
    if in_gc:
        causes.append(
            f"{len(in_gc)} mostly a full garbage collection (up to {max(s['gc_ms'] for s in in_gc):.0f} ms; "
            f"{r.gc.get('objects_tracked', 0):,} objects tracked)"
        )
    causes += [
        f"{s['ms']:.0f} ms in {s['phase']}: {s['what'].split(' incl.')[0]}"
        + (f" at {s['hot'][0].rsplit(' x', 1)[0]}" if s["hot"] else "")
        for s in other[:3]
    ]
    rows.append(
        row(
            "event loop: longest block (lag probe)",
            f"max {lag['max_ms']:.0f} ms ({lag['worst_phase']}), p99 {lag['p99_ms']:.1f} ms, "
            f"{lag['samples']:,} samples"
            + (f"; {len(over)} callbacks over {LAG_BUDGET_MS:g} ms: " + "; ".join(causes) if over else ""),
            f"<= {LAG_BUDGET_MS:g} ms",
            lag["max_ms"] <= LAG_BUDGET_MS,
        )
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 refreshes and 4 day rolls instead of 20 and 8")
    ap.add_argument("--repeats", type=int, help="refreshes to measure (default 20; 8 with --quick)")
    ap.add_argument("--path", choices=("live", "demo"), default="live", help="see above (default live)")
    ap.add_argument("--no-sample", action="store_true", help="do not sample the stack of slow callbacks")
    ap.add_argument(
        "--profile", action="store_true", help="then profile a few more refreshes and view switches"
    )
    args = ap.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (8 if args.quick else 20)
    if repeats < 1:
        print("refresh_cost.py: error: --repeats must be at least 1", file=sys.stderr)
        return 2
    rolls = max(1, repeats // 2)
    inprocess.prepare_process()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="breakout-refresh-") as tmp:
        home = Path(tmp)
        setup_logging(home / "logs", "INFO")
        result = asyncio.run(run(repeats, rolls, args.path == "live", home, not args.no_sample, args.profile))
    wall = time.perf_counter() - t0
    print_result("refresh_cost", rows_of(result), wall_s=round(wall, 1), **asdict(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
