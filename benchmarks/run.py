"""The process-level benchmark of breakout-monitor against a bare Textual app, in a real pty at 120x40.

    python benchmarks/run.py [--quick] [--json PATH]

Prints a Markdown table (measure | budget | bare Textual | breakout-monitor | ratio | met), then the
details behind each figure. What each row measures and how: benchmarks/README.md.

Every run of the app gets fresh temporary cache, log, data and config directories (the warm-cache
runs share one cache, warmed first); the user's own cache, journal and config are never touched.
Live data comes from ../shared/tools/fakeyahoo when that checkout is present (offline Yahoo); without
it the cache is warmed from the demo's bars and the live mode runs with the network unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

try:
    from bare_app import READY_TEXT
    from demo_cache import fill_demo_cache
    from pty_session import Exit, PtySession, ScreenTest, Window
except ImportError as exc:  # the benchmark's own dependencies: one line, not a traceback
    print(f"run.py: error: {exc.name} is missing: pip install -e '.[bench]'", file=sys.stderr)
    sys.exit(2)

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
COLS, ROWS = 120, 40
START_TIMEOUT_S = 30.0
BARE_QUIT_KEY = "\x11"  # ctrl+q, Textual's default quit binding
APP_QUIT_KEY = "q"
SHARED_REPLAY_DIRS = ("data/daily/goro2030-autoresearch", "data/daily/flippe2-blank-app")
SHARED_REPLAY_AS_OF = "2025-12-01"
IN_PROCESS_SCRIPTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("soak.py", ("--no-keys",), ("--no-keys",)),
    ("soak.py", ("--days", "21"), ()),
    ("refresh_cost.py", (), ()),
)
"""(script, its arguments, its arguments with --quick): the soak as the budget states it (ticks, day
rolls and alerts for 7 days), then three weeks with the user's daily round of every view (Textual's
caches fill over the first two), then the loop's cost of a refresh."""

# A price as the app prints it: digits with a decimal point (thousands separators allowed).
_PRICE_RE = re.compile(r"\d{1,3}(?:,\d{3})*\.\d{2}\b")


# ---------------------------------------------------------------------------------------------- rows
@dataclass
class Row:
    """One line of the table. `bare` and `ours` are display strings; `met` None means no budget."""

    measure: str
    budget: str
    bare: str = "—"
    ours: str = "—"
    ratio: str = "—"
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


def not_run(measure: str, budget: str, reason: str, **details: Any) -> Row:
    return Row(measure, budget, ours=f"not run: {reason}", details=details)


def ratio(ours: float | None, bare: float | None) -> str:
    if ours is None or bare is None or bare <= 0:
        return "—"
    return f"{ours / bare:.2f}x"


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: Sequence[Row]) -> str:
    head = ["measure", "budget", "bare Textual", "breakout-monitor", "ratio", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        cells = [r.measure, r.budget, r.bare, r.ours, r.ratio, met]
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- setup
@dataclass
class Bench:
    """Settings of this benchmark run and the places it works in."""

    quick: bool
    window_s: float
    settle_s: float
    runs: int
    work: Path
    shared: Path | None
    log: Callable[[str], None]
    _n: int = 0

    def fresh_dir(self, name: str) -> Path:
        self._n += 1
        d = self.work / f"{self._n:02d}-{name}"
        d.mkdir(parents=True)
        return d

    def env(self, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The child's environment: a 120x40 xterm-256color, bytecode written (timings must not pay
        for compiling), and every platform directory pointed inside `home`."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR", "PYTHONPATH") and not k.startswith("TEXTUAL")
        }
        env.update(
            TERM="xterm-256color",
            COLUMNS=str(COLS),
            LINES=str(ROWS),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_CACHE_HOME=str(home / "xdg-cache"),
            XDG_DATA_HOME=str(home / "data"),
            XDG_STATE_HOME=str(home / "state"),
        )
        env.update(extra or {})
        return env

    def app_cmd(self, home: Path, args: Sequence[str], cache_dir: Path | None = None) -> list[str]:
        cache = cache_dir if cache_dir is not None else home / "cache"
        return [
            sys.executable,
            "-m",
            "tui",
            *args,
            "--cache-dir",
            str(cache),
            "--log-dir",
            str(home / "log"),
            "--set",
            f"data_dir={home / 'data'}",
            "--set",
            f"export_dir={home / 'exports'}",
        ]

    def bare_cmd(self) -> list[str]:
        return [sys.executable, str(BENCH / "bare_app.py")]

    def session(self, cmd: Sequence[str], env: dict[str, str]) -> PtySession:
        return PtySession(cmd, env=env, cwd=str(REPO), cols=COLS, rows=ROWS)


