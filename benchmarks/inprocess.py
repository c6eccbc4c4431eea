"""What the in-process benchmarks (`soak.py`, `refresh_cost.py`) share: the real app under
`App.run_test()` with a driver that renders every frame as a terminal would, a tap on the snapshots the
app paints, an event-loop lag probe, a watch on slow event-loop callbacks, RSS, what is left behind
after exit, and the one JSON line `run.py` reads.

Not a test helper: nothing here is imported by the app or its tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypedDict

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/x.py` from a checkout that is not pip-installed
    sys.path.insert(0, str(REPO))

from textual import events  # noqa: E402
from textual.app import App  # noqa: E402
from textual.drivers import headless_driver  # noqa: E402
from textual.timer import Timer  # noqa: E402

from tui.config import Settings  # noqa: E402

if TYPE_CHECKING:
    from services.snapshot import Snapshot
    from tui.screens.main import MainScreen

DEMO_FIRST_DAY = date(2026, 11, 24)
"""The demo's first live day (a Tuesday), fixed so that every run plays the same market."""
SIZE = (120, 40)
"""The terminal the app is drawn on: the same as run.py's pty."""
MB = 1024 * 1024


# ------------------------------------------------------------------------------------------ the output
class Row(TypedDict):
    """One line of run.py's table."""

    name: str
    figure: str
    budget: str
    met: bool


def row(name: str, figure: str, budget: str, met: bool) -> Row:
    return {"name": name, "figure": figure, "budget": budget, "met": bool(met)}


def print_result(name: str, rows: list[Row], **raw: Any) -> None:
    """The last stdout line: the JSON object run.py turns into table rows (raw numbers beside them)."""
    sys.stdout.flush()
    print(json.dumps({"name": name, "rows": rows, **raw}, default=str), flush=True)


def say(text: str) -> None:
    """Progress, on stderr (stdout's last line is the result). The process's own stderr: while an app
    runs, Textual captures `sys.stderr`."""
    stream = sys.__stderr__ or sys.stderr
    print(text, file=stream, flush=True)


def prepare_process() -> None:
    """Make the process the same wherever it is started from, before any app runs.

    fd 0 is pointed at /dev/null: the app arms its terminal watch (SIGHUP handlers, a 1 s tty check)
    only when stdin is a tty, so from a shell the benchmark would measure a different app than when
    run.py starts it (run.py's pty benchmark covers the watch). And the terminal type is run.py's
    (xterm-256color, no COLORTERM, colour on, no TEXTUAL_* switches): the colours Rich picks from it
    decide how many bytes every frame takes.
    """
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.environ["TERM"] = "xterm-256color"
    for name in [n for n in os.environ if n.startswith("TEXTUAL")] + ["COLORTERM", "NO_COLOR", "FORCE_COLOR"]:
        os.environ.pop(name, None)


# ------------------------------------------------------------------------------------------ the app
def bench_settings(home: Path, **changes: Any) -> Settings:
    """Settings whose every directory (cache, logs, journal, exports, the config file a theme change
    writes) is inside `home`: the user's own are never touched."""
    base = Settings(
        cache_dir=home / "cache",
        log_dir=home / "logs",
        data_dir=home / "data",
        export_dir=home / "exports",
        config_path=home / "config.toml",
    )
    return replace(base, **changes)


class RenderingDriver(headless_driver.HeadlessDriver):
    """Textual's headless driver, except that it does not say it is headless: Textual (and the app's
    cell diff) then turn every frame into the escape sequences a terminal would get, as in real use,
    instead of skipping that step. The bytes are counted and dropped; there is no input."""

    bytes_written = 0
    writes = 0

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.writes += 1
        self.bytes_written += len(data.encode("utf-8", "replace"))


@contextlib.contextmanager
def rendering_driver() -> Iterator[None]:
    """While active, `App.run_test()` runs the app on `RenderingDriver` (it looks the headless driver
    up in its module each time it starts an app)."""
    original = headless_driver.HeadlessDriver
    headless_driver.HeadlessDriver = RenderingDriver  # type: ignore[misc]
    try:
        yield
    finally:
        headless_driver.HeadlessDriver = original  # type: ignore[misc]


