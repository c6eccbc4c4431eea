"""`breakout-monitor doctor`: one line per check of what the monitor depends on, each with a verdict.

    ok    config: /home/u/.config/breakout-monitor/config.toml (watchlist IWM, SPY, ^RUT)
    FAIL  yahoo history: cannot reach Yahoo (DNS lookup failed) after 0.12 s

Checks: the config file, the cache (read-only: doctor never creates, moves or changes it), Yahoo's
history and stream (timed, each given up after `NETWORK_TIMEOUT_S`), the market calendar and the
terminal. Exit code 0 when nothing FAILs (warnings allowed), 1 otherwise. Every collaborator is a
parameter of `run_checks`, so tests run the whole doctor against fakes.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import inspect
import os
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from services import formatting as fmt
from services.cache import APPLICATION_ID, CACHE_FILE_NAME, SCHEMA_VERSION
from services.market_hours import NEW_YORK, MarketHours
from services.models import HistoryResult, Interval, MarketSession, ts_day
from services.sources.yahoo import YahooSource, utc_now
from tui.config import ConfigError, Settings, default_config_path, load_settings
from tui.logs import LOG_FILE_NAME

if TYPE_CHECKING:
    from tui.cli import Invocation

NETWORK_TIMEOUT_S = 10.0
"""Each network check gives up after this long; they run side by side, so doctor ends well under 30 s."""
REQUEST_TIMEOUT_S = 5.0
"""Per HTTP request of the history check (all of them together end within `NETWORK_TIMEOUT_S`)."""
STREAM_QUIET_S = 8.0
"""How long the stream probe waits for a first tick (inside `NETWORK_TIMEOUT_S`)."""
MIN_COLUMNS, MIN_LINES = 80, 24
"""The smallest terminal the dashboard is laid out for."""
HISTORY_LOOKBACK_DAYS = 5
"""The history check asks from a few days ago: the smallest request Yahoo serves (range=1mo)."""


class Verdict(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    INFO = "info"
    """Not a check: a fact worth knowing (where the log file is)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: Verdict
    what: str
    """What was checked, e.g. "yahoo history"."""
    detail: str
    """One line: what was found, and for a problem the reason."""
    latency_s: float | None = None
    """Seconds the network check took (None for the local checks)."""


# ---------------------------------------------------------------------- collaborators
class HistorySource(Protocol):
    """The part of a market-data source the history check uses (YahooSource in production)."""

    async def history(
        self,
        symbols: Sequence[str],
        interval: Interval,
        since: Mapping[str, date | None] | None = None,
    ) -> HistoryResult: ...

    async def aclose(self) -> None: ...


class StreamProbeResult(Protocol):
    """What `services.stream.probe_stream` returns (StreamProbe)."""

    @property
    def connected_s(self) -> float | None:
        """Seconds until the websocket was open; None when it never opened."""

    @property
    def first_tick_s(self) -> float | None:
        """Seconds from the start until the first price message; None when none came in time."""

    @property
    def error(self) -> str | None:
        """One line about what went wrong (also a quiet stream), or None."""


class StreamProbe(Protocol):
    def __call__(
        self, symbols: Sequence[str], *, timeout_s: float
    ) -> Awaitable[StreamProbeResult] | StreamProbeResult: ...


def limit_to_deadline(session: Any, deadline: float) -> Any:
    """Make every request of `session` end by `deadline` (time.monotonic()): its timeout is cut to the
    time left, and once it has passed a request fails at once without being sent. yfinance chains
    several requests (cookie, crumb, chart), each with its own timeout, and the process waits for its
    worker thread before exiting: without this an unresponsive Yahoo would hold doctor for 30 s."""
    inner = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("doctor's time for Yahoo is up")
        asked = kwargs.get("timeout")
        kwargs["timeout"] = min(float(asked), left) if isinstance(asked, int | float) else left
        return inner(method, url, *args, **kwargs)

    session.request = request
    return session


def yahoo_for_doctor() -> YahooSource:
    """A throwaway YahooSource: yfinance's caches in a private temporary folder (removed on close), no
    exchange calendar (checked on its own), every request over by the time the check gives up."""
    try:
        from curl_cffi import requests as curl_requests  # the session yfinance (and the app) would use

        session: Any = curl_requests.Session(impersonate="chrome")
    except ImportError:  # pragma: no cover - curl_cffi is a dependency
        import requests

        session = requests.Session()
    # Ended a little before the check's own limit, so the answer is the source's classified error.
    deadline = time.monotonic() + NETWORK_TIMEOUT_S - 0.5
    return YahooSource(
        cache_dir=None,
        hours_loader=None,
        timeout_s=REQUEST_TIMEOUT_S,
        session=limit_to_deadline(session, deadline),
    )