def shows_text(text: str) -> ScreenTest:
    def test(lines: list[str]) -> bool:
        return any(text in line for line in lines)

    return test


def first_price(lines: Sequence[str], symbol: str) -> str | None:
    """The price shown next to `symbol`'s first appearance on screen (its quote card or row): a
    number with a decimal point on that line or the two below, within 40 columns of the symbol."""
    sym_re = re.compile(rf"(?<![\w^]){re.escape(symbol)}(?!\w)")
    for i, line in enumerate(lines):
        m = sym_re.search(line)
        if m is None:
            continue
        lo = max(0, m.start() - 4)
        for below in lines[i : i + 3]:
            p = _PRICE_RE.search(below[lo : m.start() + 40])
            if p:
                return p.group(0)
        return None
    return None


def shows_price(symbol: str) -> ScreenTest:
    return lambda lines: first_price(lines, symbol) is not None


def logged_errors(home: Path) -> list[str]:
    """The exceptions the app logged (the last line of each traceback in its log directory): a run
    whose refresh loop died measures nothing worth reporting."""
    found: list[str] = []
    for f in sorted((home / "log").glob("*")):
        with contextlib.suppress(OSError):
            lines = f.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if not line.startswith("Traceback"):
                    continue
                for after in lines[i + 1 :]:
                    if after and not after[0].isspace() and not after.startswith("Traceback"):
                        found.append(after.strip()[:160])
                        break
    return found


def describe_window(w: Window) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(w).items()}


def describe_exit(e: Exit) -> dict[str, Any]:
    return {"seconds": None if e.seconds is None else round(e.seconds, 3), "returncode": e.returncode}


# ---------------------------------------------------------------------------------------------- start-up
@dataclass
class Starts:
    """Seconds to "ready" of several starts (None: not ready within the timeout)."""

    times: list[float | None]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[float]:
        return [t for t in self.times if t is not None]

    @property
    def median(self) -> float | None:
        return statistics.median(self.ok) if self.ok else None

    def figure(self) -> str:
        if not self.ok:
            return "never ready"
        missed = len(self.times) - len(self.ok)
        extra = f", {missed} of {len(self.times)} never ready" if missed else ""
        return f"{self.median:.3f} s (min {min(self.ok):.3f}{extra})"

    def as_json(self) -> dict[str, Any]:
        return {
            "runs_s": [None if t is None else round(t, 3) for t in self.times],
            "median_s": None if self.median is None else round(self.median, 3),
            "min_s": round(min(self.ok), 3) if self.ok else None,
            "notes": self.notes,
        }