def driver_bytes(app: Any) -> int:
    driver = getattr(app, "_driver", None)
    return driver.bytes_written if isinstance(driver, RenderingDriver) else 0


# ------------------------------------------------------------------------------------------ painting
@dataclass
class Paint:
    """One snapshot on screen: the event-loop thread's CPU clock and the wall clock at that moment."""

    seq: int
    thread_cpu_s: float
    wall_s: float


class PaintTap:
    """Sits between the refresh loop and the main screen: counts the snapshots handed over and, for
    each, notes the moment the screen has been refreshed with it (the app's own `painted` hook uses
    the same `call_after_refresh`)."""

    def __init__(self, screen: MainScreen) -> None:
        feed = screen.feed
        assert feed is not None, "install the tap once the feed is running"
        self._screen = screen
        self._show: Callable[[Snapshot], None] = feed.on_snapshot
        self.snapshots = 0
        self.painted = 0
        self.last: Paint | None = None
        self._changed = asyncio.Event()
        feed.on_snapshot = self._on_snapshot

    def _on_snapshot(self, snap: Snapshot) -> None:
        self._show(snap)
        self.snapshots += 1
        self._screen.call_after_refresh(self._on_painted, self.snapshots)

    def _on_painted(self, seq: int) -> None:
        self.last = Paint(seq, time.thread_time(), time.perf_counter())
        self.painted = max(self.painted, seq)
        self._changed.set()

    async def painted_after(self, seq: int, timeout_s: float = 30.0) -> Paint:
        """Wait until a snapshot later than number `seq` is on screen."""
        async with asyncio.timeout(timeout_s):
            while self.painted <= seq:
                self._changed.clear()
                await self._changed.wait()
        assert self.last is not None
        return self.last


_KEY_CHARACTERS = {"question_mark": "?", "escape": "\x1b", "enter": "\r", "space": " "}


def send_key(app: App[Any], key: str) -> None:
    """Post `key` to the app as the terminal driver does. Unlike `Pilot.press`, it does not wait for
    the app to go idle, which an app repainting every few milliseconds never does (Pilot then waits
    about 2 s a key)."""
    character = _KEY_CHARACTERS.get(key, key if len(key) == 1 else None)
    app.post_message(events.Key(key, character))


async def wait_until(cond: Callable[[], bool], timeout_s: float = 30.0, step_s: float = 0.01) -> None:
    """Poll `cond` (the app's state has no event to wait on) until it holds."""
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(step_s)


# ------------------------------------------------------------------------------------------ loop lag
@dataclass
class LagStats:
    samples: int
    max_ms: float
    p99_ms: float
    p50_ms: float
    worst_phase: str
    worst_at_s: float
    by_phase_max_ms: dict[str, float]


