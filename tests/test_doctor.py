"""`breakout-monitor doctor`: every check against fakes (Yahoo in process, a fake stream probe, a fixed
clock, a made-up terminal), the cache left untouched, and the command line end to end. No network."""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes.yahoo_http import FakeYahoo, make_daily, offline_yfinance, reset_yfinance

from services.cache import CACHE_FILE_NAME, BarStore
from services.market_hours import NEW_YORK, MarketHours
from services.models import Bar, BarSeries, HistoryResult, Interval, day_ts
from services.sources.yahoo import YahooSource
from tui import doctor
from tui.cli import main
from tui.config import Settings
from tui.doctor import CheckResult, TerminalFacts, Verdict

NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # Tuesday 17:00 New York: after the close
THANKSGIVING_NOON = datetime(2026, 11, 26, 12, 0, tzinfo=NEW_YORK)
GOOD_TERMINAL = TerminalFacts((120, 40), True, {"TERM": "tmux-256color"})


@dataclass(frozen=True)
class Probe:
    connected_s: float | None
    first_tick_s: float | None
    error: str | None


def probe_returning(result: Probe) -> Callable[..., Any]:
    calls: list[tuple[list[str], float]] = []

    async def probe(symbols: Sequence[str], *, timeout_s: float) -> Probe:
        calls.append((list(symbols), timeout_s))
        return result

    probe.calls = calls  # type: ignore[attr-defined]
    return probe


TICKING = probe_returning(Probe(0.21, 0.74, None))


@functools.cache
def nyse() -> MarketHours:
    """The real NYSE calendar (exchange-calendars, no network) over a fixed range of years."""
    import exchange_calendars

    with warnings.catch_warnings():  # pandas deprecations inside exchange-calendars: not ours to fix
        warnings.simplefilter("ignore")
        cal = exchange_calendars.get_calendar("XNYS", start="2026-01-02", end="2027-12-31")
        sessions = {
            day.date(): (o.to_pydatetime(), c.to_pydatetime())
            for day, o, c in zip(cal.schedule.index, cal.opens, cal.closes, strict=True)
        }
    return MarketHours(sessions, "XNYS")


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with offline_yfinance(tmp_path / "yfinance-process", monkeypatch) as refused:
        yield refused


@pytest.fixture
def fake() -> FakeYahoo:
    fake = FakeYahoo(clock=NOW)
    fake.add_daily("IWM", make_daily([240.0 + 0.5 * i for i in range(40)], last_day=NOW.date()))
    return fake


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "logs").mkdir()
    return Settings(symbols=("IWM", "SPY", "^RUT"), cache_dir=tmp_path / "cache", log_dir=tmp_path / "logs")


def checks_with(fake: FakeYahoo, **kwargs: Any) -> Callable[..., Any]:
    """`run_checks` with every collaborator faked (each overridable)."""
    made: list[YahooSource] = []

    def source() -> YahooSource:
        s = YahooSource(cache_dir=None, session=fake.session(), clock=lambda: NOW, hours_loader=None)
        made.append(s)
        return s

    defaults: dict[str, Any] = {
        "source_factory": source,
        "stream_probe": TICKING,
        "hours_loader": nyse,
        "terminal": lambda: GOOD_TERMINAL,
        "clock": lambda: NOW,
    }
    return functools.partial(doctor.run_checks, **{**defaults, **kwargs})


def by_what(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.what: r for r in results}