def one_start(
    b: Bench,
    cmd: Sequence[str],
    env: dict[str, str],
    ready: ScreenTest,
    quit_key: str,
    *,
    home: Path | None = None,
    inspect: Callable[[PtySession], str | None] | None = None,
) -> tuple[float | None, str | None]:
    """Start, time `ready`, quit with `quit_key` (a clean exit: the app releases its cache), close."""
    with b.session(cmd, env) as s:
        t = s.wait_for(ready, START_TIMEOUT_S)
        if home is not None:  # what "ready" looked like, for a look with --keep
            (home / "ready-screen.txt").write_text("\n".join(s.hit_lines or s.screen_lines()) + "\n")
        note = inspect(s) if inspect is not None else None
        if t is None:
            note = f"not ready in {START_TIMEOUT_S:.0f} s; screen: {s.screen_text().strip()[:200]!r}"
        s.quit_with(quit_key, deadline_s=10)
    errors = logged_errors(home) if home is not None else []
    if errors:
        note = "; ".join(filter(None, [note, f"app logged: {errors[0]}"]))
    time.sleep(0.5)  # let the machine settle between starts
    return t, note


def time_starts(
    b: Bench,
    label: str,
    make: Callable[[], tuple[list[str], dict[str, str], Path]],
    ready: ScreenTest,
    quit_key: str,
    *,
    inspect: Callable[[PtySession], str | None] | None = None,
) -> Starts:
    starts = Starts([])
    for i in range(b.runs):
        cmd, env, home = make()
        t, note = one_start(b, cmd, env, ready, quit_key, home=home, inspect=inspect)
        starts.times.append(t)
        if note:
            starts.notes.append(f"run {i + 1}: {note}")
        b.log(f"  {label} start {i + 1}/{b.runs}: {'-' if t is None else f'{t:.3f} s'}")
    return starts


def bare_starts(b: Bench) -> Starts:
    def make() -> tuple[list[str], dict[str, str], Path]:
        home = b.fresh_dir("bare")
        return b.bare_cmd(), b.env(home), home

    return time_starts(b, "bare", make, shows_text(READY_TEXT), BARE_QUIT_KEY)


def demo_starts(b: Bench) -> Starts:
    def make() -> tuple[list[str], dict[str, str], Path]:
        home = b.fresh_dir("demo-start")
        return b.app_cmd(home, ["--demo"]), b.env(home), home

    return time_starts(b, "demo", make, shows_price("IWM"), APP_QUIT_KEY)


def warm_up(b: Bench) -> None:
    """One start of each program, not counted: the first ever run compiles bytecode and fills the
    page cache."""
    home = b.fresh_dir("warm-up")
    one_start(b, b.bare_cmd(), b.env(home), shows_text(READY_TEXT), BARE_QUIT_KEY)
    home = b.fresh_dir("warm-up")
    one_start(b, b.app_cmd(home, ["--demo"]), b.env(home), shows_price("IWM"), APP_QUIT_KEY)


# ---------------------------------------------------------------------------------------------- warm live
def cached_last(cache_dir: Path, symbol: str) -> tuple[str | None, int]:
    """The cached last price of `symbol` as the app prints it, and the number of its cached daily bars."""
    from services.cache import BarStore
    from services.models import Interval

    store = BarStore.in_dir(cache_dir)
    try:
        quotes = store.load_quotes([symbol])
        bars = len(store.load_bars(symbol, Interval.DAILY))
    finally:
        store.close()
    q = quotes.get(symbol)
    return (f"{q.quote.last:,.2f}" if q is not None else None), bars


def fakeyahoo_env(b: Bench) -> dict[str, str] | None:
    if b.shared is None:
        return None
    tool = b.shared / "tools" / "fakeyahoo"
    data = [b.shared / d for d in SHARED_REPLAY_DIRS]
    if not tool.is_dir() or not all(d.is_dir() for d in data):
        return None
    return {"PYTHONPATH": str(tool), "FAKEYAHOO_DATA": ":".join(str(d) for d in data)}


def offline_wrapper() -> tuple[list[str], str]:
    """A command prefix that cuts the child off the network (a new, empty network namespace) when
    this machine allows it, and how the network is made unreachable."""
    unshare = shutil.which("unshare")
    if unshare:
        probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [unshare, "-rn"], "no network (unshare -rn)"
    return [], "HTTPS proxy on a closed loopback port"


_NO_NETWORK_ENV = {
    k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
}