async def live_stream_probe(symbols: Sequence[str], *, timeout_s: float) -> StreamProbeResult:
    # Imported here: the stream module pulls in websockets and protobuf, which no other check needs.
    from services.stream import probe_stream

    result: StreamProbeResult = await probe_stream(symbols, timeout_s=timeout_s)
    return result


@dataclass(frozen=True, slots=True)
class TerminalFacts:
    """What the terminal check looks at, gathered by `read_terminal` (a test builds its own)."""

    size: tuple[int, int] | None
    """(columns, lines) of the controlling terminal; None when there is none."""
    stdout_is_tty: bool
    env: Mapping[str, str]
    """TERM, COLORTERM and NO_COLOR are read from here."""


def read_terminal() -> TerminalFacts:
    """The terminal doctor runs in: stdout's, else the controlling one (/dev/tty) when stdout is piped."""
    size: tuple[int, int] | None = None
    is_tty = False
    try:
        is_tty = sys.stdout.isatty()
        cols, lines = os.get_terminal_size(sys.stdout.fileno())
        size = (cols, lines)
    except (OSError, ValueError, AttributeError):
        try:
            fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                cols, lines = os.get_terminal_size(fd)
                size = (cols, lines)
            except OSError:
                pass
            finally:
                os.close(fd)
    return TerminalFacts(size, is_tty, dict(os.environ))


# ---------------------------------------------------------------------- formatting helpers
def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _size_text(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.0f} kB"
    if n < 1_000_000_000:
        return f"{n / 1_000_000:.1f} MB"
    return f"{n / 1_000_000_000:.1f} GB"


def _et(when: datetime, with_day: bool = True) -> str:
    local = when.astimezone(NEW_YORK)
    return local.strftime("%a %Y-%m-%d %H:%M ET" if with_day else "%H:%M ET")


# ---------------------------------------------------------------------- config
def load_settings_for_doctor(
    config_file: Path | None, overrides: Mapping[str, Any]
) -> tuple[Settings, str | None]:
    """The settings as the app loads them, and the config file's problem instead of raising it: doctor
    reports a broken file as a FAIL line and checks the rest with the defaults. A bad command-line value
    still raises ConfigError (a bad flag is exit code 2, as for every command)."""
    try:
        return load_settings(config_file, overrides), None
    except ConfigError as exc:
        problem = str(exc)
    # The empty device stands for "no file": the default file must not be read in place of a broken one.
    settings = load_settings(Path(os.devnull), overrides)
    return replace(settings, config_path=None), problem


def check_config(settings: Settings, problem: str | None) -> CheckResult:
    if problem is not None:
        return CheckResult(Verdict.FAIL, "config", f"{problem} (the other checks use the defaults)")
    if settings.keys:
        from tui.cli import check_keys  # imports the app (Textual): only when there are remaps

        try:
            check_keys(settings)
        except ConfigError as exc:
            return CheckResult(Verdict.FAIL, "config", str(exc))
    watchlist = f"watchlist {', '.join(settings.symbols)}"
    if settings.config_path is None:
        return CheckResult(
            Verdict.OK, "config", f"defaults, no file at {default_config_path()} ({watchlist})"
        )
    return CheckResult(Verdict.OK, "config", f"{settings.config_path} ({watchlist})")


# ---------------------------------------------------------------------- cache
_MOVED_ASIDE = "the monitor will move it aside and rebuild the cache"


def check_cache(settings: Settings) -> CheckResult:
    """Blocking (SQLite): run it in a thread. Never writes: the file is opened read-only, and as
    immutable when no writer is around, so SQLite creates no -wal/-shm files beside it either."""
    if not settings.use_cache:
        return CheckResult(Verdict.OK, "cache", "not used (--no-cache)")
    path = settings.cache_dir / CACHE_FILE_NAME
    if path.is_dir():
        return CheckResult(Verdict.FAIL, "cache", f"{path} is a directory, not a cache file")
    if not path.exists():
        return CheckResult(
            Verdict.WARN, "cache", f"none yet at {path} (the monitor builds it on its first run)"
        )
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    try:
        size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    except OSError as exc:
        return CheckResult(Verdict.FAIL, "cache", f"{path}: cannot read it ({exc.strerror or exc})")
    # With a -wal and -shm present a monitor may be writing: read through them. Without, `immutable`
    # keeps SQLite from creating them (a read-only connection still would).
    mode = "mode=ro" if wal.exists() and shm.exists() else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return CheckResult(Verdict.FAIL, "cache", f"{path}: cannot open it ({exc})")
    try:
        return _inspect_cache(db, path, size, settings.symbols)
    except sqlite3.Error as exc:
        return CheckResult(Verdict.FAIL, "cache", f"{path}: unreadable ({exc}); {_MOVED_ASIDE}")
    finally:
        db.close()