def write_cache(cache_dir: Path, last_days: dict[str, date]) -> BarStore:
    store = BarStore.in_dir(cache_dir)
    for symbol, last in last_days.items():
        bars = [Bar(day_ts(d), 10.0, 11.0, 9.0, 10.5, 100.0) for d in (date(2026, 11, 2), last)]
        store.save_bars(BarSeries.from_bars(symbol, Interval.DAILY, bars))
    return store


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------------- the whole doctor
async def test_healthy_setup_every_line_ok_and_exit_zero(fake: FakeYahoo, settings: Settings) -> None:
    write_cache(settings.cache_dir, {"IWM": date(2026, 11, 23), "SPY": date(2026, 11, 20)}).close()
    results = await checks_with(fake)(settings)

    assert [r.what for r in results] == [
        "config",
        "cache",
        "yahoo history",
        "yahoo stream",
        "market calendar",
        "terminal",
        "log file",
    ]
    assert [r.verdict for r in results] == [Verdict.OK] * 6 + [Verdict.INFO]
    assert doctor.exit_code(results) == 0
    got = by_what(results)
    history = got["yahoo history"]
    assert history.latency_s is not None and 0 < history.latency_s < 10
    assert re.fullmatch(r"IWM in \d+\.\d\d s \(\d+ daily bars, newest 2026-11-24\)", history.detail)
    # range=1mo: the smallest request there is, not the ten years the app's first load asks for.
    assert [r.query["range"] for r in fake.chart_requests("IWM", history_only=True)] == ["1mo"]
    assert got["yahoo stream"].detail == "connected in 0.21 s, first tick at 0.74 s"
    assert got["yahoo stream"].latency_s == pytest.approx(0.21)
    assert got["terminal"].detail == "120x40, 256 colours, TERM=tmux-256color"
    assert got["log file"].detail == str(settings.log_dir / "breakout-monitor.log")

    text = doctor.render(results, color=False)
    assert "\x1b" not in text
    assert all(re.match(r"(ok    |info  )[a-z ]+: ", line) for line in text.splitlines())


async def test_rate_limited_yahoo_is_a_fail_with_the_reason(fake: FakeYahoo, settings: Settings) -> None:
    fake.fail("IWM", "429")
    results = await checks_with(fake)(settings)
    history = by_what(results)["yahoo history"]
    assert history.verdict is Verdict.FAIL
    assert re.fullmatch(r"rate-limited by Yahoo \(HTTP 429\) after \d+\.\d\d s", history.detail)
    assert doctor.exit_code(results) == 1


async def test_network_outage_is_a_fail_naming_the_cause(fake: FakeYahoo, settings: Settings) -> None:
    fake.fail(None, "dns", all_hosts=True)
    results = await checks_with(fake)(settings)
    history = by_what(results)["yahoo history"]
    assert history.verdict is Verdict.FAIL
    assert history.detail.startswith("cannot reach Yahoo (DNS lookup failed) after ")
    assert "FAIL  yahoo history: cannot reach Yahoo (DNS lookup failed)" in doctor.render(results, False)
    assert doctor.exit_code(results) == 1


async def test_a_yahoo_that_never_answers_gives_up_within_the_limit(settings: Settings) -> None:
    closed: list[bool] = []

    class Hanging:
        async def history(self, *args: Any, **kwargs: Any) -> HistoryResult:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        async def aclose(self) -> None:
            closed.append(True)

    async def hanging_probe(symbols: Sequence[str], *, timeout_s: float) -> Probe:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    started = time.monotonic()
    results = await doctor.run_checks(
        settings,
        source_factory=Hanging,
        stream_probe=hanging_probe,
        hours_loader=nyse,
        terminal=lambda: GOOD_TERMINAL,
        clock=lambda: NOW,
        timeout_s=0.3,
    )
    assert time.monotonic() - started < 10  # generous: the limit is 0.3 s, side by side
    got = by_what(results)
    assert got["yahoo history"].verdict is Verdict.FAIL
    assert got["yahoo history"].detail == "no answer from Yahoo in 0.3 s"
    assert closed == [True]
    assert (got["yahoo stream"].verdict, got["yahoo stream"].detail) == (Verdict.FAIL, "no answer in 0.3 s")