class LagProbe:
    """A task that sleeps `interval_s` in a loop and records how late it wakes: anything that holds
    the event loop (a slow callback, a long render, the interpreter lock held by a thread) shows up as
    lateness. `phase` labels the samples with what the benchmark is doing at the time."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.phase = "start"
        self.lags: list[float] = []
        self.phases: list[str] = []
        self.at: list[float] = []
        self._t0 = time.perf_counter()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag probe")

    async def _run(self) -> None:
        clock, interval = time.perf_counter, self.interval_s
        while True:
            before = clock()
            await asyncio.sleep(interval)
            after = clock()
            self.lags.append(max(0.0, after - before - interval))
            self.phases.append(self.phase)
            self.at.append(before - self._t0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def stats(self) -> LagStats:
        if not self.lags:
            return LagStats(0, math.nan, math.nan, math.nan, "", math.nan, {})
        ordered = sorted(self.lags)
        worst = max(range(len(self.lags)), key=self.lags.__getitem__)
        by_phase: dict[str, float] = {}
        for lag, phase in zip(self.lags, self.phases, strict=True):
            by_phase[phase] = max(by_phase.get(phase, 0.0), lag * 1000)
        return LagStats(
            samples=len(ordered),
            max_ms=round(ordered[-1] * 1000, 2),
            p99_ms=round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
            p50_ms=round(statistics.median(ordered) * 1000, 2),
            worst_phase=self.phases[worst],
            worst_at_s=round(self.at[worst], 2),
            by_phase_max_ms={k: round(v, 1) for k, v in by_phase.items()},
        )


# ------------------------------------------------------------------------------------------ gc pauses
class GcWatch:
    """Times the interpreter's cyclic garbage collections: they run on whichever thread allocates,
    mostly the event loop's, and hold the interpreter lock throughout, so a full (generation 2)
    collection over a big heap holds the loop."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, int]] = []
        """(start, end, generation), perf_counter seconds."""
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((self._started, time.perf_counter(), info["generation"]))

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def within(self, start: float, end: float) -> dict[int, float]:
        """Milliseconds spent in collections between `start` and `end`, by generation."""
        out: dict[int, float] = {}
        for s, e, gen in self.pauses:
            overlap = min(e, end) - max(s, start)
            if overlap > 0:
                out[gen] = out.get(gen, 0.0) + overlap * 1000
        return out

    def summary(self) -> dict[str, Any]:
        by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
        for s, e, gen in self.pauses:
            by_gen[gen].append((e - s) * 1000)
        return {
            f"gen{g}": {"count": len(p), "max_ms": round(max(p), 1) if p else 0.0, "total_ms": round(sum(p))}
            for g, p in by_gen.items()
        } | {"objects_tracked": len(gc.get_objects())}


# ------------------------------------------------------------------------------------------ slow callbacks
_PROJECT_DIRS = tuple(str(REPO / d) + os.sep for d in ("tui", "widgets", "services"))


@dataclass
class SlowCallback:
    """One event-loop callback that ran longer than the threshold."""

    ms: float
    what: str
    """The task (name and coroutine) or the callback the loop ran."""
    phase: str
    gc_ms: float = 0.0
    """Of which in garbage collections (their generations in `what`)."""
    hot: list[str] = field(default_factory=list)
    """Where the loop thread was while it ran, most sampled first ("file:line function" x count)."""


class SlowCallbackWatch:
    """Times every callback the event loop runs (as asyncio's debug mode does, without its other
    costs) and keeps those over `threshold_s`, naming the task. With `sample=True` a thread also
    samples the loop thread's stack while a callback has run longer than `sample_after_s`, so a slow
    callback comes with the code it was in (the app's own frames preferred)."""

    def __init__(
        self,
        phase: Callable[[], str],
        threshold_s: float = 0.05,
        sample: bool = False,
        keep: int = 30,
        gc_watch: GcWatch | None = None,
    ) -> None:
        self.threshold_s = threshold_s
        self.sample_after_s = threshold_s / 2
        self.slow: list[SlowCallback] = []
        self.longest_ms = 0.0
        self.callbacks = 0
        self._phase = phase
        self._sample = sample
        self._gc = gc_watch
        self._keep = keep
        self._current: tuple[float, int] | None = None  # (start, serial) of the running callback
        self._serial = 0
        self._samples: dict[int, Counter[str]] = {}
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._original: Callable[[asyncio.Handle], None] | None = None

    def start(self) -> None:
        handle_cls = asyncio.Handle
        original = handle_cls._run
        self._original = original
        watch = self

        def timed_run(handle: asyncio.Handle) -> None:
            watch._serial += 1
            serial = watch._serial
            start = time.perf_counter()
            watch._current = (start, serial)
            try:
                original(handle)
            finally:
                watch._current = None
                watch._done(handle, start, time.perf_counter(), serial)

        handle_cls._run = timed_run  # type: ignore[method-assign,assignment]
        self._loop_thread = threading.get_ident()
        if self._sample:
            self._sampler = threading.Thread(
                target=self._sample_loop, name="slow-callback sampler", daemon=True
            )
            self._sampler.start()

    def stop(self) -> None:
        if self._original is not None:
            asyncio.Handle._run = self._original  # type: ignore[method-assign,assignment]
            self._original = None
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
            self._sampler = None

    def _done(self, handle: asyncio.Handle, start: float, end: float, serial: int) -> None:
        self.callbacks += 1
        ms = (end - start) * 1000
        self.longest_ms = max(self.longest_ms, ms)
        hot = self._samples.pop(serial, None)
        if end - start < self.threshold_s:
            return
        entry = SlowCallback(round(ms, 1), describe_handle(handle), self._phase())
        if self._gc is not None:
            in_gc = self._gc.within(start, end)
            entry.gc_ms = round(sum(in_gc.values()), 1)
            if in_gc:
                entry.what += " incl. gc " + ", ".join(f"gen{g} {v:.0f} ms" for g, v in sorted(in_gc.items()))
        if hot:
            entry.hot = [f"{where} x{n}" for where, n in hot.most_common(4)]
        self.slow.append(entry)
        if len(self.slow) > self._keep:
            self.slow.sort(key=lambda s: -s.ms)
            del self.slow[self._keep :]

    def _sample_loop(self) -> None:
        while not self._stop.wait(0.001):
            current = self._current
            if current is None or time.perf_counter() - current[0] < self.sample_after_s:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is not None:
                self._samples.setdefault(current[1], Counter())[where_in_app(frame)] += 1

    def worst(self, n: int = 5) -> list[dict[str, Any]]:
        return [s.__dict__ for s in sorted(self.slow, key=lambda s: -s.ms)[:n]]


