"""Command line: `breakout-monitor [options]` runs the dashboard, `breakout-monitor status` prints it once,
`events` prints the breakout timeline and `history` the calendar years of small caps against large caps;
`doctor` checks the setup (config, cache, Yahoo, market calendar, terminal); `web` serves the dashboard to a
browser.

Bad input of any kind (flags, config, CSV, symbols) ends in one line on stderr and exit code 2, never a
traceback. Heavy modules (Textual, pandas, yfinance) are imported only once they are needed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tui import __version__
from tui.config import APP_NAME, ConfigError, Settings, load_settings, parse_set
from tui.logs import setup_logging

if TYPE_CHECKING:
    from services.engine import BreakoutEvent
    from services.snapshot import Snapshot
    from services.sources.base import MarketDataSource

DEMO_SCENARIOS = ("breakout", "bulltrap", "range")


class UsageError(Exception):
    """A one-line message for the user; exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _float_list(text: str) -> list[float]:
    try:
        return [float(t) for t in _csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, got {port}")
    return port


def _source_options() -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    src = p.add_argument_group("data source (default: Yahoo Finance, live)")
    one = src.add_mutually_exclusive_group()
    one.add_argument(
        "--demo",
        nargs="?",
        const="breakout",
        choices=DEMO_SCENARIOS,
        metavar="SCENARIO",
        help="offline generated market: breakout (default), bulltrap or range",
    )
    one.add_argument(
        "--replay", nargs="+", type=Path, metavar="PATH", help="play Yahoo CSV files (or folders)"
    )
    src.add_argument("--as-of", type=_iso_date, metavar="DATE", help="replay: stand at the close of DATE")
    src.add_argument(
        "--speed",
        type=float,
        metavar="BARS_PER_S",
        help="replay: bars played per second (default 0: stand still)",
    )
    opt = p.add_argument_group("settings (override the config file)")
    opt.add_argument(
        "--config", type=Path, metavar="FILE", help="config file (default: the platform config dir)"
    )
    opt.add_argument(
        "--symbols", type=_csv_list, metavar="LIST", help="watchlist, e.g. IWM,SPY,^RUT,^GSPC,^TNX,^VIX"
    )
    opt.add_argument(
        "--refresh", type=float, metavar="SECONDS", help="quote poll interval while a session is open"
    )
    opt.add_argument("--level", type=float, metavar="PRICE", help="breakout level (default 2565)")
    opt.add_argument("--targets", type=_float_list, metavar="LIST", help="targets, e.g. 2600,3000")
    opt.add_argument(
        "--breakout-symbol", metavar="SYMBOL", help="the series the breakout is judged on (^RUT)"
    )
    opt.add_argument(
        "--testing-band-pct", type=float, metavar="PCT", help="'testing' within PCT %% below the level"
    )
    opt.add_argument(
        "--confirm-closes", type=int, metavar="N", help="closes in a row above the level to confirm"
    )
    opt.add_argument(
        "--fail-buffer-pct", type=float, metavar="PCT", help="a close PCT %% below the level fails it"
    )
    opt.add_argument(
        "--low-bandwidth",
        action="store_true",
        help="for mosh and slow links: at most 10 frames/s, no animations or flashes, 16 colours",
    )
    opt.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: the platform cache dir)")
    opt.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    opt.add_argument("--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR (log file only)")
    opt.add_argument("--log-dir", metavar="DIR", help="log directory (default: the platform log dir)")
    opt.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config key, e.g. breakout.yield_spike_bp=30 or alerts.desktop=osc777 (repeatable)",
    )
    return p