def live_warm_starts(b: Bench) -> list[Row]:
    measure, budget = "first price on screen, warm cache, live", "≤ 0.6 s"
    cache = b.work / "live-warm-cache"
    fake = fakeyahoo_env(b)
    prefix: list[str] = []
    if fake is not None:
        how = "through ../shared/tools/fakeyahoo"
        extra = fake
        home = b.fresh_dir("live-warming")
        b.log("  warming the cache with one live run through fakeyahoo")
        with b.session(b.app_cmd(home, [], cache), b.env(home, extra)) as s:
            if s.wait_for(shows_price("IWM"), 60) is None:
                return [not_run(measure, budget, "the warming run showed no IWM price in 60 s")]
            # the refresh that saves bars and quotes ends with the status bar's "updated" time
            s.wait_for(lambda lines: any(re.search(r"updated \d", ln) for ln in lines), 30)
            s.sleep(2)
            s.quit_with(APP_QUIT_KEY, deadline_s=10)
    else:
        prefix, how = offline_wrapper()
        how = f"cache filled from the demo's bars, {how}"
        extra = _NO_NETWORK_ENV
        asyncio.run(fill_demo_cache(cache))
    try:
        last, bars = cached_last(cache, "IWM")
    except Exception as exc:
        return [not_run(measure, budget, f"cannot read the warmed cache: {exc}")]
    if last is None or bars == 0:
        return [not_run(measure, budget, f"the cache was not warmed (IWM: quote {last}, {bars} daily bars)")]
    b.log(f"  cache warm: IWM last {last}, {bars} daily bars ({how})")
    sources: list[str] = []

    def make() -> tuple[list[str], dict[str, str], Path]:
        home = b.fresh_dir("live-start")
        # the price the app should paint first: the one cached by the previous run
        expected, _ = cached_last(cache, "IWM")
        sources.append(expected or "")
        return [*prefix, *b.app_cmd(home, [], cache)], b.env(home, extra), home

    def inspect(s: PtySession) -> str | None:
        shown = first_price(s.hit_lines or [], "IWM")
        expected = sources[-1]
        return None if shown == expected else f"first IWM price {shown}, cached {expected}"

    starts = time_starts(b, "live warm", make, shows_price("IWM"), APP_QUIT_KEY, inspect=inspect)
    row = Row(
        measure,
        budget,
        ours=starts.figure(),
        met=None if starts.median is None else starts.median <= 0.6,
        details={"how": how, **starts.as_json()},
    )
    # The live mode's weight: yfinance, pandas and the market calendar are loaded, quotes are polled.
    b.log("  live mode, warm cache: one window for its CPU and RSS")
    cmd, env, home = make()
    live = idle_run(b, home, cmd, env, shows_price("IWM"), lambda s: s.quit_with(APP_QUIT_KEY, 10), "live")
    rss_measure = "RSS steady: peak of the live (Yahoo) mode, polling"
    if live.window is None:
        return [row, not_run(rss_measure, "≤ 120 MB", "the live run showed no IWM price")]
    fake_note = "; fakeyahoo's data is in the same process" if fake is not None else ""
    rss = Row(
        rss_measure,
        "≤ 120 MB",
        ours=live.flag(f"{live.peak_rss_mb:.1f} MB (CPU {fmt_pct(live.window)}{fake_note})"),
        met=not live.problems and live.peak_rss_mb <= 120,
        details=live.as_json(),
    )
    return [row, rss]


# ---------------------------------------------------------------------------------------------- windows
def replay_args(b: Bench) -> tuple[list[str], str]:
    """`--replay DIRS --as-of DAY`: the shared real CSVs when present, else the demo's history written
    as Yahoo CSV files."""
    if b.shared is not None:
        dirs = [b.shared / d for d in SHARED_REPLAY_DIRS]
        if all(d.is_dir() for d in dirs):
            return ["--replay", *map(str, dirs), "--as-of", SHARED_REPLAY_AS_OF], "../shared daily CSVs"
    folder, as_of = demo_csvs(b.fresh_dir("replay-csv"))
    return ["--replay", str(folder), "--as-of", as_of.isoformat()], "demo history written as Yahoo CSVs"