def describe_handle(handle: asyncio.Handle) -> str:
    """The task a callback steps (its name and coroutine), else the callback itself."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = getattr(coro, "__qualname__", type(coro).__name__)
        return f"task {owner.get_name()!r} ({name})"
    return repr(handle)[:200]


def where_in_app(frame: FrameType) -> str:
    """The innermost frame in the app's own code (tui, widgets, services), else the innermost one,
    with the innermost frame beside it when they differ."""
    stack = traceback.StackSummary.extract(traceback.walk_stack(frame), lookup_lines=False)
    stack.reverse()  # outermost first, as extract_stack gives it
    if stack and stack[-1].filename == __file__ and stack[-1].name == "_callback":
        return "garbage collection"  # the GcWatch callback: the loop is ending a collection
    inner = stack[-1]
    ours = next((f for f in reversed(stack) if f.filename.startswith(_PROJECT_DIRS)), None)

    def short(f: traceback.FrameSummary) -> str:
        path = f.filename.removeprefix(str(REPO) + os.sep)
        if "site-packages" + os.sep in path:
            path = path.split("site-packages" + os.sep, 1)[1]
        return f"{path}:{f.lineno} {f.name}"

    if ours is None or ours is inner:
        return short(inner)
    return f"{short(ours)} -> {short(inner)}"


# ------------------------------------------------------------------------------------------ memory
def rss_mb() -> float:
    """This process's resident set size in MB (2^20 bytes)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, ValueError, IndexError):
        import psutil  # not Linux: psutil knows the platform's call

        return float(psutil.Process().memory_info().rss) / MB


# ------------------------------------------------------------------------------------------ leftovers
def live_timers() -> list[str]:
    """Textual timers whose task is still running (anywhere in the process)."""
    out = []
    for obj in gc.get_objects():
        if isinstance(obj, Timer):
            task = obj._task
            if task is not None and not task.done():
                out.append(f"{obj.name} -> {obj.target!r}"[:160])
    return out


def other_tasks() -> list[str]:
    """asyncio tasks other than the caller's, still pending."""
    me = asyncio.current_task()
    return [
        f"{t.get_name()} ({getattr(t.get_coro(), '__qualname__', '?')})"
        for t in asyncio.all_tasks()
        if t is not me and not t.done()
    ]


def other_threads(ignore: Callable[[threading.Thread], bool] = lambda t: False) -> list[str]:
    main = threading.main_thread()
    return [t.name for t in threading.enumerate() if t is not main and t.is_alive() and not ignore(t)]


def is_executor_worker(thread: threading.Thread) -> bool:
    """An idle worker of the event loop's default executor (`asyncio.to_thread`): it lives until the
    loop shuts its executor down, by design."""
    return thread.name.startswith("asyncio_")