def _inspect_cache(db: sqlite3.Connection, path: Path, size: int, symbols: Sequence[str]) -> CheckResult:
    # The tests BarStore applies on opening (services/cache.py), so the verdict is the app's.
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = db.execute("PRAGMA user_version").fetchone()[0]
    foreign = (app_id == 0 and tables) or app_id not in (0, APPLICATION_ID)
    if foreign:
        return CheckResult(Verdict.FAIL, "cache", f"{path}: not a breakout-monitor cache; {_MOVED_ASIDE}")
    if tables and version > SCHEMA_VERSION:
        return CheckResult(
            Verdict.FAIL,
            "cache",
            f"{path}: written by a newer breakout-monitor (schema {version}, this one reads "
            f"{SCHEMA_VERSION}); the monitor runs without a cache: upgrade, or move the file aside",
        )
    if tables and version != SCHEMA_VERSION:
        return CheckResult(
            Verdict.FAIL,
            "cache",
            f"{path}: schema version {version}, expected {SCHEMA_VERSION}; {_MOVED_ASIDE}",
        )
    problems = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        return CheckResult(
            Verdict.FAIL,
            "cache",
            f"{path}: integrity check failed ({_one_line(problems[0])}); {_MOVED_ASIDE}",
        )
    head = f"{path}, {_size_text(size)}, integrity ok"
    if "bars" not in tables:
        return CheckResult(Verdict.OK, "cache", f"{head}; empty")
    newest = dict(
        db.execute(
            "SELECT symbol, MAX(ts) FROM bars WHERE interval = ? GROUP BY symbol", (Interval.DAILY.value,)
        ).fetchall()
    )
    days = [f"{s} {ts_day(int(newest[s])).isoformat() if s in newest else 'none'}" for s in symbols]
    return CheckResult(Verdict.OK, "cache", f"{head}; newest daily bar {', '.join(days)}")


# ---------------------------------------------------------------------- yahoo history
async def check_history(
    settings: Settings,
    source_factory: Callable[[], HistorySource],
    clock: Callable[[], datetime],
    timeout_s: float,
) -> CheckResult:
    what = "yahoo history"
    symbol = settings.symbols[0]
    since = clock().astimezone(NEW_YORK).date() - timedelta(days=HISTORY_LOOKBACK_DAYS)
    try:
        # yfinance's import (about a second) is not Yahoo's latency: done before the clock starts.
        await asyncio.to_thread(importlib.import_module, "yfinance")
        source = source_factory()
    except Exception as exc:
        return CheckResult(Verdict.FAIL, what, f"cannot set up the Yahoo source ({_one_line(exc)})")
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(source.history([symbol], Interval.DAILY, {symbol: since}), timeout_s)
    except TimeoutError:
        return CheckResult(Verdict.FAIL, what, f"no answer from Yahoo in {timeout_s:g} s", timeout_s)
    except Exception as exc:  # a source reports failures in its result; this is a bug, still one line
        elapsed = time.monotonic() - started
        return CheckResult(Verdict.FAIL, what, f"{_one_line(exc)} after {elapsed:.2f} s", elapsed)
    finally:
        await source.aclose()
    elapsed = time.monotonic() - started
    error = result.errors.get(symbol)
    series = result.bars.get(symbol)
    if error is not None or not series:
        why = error.message if error is not None else "no data from Yahoo"
        return CheckResult(Verdict.FAIL, what, f"{why} after {elapsed:.2f} s", elapsed)
    newest = ts_day(series.ts[-1]).isoformat()
    return CheckResult(
        Verdict.OK, what, f"{symbol} in {elapsed:.2f} s ({len(series)} daily bars, newest {newest})", elapsed
    )


# ---------------------------------------------------------------------- yahoo stream
@dataclass(frozen=True, slots=True)
class _StreamOutcome:
    probe: StreamProbeResult | None
    failure: str | None
    elapsed_s: float