def test_requests_end_by_the_deadline_and_none_is_sent_after_it() -> None:
    sent: list[float] = []

    class Session:
        def request(self, method: str, url: str, **kwargs: Any) -> str:
            sent.append(kwargs["timeout"])
            return "answer"

    soon = doctor.limit_to_deadline(Session(), time.monotonic() + 3.0)
    assert soon.request("GET", "https://example.invalid/", timeout=30) == "answer"
    assert 0 < sent[0] <= 3.0
    past = doctor.limit_to_deadline(Session(), time.monotonic() - 0.1)
    with pytest.raises(TimeoutError):
        past.request("GET", "https://example.invalid/", timeout=30)
    assert len(sent) == 1


# ---------------------------------------------------------------------- stream
@pytest.mark.parametrize(
    ("probe", "clock", "verdict", "detail"),
    [
        (
            Probe(0.31, None, "no tick within 8 s (is the market closed?)"),
            NOW,
            Verdict.OK,
            "connected in 0.31 s; quiet, after hours",
        ),
        (
            Probe(0.31, None, "no tick within 8 s (is the market closed?)"),
            THANKSGIVING_NOON,
            Verdict.OK,
            "connected in 0.31 s; quiet, market closed",
        ),
        (
            Probe(0.31, None, "no tick within 8 s (is the market closed?)"),
            datetime(2026, 11, 24, 11, 0, tzinfo=NEW_YORK),
            Verdict.WARN,
            "connected in 0.31 s, no tick within 8 s (is the market closed?) while the market is open",
        ),
        (Probe(None, None, "stream connection failed: timed out"), NOW, Verdict.FAIL, None),
    ],
)
async def test_stream_verdict_depends_on_the_session(
    fake: FakeYahoo, settings: Settings, probe: Probe, clock: datetime, verdict: Verdict, detail: str | None
) -> None:
    results = await checks_with(fake, stream_probe=probe_returning(probe), clock=lambda: clock)(settings)
    stream = by_what(results)["yahoo stream"]
    assert stream.verdict is verdict
    if detail is not None:
        assert stream.detail == detail
    else:
        assert re.fullmatch(r"stream connection failed: timed out after \d+\.\d\d s", stream.detail)


async def test_the_stream_probe_gets_the_watchlist_and_a_limit_inside_the_check(
    fake: FakeYahoo, settings: Settings
) -> None:
    probe = probe_returning(Probe(0.2, 0.5, None))
    await checks_with(fake, stream_probe=probe)(settings)
    [(symbols, timeout_s)] = probe.calls  # type: ignore[attr-defined]
    assert symbols == ["IWM", "SPY", "^RUT"]
    assert 0 < timeout_s < doctor.NETWORK_TIMEOUT_S


# ---------------------------------------------------------------------- market calendar
@pytest.mark.parametrize(
    ("now", "detail"),
    [
        (
            THANKSGIVING_NOON,
            "XNYS closed; next open Fri 2026-11-27 09:30 ET (in 21 h 30 min), early close 13:00 ET",
        ),
        (datetime(2026, 11, 27, 11, 0, tzinfo=NEW_YORK), "XNYS open; closes 13:00 ET, early close (in 2 h)"),
        (
            datetime(2026, 11, 27, 14, 0, tzinfo=NEW_YORK),
            "XNYS after hours; next open Mon 2026-11-30 09:30 ET (in 2 d 19 h)",
        ),
        (
            datetime(2026, 11, 30, 8, 0, tzinfo=NEW_YORK),
            "XNYS pre-market; next open Mon 2026-11-30 09:30 ET (in 1 h 30 min)",
        ),
        (datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK), "XNYS open; closes 16:00 ET (in 6 h)"),
    ],
)
async def test_calendar_names_the_session_and_the_next_open(now: datetime, detail: str) -> None:
    result, _session = await doctor.check_calendar(nyse, lambda: now.astimezone(UTC), 10.0)
    assert (result.verdict, result.detail) == (Verdict.OK, detail)


async def test_a_calendar_that_cannot_load_is_a_fail() -> None:
    def broken() -> MarketHours:
        raise ModuleNotFoundError("No module named 'exchange_calendars'")

    result, session = await doctor.check_calendar(broken, lambda: NOW, 10.0)
    assert result.verdict is Verdict.FAIL and "exchange_calendars" in result.detail
    assert session is None