def demo_csvs(folder: Path) -> tuple[Path, date]:
    """The demo's daily history as Yahoo classic CSVs (`IWM.csv`, `^RUT.csv`...); returns the folder
    and a day 20 sessions before the end to stand at."""
    from services.models import Interval
    from services.sources.demo import DEMO_SYMBOLS, DemoSource

    history = asyncio.run(DemoSource("breakout").history(DEMO_SYMBOLS, Interval.DAILY))
    days: list[date] = []
    for symbol, s in history.bars.items():
        with (folder / f"{symbol}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
            for i, ts in enumerate(s.ts):
                day = datetime.fromtimestamp(ts, UTC).date()
                w.writerow(
                    [day.isoformat(), s.open[i], s.high[i], s.low[i], s.close[i], s.close[i], s.volume[i]]
                )
                days.append(day)
    ordered = sorted(set(days))
    return folder, ordered[-21] if len(ordered) > 21 else ordered[-1]


@dataclass
class Idle:
    """A program left alone for the window after start-up and a settle."""

    ready_s: float | None
    window: Window | None
    exit: Exit | None
    peak_rss_mb: float
    screen: str
    problems: list[str] = field(default_factory=list)
    """Why the window's figures may not mean what they say (the app logged an exception, or ended)."""

    def flag(self, figure: str) -> str:
        return f"{figure} (⚠ {self.problems[0]})" if self.problems else figure

    def as_json(self) -> dict[str, Any]:
        return {
            "problems": self.problems,
            "ready_s": None if self.ready_s is None else round(self.ready_s, 3),
            "window": None if self.window is None else describe_window(self.window),
            "exit": None if self.exit is None else describe_exit(self.exit),
            "session_peak_rss_mb": round(self.peak_rss_mb, 1),
        }


def idle_run(
    b: Bench,
    home: Path,
    cmd: Sequence[str],
    env: dict[str, str],
    ready: ScreenTest,
    end: Callable[[PtySession], Exit],
    label: str,
) -> Idle:
    with b.session(cmd, env) as s:
        t = s.wait_for(ready, START_TIMEOUT_S)
        if t is None:
            return Idle(None, None, None, s.peak_rss_mb, s.screen_text(), logged_errors(home))
        s.sleep(b.settle_s)
        b.log(f"  {label}: ready in {t:.2f} s, measuring {b.window_s:.0f} s")
        w = s.measure(b.window_s)
        screen = s.screen_text()
        (home / "screen.txt").write_text(screen + "\n")
        problems = ["it exited during the window"] if w.exited else []
        problems += [f"app logged {e}" for e in logged_errors(home)]
        e = end(s)
        if problems:
            b.log(f"  {label}: {'; '.join(problems)}")
        return Idle(t, w, e, s.peak_rss_mb, screen, problems)


def sigterm_after_settle(b: Bench, cmd: Sequence[str], env: dict[str, str], ready: ScreenTest) -> Exit | None:
    with b.session(cmd, env) as s:
        if s.wait_for(ready, START_TIMEOUT_S) is None:
            return None
        s.sleep(min(b.settle_s, 5))
        return s.terminate()


# ---------------------------------------------------------------------------------------------- in-process
def in_process(b: Bench, script: str, args: Sequence[str] = ()) -> tuple[list[Row], dict[str, Any]]:
    """Run `benchmarks/<script> [args] [--quick]` and turn the JSON object on its last stdout line into
    rows."""
    path = BENCH / script
    measure = f"{script} (in-process)"
    if not path.exists():
        return [not_run(measure, "—", f"benchmarks/{script} not found")], {}
    cmd = [sys.executable, str(path), *args, *(["--quick"] if b.quick else [])]
    timeout = 900 if b.quick else 3600
    home = b.fresh_dir(script.removesuffix(".py"))
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            cmd, cwd=REPO, env=b.env(home), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return [not_run(measure, "—", f"timed out after {timeout} s")], {}
    wall = round(time.monotonic() - t0, 1)
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    if done.returncode != 0:
        last_err = (done.stderr.strip().splitlines() or ["no output on stderr"])[-1]
        return [not_run(measure, "—", f"exit {done.returncode}: {last_err[:160]}")], {"wall_s": wall}
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        return [not_run(measure, "—", "its last line of output is not a JSON object")], {"wall_s": wall}
    rows: list[Row] = []
    for item in result.get("rows") or []:
        if not isinstance(item, dict):
            continue
        met = item.get("met")
        rows.append(
            Row(
                f"{item.get('name', '?')} ({script})",
                str(item.get("budget", "—")),
                ours=str(item.get("figure", "—")),
                met=met if isinstance(met, bool) else None,
            )
        )
    if not rows:
        rows.append(not_run(measure, "—", "it printed no rows"))
    extra = {k: v for k, v in result.items() if k != "rows"}
    extra["wall_s"] = wall
    return rows, extra


# ---------------------------------------------------------------------------------------------- the table
def fmt_pct(w: Window | None) -> str:
    return "—" if w is None else f"{w.cpu_pct:.2f} %"


def fmt_bps(w: Window | None) -> str:
    return "—" if w is None else f"{w.bytes_per_s:,.1f} B/s"


def fmt_exit(e: Exit | None) -> str:
    return "—" if e is None else e.describe()


def exit_met(e: Exit | None) -> bool | None:
    if e is None:
        return None
    return e.seconds is not None and e.seconds <= 5.0


def start_rows(b: Bench) -> list[Row]:
    b.log("start-up: bare Textual app")
    bare = bare_starts(b)
    b.log("start-up: demo")
    demo = demo_starts(b)
    b.log("start-up: live with a warm cache")
    live, *live_rss = live_warm_starts(b)
    live.bare, live.ratio = bare.figure(), ratio(_median_of(live), bare.median)
    return [
        live,
        *live_rss,
        Row(
            "first price on screen, demo",
            "≤ 0.6 s",
            bare=bare.figure(),
            ours=demo.figure(),
            ratio=ratio(demo.median, bare.median),
            met=None if demo.median is None else demo.median <= 0.6,
            details=demo.as_json(),
        ),
        Row(
            "bare Textual app: first text on screen (reference)",
            "—",
            bare=bare.figure(),
            details=bare.as_json(),
        ),
    ]


def window_rows(b: Bench) -> list[Row]:
    """At rest (bare app, then a replay standing still, back to back), the live demo, RSS and exits."""
    rows: list[Row] = []
    b.log("at rest: bare Textual app, then a replay standing at --as-of")
    home = b.fresh_dir("bare-idle")
    bare = idle_run(
        b, home, b.bare_cmd(), b.env(home), shows_text(READY_TEXT), lambda s: s.hang_up(), "bare idle"
    )
    bare_term = sigterm_after_settle(b, b.bare_cmd(), b.env(b.fresh_dir("bare-term")), shows_text(READY_TEXT))
    args, replay_from = replay_args(b)
    home = b.fresh_dir("replay-idle")
    rest = idle_run(
        b,
        home,
        b.app_cmd(home, args),
        b.env(home),
        shows_price("IWM"),
        lambda s: s.terminate(),
        "replay at rest",
    )
    bw, rw = bare.window, rest.window
    rest_details = {"replay": replay_from, "bare": bare.as_json(), "ours": rest.as_json()}
    cpu_measure = f"at rest: CPU over {b.window_s:.0f} s (replay, --as-of)"
    if rw is None:
        reason = f"the replay showed no IWM price in {START_TIMEOUT_S:.0f} s"
        rows.append(not_run(cpu_measure, "≤ 1.5x bare", reason, **rest_details))
        rows.append(not_run("at rest: bytes/s to the terminal", "≤ 20 B/s", reason))
    else:
        valid = not rest.problems
        if bw is None:
            cpu_met = None
        elif bw.cpu_pct > 0:
            cpu_met = valid and rw.cpu_pct / bw.cpu_pct <= 1.5
        else:
            cpu_met = valid and rw.cpu_pct == 0
        rows.append(
            Row(
                cpu_measure,
                "≤ 1.5x bare",
                bare=fmt_pct(bw),
                ours=rest.flag(fmt_pct(rw)),
                ratio=ratio(rw.cpu_pct, bw.cpu_pct if bw else None),
                met=cpu_met,
                details=rest_details,
            )
        )
        rows.append(
            Row(
                "at rest: bytes/s to the terminal",
                "≤ 20 B/s",
                bare=fmt_bps(bw),
                ours=rest.flag(fmt_bps(rw)),
                ratio=ratio(rw.bytes_per_s, bw.bytes_per_s if bw else None),
                met=valid and rw.bytes_per_s <= 20,
            )
        )

    b.log("live: the demo ticking every second")
    home = b.fresh_dir("demo-live")
    live = idle_run(
        b,
        home,
        b.app_cmd(home, ["--demo"]),
        b.env(home),
        shows_price("IWM"),
        lambda s: s.hang_up(),
        "live demo",
    )
    dw = live.window
    if dw is None:
        reason = f"the demo showed no IWM price in {START_TIMEOUT_S:.0f} s"
        rows.append(not_run("live demo: CPU", "≤ 1 %", reason, **live.as_json()))
        rows.append(not_run("live demo: bytes/s to the terminal", "≤ 1,500 B/s", reason))
        rows.append(not_run("RSS steady: peak of the live demo's process tree", "≤ 120 MB", reason))
        rows.append(not_run("hang-up: pty master closed → exit (live demo)", "≤ 5 s", reason))
    else:
        valid = not live.problems
        bare_rss = bare.peak_rss_mb if bw is not None else None
        rows += [
            Row(
                f"live demo: CPU over {b.window_s:.0f} s",
                "≤ 1 %",
                bare=f"{fmt_pct(bw)} (idle)",
                ours=live.flag(fmt_pct(dw)),
                ratio=ratio(dw.cpu_pct, bw.cpu_pct if bw else None),
                met=valid and dw.cpu_pct <= 1.0,
                details={"bare": bare.as_json(), "ours": live.as_json()},
            ),
            Row(
                "live demo: bytes/s to the terminal",
                "≤ 1,500 B/s",
                bare=f"{fmt_bps(bw)} (idle)",
                ours=live.flag(fmt_bps(dw)),
                ratio=ratio(dw.bytes_per_s, bw.bytes_per_s if bw else None),
                met=valid and dw.bytes_per_s <= 1500,
            ),
            Row(
                "RSS steady: peak of the live demo's process tree",
                "≤ 120 MB",
                bare="—" if bare_rss is None else f"{bare_rss:.1f} MB",
                ours=live.flag(f"{live.peak_rss_mb:.1f} MB (end of window {dw.end_rss_mb:.1f})"),
                ratio=ratio(live.peak_rss_mb, bare_rss),
                met=valid and live.peak_rss_mb <= 120,
            ),
            Row(
                "hang-up: pty master closed → exit (live demo)",
                "≤ 5 s",
                bare=fmt_exit(bare.exit),
                ours=fmt_exit(live.exit),
                ratio=exit_ratio(live.exit, bare.exit),
                met=exit_met(live.exit),
                details={
                    "ours_cpu_pct_while_waiting": live.exit and live.exit.cpu_pct_while_waiting,
                    "bare_cpu_pct_while_waiting": bare.exit and bare.exit.cpu_pct_while_waiting,
                },
            ),
        ]
    rows.append(
        Row(
            "SIGTERM → exit (replay at rest)",
            "≤ 5 s",
            bare=fmt_exit(bare_term),
            ours=fmt_exit(rest.exit),
            ratio=exit_ratio(rest.exit, bare_term),
            met=exit_met(rest.exit),
        )
    )
    return rows


def measure_all(b: Bench) -> tuple[list[Row], dict[str, Any]]:
    b.log("warm-up starts (not counted)")
    warm_up(b)
    rows = start_rows(b) + window_rows(b)
    extras: dict[str, Any] = {}
    for script, args, quick_args in IN_PROCESS_SCRIPTS:
        chosen = quick_args if b.quick else args
        b.log(f"in-process: benchmarks/{script} {' '.join(chosen)}")
        script_rows, extra = in_process(b, script, chosen)
        rows.extend(script_rows)
        extras[" ".join((script, *chosen))] = extra
    return rows, extras


def exit_ratio(ours: Exit | None, bare: Exit | None) -> str:
    """A ratio of exit times only when both are long enough to mean something (a process killed by
    the signal's default action exits in a few milliseconds)."""
    a, c = _exit_s(ours), _exit_s(bare)
    return ratio(a, c) if a is not None and c is not None and min(a, c) >= 0.05 else "—"


def _median_of(row: Row) -> float | None:
    m = row.details.get("median_s")
    return float(m) if isinstance(m, int | float) else None


def _exit_s(e: Exit | None) -> float | None:
    return None if e is None else e.seconds


def details_text(rows: Sequence[Row], extras: dict[str, Any]) -> str:
    out = []
    for r in rows:
        if r.details:
            out.append(f"- {r.measure}: {json.dumps(r.details, default=str)}")
    for script, extra in extras.items():
        if extra:
            out.append(f"- {script}: {json.dumps(extra, default=str)}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--quick", action="store_true", help="15 s windows and 3 starts each instead of 60 s and 5"
    )
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results to PATH as JSON")
    ap.add_argument(
        "--shared",
        type=Path,
        default=REPO.parent / "shared",
        metavar="DIR",
        help="the shared checkout with tools/fakeyahoo and data/daily (default: ../shared); "
        "a missing one means demo data instead",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    args = ap.parse_args(argv)
    if args.json is not None and not args.json.parent.is_dir():
        print(f"run.py: error: no such directory for --json: {args.json.parent}", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="breakout-bench-"))
    t0 = time.monotonic()
    started = datetime.now(UTC)

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    b = Bench(
        quick=args.quick,
        window_s=15.0 if args.quick else 60.0,
        settle_s=5.0 if args.quick else 10.0,
        runs=3 if args.quick else 5,
        work=work,
        shared=args.shared if args.shared.is_dir() else None,
        log=log,
    )
    sys.path.insert(0, str(REPO))  # services/ for warming the cache and writing demo CSVs
    try:
        rows, extras = measure_all(b)
    except KeyboardInterrupt:
        return 130
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - t0
    load = os.getloadavg()
    context = (
        f"{COLS}x{ROWS} pty, TERM=xterm-256color; {'--quick, ' if args.quick else ''}"
        f"{b.window_s:.0f} s windows, {b.runs} starts each (median, min); "
        f"Python {platform.python_version()}, Textual {metadata.version('textual')}, "
        f"{os.cpu_count()} CPUs, load {load[0]:.2f}; wall time {wall:.0f} s"
    )
    print(render_table(rows))
    print()
    print(context)
    print()
    print("Details:")
    print(details_text(rows, extras))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "command": " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
                    "started": started.isoformat(timespec="seconds"),
                    "wall_s": round(wall, 1),
                    "context": context,
                    "rows": [asdict(r) for r in rows],
                    "in_process": extras,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