async def _run_stream_probe(
    stream_probe: StreamProbe, symbols: Sequence[str], timeout_s: float
) -> _StreamOutcome:
    quiet_s = min(STREAM_QUIET_S, timeout_s * 0.8)
    started = time.monotonic()

    async def call() -> StreamProbeResult:
        got = stream_probe(symbols, timeout_s=quiet_s)
        return await got if inspect.isawaitable(got) else got

    try:
        probe = await asyncio.wait_for(call(), timeout_s)
    except TimeoutError:
        return _StreamOutcome(None, f"no answer in {timeout_s:g} s", time.monotonic() - started)
    except ImportError as exc:
        return _StreamOutcome(None, f"stream support missing ({_one_line(exc)})", 0.0)
    except Exception as exc:
        return _StreamOutcome(None, _one_line(exc) or type(exc).__name__, time.monotonic() - started)
    return _StreamOutcome(probe, None, time.monotonic() - started)


_SESSION_WORDS = {
    MarketSession.PRE: "pre-market",
    MarketSession.POST: "after hours",
    MarketSession.CLOSED: "market closed",
}


def stream_verdict(outcome: _StreamOutcome, session: MarketSession | None, quiet_s: float) -> CheckResult:
    """Connected with a tick: ok. Connected but quiet: ok outside the regular session (nothing trades
    then), warn during it. Not connected: FAIL."""
    what = "yahoo stream"
    probe = outcome.probe
    if outcome.failure is not None or probe is None:
        return CheckResult(Verdict.FAIL, what, outcome.failure or "no answer", outcome.elapsed_s)
    if probe.connected_s is None:
        why = _one_line(probe.error) if probe.error else f"did not connect in {quiet_s:g} s"
        return CheckResult(Verdict.FAIL, what, f"{why} after {outcome.elapsed_s:.2f} s", outcome.elapsed_s)
    connected = f"connected in {probe.connected_s:.2f} s"
    if probe.first_tick_s is not None:
        return CheckResult(
            Verdict.OK, what, f"{connected}, first tick at {probe.first_tick_s:.2f} s", probe.connected_s
        )
    if session is not None and session is not MarketSession.REGULAR:
        return CheckResult(
            Verdict.OK, what, f"{connected}; quiet, {_SESSION_WORDS[session]}", probe.connected_s
        )
    # The probe's line says why it stopped (no tick in time, or the connection ended).
    why = _one_line(probe.error) if probe.error else f"no tick in {quiet_s:g} s"
    when = "while the market is open" if session is MarketSession.REGULAR else "(market session unknown)"
    return CheckResult(Verdict.WARN, what, f"{connected}, {why} {when}", probe.connected_s)


# ---------------------------------------------------------------------- market calendar
_SESSION_NAMES = {
    MarketSession.PRE: "pre-market",
    MarketSession.REGULAR: "open",
    MarketSession.POST: "after hours",
    MarketSession.CLOSED: "closed",
}


def calendar_line(hours: MarketHours, now: datetime) -> CheckResult:
    """The session at `now` and the next regular open (with the close when it is a half day), or the
    close of the session under way."""
    what = "market calendar"
    session = hours.session_at(now)
    head = f"{hours.exchange} {_SESSION_NAMES[session]}"
    ev = hours.session_event(now)
    if ev is None:
        return CheckResult(
            Verdict.WARN, what, f"{head}; no session ahead (is exchange-calendars out of date?)"
        )
    left = fmt.countdown((ev.at - now).total_seconds())
    if ev.verb == "closes":
        early = ", early close" if ev.early_close else ""
        return CheckResult(
            Verdict.OK, what, f"{head}; closes {_et(ev.at, with_day=False)}{early} (in {left})"
        )
    s = hours.session_of_day(ev.at.astimezone(NEW_YORK).date())
    early = f", early close {_et(s.close, with_day=False)}" if s is not None and s.is_early_close else ""
    return CheckResult(Verdict.OK, what, f"{head}; next open {_et(ev.at)} (in {left}){early}")


async def check_calendar(
    hours_loader: Callable[[], MarketHours], clock: Callable[[], datetime], timeout_s: float
) -> tuple[CheckResult, MarketSession | None]:
    what = "market calendar"
    try:
        hours = await asyncio.wait_for(asyncio.to_thread(hours_loader), timeout_s)
    except TimeoutError:
        return CheckResult(Verdict.FAIL, what, f"did not load in {timeout_s:g} s"), None
    except Exception as exc:
        return CheckResult(Verdict.FAIL, what, f"cannot load the NYSE calendar ({_one_line(exc)})"), None
    now = clock()
    return calendar_line(hours, now), hours.session_at(now)


# ---------------------------------------------------------------------- terminal
def colour_support(env: Mapping[str, str]) -> str:
    """How many colours the terminal shows, judged the way Rich (under Textual) does."""
    term = env.get("TERM", "").lower()
    if env.get("NO_COLOR"):
        return "no colours (NO_COLOR is set)"
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    if "256color" in term:
        return "256 colours"
    if term in ("", "dumb", "unknown"):
        return "no colours"
    if "16color" in term:
        return "16 colours"
    return "8 colours"