# ---------------------------------------------------------------------- cache
def test_good_cache_reports_newest_bar_per_symbol_and_stays_as_it_was(settings: Settings) -> None:
    write_cache(settings.cache_dir, {"IWM": date(2026, 11, 23), "SPY": date(2026, 11, 20)}).close()
    before = files_in(settings.cache_dir)
    result = doctor.check_cache(settings)
    assert result.verdict is Verdict.OK
    path = settings.cache_dir / CACHE_FILE_NAME
    assert result.detail.startswith(f"{path}, ") and ", integrity ok; " in result.detail
    assert result.detail.endswith("newest daily bar IWM 2026-11-23, SPY 2026-11-20, ^RUT none")
    assert files_in(settings.cache_dir) == before  # no -wal or -shm left behind either


def test_cache_in_use_by_a_running_monitor_is_read_through_its_journal(settings: Settings) -> None:
    store = write_cache(settings.cache_dir, {"IWM": date(2026, 11, 23)})
    try:
        store.save_bars(
            BarSeries.from_bars(
                "IWM", Interval.DAILY, [Bar(day_ts(date(2026, 11, 24)), 10.0, 11.0, 9.0, 10.5, 1.0)]
            )
        )
        result = doctor.check_cache(settings)
        assert result.verdict is Verdict.OK
        assert "newest daily bar IWM 2026-11-24, SPY none" in result.detail
        assert store.load_tail("IWM", Interval.DAILY, 1).ts[-1] == day_ts(date(2026, 11, 24))
    finally:
        store.close()


def test_corrupt_cache_is_a_fail_and_the_file_is_left_alone(settings: Settings) -> None:
    settings.cache_dir.mkdir()
    path = settings.cache_dir / CACHE_FILE_NAME
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    before = files_in(settings.cache_dir)
    result = doctor.check_cache(settings)
    assert result.verdict is Verdict.FAIL
    assert str(path) in result.detail and "move it aside" in result.detail
    assert files_in(settings.cache_dir) == before


def test_foreign_sqlite_file_is_a_fail_and_left_alone(settings: Settings) -> None:
    settings.cache_dir.mkdir()
    path = settings.cache_dir / CACHE_FILE_NAME
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE recipes (name TEXT)")
    db.commit()
    db.close()
    before = files_in(settings.cache_dir)
    result = doctor.check_cache(settings)
    assert (result.verdict, result.detail) == (
        Verdict.FAIL,
        f"{path}: not a breakout-monitor cache; the monitor will move it aside and rebuild the cache",
    )
    assert files_in(settings.cache_dir) == before


def test_cache_of_a_newer_version_is_a_fail_that_says_to_upgrade(settings: Settings) -> None:
    write_cache(settings.cache_dir, {"IWM": date(2026, 11, 23)}).close()
    path = settings.cache_dir / CACHE_FILE_NAME
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = files_in(settings.cache_dir)
    result = doctor.check_cache(settings)
    assert result.verdict is Verdict.FAIL
    assert result.detail.startswith(f"{path}: written by a newer breakout-monitor (schema 99, ")
    assert "upgrade" in result.detail and "move it aside" not in result.detail
    assert files_in(settings.cache_dir) == before


def test_no_cache_yet_is_a_warning_and_nothing_is_created(settings: Settings) -> None:
    result = doctor.check_cache(settings)
    assert result.verdict is Verdict.WARN and result.detail.startswith("none yet at ")
    assert not settings.cache_dir.exists()
    assert doctor.check_cache(replace(settings, use_cache=False)).detail == "not used (--no-cache)"