def build_parsers() -> tuple[
    argparse.ArgumentParser,
    argparse.ArgumentParser,
    argparse.ArgumentParser,
    argparse.ArgumentParser,
    argparse.ArgumentParser,
    argparse.ArgumentParser,
]:
    common = _source_options()
    run = _Parser(
        prog=APP_NAME,
        parents=[common],
        description="Full-screen monitor of the Russell 2000 breakout (RTY 2,565). "
        "Other commands: `breakout-monitor status` prints the same snapshot once; "
        "`breakout-monitor events` prints the breakout timeline over the history; "
        "`breakout-monitor history` prints small caps against large caps year by year; "
        "`breakout-monitor doctor` checks the setup; "
        "`breakout-monitor web` serves the monitor to a browser.",
    )
    run.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    status = _Parser(
        prog=f"{APP_NAME} status",
        parents=[common],
        description="Print the dashboard's snapshot once and exit (0 ok, 1 no data at all, 2 bad input).",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    events = _Parser(
        prog=f"{APP_NAME} events",
        parents=[common],
        description="Run the breakout engine over the history and print its timeline: state changes, "
        "target hits, retests and risk flags, with the forward return 5, 20 and 60 sessions after each "
        "breakout and confirmation (a backtest of the rule).",
    )
    events.add_argument("--from", dest="date_from", type=_iso_date, metavar="DATE", help="first date shown")
    events.add_argument("--to", dest="date_to", type=_iso_date, metavar="DATE", help="last date shown")
    events.add_argument("--json", action="store_true", help="print JSON instead of text")
    history = _Parser(
        prog=f"{APP_NAME} history",
        parents=[common],
        description="Print the calendar-year returns of small caps against large caps (^RUT vs ^GSPC "
        "price returns when both have data, else IWM vs SPY total returns), the spread and the years "
        "small caps led. Returns in percent, each year from the last close of the year before; a "
        "partial first or last year is marked (exit 0 ok, 1 no pair with data, 2 bad input).",
    )
    history.add_argument("--json", action="store_true", help="print JSON instead of text")
    doctor = _Parser(
        prog=f"{APP_NAME} doctor",
        parents=[common],
        description="Check what the monitor depends on and print one line per check, ok / warn / FAIL: "
        "the config file, the cache (integrity, size, newest bar per symbol; read only, never changed), "
        "Yahoo's history and stream (with the latency; each check gives up after 10 s), the market "
        "calendar (session now, next open) and the terminal (size, colours, TERM). A broken config file "
        "is reported as a FAIL line (the other checks then use the defaults), not stopped at. Exit 0 when "
        "nothing FAILs (warnings allowed), 1 when something does, 2 on a bad flag or value.",
    )
    web = _Parser(
        prog=f"{APP_NAME} web",
        parents=[common],
        allow_abbrev=False,  # the served command is these arguments minus --host/--port, spelt in full
        description="Serve the monitor to a web browser (textual-serve): each browser tab runs its own "
        "copy with the data source and settings given here. Listens on 127.0.0.1 only unless --host "
        "says otherwise; there is no password, so reach it from elsewhere through an SSH tunnel "
        "(ssh -L 8000:127.0.0.1:8000 HOST). Ctrl+C stops it. Exit 0 when stopped, 2 on a bad flag, "
        "host or busy port.",
    )
    web.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    web.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    return run, status, events, history, doctor, web


@dataclass(frozen=True)
class Invocation:
    command: str
    settings: Settings
    args: argparse.Namespace


def parse(argv: Sequence[str]) -> Invocation:
    run, status, events, history, doctor, web = build_parsers()
    argv = list(argv)
    if argv and argv[0] == "status":
        command, args = "status", status.parse_args(argv[1:])
    elif argv and argv[0] == "events":
        command, args = "events", events.parse_args(argv[1:])
        if args.date_from and args.date_to and args.date_from > args.date_to:
            raise UsageError(f"--from {args.date_from} is after --to {args.date_to}")
    elif argv and argv[0] == "history":
        command, args = "history", history.parse_args(argv[1:])
    elif argv and argv[0] == "web":
        command, args = "web", web.parse_args(argv[1:])
    elif argv and argv[0] == "doctor":
        command, args = "doctor", doctor.parse_args(argv[1:])
        if args.demo is not None or args.replay is not None:
            raise UsageError(
                "doctor checks the live setup (Yahoo, cache, terminal): --demo and --replay do not apply"
            )
    else:
        command, args = "run", run.parse_args(argv)
    if args.replay is None and (args.as_of is not None or args.speed is not None):
        raise UsageError("--as-of and --speed apply to --replay only")
    if args.speed is not None and not 0 <= args.speed <= 1000:
        raise UsageError(f"--speed must be between 0 and 1000 bars per second, got {args.speed:g}")
    overrides: dict[str, Any] = {
        "symbols": args.symbols,
        "refresh": args.refresh,
        "cache_dir": args.cache_dir,
        "log_level": args.log_level,
        "log_dir": args.log_dir,
        "breakout.level": args.level,
        "breakout.targets": args.targets,
        "breakout.symbol": args.breakout_symbol,
        "breakout.testing_band_pct": args.testing_band_pct,
        "breakout.confirm_closes": args.confirm_closes,
        "breakout.fail_buffer_pct": args.fail_buffer_pct,
        "use_cache": not args.no_cache,
        "low_bandwidth": True if args.low_bandwidth else None,
    }
    for item in args.set:
        key, value = parse_set(item)
        if overrides.get(key) is None:  # a dedicated flag wins over --set
            overrides[key] = value
    if command == "doctor":  # doctor reports a broken config file (a FAIL line) instead of stopping at it
        from tui.doctor import load_settings_for_doctor

        settings, args.config_problem = load_settings_for_doctor(args.config, overrides)
    else:
        settings = load_settings(args.config, overrides)
    return Invocation(command, settings, args)


def open_source(inv: Invocation) -> MarketDataSource:
    """Build the chosen source. Replay files are read here, before any UI, so that a bad CSV is a
    one-line error and exit code 2."""
    args, settings = inv.args, inv.settings
    if args.demo is not None:
        from services.sources.demo import DemoSource

        return DemoSource(args.demo)
    if args.replay is not None:
        from services.csv_bars import CsvError
        from services.sources.replay import ReplaySource

        try:
            replay: MarketDataSource = ReplaySource.open(
                args.replay, as_of=args.as_of, speed=args.speed or 0.0
            )
        except (CsvError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        return replay
    from services.sources.yahoo import YahooSource

    return YahooSource(
        cache_dir=settings.cache_dir if settings.use_cache else None,
        refresh_s=settings.refresh,
        extended_refresh_s=settings.extended_refresh,
    )


def replay_as_of(source: MarketDataSource) -> Callable[[], datetime | None] | None:
    """For a replay, the moment the snapshot describes: the close of the replayed day."""
    from services.models import SourceKind

    if source.kind is not SourceKind.REPLAY:
        return None
    from services.market_hours import NEW_YORK

    def as_of() -> datetime | None:
        day = getattr(source, "as_of", None)
        if day is None:
            return None
        return datetime(day.year, day.month, day.day, 16, 0, tzinfo=NEW_YORK)

    return as_of


async def collect_snapshot(settings: Settings, source: MarketDataSource) -> Snapshot:
    """One full refresh (history, quotes, indicators, engine), as the dashboard's first cycle does."""
    snapshot, _events = await collect(settings, source)
    return snapshot


async def collect(settings: Settings, source: MarketDataSource) -> tuple[Snapshot, list[BreakoutEvent]]:
    """One full refresh; returns the snapshot and the engine's whole timeline of events."""
    from services.cache import BarStore
    from services.models import SourceKind
    from services.monitor import Monitor

    store = None
    if settings.use_cache and source.kind is SourceKind.YAHOO:
        store = await asyncio.to_thread(BarStore.in_dir, settings.cache_dir)
    try:
        monitor = Monitor(
            source,
            symbols=settings.symbols,
            rules=settings.breakout,
            store=store,
            as_of=replay_as_of(source),
        )
        await monitor.load_history()
        await monitor.refresh_quotes()
        await monitor.compute()
        return monitor.snapshot(), monitor.timeline_events()
    finally:
        await source.aclose()
        if store is not None:
            store.close()


def run_status(inv: Invocation) -> int:
    source = open_source(inv)
    snapshot = asyncio.run(collect_snapshot(inv.settings, source))
    if inv.args.json:
        print(json.dumps(snapshot.as_json(), indent=2))
    else:
        from tui.status_text import render_status

        print(render_status(snapshot))
    return 0 if snapshot.has_any_data() else 1


def run_events(inv: Invocation) -> int:
    source = open_source(inv)
    snapshot, events = asyncio.run(collect(inv.settings, source))
    lo, hi = inv.args.date_from, inv.args.date_to
    shown = [e for e in events if (lo is None or e.day >= lo) and (hi is None or e.day <= hi)]
    if inv.args.json:
        print(json.dumps([e.as_json() for e in shown], indent=2))
    else:
        from tui.status_text import render_events

        print(render_events(shown, snapshot))
    return 0 if snapshot.breakout is not None and snapshot.breakout.state is not None else 1


def run_history(inv: Invocation) -> int:
    from dataclasses import replace

    from services.history import PAIRS, history_from_snapshot, render_text

    source = open_source(inv)
    # Only the pairs matter here, whatever the watchlist: the indices and their ETFs.
    pair_symbols = tuple(dict.fromkeys(s for p in PAIRS for s in (p.small, p.large)))
    snapshot, _events = asyncio.run(collect(replace(inv.settings, symbols=pair_symbols), source))
    history = history_from_snapshot(snapshot.symbols)
    if inv.args.json:
        print(json.dumps([y.as_json() for y in history.years], indent=2))
        if history.note:
            print(f"{APP_NAME}: {history.note}", file=sys.stderr)
    else:
        print(render_text(history))
    return 0 if history.years else 1


def check_keys(settings: Settings) -> None:
    """Every `[keys]` entry must name a binding of the app: a typo would silently remap nothing."""
    import difflib

    from tui.app import all_binding_ids

    known = all_binding_ids()
    where = settings.config_path or "--set"
    for binding_id, _keys in settings.keys:
        if binding_id not in known:
            close = difflib.get_close_matches(binding_id, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: keys.{binding_id}: no such binding{hint}")


LOW_BANDWIDTH_ENV = {
    "TEXTUAL_FPS": "10",  # updates within 100 ms go out as one frame
    "TEXTUAL_ANIMATIONS": "none",  # also turns the price flashes off (see widgets.price_flash)
    "TEXTUAL_COLOR_SYSTEM": "standard",  # 16 colours: shorter colour sequences, any terminal
}


def low_bandwidth_terminal() -> None:
    """`--low-bandwidth`: Textual reads these once, at import, so `main` sets them before it imports it
    (the app turns animations off itself too, for an app made in a process that already has Textual)."""
    import os

    os.environ.update(LOW_BANDWIDTH_ENV)


def run_app(inv: Invocation) -> int:
    check_keys(inv.settings)
    source = open_source(inv)
    from tui.app import BreakoutMonitorApp

    app = BreakoutMonitorApp(inv.settings, source, as_of=replay_as_of(source))
    app.run()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        inv = parse(argv)
        if inv.settings.low_bandwidth:
            low_bandwidth_terminal()
        setup_logging(inv.settings.log_dir, inv.settings.log_level)
        if inv.command == "status":
            return run_status(inv)
        if inv.command == "events":
            return run_events(inv)
        if inv.command == "history":
            return run_history(inv)
        if inv.command == "doctor":
            from tui.doctor import run_doctor

            return run_doctor(inv)
        if inv.command == "web":
            from tui.web import run_web

            return run_web(inv, argv[1:])
        return run_app(inv)
    except (UsageError, ConfigError) as exc:
        print(f"{APP_NAME}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; not an error worth a traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