def check_terminal(facts: TerminalFacts) -> CheckResult:
    what = "terminal"
    term = facts.env.get("TERM", "")
    tail = f"{colour_support(facts.env)}, TERM={term or '(unset)'}"
    if facts.size is None:
        return CheckResult(
            Verdict.WARN,
            what,
            f"not a terminal (output piped?), so its size is unknown; {tail}; "
            f"the monitor needs {MIN_COLUMNS}x{MIN_LINES}",
        )
    cols, lines = facts.size
    size = f"{cols}x{lines}"
    if not facts.stdout_is_tty:
        size += " (the controlling terminal; output piped)"
    if cols < MIN_COLUMNS or lines < MIN_LINES:
        return CheckResult(Verdict.FAIL, what, f"{size}, the monitor needs {MIN_COLUMNS}x{MIN_LINES}; {tail}")
    if term in ("", "dumb"):
        return CheckResult(Verdict.WARN, what, f"{size}, {tail}: set TERM to your terminal's type")
    return CheckResult(Verdict.OK, what, f"{size}, {tail}")


# ---------------------------------------------------------------------- log file
def check_log(settings: Settings) -> CheckResult:
    path = settings.log_dir / LOG_FILE_NAME
    if os.access(path if path.exists() else settings.log_dir, os.W_OK):
        return CheckResult(Verdict.INFO, "log file", str(path))
    return CheckResult(Verdict.WARN, "log file", f"cannot write to {settings.log_dir}: nothing is logged")


# ---------------------------------------------------------------------- all together
async def run_checks(
    settings: Settings,
    *,
    config_problem: str | None = None,
    source_factory: Callable[[], HistorySource] = yahoo_for_doctor,
    stream_probe: StreamProbe = live_stream_probe,
    hours_loader: Callable[[], MarketHours] = MarketHours.load,
    terminal: Callable[[], TerminalFacts] = read_terminal,
    clock: Callable[[], datetime] = utc_now,
    timeout_s: float = NETWORK_TIMEOUT_S,
) -> list[CheckResult]:
    """Every check, in the order printed. The network checks and the calendar run side by side, each
    given up after `timeout_s`.

    Args:
        settings: as loaded for the app (see `load_settings_for_doctor`).
        config_problem: the config file's error line, when it could not be used.
        source_factory: makes the source the history check asks (closed afterwards).
        stream_probe: connects to Yahoo's price stream and waits for a first tick.
        hours_loader: builds the exchange calendar (blocking; run in a thread).
        terminal: what the terminal check looks at.
        clock: now, UTC-aware (the calendar's session and the history request's start).
        timeout_s: the limit of each network check, in seconds.
    """
    quiet_s = min(STREAM_QUIET_S, timeout_s * 0.8)
    cache_task = asyncio.create_task(asyncio.to_thread(check_cache, settings))
    history, stream, (calendar, session) = await asyncio.gather(
        check_history(settings, source_factory, clock, timeout_s),
        _run_stream_probe(stream_probe, settings.symbols, timeout_s),
        check_calendar(hours_loader, clock, timeout_s),
    )
    return [
        check_config(settings, config_problem),
        await cache_task,
        history,
        stream_verdict(stream, session, quiet_s),
        calendar,
        check_terminal(terminal()),
        check_log(settings),
    ]


_COLOURS = {
    Verdict.OK: "\x1b[32m",
    Verdict.WARN: "\x1b[33m",
    Verdict.FAIL: "\x1b[1;31m",
    Verdict.INFO: "\x1b[2m",
}
_WIDTH = max(len(v.value) for v in Verdict) + 2


def render(results: Sequence[CheckResult], color: bool) -> str:
    """One line per result, `VERDICT  what: detail`, the verdicts in a column (coloured with `color`)."""
    lines = []
    for r in results:
        pad = " " * (_WIDTH - len(r.verdict.value))
        word = f"{_COLOURS[r.verdict]}{r.verdict.value}\x1b[0m" if color else r.verdict.value
        lines.append(f"{word}{pad}{r.what}: {_one_line(r.detail)}")
    return "\n".join(lines)


def exit_code(results: Sequence[CheckResult]) -> int:
    """0 when no check FAILed (warnings allowed), else 1."""
    return 1 if any(r.verdict is Verdict.FAIL for r in results) else 0


def run_doctor(inv: Invocation) -> int:
    """The `doctor` command: run every check, print the lines, return the exit code."""
    results = asyncio.run(run_checks(inv.settings, config_problem=getattr(inv.args, "config_problem", None)))
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(render(results, color))
    return exit_code(results)