# ---------------------------------------------------------------------- terminal
@pytest.mark.parametrize(
    ("facts", "verdict", "detail"),
    [
        (
            TerminalFacts((70, 20), True, {"TERM": "xterm-256color"}),
            Verdict.FAIL,
            "70x20, the monitor needs 80x24; 256 colours, TERM=xterm-256color",
        ),
        (
            TerminalFacts((80, 24), True, {"TERM": "xterm-256color", "COLORTERM": "truecolor"}),
            Verdict.OK,
            "80x24, truecolor, TERM=xterm-256color",
        ),
        (
            TerminalFacts((100, 30), True, {"TERM": "screen", "NO_COLOR": "1"}),
            Verdict.OK,
            "100x30, no colours (NO_COLOR is set), TERM=screen",
        ),
        (TerminalFacts((100, 30), True, {"TERM": "linux"}), Verdict.OK, "100x30, 8 colours, TERM=linux"),
        (TerminalFacts(None, False, {"TERM": "xterm-256color"}), Verdict.WARN, None),
    ],
)
def test_terminal_size_and_colours(facts: TerminalFacts, verdict: Verdict, detail: str | None) -> None:
    result = doctor.check_terminal(facts)
    assert result.verdict is verdict
    if detail is not None:
        assert result.detail == detail
    else:
        assert result.detail.startswith("not a terminal") and "80x24" in result.detail


# ---------------------------------------------------------------------- rendering
def test_render_aligns_the_verdicts_and_colours_only_when_asked() -> None:
    results = [
        CheckResult(Verdict.OK, "config", "fine"),
        CheckResult(Verdict.WARN, "cache", "none yet"),
        CheckResult(Verdict.FAIL, "terminal", "70x20\nwrapped"),
    ]
    plain = doctor.render(results, color=False).splitlines()
    assert plain == ["ok    config: fine", "warn  cache: none yet", "FAIL  terminal: 70x20 wrapped"]
    coloured = doctor.render(results, color=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured).splitlines() == plain


# ---------------------------------------------------------------------- command line
@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(
        f'log_dir = "{tmp_path / "logs"}"\ncache_dir = "{tmp_path / "cache"}"\nsymbols = ["IWM", "SPY"]\n'
    )
    return p


def test_cli_doctor_end_to_end(
    fake: FakeYahoo,
    cfg: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(doctor, "run_checks", checks_with(fake))
    assert main(["doctor", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ok    config: {cfg} (watchlist IWM, SPY)"
    assert out[1].startswith(f"warn  cache: none yet at {tmp_path / 'cache' / CACHE_FILE_NAME}")
    assert out[2].startswith("ok    yahoo history: IWM in ")
    assert out[-1] == f"info  log file: {tmp_path / 'logs' / 'breakout-monitor.log'}"
    assert not (tmp_path / "cache").exists()

    # A second doctor is a second process: yfinance's process-wide caches start afresh.
    reset_yfinance(tmp_path / "yfinance-second-process")
    fake.fail(None, "dns", all_hosts=True)
    assert main(["doctor", "--config", str(cfg), "--no-cache"]) == 1
    text = capsys.readouterr().out
    assert "ok    cache: not used (--no-cache)" in text
    assert "FAIL  yahoo history: cannot reach Yahoo (DNS lookup failed) after " in text


def test_cli_doctor_reports_a_bad_config_file_naming_file_and_key(
    fake: FakeYahoo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'log_dir = "{tmp_path / "logs"}"\n[breakout]\nlevle = 2565\n')
    monkeypatch.setattr(doctor, "run_checks", checks_with(fake))
    assert main(["doctor", "--config", str(bad), "--log-dir", str(tmp_path / "logs")]) == 1
    captured = capsys.readouterr()
    first = captured.out.splitlines()[0]
    assert first == (
        f"FAIL  config: {bad}: breakout.levle: unknown key (did you mean 'level'?) "
        "(the other checks use the defaults)"
    )
    assert "ok    yahoo history" in captured.out  # the other checks still ran
    assert captured.err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--refresh", "0"], "--refresh: 0 is out of range"),
        (["--set", "nosuch=1"], "--set nosuch: unknown key"),
        (["--demo"], "--demo and --replay do not apply"),
    ],
)
def test_cli_doctor_bad_flags_are_still_exit_two(
    args: list[str], message: str, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", *args, "--config", str(cfg)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
